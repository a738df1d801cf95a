"""The sim node in the in-process runtime: clock, sensors, drive commands, watchdog,
parameter validation."""

import numpy as np
import pytest

from safe_control_ros.nodes.layouts import LANE_STATE
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.paramfile import load_parameter_file
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime

CONFIG = "config/car.yaml"


def _graph(**overrides):
    params = load_parameter_file(CONFIG)
    params["sim"] = params["sim"] | overrides
    runtime = Runtime(params)
    sim = SimNode(runtime.create_node("sim"))
    runtime.check_parameters()
    probe = runtime.create_node("probe")
    seen = {"clock": [], "image": [], "odom": [], "lane": []}
    probe.create_subscription(msg.Clock, "/clock", seen["clock"].append)
    probe.create_subscription(msg.Image, "/sim/camera/image_raw", seen["image"].append)
    probe.create_subscription(msg.Odometry, "/odom", seen["odom"].append)
    probe.create_subscription(msg.Float64MultiArray, "/lane_state", seen["lane"].append)
    return runtime, sim, probe, seen


def test_sim_node_publishes_clock_sensors_and_ground_truth():
    runtime, sim, _, seen = _graph()
    runtime.spin_until(1.0)
    period = sim.config.control_period
    stamps = [msg.seconds(c.clock) for c in seen["clock"]]
    np.testing.assert_allclose(stamps, period * np.arange(1, len(stamps) + 1))
    assert stamps[-1] == pytest.approx(1.0)
    assert len(seen["image"]) == round(1.0 / sim.config.camera_period)
    img = seen["image"][-1]
    rgb = msg.image_array(img, sim.config.camera_height, sim.config.camera_width)
    assert rgb.std() > 5  # a real picture, not a blank frame
    odom = seen["odom"][-1]
    assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
    assert odom.pose.pose.position.x > 1.0  # drove forward at the reference speed
    lane = seen["lane"][-1]
    assert lane.layout.dim[0].label == ",".join(LANE_STATE)
    assert abs(lane.data[1]) < 0.1  # near the centreline
    sim.destroy()


def test_drive_commands_steer_the_car_and_bad_ones_are_rejected():
    runtime, sim, probe, seen = _graph()
    drive = probe.create_publisher(msg.AckermannDriveStamped, "/drive")
    probe.create_timer(0.1, lambda: drive.publish(msg.ackermann(0.0, 0.2, 0.0, 1.5)))
    runtime.spin_until(1.0)
    assert seen["lane"][-1].data[1] > 0.05  # steered left of the centreline
    drive.publish(msg.ackermann(0.0, float("nan"), 0.0, 1.5))
    drive.publish(msg.ackermann(0.0, 5.0, 0.0, 1.5))
    runtime._deliver()
    assert sim.world.stats.rejected == 1 and sim.world.stats.saturated >= 1
    sim.destroy()


def test_watchdog_brakes_to_a_stop_without_commands():
    runtime, sim, _, seen = _graph(watchdog_timeout=0.3)
    runtime.spin_until(4.0)
    assert sim.world.watchdog_tripped
    assert abs(seen["odom"][-1].twist.twist.linear.x) < 0.05
    sim.destroy()


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"steering_limit": -0.1}, "sim.steering_limit"),
        ({"camera_width": 0}, "sim.camera_width"),
        ({"control_period": "fast"}, "sim.control_period"),
        ({"no_such_parameter": 1.0}, "unknown parameter"),
    ],
)
def test_bad_parameters_fail_at_start_up(overrides, match):
    with pytest.raises(ValueError, match=match):
        _graph(**overrides)


def test_malformed_parameter_files_fail_with_the_file_named(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sim: [1, 2")
    with pytest.raises(ValueError, match="not valid YAML"):
        load_parameter_file(bad)
    bad.write_text("sim:\n  steering_limit: 0.3\n")
    with pytest.raises(ValueError, match="ros__parameters"):
        load_parameter_file(bad)
    with pytest.raises(ValueError, match="cannot read"):
        load_parameter_file(tmp_path / "missing.yaml")
