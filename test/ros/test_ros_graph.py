"""The graph as ROS 2 processes under real rclpy, one per node on loopback: sim, camera,
perception, estimator and controller from config/car.yaml, the controller driving on the
perception map's measurements (maps/cnn_preview.npz, `graph.PERCEPTION_PROFILE`), every
node but the sim on the sim's /clock. 30 s of simulated time in real time."""

from __future__ import annotations

import collections
import time
from pathlib import Path

import numpy as np
import rclpy
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from test_fault_solver import violations

from safe_control_ros.graph import with_perception
from safe_control_ros.launcher import CONFIG, RECORDED, RosGraph, parameters
from safe_control_ros.nodes.statuses import FIT_STATUS, PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.ros import Tap

ROOT = Path(__file__).resolve().parents[2]
SIM_TIME = 30.0  # s of simulated time
TOPICS = ("/clock", "/lane_state", "/diagnostics", "/perception/measurement", "/tf_static")


def _collect(tap: Tap, graph: RosGraph, until_sim_time: float, timeout: float) -> list:
    """Tap samples until the sim's /clock reaches `until_sim_time` s, a node process exits
    (AssertionError) or `timeout` s of wall clock pass."""
    samples: list = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        samples += tap.take()
        assert not graph.exited(), graph.exited()
        clocks = [msg.seconds(s.msg.clock) for s in samples if s.topic == "/clock"]
        if clocks and clocks[-1] >= until_sim_time:
            return samples
        time.sleep(0.1)
    raise AssertionError(f"/clock did not reach {until_sim_time} s in {timeout} s")


def planner_at(samples: list, row: int) -> list[str]:
    """The planner's statuses (and what became of the measurement) in the 0.6 s up to the
    lane state `row`: what a violation there followed."""
    stamps = [s.msg.header.stamp for s in samples if s.topic == "/lane_state"]
    t = msg.seconds(stamps[row])
    return [
        f"{msg.seconds(s.msg.header.stamp):.1f} {st.message} "
        + " ".join(kv.value for kv in st.values if kv.key == "measurement")
        for s in samples
        if s.topic == "/diagnostics" and t - 0.6 <= msg.seconds(s.msg.header.stamp) <= t
        for st in s.msg.status
        if st.name == PLANNER_STATUS
    ]


def _parameters(node, name: str) -> tuple[dict, list]:
    """Node `name`'s parameter services: (horizon and use_sim_time as get_parameters
    answers, set_parameters' results for a new horizon)."""
    client = AsyncParameterClient(node, name)
    assert client.wait_for_services(timeout_sec=10.0)
    future = client.get_parameters(["horizon", "use_sim_time"])
    rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
    values = future.result().values
    got = {"horizon": values[0].integer_value, "use_sim_time": values[1].bool_value}
    future = client.set_parameters([Parameter("horizon", value=5)])
    rclpy.spin_until_future_complete(node, future, timeout_sec=10.0)
    return got, list(future.result().results)


def test_ros_processes_drive_on_perception_inside_the_safe_set(tmp_path):
    params = with_perception(
        parameters(CONFIG / "car.yaml", "oval"), ROOT / "maps" / "cnn_preview.npz"
    )
    tap = Tap({topic: RECORDED[topic] for topic in TOPICS})
    rclpy.init()
    client = rclpy.create_node("parameter_client")
    try:
        with RosGraph(params, tmp_path) as graph:
            assert graph.nodes == ["sim", "camera", "perception", "estimator", "controller"]
            assert graph.start_all(), graph.exited()
            samples = _collect(tap, graph, SIM_TIME, timeout=4 * SIM_TIME)
            got, results = _parameters(client, "controller")
            codes = graph.stop()
    finally:
        tap.close()
        client.destroy_node()
        rclpy.try_shutdown()
    logs = {p.stem: p.read_text()[-2000:] for p in tmp_path.glob("*.log")}
    assert codes == dict.fromkeys(graph.nodes, 0), logs

    lanes = np.array([msg.lane_values(s.msg) for s in samples if s.topic == "/lane_state"])
    assert len(lanes) >= 0.9 * SIM_TIME / 0.1
    # Safety, strictly. A measurement that takes longer than the sim's clock_delay to come
    # is a missing one: the controller holds, then brakes to a stop ("stop") and ramps up
    # again; so it does at start-up, until the first images come. Braking and standing
    # are in the safe set (`violations`' speed floor: a standing car); every other bound
    # holds at every step.
    bad = [k for k in range(len(lanes)) if violations(lanes[k : k + 1], speed_floor=[True])]
    assert not bad, [(k, lanes[k].round(3).tolist(), planner_at(samples, k)) for k in bad]
    travelled = np.maximum(np.diff(lanes[:, 0]), 0.0).sum()  # m (s wraps round the oval)
    assert travelled > 2.0  # m: it drove (about 40 m idle; 6 m beside 3 busy processes)

    statuses = [st for s in samples if s.topic == "/diagnostics" for st in s.msg.status]
    levels = {int.from_bytes(st.level, "little") for st in statuses}  # a byte field in rclpy
    assert levels <= {msg.OK, msg.WARN, msg.ERROR}
    assert {st.hardware_id for st in statuses} == {"racecar"}
    planner = [st.message for st in statuses if st.name == PLANNER_STATUS]
    assert planner.count("optimal") >= 10, set(planner)  # about 250 of 300 idle
    print(f"\n{travelled:.1f} m in {SIM_TIME} s; planner {collections.Counter(planner)}")
    assert any(st.name == FIT_STATUS for st in statuses)

    measurements = [s.msg for s in samples if s.topic == "/perception/measurement"]
    assert sum(m.valid for m in measurements) >= 0.5 * len(measurements) > 0
    (static,) = [s.msg for s in samples if s.topic == "/tf_static"]
    assert static.transforms[0].child_frame_id == "camera_link"

    assert got == {"horizon": 3, "use_sim_time": True}  # the perception profile's horizon
    (result,) = results
    assert not result.successful and "read-only" in result.reason, result.reason
