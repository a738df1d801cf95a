"""Every command inside the input box, and lane states that cannot be used.

The input box of car_model (steering feedback within +-steering_max about the
feed-forward, acceleration within [accel_min, accel_max]) holds for every command the
controller sends: a new plan's first input, the last plan's feedback, the stop, and the
speed ramp's feed-forward on top of the plan after a stop. A /lane_state that is
non-finite, physically impossible, frozen, stale, from the future or inconsistent with the
model (innovation test) is not used: the plan holds, then the certified stop.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from test_fault_solver import CAR, Probe, drive, faulty_controller, violations

from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.nodes.statuses import PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.sim.lane_model import input_scale

SCALE = input_scale(CAR)
LOW = np.array([-CAR.steering_max, CAR.accel_min])  # rad, m/s^2
HIGH = np.array([CAR.steering_max, CAR.accel_max])


class Inputs:
    """Records /controller/input (the applied command in controller coordinates) as
    physical [steering feedback rad, acceleration m/s^2]."""

    def __init__(self, node) -> None:
        self.rows: list[np.ndarray] = []
        node.create_subscription(msg.ControlInput, "/controller/input", self.on_input)

    def on_input(self, m) -> None:
        self.rows.append(np.array([m.steering, m.acceleration]) * SCALE)

    def inside(self) -> bool:
        u = np.array(self.rows)
        return bool(np.all(u >= LOW - 1e-9) and np.all(u <= HIGH + 1e-9))


class Jump:
    """Republishes the sim's /lane_state shifted by `offset` (msg.LANE_FIELDS) and 1 ms
    later at the ticks in `ticks` (after the sim's, so the controller takes the shifted
    one)."""

    def __init__(self, node, ticks: set[int], offset) -> None:
        self.node, self.ticks, self.offset = node, ticks, offset
        self.last: tuple[float, np.ndarray] | None = None
        self.pub = node.create_publisher(msg.LaneState, "/lane_state")
        node.create_subscription(msg.LaneState, "/lane_state", self.on_lane)
        node.create_timer(0.1, self.on_tick)

    def on_lane(self, m) -> None:
        if not getattr(m, "_jumped", False):
            self.last = msg.seconds(m.header.stamp), msg.lane_values(m)

    def on_tick(self) -> None:
        tick = round(self.node.get_clock().now().nanoseconds * 1e-8)
        if tick in self.ticks and self.last is not None:
            stamp, values = self.last
            m = msg.lane_state(stamp + 1e-3, values + self.offset)
            m._jumped = True
            self.pub.publish(m)


def test_a_jump_of_the_lane_state_fails_the_innovation_test_and_the_plan_holds():
    """No plan at ticks 30-33 (infeasible), and at tick 31 the measured state jumps by
    0.2 m and 0.15 rad (1 mm further along): a state the model cannot reach from the last
    one (innovation test) is not used, the last plan holds on its prediction (its feedback
    never sees the jump), every command stays inside the box, the car in the lane."""
    inputs: list[Inputs] = []

    def between(runtime) -> None:
        Jump(runtime.create_node("jump"), {31}, np.array([0.001, 0.2, 0.15, 0.0, 0.0]))
        inputs.append(Inputs(runtime.create_node("inputs")))

    faults = dict.fromkeys(range(30, 34), "infeasible")
    _, probe = drive(faulty_controller(faults), duration=5.0, between=between)
    ticks = probe.controller()
    level, status, values = ticks[31]
    assert status == "hold" and level == msg.WARN
    assert values["measurement"] == "outlier: failed the innovation test"
    assert ticks[30][1] == "fallback" and ticks[34][1] == "optimal"
    assert inputs[0].inside() and len(inputs[0].rows) == 50
    assert violations(np.array(probe.lanes)) == 0


def test_speed_ramp_after_a_stop_stays_in_the_box():
    """The controller dies at 7 s (the watchdog stops the car) and a new one starts at
    9 s: the speed reference ramps up at resume_accel 2.5 m/s^2 (the schema allows up to
    5), its feed-forward on top of the plans' inputs, beyond accel_max 2."""
    params = parameters(CONFIG / "car.yaml", "oval")
    params["controller"] |= {"resume_accel": 2.5}
    runtime = Runtime(params)
    sim = SimNode(runtime.create_node("sim"))
    inputs = Inputs(runtime.create_node("inputs"))
    probe = Probe(runtime.create_node("probe"))
    first = runtime.create_node("controller")
    ControllerNode(first)
    try:
        runtime.spin_until(7.0)
        first.destroy_node()
        runtime.spin_until(9.0)
        ControllerNode(runtime.create_node("controller"))
        runtime.spin_until(16.0)
    finally:
        sim.destroy()
    assert len(inputs.rows) == 70 + 70 and inputs.inside()
    clipped = [t for t, _, _, values in probe.diags[PLANNER_STATUS] if "input" in values]
    assert clipped and min(clipped) >= 9.0  # the ramp's first ticks ask for more
    accel = np.array([d.drive.acceleration for d in probe.drives])
    assert accel.max() <= CAR.accel_max + 1e-6


