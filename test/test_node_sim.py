"""The sim node in the in-process runtime: clock, sensors, drive commands, watchdog,
parameter validation."""

import numpy as np
import pytest

from safe_control_ros.nodes.qos import LATCHED
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
    seen = {"clock": [], "image": [], "odom": [], "lane": [], "tf": [], "tf_static": []}
    probe.create_subscription(msg.Clock, "/clock", seen["clock"].append)
    probe.create_subscription(msg.Image, "/sim/camera/image_raw", seen["image"].append)
    probe.create_subscription(msg.Odometry, "/odom", seen["odom"].append)
    probe.create_subscription(msg.LaneState, "/lane_state", seen["lane"].append)
    probe.create_subscription(msg.TFMessage, "/tf", seen["tf"].append)
    probe.create_subscription(msg.TFMessage, "/tf_static", seen["tf_static"].append, LATCHED)
    return runtime, sim, probe, seen


def test_sim_node_publishes_clock_sensors_and_ground_truth():
    runtime, sim, probe, seen = _graph()
    received: list[tuple[float, str]] = []  # (runtime time, topic)
    for topic in ("/clock", "/lane_state"):
        probe.create_subscription(
            msg.Clock if topic == "/clock" else msg.LaneState,
            topic,
            lambda _, topic=topic: received.append((runtime.now, topic)),
        )
    runtime.spin_until(1.0 + sim.config.clock_delay)
    period, delay = sim.config.control_period, sim.config.clock_delay
    stamps = [msg.seconds(c.clock) for c in seen["clock"]]
    # the clock of each step comes clock_delay after that step's sensor data
    np.testing.assert_allclose(stamps, period * np.arange(len(stamps)))
    assert stamps[-1] == pytest.approx(1.0)
    clock_times = [t for t, topic in received if topic == "/clock"]
    lane_times = [t for t, topic in received if topic == "/lane_state"]
    np.testing.assert_allclose(np.array(clock_times[1:]) - lane_times, delay)
    lane_stamps = [msg.seconds(m.header.stamp) for m in seen["lane"]]
    np.testing.assert_allclose(lane_stamps, stamps[1:])
    assert len(seen["image"]) == round(1.0 / sim.config.camera_period)
    img = seen["image"][-1]
    rgb = msg.image_array(img, sim.config.camera_height, sim.config.camera_width)
    assert rgb.std() > 5  # a real picture, not a blank frame
    odom = seen["odom"][-1]
    assert (odom.header.frame_id, odom.child_frame_id) == ("odom", "base_link")
    assert odom.pose.pose.position.x > 1.0  # drove forward at the reference speed
    lane = seen["lane"][-1]
    assert (msg.seconds(lane.header.stamp), lane.header.frame_id) == (stamps[-1], "odom")
    assert abs(lane.e_y) < 0.1  # near the centreline
    sim.destroy()


def test_sim_node_publishes_tf_per_rep_105():
    """/tf: odom -> base_link, the odometry's pose at its stamp, every tick; /tf_static
    (transient local, seen by a late subscriber): base_link -> camera_link, the camera's
    mount (position, and pitch > 0 looking down)."""
    runtime, sim, _, seen = _graph()
    runtime.spin_until(1.0)
    assert len(seen["tf"]) == len(seen["odom"]) == 10
    (base,) = seen["tf"][-1].transforms
    odom = seen["odom"][-1]
    assert (base.header.frame_id, base.child_frame_id) == ("odom", "base_link")
    assert base.header.stamp == odom.header.stamp
    position, rotation = base.transform.translation, base.transform.rotation
    pose = odom.pose.pose
    assert (position.x, position.y) == (pose.position.x, pose.position.y)
    assert (rotation.z, rotation.w) == pytest.approx((pose.orientation.z, pose.orientation.w))
    (static,) = seen["tf_static"]
    (camera,) = static.transforms
    assert (camera.header.frame_id, camera.child_frame_id) == ("base_link", "camera_link")
    t = camera.transform.translation
    assert (t.x, t.y, t.z) == pytest.approx(sim.config.camera_position)
    q = camera.transform.rotation
    pitch = sim.config.camera_rpy[1]
    assert (q.x, q.y, q.z, q.w) == pytest.approx((0, np.sin(pitch / 2), 0, np.cos(pitch / 2)))
    sim.destroy()


def test_drive_commands_steer_the_car_and_bad_ones_are_rejected():
    runtime, sim, probe, seen = _graph()
    drive = probe.create_publisher(msg.AckermannDriveStamped, "/drive")
    probe.create_timer(0.1, lambda: drive.publish(msg.ackermann(0.0, 0.2, 0.0, 1.5)))
    runtime.spin_until(1.0)
    assert seen["lane"][-1].e_y > 0.05  # steered left of the centreline
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
