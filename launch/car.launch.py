"""Launch the safe-learning car: sim (unless use_sim:=false), camera, estimator, controller.

    ros2 launch safe_control_ros car.launch.py [use_sim:=true] [config:=<file>]
        [track:=oval|straight] [record:=false] [perception_map:=<map.npz>]

With perception_map set (a calibrated map from
`python -m safe_control_ros.perception.train`) the perception node runs on the camera and
the controller drives on its measurements (controller.state_source: perception); set
controller.measurement_bound and measurement_region in the config to the map's calibrated
bound and region (printed by the training; larger published bounds are not used).

With use_sim:=false (hardware; e.g. config:=<share>/config/car_hardware.yaml, whose camera
reads a V4L2 device) the car must provide /lane_state
(std_msgs/Float64MultiArray [s m, e_y m, e_psi rad, e_v m/s, curvature_ahead 1/m]) and
accept /drive (ackermann_msgs/AckermannDriveStamped) or /cmd_vel
(geometry_msgs/TwistStamped); its own watchdog must stop it when commands stop.
record:=true writes every topic to an MCAP bag (ros2 bag, storage mcap).
"""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution, PythonExpression
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "safe_control_ros"


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare(PACKAGE)
    use_sim = LaunchConfiguration("use_sim")
    track_file = PathJoinSubstitution(
        [share, "config", ["track_", LaunchConfiguration("track"), ".yaml"]]
    )
    files = [LaunchConfiguration("config"), track_file]
    params = [*files, {"use_sim_time": use_sim}]  # the sim's /clock drives the others
    perception_map = LaunchConfiguration("perception_map")
    perceive = PythonExpression(["'", perception_map, "' != ''"])
    state_source = PythonExpression(["'perception' if ", perceive, " else 'lane_state'"])
    return LaunchDescription(
        [
            DeclareLaunchArgument(
                "use_sim", default_value="true", description="run the PyBullet car"
            ),
            DeclareLaunchArgument(
                "config",
                default_value=PathJoinSubstitution([share, "config", "car.yaml"]),
                description="ROS 2 parameter file",
            ),
            DeclareLaunchArgument(
                "track", default_value="oval", description="config/track_<name>.yaml"
            ),
            DeclareLaunchArgument(
                "record", default_value="false", description="record an MCAP bag"
            ),
            DeclareLaunchArgument(
                "perception_map",
                default_value="",
                description="calibrated perception map: drive on the camera",
            ),
            Node(
                package=PACKAGE,
                executable="perception_node",
                name="perception",
                parameters=[*params, {"map_path": perception_map}],
                condition=IfCondition(perceive),
                output="screen",
            ),
            Node(
                package=PACKAGE,
                executable="sim_node",
                name="sim",
                parameters=files,
                condition=IfCondition(use_sim),
                output="screen",
            ),
            Node(
                package=PACKAGE,
                executable="camera_node",
                name="camera",
                parameters=params,
                output="screen",
            ),
            Node(
                package=PACKAGE,
                executable="estimator_node",
                name="estimator",
                parameters=params,
                output="screen",
            ),
            Node(
                package=PACKAGE,
                executable="controller_node",
                name="controller",
                parameters=[*params, {"state_source": state_source}],
                output="screen",
            ),
            ExecuteProcess(
                cmd=["ros2", "bag", "record", "--all", "--storage", "mcap"],
                condition=IfCondition(LaunchConfiguration("record")),
                output="screen",
            ),
        ]
    )
