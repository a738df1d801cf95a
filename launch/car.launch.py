"""Launch the safe-learning car: sim (unless use_sim:=false), camera, estimator, controller.

    ros2 launch safe_control_ros car.launch.py [use_sim:=true] [config:=<file>]
        [track:=oval|straight] [prior:=physics] [record:=false] [rviz:=false]
        [perception_map:=<map.npz>]

The nodes and the parameters the arguments set on top of the parameter files (config,
then share/safe_control_ros/config/track_<track>.yaml and, with prior set,
prior_<prior>.yaml) come from
`safe_control_ros.graph`, as for the standalone launcher `safe-control-launch`.

With perception_map set (a calibrated map from
`python -m safe_control_ros.perception.train`) the perception node runs on the camera and
the controller drives on its measurements with the perception profile
(`graph.PERCEPTION_PROFILE`); set controller.measurement_bound and measurement_region in
the config to the map's calibrated bound and region (printed by the training; larger
published bounds are not used).

With use_sim:=false (hardware; e.g. config:=<share>/config/car_hardware.yaml, whose camera
reads a V4L2 device) the car must provide /lane_state (safe_control_interfaces/LaneState:
s m, e_y m, e_psi rad, e_v m/s, curvature_ahead 1/m, stamped when measured) and accept
/drive (ackermann_msgs/AckermannDriveStamped) or /cmd_vel
(geometry_msgs/TwistStamped); its own watchdog must stop it when commands stop.
record:=true writes every topic to an MCAP bag (ros2 bag, storage mcap); rviz:=true shows
the car, its plan and the camera (config/car.rviz).
"""

import os

from launch import LaunchContext, LaunchDescription
from launch.actions import DeclareLaunchArgument, ExecuteProcess, OpaqueFunction
from launch.conditions import IfCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from safe_control_ros.graph import launch_overrides, layer_names

PACKAGE = "safe_control_ros"
BOOLEAN = {"true": True, "1": True, "false": False, "0": False}  # as IfCondition reads them


def _nodes(context: LaunchContext) -> list[Node]:
    """The graph's nodes for the launch arguments' values."""
    arg = context.launch_configurations  # every argument, as text
    use_sim = arg["use_sim"].lower()
    if use_sim not in BOOLEAN:
        raise ValueError(f"use_sim: expected true or false, got {arg['use_sim']!r}")
    share = FindPackageShare(PACKAGE).perform(context)
    layers = layer_names(arg["track"], arg["prior"])
    files = [arg["config"], *(os.path.join(share, "config", layer) for layer in layers)]
    overrides = launch_overrides(arg["perception_map"], BOOLEAN[use_sim])
    return [
        Node(
            package=PACKAGE,
            executable=f"{name}_node",
            name=name,
            parameters=[*files, values] if values else files,
            output="screen",
        )
        for name, values in overrides.items()
    ]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare(PACKAGE)
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
                "prior",
                default_value="",
                description="config/prior_<name>.yaml on top of config (physics)",
            ),
            DeclareLaunchArgument(
                "record", default_value="false", description="record an MCAP bag"
            ),
            DeclareLaunchArgument(
                "perception_map",
                default_value="",
                description="calibrated perception map: drive on the camera",
            ),
            OpaqueFunction(function=_nodes),
            DeclareLaunchArgument("rviz", default_value="false", description="start rviz2"),
            ExecuteProcess(
                cmd=["ros2", "bag", "record", "--all", "--storage", "mcap"],
                condition=IfCondition(LaunchConfiguration("record")),
                output="screen",
            ),
            Node(
                package="rviz2",
                executable="rviz2",
                arguments=["-d", PathJoinSubstitution([share, "config", "car.rviz"])],
                condition=IfCondition(LaunchConfiguration("rviz")),
            ),
        ]
    )
