"""Controller node: robust SLS receding horizon on the lane-frame state.

Subscribes /lane_state (safe_control_interfaces/LaneState) and /model (UncertainModel,
from the estimator). Every control period it publishes /drive (AckermannDriveStamped:
steering = feed-forward atan(L kappa) + feedback, acceleration, and the speed set-point
that acceleration reaches one period on, never below 0), /cmd_vel (TwistStamped with that
set-point, for robots that take velocity commands), /controller/input (ControlInput: the
applied input in controller coordinates, stamped with the stamp of the new lane state it
answered; none without a new one), /plan
(nav_msgs/Path of the nominal plan in frame `lane`: x = arc length ahead, y = e_y), /tf
base_link -> lane (the centre line's frame at the car, drawn straight) and /diagnostics
(status "controller: planner": status, reason, solve time and status, tau, margins, the
stop's margin, the reference in use; "controller: model": model updates; hardware_id
car_model.hardware_id).
The reference is the first fraction of `x_ref` (`reference_fractions`, towards the lane
centre) from which the model being built has a certified plan and, off the centre, a
certified stop two steps on: chosen at start-up and again for every model adopted, so
tighter bounds bring the car closer to x_ref.
During the first `learning_duration` s it adds bounded excitation and plans for it.

Every tick takes at most one new measurement. A /lane_state is used once, if it is
finite, physically possible (within `plausible_state`), stamped newer than the last one,
not more than `state_timeout` old or ahead by its own stamp, not frozen (the arc length of
the last one while the car moves) and consistent with the model's prediction (the
innovation test, control.innovation); otherwise the tick has no measurement: the last plan
holds on its prediction, then the certified stop. The reason is on /diagnostics
(`measurement`). Before the first usable /lane_state there is no command.

The certified stop (control.stop, `car_model.brake_decel`): straight on, steering
feed-forward only, at car_model.accel_min, certified to keep the lane for every system in
the model's error ball while the car decelerates to rest. No input goes out unless the stop
is certified from every state it can lead to; otherwise the stop goes out instead (status
"stop", level ERROR), certified one tick earlier. "emergency" (level ERROR) is the same
braking without a certificate: only before any state is known, or if the truth left the
ball. A new plan resumes driving as soon as one is found and leaves a certified stop.

Model mismatch (`consistency_window`, `consistency_period`). The transitions (measured
state, applied input, next measured state) of the last `consistency_window` s of normal
driving (usable measurements, no stop, no speed ramp, the input sent within a control
period of the state, `_answers`) must be explained by one system in the trusted
model's ball with disturbances within sigma_w (control.consistency: a linear
program per state coordinate, off the control path every `consistency_period` s). If they
cannot be, the certificates do not hold for this car: the certified stop (status "stop",
level ERROR, reason "model mismatch: ..."; "controller: model" at ERROR) until a /model is
adopted, which must itself explain the recorded transitions.

Every command goes out inside the input box of car_model (steering feedback within
+-steering_max about the feed-forward, acceleration within [accel_min, accel_max]): the
plan's input, the last plan's feedback (fallback, hold), the stop input and the speed
ramp's feed-forward on top of any of them. A command outside is clipped to the box
(non-finite: the stop input) and reported (diagnostics value `input`, level at least WARN).

Faults. A solve that is infeasible, fails, raises or returns later than `deadline` s
leaves no new plan: the last feasible plan's feedback is applied for that tick (level
WARN) while it is certified and leaves a certified stop, then the stop; the reason is in
`reason`, solve_status and solve_message. Python cannot interrupt a running solve, so
lateness is measured when it returns and a late plan is dropped, never applied or kept; a
solve that never returns stops the commands and the car's watchdog brakes. A /model
update is decoded and checked against the trusted model (`model_update`); its planner is
then built off the control path (a worker thread, `builds`; inline in a lockstep runtime)
and swapped in between two ticks once it finds a plan from the reference; otherwise it is
rejected (logged, level WARN) and the trusted model stays. The ticks go on with the
trusted planner meanwhile. When the car is slower than the safe set allows (|e_v| >
e_v_max from below: starting from rest, or after a stop) the speed reference restarts at
the car's speed and ramps up at `resume_accel` (fed forward) to car_model.speed; the
controller keeps e_v within the safe set around that reference.

Perception (`state_source: perception`). e_y and e_psi come from /perception/measurement
(PerceptionMeasurement: estimate, its bound, valid), s, e_v and the curvature from
/lane_state. The plans are output-feedback robust SLS for the error bound
`measurement_bound` and keep the true state inside the region `measurement_region` where
that bound holds (control.measurement). A measurement is used only if it is valid, stamped
(the image's stamp) within `state_timeout` of now, published with a bound within
`measurement_bound`, and passes the innovation test against the model's prediction
(control.innovation). Otherwise the last plan holds for up to `hold_time` s (while it
leaves a certified stop), then the certified stop until usable measurements come back.
Parameters: `controller` section (ControllerConfig) and `/**: car_model.*`.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..control.consistency import Consistency, consistency
from ..control.excitation import Excitation
from ..control.innovation import InnovationTest, MeasurementGuard
from ..control.measurement import robust_output_feedback
from ..control.model import SafeSet, UncertainModel
from ..control.plan import Plan, Solution
from ..control.receding import ControlStep, Planner, RecedingHorizon
from ..control.sls import BudgetLadder
from ..control.stop import next_set
from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..sim.config import CarModelConfig
from ..sim.lane_model import (
    controller_instance,
    input_scale,
    safe_set,
    steering_feedforward,
    trusted_stop,
)
from . import model_update, statuses
from .builds import Builds
from .controller_config import ControllerConfig
from .qos import LATCHED, RELIABLE, SENSOR_DATA
from .transitions import Transition, Transitions

if TYPE_CHECKING:  # the node handle: rclpy's Node, or a standalone runtime's
    from rclpy.node import Node

DRIVING = ("optimal", "fallback", "hold")  # statuses at the model's speed (no braking)
# share of a control period after a state's sending within which a command still drives the
# next step: the car's next step comes one period after that state's, less the writer's own
# work before it sent the state (the sim's physics step: a few ms)
ANSWER_SHARE = 0.9
MOVING = 0.05  # m/s: a car this fast changes its arc length from one /lane_state to the next
LEVELS = {
    "optimal": msg.OK,
    "fallback": msg.WARN,
    "hold": msg.WARN,
    "emergency": msg.ERROR,
    "stop": msg.ERROR,
}


@dataclass(frozen=True)
class MeasuredState:
    """A lane-frame state to control from."""

    x: np.ndarray  # [e_y m, e_psi rad, e_v m/s]
    s: float  # m, arc length along the lane
    curvature: float  # 1/m, ahead of the car (steering feed-forward)
    time: float  # s, when it was measured (the message's stamp)
    written: float | None = None  # s since the epoch: when it was sent (None: not known)


class DeadlinePlanner:
    """A planner whose solves never raise and are timed: a solve that raises is "failed",
    one that returns after `deadline` s (wall clock) is "late" and loses its plan; `last`
    is the latest solution."""

    def __init__(self, planner: Planner, deadline: float, reference: np.ndarray) -> None:
        self.planner, self.deadline = planner, deadline
        self.reference = reference  # (n,) the reference it was built for, controller coords
        self.last: Solution | None = None

    @property
    def model(self) -> UncertainModel:
        return self.planner.model

    @property
    def safe_set(self) -> SafeSet:
        return self.planner.safe_set

    def solve(self, x0, x_ref=None) -> Solution:
        start = time.perf_counter()
        try:
            sol = self.planner.solve(x0, x_ref)
        except Exception as err:  # solver trouble is a status, never an exception
            sol = Solution("failed", None, None, time.perf_counter() - start, f"raised {err!r}")
        elapsed = time.perf_counter() - start
        if elapsed > self.deadline:
            message = (
                f"returned {sol.status} after {1e3 * elapsed:.1f} ms > deadline "
                f"{1e3 * self.deadline:.1f} ms"
            )
            sol = Solution("late", None, None, elapsed, message)
        self.last = sol
        return sol


class ControllerNode:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = declare_config(node, ControllerConfig)
        self.car = declare_config(node, CarModelConfig)
        self._check_consistency()
        self.log = node.get_logger()
        self.instance = controller_instance(self.car, self.config.sigma_eta)
        self.state_scale = np.asarray(self.car.state_scale)
        self.input_scale = input_scale(self.car)
        self.x_target = np.asarray(self.config.x_ref) / self.state_scale
        self.model = self.instance.model  # the trusted model
        self.learning = self.config.learning_duration > 0
        try:
            self.excitation = Excitation(
                self.instance.sigma_eta,
                self.config.seed,
                self.config.excitation,
                self.config.excitation_hold,
            )
        except ValueError as err:
            raise ValueError(f"controller.excitation_hold: whole control periods; {err}") from None
        self.perception = self.config.state_source == "perception"
        self.eps_e, self.region = self._measurement_error()
        self.builds = Builds(background=not getattr(node, "LOCKSTEP", False))
        self.latest = self.model  # the newest model whose planner is built or being built
        try:
            self.planner = self._problem(self.model, self.learning)
        except ValueError as err:
            raise ValueError(
                f"controller: no robust plan for car_model (eps_A0, eps_B0, sigma_w) with "
                f"controller (horizon, tau, terminal_length, sigma_eta while learning): {err}"
            ) from None
        self.controller = RecedingHorizon(
            self.planner,
            excitation=self.excitation if self.learning else None,
            stop=trusted_stop(self.car, self.model),
            eps_e=self.eps_e,
            excitation_margin=self.config.excitation_margin,
        )
        self.guard = self._guard(self.model)
        self.x_ref = self.planner.reference  # the reference in use, controller coordinates
        self.lane: MeasuredState | None = None  # latest usable /lane_state
        self.lane_rejected = ""  # why the latest /lane_state was not used ('' if it was)
        self.input_box = safe_set(self.car).inputs.bounding_box  # (low, high): rad, m/s^2
        self.measurement: tuple[np.ndarray, float] | None = None  # latest perception, stamp
        self.measurement_used = -math.inf  # s, stamp of the last one a tick took
        self.lane_used = -math.inf  # s, stamp of the last /lane_state a tick took
        self.start: float | None = None  # s, time of the first control tick
        self.speed_offset = 0.0  # m/s (<= 0): next tick's speed reference - car_model.speed
        period = self.config.control_period
        self.transitions = Transitions(self.car.sample_time)
        window = round(self.config.consistency_window / period)
        self.window: deque[Transition] = deque(maxlen=window)  # the test's transitions
        self.next_check = -math.inf  # s, time of the next consistency test
        self.untested = 0  # transitions recorded since the last test
        self.mismatch = ""  # why the trusted model does not explain the data ('' if it does)

        self.drive_pub = node.create_publisher(msg.AckermannDriveStamped, "/drive", RELIABLE)
        self.twist_pub = node.create_publisher(msg.TwistStamped, "/cmd_vel", RELIABLE)
        self.input_pub = node.create_publisher(msg.ControlInput, "/controller/input", RELIABLE)
        self.plan_pub = node.create_publisher(msg.Path, "/plan", RELIABLE)
        self.tf_pub = node.create_publisher(msg.TFMessage, "/tf", RELIABLE)
        self.diag_pub = node.create_publisher(msg.DiagnosticArray, "/diagnostics", RELIABLE)
        on_lane = self._on_lane_with_info if getattr(node, "MESSAGE_INFO", True) else self.on_lane
        node.create_subscription(msg.LaneState, "/lane_state", on_lane, SENSOR_DATA)
        node.create_subscription(msg.UncertainModel, "/model", self.on_model, LATCHED)
        if self.perception:
            node.create_subscription(
                msg.PerceptionMeasurement, "/perception/measurement", self.on_measurement, RELIABLE
            )
        node.create_timer(self.config.control_period, self.on_tick)

    def _check_consistency(self) -> None:
        """ValueError for controller parameters that contradict the car model."""
        cfg, car = self.config, self.car
        if not math.isclose(cfg.control_period, car.sample_time):
            raise ValueError(
                f"controller.control_period: expected car_model.sample_time = "
                f"{car.sample_time} s (the model's time step), got {cfg.control_period}"
            )
        limits = (car.e_y_max, car.e_psi_max, car.e_v_max)
        names = msg.LANE_FIELDS[1:4]
        for i, (name, value, limit) in enumerate(zip(names, cfg.x_ref, limits, strict=True)):
            if abs(value) >= limit:
                raise ValueError(
                    f"controller.x_ref[{i}]: expected |{name}| < car_model.{name}_max = "
                    f"{limit} (inside the safe set), got {value}"
                )
        possible = (car.e_y_max, car.e_psi_max, max(car.e_v_max, car.speed))  # standing too
        for i, (name, value, limit) in enumerate(
            zip(names, cfg.plausible_state, possible, strict=True)
        ):
            if value <= limit:
                raise ValueError(
                    f"controller.plausible_state[{i}]: expected |{name}| > {limit} (the safe "
                    f"set, and a standing car), got {value}"
                )

    def _measurement_error(self) -> tuple[np.ndarray, np.ndarray | None]:
        """eps_e (3,) and the region's half-widths (3,) (None: no region) in controller
        coordinates; zero error and no region unless the state comes from perception."""
        if not self.perception:
            return np.zeros(3), None
        scale = self.state_scale
        eps_e = np.array([*self.config.measurement_bound, 0.0]) / scale
        return eps_e, np.array([*self.config.measurement_region, np.inf]) / scale

    def _planner(self, model: UncertainModel, learning: bool, x_ref: np.ndarray) -> Planner:
        """The robust SLS problem for `model` (output feedback for the perception error
        bound, if any; robust to the excitation while `learning`): the fast formulation
        (response library built here around the reference x_ref (n,), a small QP per step)
        or the generic reference; with several budget_scales a ladder of them (eta chosen
        per solve)."""
        inst = self.instance
        fast = self.config.formulation == "fast"
        options = {
            "sigma_eta": inst.sigma_eta if learning else 0.0,
            "tau": self.config.tau,
            "terminal_length": self.config.terminal_length,
        } | ({"design_ref": x_ref} if fast else {})
        args = (model, inst.safe_set, inst.Q, inst.R, self.config.horizon, self.eps_e)
        ladder = [
            robust_output_feedback(*args, self.region, fast=fast, budget_scale=scale, **options)
            for scale in self.config.budget_scales
        ]
        return ladder[0] if len(ladder) == 1 else BudgetLadder(ladder)

    def _guard(self, model: UncertainModel) -> MeasurementGuard:
        """The gate of the measurements: innovation test for `model`, hold, then stop."""
        test = InnovationTest(model, self.planner.safe_set, self.eps_e)
        hold_steps = round(self.config.hold_time / self.config.control_period)
        return MeasurementGuard(test, hold_steps)

    def _problem(self, model: UncertainModel, learning: bool) -> DeadlinePlanner:
        """`_planner(model, learning, x_ref)` under the deadline for the first reference
        x_ref = f x_ref_config (f in reference_fractions) with a plan from it (the first
        solve compiles the problem) and, off the lane centre, a certified stop from wherever its
        first two inputs may take the car (`_stop_margin`: closer references stop and
        restart the car on the simulated one), checked first with the steady input
        (`_steady_stop_margin`) so that only a likely reference costs a build; ValueError if
        none qualifies."""
        failures = []
        for fraction in self.config.reference_fractions:
            x_ref = fraction * self.x_target
            steady = self._steady_stop_margin(model, x_ref) if np.any(x_ref) else 0.0
            if steady < 0:  # the plan's margin would be about the same: spare its build
                failures.append(f"{fraction:g}: no certified stop two steps on ({steady:.3g})")
                continue
            try:
                planner = self._planner(model, learning, x_ref)
                sol = planner.solve(x_ref, x_ref)
            except Exception as err:  # whatever the model does to the build: no planner
                raise ValueError(f"planner build failed: {err!r}") from None
            if sol.plan is None:
                failures.append(f"{fraction:g}: {sol.status} {sol.message}")
                continue
            margin = self._stop_margin(model, sol.plan) if np.any(x_ref) else 0.0
            if margin >= 0:
                return DeadlinePlanner(planner, self.config.deadline, x_ref)
            failures.append(f"{fraction:g}: no certified stop two steps on ({margin:.3g})")
        tried = "; ".join(failures)
        raise ValueError(f"no plan from the reference (fraction of x_ref: {tried})")

    def _stop_margin(self, model: UncertainModel, plan: Plan) -> float:
        """The margin of the certified stop from where `plan` may take the car in two steps
        from its start (the reference): its first inputs, every model error and disturbance,
        and the measurement error. >= 0: the car can stop from there."""
        return self._stop_margin_after(model, plan.z[0], plan.v[: min(2, plan.horizon)])

    def _steady_stop_margin(self, model: UncertainModel, x_ref: np.ndarray) -> float:
        """`_stop_margin` of a plan that holds x_ref (n,) with the model's steady input (least
        squares of (I - A) x_ref = B u), without building the plan: the plan's own margin
        differs by its first inputs' deviation from that (on the car, by less than 0.03)."""
        u = np.linalg.lstsq(model.B, x_ref - model.A @ x_ref, rcond=None)[0]
        return self._stop_margin_after(model, x_ref, [u, u])

    def _stop_margin_after(self, model: UncertainModel, x0: np.ndarray, inputs) -> float:
        """The certified stop's margin from every state the `inputs` (m,) may lead to from
        x0 (n,) measured within eps_e."""
        center, radius = x0, self.eps_e
        for u in inputs:
            center, radius = next_set(model, center, radius, u)
        return trusted_stop(self.car, model).certify(center, radius, self.car.speed).margin

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def _on_lane_with_info(self, lane, info) -> None:
        """on_lane with the time the writer sent it (DDS source timestamp, rclpy)."""
        self.on_lane(lane, info["source_timestamp"] * 1e-9)

    def on_lane(self, lane, written: float | None = None) -> None:
        """A /lane_state, sent at `written` (s since the epoch, the writer's wall clock; None:
        not known)."""
        values, stamp = msg.lane_values(lane), msg.seconds(lane.header.stamp)
        self.lane_rejected = self._lane_rejection(values, stamp)
        if self.lane_rejected:
            self.log.error(f"/lane_state not used: {self.lane_rejected}")
            return
        s, e_y, e_psi, e_v, curvature = values
        self.lane = MeasuredState(np.array([e_y, e_psi, e_v]), s, curvature, stamp, written)

    def _lane_rejection(self, values: np.ndarray, stamp: float) -> str:
        """Why a /lane_state (values msg.LANE_FIELDS, stamped `stamp` s) cannot be used, ''
        if it can."""
        names = msg.LANE_FIELDS
        if not np.all(np.isfinite(values)):
            bad = [
                name for name, value in zip(names, values, strict=True) if not np.isfinite(value)
            ]
            return f"non-finite {', '.join(bad)}"
        ahead = stamp - self.now()
        if ahead > self.config.state_timeout:
            return (
                f"stamped {ahead:.3f} s in the future (more than state_timeout "
                f"{self.config.state_timeout} s): clocks disagree (use_sim_time?)"
            )
        if self.lane is not None and stamp <= self.lane.time:
            return f"stamp {stamp:.3f} s not newer than the last used ({self.lane.time:.3f} s)"
        beyond = np.abs(values[1:4]) > self.config.plausible_state
        if np.any(beyond):
            i = int(np.argmax(beyond))
            return (
                f"{names[1 + i]} = {values[1 + i]:.6g} is physically impossible "
                f"(plausible_state: |{names[1 + i]}| <= {self.config.plausible_state[i]})"
            )
        speed = self.car.speed + values[3]
        if self.lane is not None and values[0] == self.lane.s and abs(speed) > MOVING:
            return f"frozen: s = {values[0]:.6g} m as before, at {speed:.2f} m/s"
        return ""

    def on_measurement(self, measurement) -> None:
        m = measurement
        values = np.array([m.e_y, m.e_psi, m.bound_e_y, m.bound_e_psi, float(m.valid)])
        self.measurement = (values, msg.seconds(m.header.stamp))

    def perceived(self, t: float, x: np.ndarray) -> tuple[np.ndarray | None, str]:
        """The measurement (3,) in controller coordinates to control from at time t (s):
        e_y, e_psi from perception, e_v from x (3,); or None and why not. Each measurement
        is used by one tick at most; the innovation test is left to the guard."""
        if self.measurement is None:
            return None, "no measurement yet"
        values, stamp = self.measurement
        e_y, e_psi, bound_e_y, bound_e_psi, valid = values
        if stamp <= self.measurement_used:
            return None, "no new measurement since the last tick"
        self.measurement_used = stamp
        if abs(t - stamp) > self.config.state_timeout:
            return None, f"measurement stamped {t - stamp:.3f} s before now"
        if valid != 1.0 or not np.all(np.isfinite(values)):
            return None, "flagged invalid by perception"
        if np.any(np.array([bound_e_y, bound_e_psi]) > self.config.measurement_bound):
            return None, f"bound {bound_e_y:.4f} m, {bound_e_psi:.4f} rad beyond ours"
        return np.array([e_y / self.state_scale[0], e_psi / self.state_scale[1], x[2]]), "ok"

    def usable_measurement(
        self, t: float, x: np.ndarray, fresh: bool
    ) -> tuple[np.ndarray | None, str]:
        """The measurement (3,) to control from at time t (s), or None and why not: from
        /lane_state the state x (3,) if its lane state is `fresh` (new and recent), from
        perception `perceived` while the lane state is recent."""
        if not (fresh or self.perception):
            return None, self.lane_rejected or "no new /lane_state since the last tick"
        age = t - self.lane.time if self.lane is not None else math.inf
        if age > self.config.state_timeout:
            return None, f"/lane_state stamped {age:.3f} s ago (state_timeout)"
        return self.perceived(t, x) if self.perception else (x, "ok")

    def on_model(self, model) -> None:
        """A new model estimate that passes `model_update.rejection` gets its planner built
        off the control path (`builds`); the tick swaps it in once it finds a plan."""
        try:
            new = model_update.decode(model)
            reason = model_update.rejection(new, self.model)
            if reason:
                raise ValueError(reason)
        except ValueError as err:
            self.log.error(f"/model rejected: {err}")
            self._diagnose_model(self.now(), msg.WARN, f"model rejected: {err}", self.model)
            return
        self._rebuild(new, "model")
        self._adopt_builds(self.now())  # done already in a lockstep runtime

    def _rebuild(self, model: UncertainModel, why: str) -> None:
        """Build the planner for `model` (and the current learning phase) off the path; a
        new model must explain the recorded transitions."""
        self.latest, learning, data = model, self.learning, self._window_data()

        def build() -> DeadlinePlanner:
            if why == "model":
                check = self._consistency(model, data)
                if not check.consistent:
                    raise ValueError(f"does not explain the transitions: {check.describe()}")
            return self._problem(model, learning)

        self.builds.submit((model, why), build)

    def _window_data(self) -> tuple[np.ndarray, ...]:
        """The test's transitions as x (N, n), u (N, m), x_next (N, n)."""
        if not self.window:
            n, m = self.model.n, self.model.m
            return np.zeros((0, n)), np.zeros((0, m)), np.zeros((0, n))
        return tuple(np.array(part) for part in zip(*self.window, strict=True))

    def _consistency(self, model: UncertainModel, data: tuple[np.ndarray, ...]) -> Consistency:
        """The consistency test of `model` on data (x, u, x_next) for our measurement error."""
        x, u, x_next = data
        return consistency(model, x, u, x_next, self.eps_e)

    def _check_model(self, t: float) -> None:
        """Every consistency_period s, test the recorded transitions against the trusted
        model off the control path (`_judge` takes the result)."""
        if not (self.window and self.untested) or t < self.next_check:
            return
        self.next_check, self.untested = t + self.config.consistency_period, 0
        model, data = self.model, self._window_data()
        self.builds.submit((model, "consistency"), lambda: self._consistency(model, data))

    def _judge(self, t: float, model: UncertainModel, result) -> None:
        """A finished consistency test of `model`: a model that no longer explains the
        data stops the car (until a new model is adopted)."""
        if isinstance(result, Exception):
            self.log.error(f"consistency test failed: {result}")
            return
        if model is not self.model or result.consistent or self.mismatch:
            return
        self.mismatch = f"model mismatch: {result.describe()}"
        self.log.error(self.mismatch)
        self._diagnose_model(t, msg.ERROR, self.mismatch, model)

    def _adopt_builds(self, t: float) -> None:
        """Swap in the planners built since the last tick (in the order they were asked
        for), between two control steps; a build that found no plan changes nothing."""
        for (model, why), result in self.builds.finished():
            if why == "consistency":
                self._judge(t, model, result)
                continue
            if isinstance(result, Exception):
                self.latest = self.model if self.latest is model else self.latest
                if why == "model":
                    self.log.error(f"/model rejected: {result}")
                    self._diagnose_model(t, msg.WARN, f"model rejected: {result}", self.model)
                else:
                    self.log.error(f"{why}: planner kept: {result}")
                continue
            self.model, self.planner, self.x_ref = model, result, result.reference
            self.controller.set_problem(result)
            self.controller.stop_manoeuvre = trusted_stop(self.car, model)
            if why == "model":
                self.mismatch = ""  # the new model explains the recorded transitions
                self.log.info(f"model: eps_A {model.eps_A:.4f}, eps_B {model.eps_B:.4f}")
                self._diagnose_model(t, msg.OK, "model accepted", model)
            else:
                self.log.info(f"{why}: planner swapped")

    def on_tick(self) -> None:
        """One control step at the current time."""
        t = self.now()
        if self.start is None:
            self.start = t  # ROS time need not start at 0
        if self.learning and t - self.start >= self.config.learning_duration:
            self._end_learning()
        self._adopt_builds(t)
        state = self.lane
        if state is None:
            reason = {"lane_state": self.lane_rejected} if self.lane_rejected else {}
            self._diagnose(t, msg.ERROR, "no /lane_state yet: no command", extra=reason)
            return
        fresh = state.time > self.lane_used
        self.lane_used = state.time
        e_y, e_psi, e_v = state.x
        offset, accel_ff = self._speed_reference(e_v)
        x = np.array([e_y, e_psi, e_v - offset]) / self.state_scale
        self.controller.speed_reference = self.car.speed + offset
        y, measurement = self.usable_measurement(t, x, fresh)
        if self.mismatch:
            step = self.controller.stop(self.mismatch)
        else:
            step = self.guard.step(self.controller, y, self.x_ref)
        if y is not None and self.guard.missed:
            measurement = "outlier: failed the innovation test"
        stopping = step.status in ("stop", "emergency")
        feedforward = np.array([0.0, 0.0 if stopping else accel_ff])
        command, clipped = self._into_box(step.u * self.input_scale + feedforward)
        # in the coordinates of x, relative to the speed reference, which moves on by the
        # ramp's feed-forward whether that is applied or not
        self.guard.applied((command - [0.0, accel_ff]) / self.input_scale)
        steering_fb, accel = command
        steering = steering_feedforward(state.curvature, self.car.wheelbase) + steering_fb
        # m/s: the speed this command asks for one period on (never backwards)
        speed = max(0.0, self.car.speed + e_v + accel * self.config.control_period)
        self.drive_pub.publish(msg.ackermann(t, steering, accel, speed))
        yaw_rate = speed * math.tan(steering) / self.car.wheelbase
        self.twist_pub.publish(msg.twist_stamped(t, "base_link", speed, yaw_rate))
        if fresh and self._answers(state):
            self.input_pub.publish(msg.control_input(state.time, command / self.input_scale))
            driving = y is not None and self.guard.missed == 0 and step.status in DRIVING
            self._record(state.time, y if driving and offset == accel_ff == 0.0 else None, command)
        self._check_model(t)
        if step.plan is not None:
            self.tf_pub.publish(self._lane_frame(t, e_y, e_psi))
            self.plan_pub.publish(self._path(t, step.plan, step.plan_step))
        level = max(LEVELS[step.status], msg.WARN if clipped else msg.OK)
        extra = {"input": clipped} if clipped else {}
        self._diagnose(t, level, step.status, step, state, offset, measurement, extra)

    def _answers(self, state: MeasuredState) -> bool:
        """Whether a command sent now still drives the step that follows `state` (then the
        estimator and the consistency test pair them): sent within a control period of the
        state's stamp by this node's clock and, where the state's sending time is known,
        within ANSWER_SHARE of a period of it by the wall clock (with sim time the node's
        clock stands still between two /clock messages). A later command (a busy host, a
        slow network) acted on none of that step and would enter a transition it did not
        drive."""
        period = self.config.control_period
        if self.now() - state.time >= period:
            return False
        return state.written is None or time.time() - state.written < ANSWER_SHARE * period

    def _record(self, stamp: float, y: np.ndarray | None, command: np.ndarray) -> None:
        """Record the tick's measurement y (n,) (None: outside the model's regime) and
        command (rad, m/s^2) for the consistency test."""
        new = self.transitions.add_state(stamp, y)
        new += self.transitions.add_input(stamp, command / self.input_scale)
        self.window.extend(new)
        self.untested += len(new)

    def _into_box(self, command: np.ndarray) -> tuple[np.ndarray, str]:
        """The command [steering feedback rad, acceleration m/s^2] inside the input box
        (a non-finite one: the stop input) and what was changed ('' if nothing beyond
        1e-9)."""
        low, high = self.input_box
        if not np.all(np.isfinite(command)):
            return np.array([0.0, self.car.accel_min]), f"non-finite {command}: braking"
        inside = np.clip(command, low, high)
        if np.all(np.abs(inside - command) <= 1e-9):
            return inside, ""
        return inside, (
            f"clipped to the input box: steering feedback {command[0]:.4f} rad, "
            f"acceleration {command[1]:.4f} m/s^2"
        )

    def _end_learning(self) -> None:
        """Excitation off now; a planner without it is built off the path (the learning-
        phase planner, robust to the excitation, drives meanwhile and stays if that fails)."""
        self.learning = False
        self.controller.excitation = None
        self.log.info("learning phase over: excitation off")
        self._rebuild(self.latest, "learning phase over")

    def destroy(self) -> None:
        """Drop planner builds not yet started (the runtime calls this at shutdown)."""
        self.builds.shutdown()

    def _speed_reference(self, e_v: float) -> tuple[float, float]:
        """This tick's speed reference as an offset from car_model.speed (m/s, <= 0), given
        the speed error e_v (m/s), and the acceleration feed-forward (m/s^2) that ramps it
        up over the next period."""
        if e_v - self.speed_offset < -self.car.e_v_max:  # slower than the safe set allows
            moved = np.array([0.0, 0.0, (self.speed_offset - e_v) / self.state_scale[2]])
            self.guard.innovation.shift(moved)  # the speed error is measured from here now
            self.controller.shift(moved)
            self.speed_offset = e_v
            self.log.warning(f"speed {self.car.speed + e_v:.2f} m/s: reference ramps up")
        offset, period = self.speed_offset, self.config.control_period
        self.speed_offset = min(0.0, offset + self.config.resume_accel * period)
        return offset, (self.speed_offset - offset) / period

    def _path(self, t: float, plan: Plan, plan_step: int):
        """The rest of the nominal plan as a path in the frame `lane` (x: arc length ahead
        of the car's closest centre-line point, y: e_y, yaw: e_psi)."""
        dt, v = self.config.control_period, self.car.speed
        z = plan.z[plan_step:] * self.state_scale
        poses = [
            msg.pose_stamped(t + k * dt, "lane", v * k * dt, zk[0], zk[1]) for k, zk in enumerate(z)
        ]
        return msg.Path(header=msg.header(t, "lane"), poses=poses)

    def _lane_frame(self, t: float, e_y: float, e_psi: float):
        """TF base_link -> lane: the centre line's frame at the car's closest point (x along
        the lane, straight), from the car's offset e_y (m) and heading e_psi (rad)."""
        origin = (-math.sin(e_psi) * e_y, -math.cos(e_psi) * e_y, 0.0)
        return msg.tf(msg.transform(t, "base_link", "lane", origin, (0.0, 0.0, -e_psi)))

    def _diagnose(
        self,
        t: float,
        level: int,
        message: str,
        step: ControlStep | None = None,
        state: MeasuredState | None = None,
        speed_offset: float = 0.0,
        measurement: str = "",
        extra: dict[str, str] | None = None,
    ) -> None:
        """Status statuses.PLANNER_STATUS; with the step, the state it was taken from, the speed
        reference (as an offset from car_model.speed, m/s), with perception what became
        of the measurement, and `extra` values."""
        values = {"status": message} | (extra or {})
        if measurement:
            values |= {"measurement": measurement, "missed": str(self.guard.missed)}
        if state is not None:
            values |= {
                "state_s": f"{state.s:.6f}",
                "state_age_ms": f"{1e3 * (t - state.time):.2f}",
                "speed_reference": f"{self.car.speed + speed_offset:.3f}",
                "x_ref": " ".join(f"{v:.4f}" for v in self.x_ref * self.state_scale),
            }
        if step is not None:
            last = self.planner.last
            values |= {
                "reason": step.reason,
                "stop_margin": f"{step.stop_margin:.4f}",
                "solve_status": step.solve_status,
                "solve_message": "" if last is None else last.message,
                "solve_time_ms": f"{1e3 * step.solve_time:.2f}",
                "plan_step": str(step.plan_step),
                "learning": str(self.learning),
            }
            if step.certificate is not None:
                c = step.certificate
                values |= {
                    "tau": f"{c.tau:.3f}",
                    "state_margin": f"{c.state_margin:.4f}",
                    "input_margin": f"{c.input_margin:.4f}",
                }
        status = msg.diagnostics(
            t, statuses.PLANNER_STATUS, level, message, values, self.car.hardware_id
        )
        self.diag_pub.publish(status)

    def _diagnose_model(self, t: float, level: int, message: str, model: UncertainModel) -> None:
        values = model_update.bound_values(model)
        status = msg.diagnostics(
            t, statuses.MODEL_STATUS, level, message, values, self.car.hardware_id
        )
        self.diag_pub.publish(status)


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros controller_node`."""
    from ..runtime.ros import spin

    spin("controller", ControllerNode, args)
