"""Recording the in-process sim's topics to a rosbag2/MCAP bag and reading it back."""

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.paramfile import load_parameter_file
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.runtime.recording import Recorder

pytestmark = pytest.mark.skipif(msg.ROS, reason="the recorder serves the standalone runtime")

TOPICS = {
    "/clock": msg.Clock,
    "/odom": msg.Odometry,
    "/lane_state": msg.LaneState,
    "/sim/camera/image_raw": msg.Image,
    "/drive": msg.AckermannDriveStamped,
}


def test_recorded_bag_is_mcap_with_ros2_schemas_and_decodes(tmp_path):
    runtime = Runtime(load_parameter_file("config/car.yaml"))
    sim = SimNode(runtime.create_node("sim"))
    probe = runtime.create_node("probe")
    seen = []
    probe.create_subscription(msg.Odometry, "/odom", seen.append)
    drive = probe.create_publisher(msg.AckermannDriveStamped, "/drive")
    probe.create_timer(0.1, lambda: drive.publish(msg.ackermann(runtime.now, 0.1, 0.0, 1.5)))
    bag = tmp_path / "run"
    with Recorder(runtime.create_node("recorder"), bag, TOPICS) as recorder:
        runtime.spin_until(1.0)
    sim.destroy()

    files = list(bag.iterdir())
    mcap = [f for f in files if f.suffix == ".mcap"]
    assert {f.name for f in files} == {"metadata.yaml", mcap[0].name}
    assert mcap[0].read_bytes()[:8] == b"\x89MCAP0\r\n"
    assert recorder.counts == {topic: 10 for topic in TOPICS}

    with Reader(bag) as reader:
        assert reader.message_count == 50
        connections = {c.topic: c for c in reader.connections}
        assert set(connections) == set(TOPICS)
        odom_conn = connections["/odom"]
        assert odom_conn.msgtype == "nav_msgs/msg/Odometry"
        assert odom_conn.digest == msg.TYPESTORE.hash_rihs01("nav_msgs/msg/Odometry")
        assert "MSG: geometry_msgs/Pose" in odom_conn.msgdef.data
        decoded: dict[str, list] = {topic: [] for topic in TOPICS}
        stamps: dict[str, list] = {topic: [] for topic in TOPICS}
        for connection, timestamp, data in reader.messages():
            message = msg.TYPESTORE.deserialize_cdr(data, connection.msgtype)
            decoded[connection.topic].append(message)
            stamps[connection.topic].append(timestamp)

    np.testing.assert_allclose(
        [msg.seconds(c.clock) for c in decoded["/clock"]], 0.1 * np.arange(10)
    )
    # recorded at sim time (ns), each step's clock clock_delay (0.05 s) after its sensors
    assert stamps["/clock"] == [round((0.1 * k + 0.05) * 1e9) for k in range(10)]
    assert stamps["/odom"] == [round(0.1 * k * 1e9) for k in range(1, 11)]
    for got, want in zip(decoded["/odom"], seen, strict=True):
        assert got.pose.pose.position.x == want.pose.pose.position.x
        np.testing.assert_array_equal(got.twist.covariance, want.twist.covariance)
    image = decoded["/sim/camera/image_raw"][-1]
    rgb = msg.image_array(image, sim.config.camera_height, sim.config.camera_width)
    assert rgb.std() > 5
    assert decoded["/drive"][-1].drive.steering_angle == pytest.approx(0.1)
    lane = connections["/lane_state"]
    assert lane.msgtype == "safe_control_interfaces/msg/LaneState"
    assert (
        "float64 curvature_ahead" in lane.msgdef.data and "MSG: std_msgs/Header" in lane.msgdef.data
    )
    assert decoded["/lane_state"][0].header.frame_id == "odom"


def _humble_reads(metadata: dict) -> None:
    """The conversions Humble's rosbag2 (0.15, rosbag2_storage/yaml.hpp) applies to a bag's
    metadata.yaml: every field it reads exists with the type it converts to (KeyError or
    AssertionError otherwise). Newer fields (custom_data, ros_distro,
    type_description_hash) are not read."""
    info = metadata["rosbag2_bagfile_information"]
    assert isinstance(info["storage_identifier"], str)
    assert isinstance(info["duration"]["nanoseconds"], int)
    assert isinstance(info["starting_time"]["nanoseconds_since_epoch"], int)
    assert isinstance(info["message_count"], int)
    for topic in info["topics_with_message_count"]:
        meta = topic["topic_metadata"]
        for field in ("name", "type", "serialization_format", "offered_qos_profiles"):
            assert isinstance(meta[field], str), field  # a list here fails Humble's yaml-cpp
        assert isinstance(topic["message_count"], int)
    assert all(isinstance(p, str) for p in info["relative_file_paths"])
    assert isinstance(info["compression_format"], str) and isinstance(info["compression_mode"], str)
    for file in info["files"]:
        assert isinstance(file["path"], str) and isinstance(file["message_count"], int)
        assert isinstance(file["starting_time"]["nanoseconds_since_epoch"], int)
        assert isinstance(file["duration"]["nanoseconds"], int)
    assert isinstance(info["version"], int) and 5 <= info["version"] <= 8


def test_recorded_bag_metadata_is_readable_by_humble_and_jazzy(tmp_path):
    runtime = Runtime(load_parameter_file("config/car.yaml"))
    sim = SimNode(runtime.create_node("sim"))
    with Recorder(runtime.create_node("recorder"), tmp_path / "run", TOPICS):
        runtime.spin_until(0.5)
    sim.destroy()
    metadata = yaml.safe_load((tmp_path / "run" / "metadata.yaml").read_text())
    _humble_reads(metadata)
    with Reader(tmp_path / "run") as reader:  # rosbags reads it as Jazzy's rosbag2 does
        assert reader.message_count == 5 * len(TOPICS) - 5  # no /drive
    with Writer(tmp_path / "v9", version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        writer.add_connection("/clock", "rosgraph_msgs/msg/Clock", typestore=msg.TYPESTORE)
    newest = yaml.safe_load((tmp_path / "v9" / "metadata.yaml").read_text())
    with pytest.raises(AssertionError, match="offered_qos_profiles"):
        _humble_reads(newest)  # version 9, as rosbags writes by default: not for Humble


def test_recorder_refuses_an_existing_bag_and_unknown_types(tmp_path):
    runtime = Runtime()
    with pytest.raises(Exception, match="exists"):
        Recorder(runtime.create_node("a"), tmp_path, {"/clock": msg.Clock})
    with pytest.raises(ValueError, match="no topics"):
        Recorder(runtime.create_node("b"), tmp_path / "b", {})
