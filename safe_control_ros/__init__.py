"""safe_control_ros: safe data-driven control of a car, with and without ROS 2."""
