"""launch/car.launch.py evaluated with ROS 2's launch and launch_ros (Humble, Jazzy): the
arguments' defaults, then the nodes of the graph with their parameter files.

Needs only launch, launch_ros (with rclpy) and safe_control_ros.graph, and the package in
an ament index (`colcon build`, or AMENT_PREFIX_PATH). launch and launch_ros are on no
package registry this project's CI reaches, so it skips there; in a ROS 2 workspace
`colcon test --packages-select safe_control_ros` runs it.
"""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("launch_ros", reason="ROS 2's launch_ros is not installed")

from launch import LaunchContext
from launch_ros.actions import Node

LAUNCH = Path(__file__).resolve().parents[1] / "launch" / "car.launch.py"
MAP = str(Path(__file__).resolve().parents[1] / "maps" / "cnn_preview.npz")


def _description():
    spec = importlib.util.spec_from_file_location("car_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.generate_launch_description()


@pytest.mark.parametrize(
    ("arguments", "names"),
    [
        ({}, ["sim", "camera", "estimator", "controller"]),
        ({"perception_map": MAP}, ["sim", "camera", "perception", "estimator", "controller"]),
        ({"use_sim": "false", "track": "straight"}, ["camera", "estimator", "controller"]),
    ],
)
def test_launch_description_evaluates_to_the_graph(arguments, names):
    description = _description()
    context = LaunchContext()
    for entity in description.entities:  # the arguments with their defaults
        if type(entity).__name__ == "DeclareLaunchArgument":
            entity.visit(context)
    context.launch_configurations.update(arguments)
    opaque = next(e for e in description.entities if type(e).__name__ == "OpaqueFunction")
    nodes = opaque.visit(context)
    assert all(isinstance(n, Node) for n in nodes)
    assert [n.node_executable for n in nodes] == [f"{name}_node" for name in names]
    for node in nodes:
        node._perform_substitutions(context)
        assert node.node_name.endswith(node.node_executable.removesuffix("_node"))


def test_rviz_starts_only_when_asked():
    description = _description()
    context = LaunchContext()
    for entity in description.entities:
        if type(entity).__name__ == "DeclareLaunchArgument":
            entity.visit(context)
    (rviz,) = [e for e in description.entities if isinstance(e, Node)]
    assert rviz.node_executable == "rviz2" and not rviz.condition.evaluate(context)
    context.launch_configurations["rviz"] = "true"
    assert rviz.condition.evaluate(context)