def _controller_fed(lanes: list[list[float]], stamp_offsets=None) -> Probe:
    """A controller fed lanes[k - 1] as /lane_state at tick k (before its own tick),
    stamped now + stamp_offsets[k - 1] s (default 0), and nothing after; a probe of what
    it did."""
    runtime = Runtime(parameters(CONFIG / "car.yaml", "oval"))
    car = runtime.create_node("car")
    pub = car.create_publisher(msg.LaneState, "/lane_state")
    queue = list(zip(lanes, stamp_offsets or [0.0] * len(lanes), strict=True))

    def publish() -> None:
        if queue:
            values, offset = queue.pop(0)
            pub.publish(msg.lane_state(car.get_clock().now().nanoseconds * 1e-9 + offset, values))

    car.create_timer(0.1, publish)
    ControllerNode(runtime.create_node("controller"))
    probe = Probe(runtime.create_node("probe"))
    runtime.spin_until(0.1 * len(lanes) + 0.05)
    return probe


def _statuses(ticks: dict) -> list[str]:
    return [ticks[k][1] for k in sorted(ticks)]


def test_physically_impossible_or_non_finite_lane_states_are_not_used():
    """Ticks 2-3 bring e_y = 1e6 m, ticks 4-5 NaN: they are not used (the reason on
    /diagnostics), the plan holds on its prediction while it leaves a certified stop
    (ticks 2, 3), then the certified stop; tick 6's good state is used again. A first
    state that cannot be used gets no command."""
    feed = [[1.0, 0.01, 0.0, 0.0, 0.0], *[[1.15, 1e6, 0.0, 0.0, 0.0]] * 2]
    feed += [*[[1.45, np.nan, 0.0, 0.0, 0.0]] * 2, [1.75, 0.01, 0.0, 0.0, 0.0]]
    probe = _controller_fed(feed)
    ticks = probe.controller()
    assert _statuses(ticks) == ["optimal", "hold", "hold", "stop", "stop", "optimal"]
    impossible = "e_y = 1e+06 is physically impossible (plausible_state: |e_y| <= 1.0)"
    assert ticks[2][2]["measurement"] == ticks[3][2]["measurement"] == impossible
    assert ticks[4][2]["measurement"] == "non-finite e_y"
    assert all(float(ticks[k][2]["stop_margin"]) >= 0.0 for k in ticks)
    assert len(probe.drives) == 6
    steering = np.abs([d.drive.steering_angle for d in probe.drives])
    assert steering.max() <= CAR.steering_max  # a straight lane: no feed-forward
    ticks = _controller_fed([[1.0, 1e6, 0.0, 0.0, 0.0]]).controller()
    assert ticks[1][:2] == [msg.ERROR, "no /lane_state yet: no command"]
    assert ticks[1][2]["lane_state"] == impossible


def test_lane_states_are_aged_by_their_own_stamps():
    """States delayed by 0.35 s (older than state_timeout 0.3 s by their stamps, however
    fresh their arrival) are never used: without a state to certify a stop from, the car
    brakes ("emergency"). After a good state at tick 1, states stamped 1 s in the future
    (clocks that disagree), or stamped as the last one used, are not used: the plan holds,
    then the certified stop, with the reason."""
    state = [1.0, 0.01, 0.0, 0.0, 0.0]
    ticks = _controller_fed([state] * 3, [-0.35] * 3).controller()
    assert _statuses(ticks) == ["emergency"] * 3
    assert ticks[1][2]["measurement"] == "/lane_state stamped 0.350 s ago (state_timeout)"
    later = [[1.0 + 0.15 * k, 0.01, 0.0, 0.0, 0.0] for k in range(1, 5)]
    for offsets, reason in [
        ([1.0] * 4, "stamped 1.000 s in the future (more than state_timeout 0.3 s)"),
        ([-0.1, -0.2, -0.3, -0.4], "stamp 0.100 s not newer than the last used (0.100 s)"),
    ]:
        ticks = _controller_fed([state, *later], [0.0, *offsets]).controller()
        assert _statuses(ticks) == ["optimal", "hold", "hold", "stop", "stop"]
        assert [ticks[k][2].get("state_age_ms") for k in (1, 2, 3)] == ["0.00", "100.00", "200.00"]
        assert ticks[5][2]["measurement"].startswith(reason)


