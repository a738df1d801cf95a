"""Layers point down only: the algorithm packages never import ROS or the node layer."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "safe_control_ros"
ROS = {
    "rclpy",
    "launch",
    "launch_ros",
    "rcl_interfaces",
    "std_msgs",
    "sensor_msgs",
    "geometry_msgs",
    "nav_msgs",
    "ackermann_msgs",
    "diagnostic_msgs",
    "rosgraph_msgs",
}
UPPER = {"nodes", "runtime", "launcher", "demo", "monitor"}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            prefix = "." * node.level
            names.add(prefix + (node.module or ""))
    return names


@pytest.mark.parametrize("layer", ["control", "sim"])
def test_algorithm_layers_import_no_ros_and_no_upper_layer(layer):
    files = sorted((PACKAGE / layer).glob("*.py"))
    assert files
    for path in files:
        for name in _imports(path):
            top = name.lstrip(".").split(".")[0]
            assert top not in ROS, f"{path.name} imports {name}"
            assert not (name.startswith("..") and top in UPPER), f"{path.name} imports {name}"
