"""The standalone launcher in process, with an MCAP recording (one ROS 2 process per
node: test/ros/test_ros_graph.py)."""

from rosbags.highlevel import AnyReader

from safe_control_ros.launcher import main
from safe_control_ros.runtime import messages as msg


def test_inprocess_launch_records_a_bag_rosbags_reads(tmp_path):
    bag = tmp_path / "bag"
    assert main(["--duration", "3", "--record", str(bag)]) == 0
    assert any(bag.glob("*.mcap"))
    with AnyReader([bag], default_typestore=msg.TYPESTORE) as reader:
        drives = [c for c in reader.connections if c.topic == "/drive"]
        steering = [
            reader.deserialize(raw, c.msgtype).drive.steering_angle
            for c, _, raw in reader.messages(connections=drives)
        ]
        topics = {c.topic for c in reader.connections}
    assert len(steering) == 30  # 3 s at 10 Hz
    assert {"/lane_state", "/diagnostics", "/clock", "/plan"} <= topics
