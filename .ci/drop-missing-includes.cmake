# Included after project() (CMAKE_PROJECT_INCLUDE) when building message packages against
# the ROS 2 wheels: at the end of the top directory, before generation, drop include
# directories of imported targets that do not exist on this machine.
function(drop_missing_includes)
  get_property(targets DIRECTORY "${CMAKE_SOURCE_DIR}" PROPERTY IMPORTED_TARGETS)
  foreach(target IN LISTS targets)
    get_target_property(dirs ${target} INTERFACE_INCLUDE_DIRECTORIES)
    if(dirs)
      set(kept "")
      foreach(dir IN LISTS dirs)
        if(EXISTS "${dir}" OR dir MATCHES "^\\$<")
          list(APPEND kept "${dir}")
        endif()
      endforeach()
      set_target_properties(${target} PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${kept}")
    endif()
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL drop_missing_includes)
