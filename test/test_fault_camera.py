"""Camera and perception faults with the controller driving on the learned map, in the
in-process runtime (lockstep, seeded): sim -> camera faults -> perception -> controller.

Frames that stop, arrive late or out of order, and garbage (black, wrong size, wrong
encoding) are flagged by the perception node (valid = 0); the controller holds its last
plan and, past `hold_time`, brakes straight on to a stop; it drives on again when frames
come back. An outlier beyond the calibrated bound is caught by the innovation test. Each
case: zero safe-set violations (speed floor relaxed to a standing car while stopping)."""

from __future__ import annotations

import numpy as np
import pytest
from test_fault_solver import CAR, Probe, violations
from test_fault_solver import drive as drive_graph

from safe_control_ros.launcher import CONFIG, parameters, with_perception
from safe_control_ros.nodes.perception_node import PerceptionNode
from safe_control_ros.runtime import messages as msg

FAULT_START = 30  # tick (0.1 s each) of the first faulty frame
MAP = "maps/cnn_preview.npz"


class FaultyCamera:
    """Forwards /sim/camera/image_raw to /camera/image_raw, with `faults` {tick: kind}:
    "drop", "late" (the frame of 3 ticks ago), "swap" (the previous frame after this one),
    "black", "size" (half height), "encoding" (bgr8)."""

    def __init__(self, node, faults: dict[int, str]) -> None:
        self.faults, self.frames = faults, []
        self.pub = node.create_publisher(msg.Image, "/camera/image_raw")
        node.create_subscription(msg.Image, "/sim/camera/image_raw", self.on_image)

    def on_image(self, image) -> None:
        self.frames.append(image)
        kind = self.faults.get(round(msg.seconds(image.header.stamp) * 10))
        stamp, frame = msg.seconds(image.header.stamp), image.header.frame_id
        rgb = msg.image_array(image, image.height, image.width)
        if kind is None:
            self.pub.publish(image)
        elif kind == "late":
            self.pub.publish(self.frames[-4])
        elif kind == "swap":
            self.pub.publish(image)
            self.pub.publish(self.frames[-2])
        elif kind == "black":
            self.pub.publish(msg.image(stamp, frame, np.zeros_like(rgb)))
        elif kind == "size":
            self.pub.publish(msg.image(stamp, frame, rgb[: rgb.shape[0] // 2]))
        elif kind == "encoding":
            wrong = msg.image(stamp, frame, rgb)
            wrong.encoding = "bgr8"
            self.pub.publish(wrong)


def outlier_perception(outliers: dict[int, float]) -> type[PerceptionNode]:
    """A PerceptionNode that adds `outliers` {tick: m} to e_y of valid measurements."""

    class OutlierPerception(PerceptionNode):
        def _publish(self, stamp: float, estimate, bound, valid: bool) -> None:
            offset = outliers.get(round(stamp * 10), 0.0)
            super()._publish(stamp, estimate + np.array([offset, 0.0]), bound, valid)

    return OutlierPerception


def drive(faults=None, outliers=None, duration: float = 8.0):
    """The graph on the oval for `duration` s; returns (controller, probe)."""

    def camera_and_perception(runtime) -> None:
        FaultyCamera(runtime.create_node("faulty_camera"), faults or {})
        outlier_perception(outliers or {})(runtime.create_node("perception"))

    params = with_perception(parameters(CONFIG / "car.yaml", "oval"), MAP)
    return drive_graph(duration=duration, params=params, between=camera_and_perception)


def _statuses(probe: Probe, ticks) -> list[str]:
    status = probe.controller()
    return [status[k][1] for k in ticks]


def _speeds(probe: Probe) -> np.ndarray:
    """The car's speed (m/s) per ground-truth /lane_state."""
    return CAR.speed + np.array(probe.lanes)[:, 3]


def test_nominal_frames_keep_every_plan_optimal():
    _, probe = drive()
    statuses = _statuses(probe, range(5, 80))
    assert statuses.count("optimal") >= 0.95 * len(statuses)
    assert "stop" not in statuses
    assert violations(np.array(probe.lanes)) == 0


@pytest.mark.parametrize("kind", ["drop", "late", "swap", "black", "size", "encoding"])
def test_a_short_camera_fault_holds_the_plan_then_stops_certified(kind):
    """Two faulty frames: the plan holds on its prediction while that leaves a certified
    stop (the prediction's box grows by the prior's disturbance bound each step), then the
    certified stop; the next good frame resumes the plans."""
    faulty = range(FAULT_START, FAULT_START + 2)
    _, probe = drive(dict.fromkeys(faulty, kind))
    status = probe.controller()
    held = _statuses(probe, faulty)
    assert held[0] == "hold" and held in (["hold", "hold"], ["hold", "stop"]), held
    assert [status[k][0] for k in faulty] == [msg.WARN if s == "hold" else msg.ERROR for s in held]
    assert all(float(status[k][2]["stop_margin"]) >= 0.0 for k in faulty)
    if kind != "drop":  # a dropped frame is stale by the next tick; the others are flagged
        assert status[FAULT_START][2]["measurement"] == "flagged invalid by perception"
    after = _statuses(probe, range(FAULT_START + 2, 80))
    assert "optimal" in after[:3] and "emergency" not in after
    assert violations(np.array(probe.lanes)) == 0


def test_frames_that_stop_make_the_car_brake_to_a_stop_and_resume():
    outage = range(FAULT_START, FAULT_START + 30)  # 3 s without frames
    controller, probe = drive(dict.fromkeys(outage, "drop"), duration=20.0)
    config = controller.config
    # the last plan holds while it leaves a certified stop, at most hold_time, then the stop
    statuses = _statuses(probe, outage)
    held = statuses.index("stop")
    assert 1 <= held <= round(config.hold_time / config.control_period)
    assert statuses[:held] == ["hold"] * held and set(statuses[held:]) == {"stop"}
    assert all(float(probe.controller()[k][2]["stop_margin"]) >= 0.0 for k in outage)
    speeds = _speeds(probe)
    assert speeds[FAULT_START + 29] < 0.05  # standing
    assert _statuses(probe, range(FAULT_START + 32, 200)).count("optimal") > 100
    assert speeds[-1] > 1.0  # driving again
    lanes = np.array(probe.lanes)
    floor = np.arange(len(lanes)) >= FAULT_START
    assert violations(lanes, speed_floor=floor) == 0


def test_an_outlier_beyond_the_bound_fails_the_innovation_test():
    outliers = {FAULT_START: 0.12, FAULT_START + 10: -0.12}  # m, beyond the bound
    _, probe = drive(outliers=outliers)
    status = probe.controller()
    for tick in outliers:
        _, message, values = status[tick]
        assert message == "hold", tick
        assert values["measurement"] == "outlier: failed the innovation test", tick
    assert _statuses(probe, [FAULT_START + 1, FAULT_START + 11]) == ["optimal", "optimal"]
    assert violations(np.array(probe.lanes)) == 0