def test_a_frozen_lane_state_is_not_used_while_the_car_moves():
    """The same /lane_state every tick: used once while the car moves at its reference
    speed, then rejected (hold, then the certified stop); a standing car's repeated state
    is not frozen (it is used, until it fails the innovation test: the fed car does not
    move when told to)."""
    moving = [1.0, 0.01, 0.0, 0.0, 0.0]
    ticks = _controller_fed([moving] * 6).controller()
    assert _statuses(ticks) == ["optimal", "hold", "hold", "stop", "stop", "stop"]
    assert ticks[5][2]["measurement"] == "frozen: s = 1 m as before, at 1.50 m/s"
    standing = [1.0, 0.01, 0.0, -CAR.speed, 0.0]
    ticks = _controller_fed([standing] * 6).controller()
    reasons = [ticks[k][2]["measurement"] for k in sorted(ticks)]
    assert reasons[0] == "ok" and not any(r.startswith("frozen") for r in reasons)


def test_drive_and_cmd_vel_carry_the_commanded_speed():
    """A standing car (e_v = -speed): the reference ramps up, and the speed set-point is
    where the commanded acceleration takes the car one period on, not the measured 0."""
    standing = [1.0, 0.01, 0.0, -CAR.speed, 0.0]
    runtime = Runtime(parameters(CONFIG / "car.yaml", "oval"))
    car = runtime.create_node("car")
    pub = car.create_publisher(msg.LaneState, "/lane_state")
    now = lambda: car.get_clock().now().nanoseconds * 1e-9  # noqa: E731
    car.create_timer(0.1, lambda: pub.publish(msg.lane_state(now(), standing)))
    ControllerNode(runtime.create_node("controller"))
    probe = Probe(runtime.create_node("probe"))
    twists: list = []
    runtime.create_node("twists").create_subscription(msg.TwistStamped, "/cmd_vel", twists.append)
    runtime.spin_until(0.35)
    for command, twist in zip(probe.drives, twists, strict=True):
        assert command.drive.acceleration > 0.0
        assert command.drive.speed == pytest.approx(0.1 * command.drive.acceleration)
        assert twist.twist.linear.x == pytest.approx(command.drive.speed)
    assert len(twists) == 3


def test_a_non_finite_command_becomes_the_stop_input():
    controller = ControllerNode(Runtime(parameters(CONFIG / "car.yaml", "oval")).create_node("c"))
    command, note = controller._into_box(np.array([np.nan, 0.0]))
    np.testing.assert_array_equal(command, [0.0, CAR.accel_min])
    assert note.startswith("non-finite")
    command, note = controller._into_box(np.array([0.1, -1.0]))
    np.testing.assert_array_equal(command, [0.1, -1.0])
    assert note == ""


class LateController(ControllerNode):
    """Sends every command 0.12 s after the stamp of the state it answers (a busy host, a
    slow network): its clock runs that much ahead of the states."""

    def now(self) -> float:
        return super().now() + 0.12


class SentLongAgo(ControllerNode):
    """Gets every state 0.2 s (wall clock) after it was sent, its sim clock not moved on yet
    (a busy host between the sim's /lane_state and its next /clock)."""

    def on_lane(self, lane, written: float | None = None) -> None:
        super().on_lane(lane, time.time() - 0.2)


class SentJustNow(ControllerNode):
    """Gets every state as it is sent (wall clock)."""

    def on_lane(self, lane, written: float | None = None) -> None:
        super().on_lane(lane, time.time())


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("controller_class", "on_time"),
    [(ControllerNode, True), (LateController, False), (SentLongAgo, False), (SentJustNow, True)],
)
def test_a_late_answer_drives_but_enters_no_transition(controller_class, on_time):
    """A command sent more than a period after its state (by the node's clock, or by the
    wall clock since the state was sent) acted on a later step: the car drives on it, but
    neither the estimator (/controller/input) nor the consistency test pairs it with that
    state."""
    inputs: list[Inputs] = []
    controller, probe = drive(
        controller_class, 6.0, between=lambda rt: inputs.append(Inputs(rt.create_node("in")))
    )
    assert {message for _, message, _ in probe.controller().values()} == {"optimal"}
    assert violations(np.array(probe.lanes)) == 0
    assert (len(inputs[0].rows) >= 50) == on_time
    assert (len(controller.window) >= 40) == on_time
    assert on_time or (not inputs[0].rows and not controller.window)
