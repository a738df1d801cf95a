"""The standalone launcher: in-process with an MCAP recording, and one process per node
over DDS."""

from rosbags.highlevel import AnyReader
from test_runtime_dds import LOOPBACK, _domain

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


def test_dds_launch_runs_each_node_in_its_own_process(monkeypatch, capfd):
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(_domain(2)))
    assert main(["--mode", "dds", "--duration", "15"]) == 0  # start-up takes a few s
    err = capfd.readouterr().err
    for node in ("sim", "estimator", "controller"):
        assert f"[safe_control_ros.{node}]: shutting down" in err
    assert "/drive commands again" in err or "watchdog" not in err  # the controller drives
