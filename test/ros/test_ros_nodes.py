"""Under real rclpy: a node process with invalid parameters, the standalone launcher's
ROS 2 mode, and the message definitions the standalone runtime and the recorder use
(rosbags' typestore) against the ones rosidl builds."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rclpy
from ament_index_python.packages import get_package_share_directory
from rclpy.parameter import Parameter
from rclpy.serialization import deserialize_message, serialize_message
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from safe_control_ros.launcher import RECORDED, main
from safe_control_ros.nodes import model_update
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.runtime import messages as msg
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

ROOT = Path(__file__).resolve().parents[2]


def _controller(params_file: Path) -> list[str]:
    """The command that runs the controller node as a ROS 2 process."""
    module = "safe_control_ros.runtime.ros"
    return [
        sys.executable,
        "-m",
        module,
        "controller",
        "--ros-args",
        "--params-file",
        str(params_file),
    ]


def test_node_process_with_a_bad_file_exits_with_one_error_line(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("controller:\n  ros__parameters:\n    tau: -1\n")
    run = subprocess.run(
        _controller(config),
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


def test_a_plain_ros2_node_drives_the_controller_process():
    """Both ways on the wire with a ROS 2 node that is none of ours (plain rclpy, wall
    clock): its /lane_state reaches the controller process, whose /drive and
    /controller/input (stamped with that state's stamp) reach it back."""
    rclpy.init()
    node = rclpy.create_node("car_driver")
    drives, inputs = [], []
    node.create_subscription(RECORDED["/drive"], "/drive", drives.append, 10)
    node.create_subscription(RECORDED["/controller/input"], "/controller/input", inputs.append, 10)
    lane = node.create_publisher(RECORDED["/lane_state"], "/lane_state", 10)
    stamps: list = []

    def publish() -> None:
        state = msg.lane_state(node.get_clock().now().nanoseconds * 1e-9, [1.0, 0.02, 0, 0, 0])
        state.s += 0.15 * len(stamps)  # a moving car
        stamps.append(state.header.stamp)
        lane.publish(state)

    node.create_timer(0.1, publish)
    controller = subprocess.Popen(
        _controller(ROOT / "config" / "car.yaml"),
        cwd=ROOT,
    )
    try:
        end = time.monotonic() + 60.0
        while len(inputs) < 20 and time.monotonic() < end and controller.poll() is None:
            rclpy.spin_once(node, timeout_sec=0.1)
    finally:
        controller.send_signal(signal.SIGINT)
        code = controller.wait(timeout=30)
        node.destroy_node()
        rclpy.try_shutdown()
    assert code == 0 and len(inputs) >= 20 and drives
    assert {(i.header.stamp.sec, i.header.stamp.nanosec) for i in inputs} <= {
        (s.sec, s.nanosec) for s in stamps
    }


def _ended(process: subprocess.Popen, signum: int) -> tuple[int | None, str]:
    """Send `signum`, then (exit code, None if still running after 30 s; stderr)."""
    process.send_signal(signum)
    try:
        code = process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        code = None
    return code, process.communicate()[1]


@pytest.mark.parametrize("running", [False, True], ids=["during start-up", "running"])
def test_a_node_process_ends_cleanly_on_sigint_and_sigterm(running):
    """SIGINT while the controller builds its planner (its node is up, /drive is not), or
    SIGUSR1 (its threads' stacks on
    stderr, and it keeps running) then SIGTERM once it publishes: exit code 0 each time."""
    rclpy.init()
    node = rclpy.create_node("watcher")
    controller = subprocess.Popen(
        _controller(ROOT / "config" / "car.yaml"), cwd=ROOT, stderr=subprocess.PIPE, text=True
    )
    try:
        up = node.count_publishers if running else lambda _: "controller" in node.get_node_names()
        end = time.monotonic() + 60.0
        while not up("/drive") and time.monotonic() < end:
            time.sleep(0.05)
        assert controller.poll() is None, controller.communicate()[1]
        if not running:
            code, stderr = _ended(controller, signal.SIGINT)
            assert code == 0, stderr
            return
        controller.send_signal(signal.SIGUSR1)
        time.sleep(1.0)
        assert controller.poll() is None
        code, stderr = _ended(controller, signal.SIGTERM)
    finally:
        controller.kill()
        node.destroy_node()
        rclpy.try_shutdown()
    assert code == 0, stderr
    assert "most recent call first" in stderr and "in spin" in stderr


def test_the_sims_step_applies_the_commands_it_received_before_it():
    """rclpy runs a due timer before a received message: the sim's step takes the /drive
    commands received so far itself (runtime.pending), so the step never runs on an older
    command than one the sim has (a busy host woke it with both ready)."""
    rclpy.init()
    sim_node = rclpy.create_node("sim", parameter_overrides=[Parameter("camera_period", value=0.0)])
    sim = SimNode(sim_node)
    driver = rclpy.create_node("driver")
    received: list = []
    driver.create_subscription(RECORDED["/drive"], "/drive", received.append, 10)
    drive = driver.create_publisher(RECORDED["/drive"], "/drive", 10)
    try:
        end = time.monotonic() + 30.0
        while sim.drive_sub.get_publisher_count() == 0 and time.monotonic() < end:
            time.sleep(0.05)
        drive.publish(msg.ackermann(0.0, 0.1, 1.0, 1.6))
        while not received and time.monotonic() < end:  # the driver's own reader has it
            rclpy.spin_once(driver, timeout_sec=0.05)
        assert received
        sim.on_tick()  # the sim's executor never ran
        assert sim.world.applied_command == pytest.approx((0.1, 1.0))
    finally:
        sim.destroy()
        sim_node.destroy_node()
        driver.destroy_node()
        rclpy.try_shutdown()
