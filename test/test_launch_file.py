"""launch/car.launch.py: generated when `launch` is importable, else checked statically."""

import ast
import importlib.util
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "car.launch.py"


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name
    ]


def _keywords(call: ast.Call) -> dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords}


def test_launch_file_declares_its_arguments_and_nodes():
    tree = ast.parse(LAUNCH.read_text())
    args = {c.args[0].value for c in _calls(tree, "DeclareLaunchArgument")}
    assert args == {"use_sim", "config", "track", "record", "perception_map"}
    nodes = {
        _keywords(c)["executable"].value: _keywords(c)["name"].value for c in _calls(tree, "Node")
    }
    assert nodes == {
        "sim_node": "sim",
        "camera_node": "camera",
        "perception_node": "perception",
        "estimator_node": "estimator",
        "controller_node": "controller",
    }
    sim = next(c for c in _calls(tree, "Node") if _keywords(c)["name"].value == "sim")
    assert _keywords(sim)["parameters"].id == "files"  # no use_sim_time: it makes /clock
    scripts = set(re.findall(r'"(\w+) = ', (ROOT / "setup.py").read_text()))
    assert set(nodes) <= scripts  # every executable is installed where ros2 run finds it
    config = ROOT / "config"
    assert (config / "car.yaml").exists()
    assert {"oval", "straight"} <= {
        p.stem.removeprefix("track_") for p in config.glob("track_*.yaml")
    }


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None, reason="ROS 2 not installed")
def test_launch_description_generates():
    spec = importlib.util.spec_from_file_location("car_launch", LAUNCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert len(module.generate_launch_description().entities) == 11
