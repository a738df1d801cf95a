"""Solver faults in the controller node, in the in-process runtime (lockstep, seeded):
infeasible, failed, raising and late solves. The last feasible plan's feedback is applied
on the faulty tick, the event is on /diagnostics, no exception escapes and the car stays
in its safe set. Also the shared harness of the in-process fault tests."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from safe_control_ros.control.plan import Solution
from safe_control_ros.control.receding import Planner
from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.nodes.statuses import PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.sim.config import CarModelConfig

CAR = CarModelConfig.from_yaml(CONFIG / "car.yaml")
STANDING = 0.02  # m/s: speed jitter of a standing car (-0.013 seen after a stop under load)


def violations(lanes: np.ndarray, car: CarModelConfig = CAR, speed_floor=None) -> int:
    """Ground-truth /lane_state rows [s, e_y, e_psi, e_v, ...] outside the safe set
    |e_y| <= e_y_max, |e_psi| <= e_psi_max, |e_v| <= e_v_max. `speed_floor` (bool per row):
    rows where the car is braking to a stop or ramping back up, where the lower speed
    bound is a standing car (e_v >= -speed) instead."""
    e_y, e_psi, e_v = lanes[:, 1], lanes[:, 2], lanes[:, 3]
    low = np.full(len(lanes), -car.e_v_max)
    if speed_floor is not None:
        low[np.asarray(speed_floor)] = -car.speed - STANDING
    bad = (np.abs(e_y) > car.e_y_max) | (np.abs(e_psi) > car.e_psi_max)
    bad |= (e_v > car.e_v_max) | (e_v < low)
    return int(bad.sum())


class Probe:
    """Records /lane_state (ground truth), /drive and /diagnostics of an in-process graph."""

    def __init__(self, node) -> None:
        self.lanes: list[np.ndarray] = []
        self.drives: list = []
        self.diags: dict[str, list] = {}  # status name -> [(t, level, message, values)]
        node.create_subscription(msg.LaneState, "/lane_state", self.on_lane)
        node.create_subscription(msg.AckermannDriveStamped, "/drive", self.drives.append)
        node.create_subscription(msg.DiagnosticArray, "/diagnostics", self.on_diag)

    def on_lane(self, lane) -> None:
        self.lanes.append(msg.lane_values(lane))

    def on_diag(self, diag) -> None:
        t = msg.seconds(diag.header.stamp)
        for s in diag.status:
            values = {kv.key: kv.value for kv in s.values}
            self.diags.setdefault(s.name, []).append((t, int(s.level), s.message, values))

    def controller(self) -> dict[int, tuple]:
        """Controller status per tick number (time / 0.1 s)."""
        return {round(t * 10): rest for t, *rest in self.diags[PLANNER_STATUS]}


def drive(controller_class=ControllerNode, duration: float = 12.0, params=None, between=None):
    """Sim, controller (`controller_class`) and a probe on the oval in lockstep for
    `duration` s of simulated time; returns (controller, probe). `params` replace the
    default parameters; `between(runtime)` adds nodes after the sim's."""
    runtime = Runtime(params or parameters(CONFIG / "car.yaml", "oval"))
    sim = SimNode(runtime.create_node("sim"))
    if between is not None:
        between(runtime)
    controller = controller_class(runtime.create_node("controller"))
    probe = Probe(runtime.create_node("probe"))
    runtime.check_parameters()
    try:
        runtime.spin_until(duration)
    finally:
        sim.destroy()
    return controller, probe


class FaultyPlanner:
    """Injects a fault into the solves of the ticks in `faults` {tick: kind}; `tick()` is
    the current tick number. Kinds: "infeasible", "failed" (the solver's statuses),
    "raise" (an exception from the solver), "slow" (a correct plan after `delay` s)."""

    def __init__(
        self, planner: Planner, faults: dict[int, str], tick: Callable[[], int], delay: float
    ) -> None:
        self.planner, self.faults, self.tick, self.delay = planner, faults, tick, delay

    @property
    def model(self):
        return self.planner.model

    @property
    def safe_set(self):
        return self.planner.safe_set

    def solve(self, x0, x_ref=None) -> Solution:
        kind = self.faults.get(self.tick())
        if kind in ("infeasible", "failed"):
            return Solution(kind, None, None, 1e-3, f"injected {kind}")
        if kind == "raise":
            raise RuntimeError("injected solver crash")
        if kind == "slow":
            time.sleep(self.delay)
        return self.planner.solve(x0, x_ref)


