"""launch/car.launch.py: its arguments, and its graph (`safe_control_ros.graph`, shared
with the standalone launcher). test_launch_ros.py evaluates the file itself with ROS 2's
launch and launch_ros."""

import ast
import re
from pathlib import Path

import yaml
from test_fault_solver import Probe

from safe_control_ros.graph import (
    CONFIG,
    NODE_NAMES,
    PERCEPTION_PROFILE,
    launch_overrides,
    parameters,
    with_perception,
)
from safe_control_ros.launcher import NODES, RECORDED, build
from safe_control_ros.nodes.statuses import PLANNER_STATUS

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "car.launch.py"
MAP = str(ROOT / "maps" / "cnn_preview.npz")
PROCESS_ONLY = ("use_sim_time", "start_when_matched")
ARGUMENTS = {"use_sim", "config", "track", "prior", "record", "rviz", "perception_map"}


def test_launch_file_declares_its_arguments():
    tree = ast.parse(LAUNCH.read_text())
    declared = {
        n.args[0].value
        for n in ast.walk(tree)
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "DeclareLaunchArgument"
    }
    assert declared == ARGUMENTS


def test_every_node_of_the_graph_is_installed_and_runs_standalone():
    scripts = set(re.findall(r'"(\w+) = ', (ROOT / "setup.py").read_text()))
    assert {f"{name}_node" for name in NODE_NAMES} <= scripts  # where `ros2 run` finds them
    assert tuple(NODES) == NODE_NAMES
    assert {"oval", "straight"} <= {
        p.stem.removeprefix("track_") for p in CONFIG.glob("track_*.yaml")
    }


def test_default_graph_runs_on_the_sims_clock():
    overrides = launch_overrides("", use_sim=True)
    assert list(overrides) == ["sim", "camera", "estimator", "controller"]
    assert overrides["sim"] == {"start_when_matched": True}  # it publishes /clock
    assert all(
        overrides[n] == {"use_sim_time": True} for n in ("camera", "estimator", "controller")
    )


def test_hardware_graph_has_no_sim_and_keeps_the_wall_clock():
    overrides = launch_overrides("", use_sim=False)
    assert list(overrides) == ["camera", "estimator", "controller"]
    assert all(values == {"use_sim_time": False} for values in overrides.values())


def test_perception_graph_uses_the_standalone_launchers_profile():
    overrides = launch_overrides(MAP, use_sim=True)
    assert list(overrides) == ["sim", "camera", "perception", "estimator", "controller"]
    assert overrides["perception"] == {"map_path": MAP, "use_sim_time": True}
    assert overrides["controller"] == PERCEPTION_PROFILE | {"use_sim_time": True}
    standalone = with_perception({}, MAP)
    for node in ("perception", "controller"):
        assert overrides[node] == standalone[node] | {"use_sim_time": True}


def test_perception_graph_with_the_car_config_builds_and_plans():
    """The car config, the oval and the launch file's overrides (without the settings of
    ROS 2 processes: the in-process runtime is lockstep on simulated time): every node
    builds and the controller plans on the shipped map's measurements."""
    params = parameters(CONFIG / "car.yaml", "oval")
    for node, values in launch_overrides(MAP, use_sim=True).items():
        values = {k: v for k, v in values.items() if k not in PROCESS_ONLY}
        params[node] = params.get(node, {}) | values
    runtime, jobs = build(params)
    probe = Probe(runtime.create_node("probe"))
    try:
        runtime.spin_until(2.0)
    finally:
        jobs["sim"].destroy()
    assert jobs["controller"].perception
    statuses = [message for _, _, message, _ in probe.diags[PLANNER_STATUS]]
    assert len(statuses) == 20 and set(statuses) == {"optimal"}


def test_rviz_config_shows_topics_and_frames_the_graph_publishes():
    config = yaml.safe_load((CONFIG / "car.rviz").read_text())
    manager = config["Visualization Manager"]
    assert manager["Global Options"]["Fixed Frame"] == "odom"  # REP-105
    assert manager["Views"]["Current"]["Target Frame"] == "base_link"
    topics = {d["Topic"]["Value"] for d in manager["Displays"] if "Topic" in d}
    assert topics == {"/odom", "/plan", "/camera/image_raw"}
    assert topics <= set(RECORDED) | {"/camera/image_raw"}
    assert "config/car.rviz" in (ROOT / "launch" / "car.launch.py").read_text().replace(
        '"config", "car.rviz"', "config/car.rviz"
    )
