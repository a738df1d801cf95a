"""Under real rclpy: a node process with invalid parameters, the standalone launcher's
ROS 2 mode, and the message definitions the standalone runtime and the recorder use
(rosbags' typestore) against the ones rosidl builds."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from ament_index_python.packages import get_package_share_directory
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from safe_control_ros.launcher import RECORDED, main
from safe_control_ros.nodes import model_update
from safe_control_ros.runtime import messages as msg
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

ROOT = Path(__file__).resolve().parents[2]


def test_node_process_with_a_bad_file_exits_with_one_error_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("controller:\n  ros__parameters:\n    tau: -1\n")
    run = subprocess.run(
        [
            *(sys.executable, "-m", "safe_control_ros.runtime.ros", "controller"),
            *("--ros-args", "--params-file", str(config)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    errors = [line for line in run.stderr.splitlines() if "FATAL" in line or "Traceback" in line]
    assert len(errors) == 1 and errors[0].startswith("[FATAL]"), run.stderr
    assert errors[0].endswith(
        "[controller]: controller.tau: expected a number in [0.0, 1.0], got -1"
    )


def test_launcher_runs_each_node_as_a_ros_process(capfd):
    assert main(["--mode", "ros", "--duration", "10"]) == 0
    err = capfd.readouterr().err
    assert "Traceback" not in err
    # the controller's commands reach the sim (at start-up the sim may brake until the
    # nodes have discovered each other)
    assert "/drive commands again" in err or "watchdog" not in err, err


def _samples() -> dict[str, object]:
    """One message of every project topic's type, every field set (rclpy classes here)."""
    car = CarModelConfig.from_yaml(ROOT / "config" / "car.yaml")
    return {
        "/lane_state": msg.lane_state(1.25, [3.0, 0.1, -0.05, 0.2, 0.33]),
        "/perception/measurement": msg.perception_measurement(
            1.25, "camera_link", (0.1, -0.05), (0.03, 0.02), True
        ),
        "/model": model_update.encode(2.5, controller_instance(car).model),
        "/controller/input": msg.control_input(1.25, [0.1, -0.2]),
    }


@pytest.mark.parametrize("topic", list(_samples()))
def test_standalone_definitions_match_what_rosidl_builds(topic):
    """The definitions the standalone runtime and the recorder use (rosbags' typestore from
    safe_control_interfaces' .msg files) read rclpy's CDR bytes into the same values, write
    bytes rclpy reads back into the same message (same length; CDR padding bytes are
    unspecified), and have the RIHS01 type hash rosidl computed."""
    message = _samples()[topic]
    cls = type(message)
    typename = f"{cls.__module__.split('.')[0]}/msg/{cls.__name__}"
    assert RECORDED[topic] is cls
    store = get_typestore(Stores.ROS2_HUMBLE)
    definition = (msg.INTERFACES / f"{cls.__name__}.msg").read_text()
    store.register(get_types_from_msg(definition, typename))
    wire = serialize_message(message)
    standalone = store.deserialize_cdr(wire, typename)
    for field in cls.get_fields_and_field_types():
        if field != "header":
            assert np.all(getattr(standalone, field) == getattr(message, field)), field
    assert standalone.header.frame_id == message.header.frame_id
    back = bytes(store.serialize_cdr(standalone, typename))
    assert len(back) == len(wire) and deserialize_message(back, cls) == message
    package, _, name = typename.split("/")
    share = Path(get_package_share_directory(package))
    (built,) = json.loads((share / "msg" / f"{name}.json").read_text())["type_hashes"][:1]
    assert built == {"type_name": typename, "hash_string": store.hash_rihs01(typename)}