def faulty_controller(faults: dict[int, str]) -> type[ControllerNode]:
    """A ControllerNode whose planners inject `faults` {tick: kind} (FaultyPlanner; a slow
    solve takes 1.5 deadlines)."""

    class FaultyController(ControllerNode):
        def _planner(self, model, learning, x_ref):
            tick = lambda: round(self.now() / self.config.control_period)  # noqa: E731
            delay = 1.5 * self.config.deadline
            return FaultyPlanner(super()._planner(model, learning, x_ref), faults, tick, delay)

    return FaultyController


def test_solver_faults_fall_back_to_the_last_plan_and_are_reported():
    faults = {20: "infeasible", 21: "infeasible", 22: "infeasible", 40: "failed", 41: "raise"}
    faults |= {60: "slow", 61: "slow"}
    _, probe = drive(faulty_controller(faults), duration=10.0)
    ticks = probe.controller()
    assert len(probe.drives) == 100  # a command on every tick, faulty ones included
    expected = {"infeasible": "infeasible", "failed": "failed", "raise": "failed", "slow": "late"}
    for tick, kind in faults.items():
        level, message, values = ticks[tick]
        assert (message, level) == ("fallback", msg.WARN), tick
        assert values["solve_status"] == expected[kind], tick
    # the last feasible plan's feedback: the plan of tick 19 continues at steps 1, 2, 3
    assert [int(ticks[k][2]["plan_step"]) for k in (19, 20, 21, 22, 23)] == [0, 1, 2, 3, 0]
    assert "raised RuntimeError('injected solver crash')" in ticks[41][2]["solve_message"]
    # a late solve's plan is dropped, not applied late: its plan is not followed either
    assert "> deadline 100.0 ms" in ticks[60][2]["solve_message"]
    assert [int(ticks[k][2]["plan_step"]) for k in (59, 60, 61, 62)] == [0, 1, 2, 0]
    assert float(ticks[60][2]["solve_time_ms"]) >= 150.0
    others = {k: v for k, v in ticks.items() if k not in faults}
    assert {v[1] for v in others.values()} == {"optimal"}
    assert violations(np.array(probe.lanes)) == 0


def test_solver_outage_longer_than_the_plan_ends_in_the_certified_stop_then_recovers():
    """8 ticks without a plan (the plan has 5 steps): its feedback while it is certified
    and leaves a certified stop, then the stop (braking straight on, certified, level
    ERROR) until a solve succeeds again from the slower car."""
    outage = range(30, 38)
    controller, probe = drive(faulty_controller(dict.fromkeys(outage, "infeasible")))
    ticks = probe.controller()
    statuses = [ticks[k][1] for k in outage]
    fallbacks = statuses.count("fallback")
    assert 1 <= fallbacks < controller.config.horizon
    assert statuses == ["fallback"] * fallbacks + ["stop"] * (len(outage) - fallbacks)
    assert [ticks[k][0] for k in outage] == [msg.WARN] * fallbacks + [msg.ERROR] * (8 - fallbacks)
    assert all(float(ticks[k][2]["stop_margin"]) >= 0.0 for k in outage)
    assert ticks[38][1] == "optimal"  # the next feasible solve resumes
    accel = [d.drive.acceleration for d in probe.drives[29 + fallbacks : 37]]  # tick k: k-1
    np.testing.assert_allclose(accel, CAR.accel_min)
    assert len(probe.drives) == 120
    lanes = np.array(probe.lanes)
    floor = np.arange(len(lanes)) >= 30  # braking and ramping up: down to standing
    assert violations(lanes, speed_floor=floor) == 0
