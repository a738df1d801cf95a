"""Receding-horizon loop: re-solve each step; on failure keep following the last plan, then
stop (certified, with a `control.stop.BlindStop`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .checks import as_vector, bound_vector, in_range
from .excitation import Excitation
from .model import SafeSet, UncertainModel
from .plan import Certificate, Plan, Solution
from .stop import BlindStop, StopCertificate, TrustedStops, next_set

STATUSES = ("optimal", "fallback", "hold", "stop", "emergency")


class Planner(Protocol):
    """What the loop needs of a receding-horizon problem (RobustSLS, FastRobustSLS,
    NominalMPC): its model, its safe set and a solve from the measured state."""

    @property
    def model(self) -> UncertainModel: ...

    @property
    def safe_set(self) -> SafeSet: ...

    def solve(self, x0, x_ref=None) -> Solution: ...


@dataclass(frozen=True)
class ControlStep:
    """What one control step decided."""

    u: np.ndarray  # input to apply (m,): commanded input plus excitation
    u_cmd: np.ndarray  # commanded input without excitation (m,)
    status: str  # "optimal" (new plan), "fallback" (last plan's feedback), "hold" (last
    # plan without a measurement), "stop" (the certified stop) or "emergency" (no certificate)
    solve_status: str  # what the solver said this step
    plan: Plan | None  # the plan being followed
    plan_step: int  # index of this step within that plan
    certificate: Certificate | None
    solve_time: float  # s
    reason: str = ""  # why the step is not "optimal" ('' if it is)
    stop_margin: float = np.nan  # the stop's certificate margin from where this input can
    # take the state (the stop being applied: from here); nan without a stop


class RecedingHorizon:
    """Receding-horizon controller around a `Planner`.

    Each step solves from the measured state. If the solve is infeasible, fails or fails
    verification, the last feasible plan's causal feedback is applied on the mismatch
    seen since it was made; that keeps its guarantee for the rest of its horizon, and for
    all time if the plan has a tail (terminal module). Never raises on solver trouble.
    With an `excitation` source, its sample is added to the applied input (not to a stop);
    where it would leave the stop's margin below `excitation_margin`, the one of eta, 0
    and -eta with the largest margin is (`_yielding`).

    With a `stop` (`control.stop.BlindStop`), no input goes out unless the stop is certified
    from every state it can lead to (`next_set` of the current state set: the measurement
    +- eps_e (n,), or the prediction while there is none); otherwise the stop is applied,
    which was certified from here one step earlier: status "stop" ("emergency" if its own
    certificate fails, e.g. at start-up). `speed_reference` (m/s) is where the speed error
    is measured from. Without a stop, past the last plan (or before the first) the
    `emergency_input` (m,) is commanded.
    """

    def __init__(
        self,
        problem: Planner,
        emergency_input=None,
        excitation: Excitation | None = None,
        stop: BlindStop | TrustedStops | None = None,
        eps_e=None,
        excitation_margin: float = 0.0,
    ) -> None:
        self.problem = problem
        n, m = problem.model.n, problem.model.m
        default = np.zeros(m) if stop is None else stop.u_stop
        given = default if emergency_input is None else emergency_input
        self.emergency_input = as_vector("emergency_input", given, m)
        self.excitation = excitation
        self.excitation_margin = in_range("excitation_margin", excitation_margin, 0.0)
        self.stop_manoeuvre = stop
        self.speed_reference = np.nan if stop is None else stop.braking.speed
        self.eps_e = bound_vector("eps_e", eps_e, n)
        self._plan: Plan | None = None
        self._cert: Certificate | None = None
        self._deltas: list[np.ndarray] = []
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (x, u_cmd) of last step
        self._set: tuple[np.ndarray, np.ndarray] | None = None  # state now: center, radius
        self._applied: np.ndarray | None = None  # input applied last step (m,)
        self._stopping: StopCertificate | None = None  # certificate of the stop under way

    def set_problem(self, problem: Planner) -> None:
        """Switch to a new problem (e.g. a new model estimate); the current plan stays as
        the fallback because it was made for its own model."""
        if (problem.model.n, problem.model.m) != (self.problem.model.n, self.problem.model.m):
            raise ValueError("problem: expected the same state and input dimensions")
        self.problem = problem

    def shift(self, dx) -> None:
        """The coordinates moved by dx (n,) (e.g. a new reference): the state set and the
        last state move with them, and the plan, made in the old ones, is dropped."""
        dx = as_vector("dx", dx, self.problem.model.n)
        self._plan, self._cert = None, None
        if self._set is not None:
            self._set = (self._set[0] + dx, self._set[1])
        if self._last is not None:
            self._last = (self._last[0] + dx, self._last[1])

    def step(self, x, x_ref=None) -> ControlStep:
        """One control step from the measured state x (n,)."""
        x = as_vector("x", x, self.problem.model.n)
        if self._plan is not None and self._last is not None:
            x_prev, u_prev = self._last
            self._record(x - self._plan.A @ x_prev - self._plan.B @ u_prev)
        self._set = (x, self.eps_e)
        sol = self.problem.solve(x, x_ref)
        eta = self._excite()
        reason = f"no plan: {sol.status}"
        if sol.plan is not None:
            eta, margin = self._yielding(sol.plan.v[0], eta)
            if margin >= 0.0:
                self._plan, self._cert, self._deltas = sol.plan, sol.certificate, []
                u_cmd = sol.plan.v[0].copy()
                return self._apply(x, u_cmd, eta, "optimal", sol, "", margin)
            reason = f"new plan's next state has no certified stop (margin {margin:.4f})"
        return self._follow(x, eta, "fallback", sol, reason)

    def hold(self) -> ControlStep:
        """A step without a usable measurement: the last plan continues as if the state
        were the one its model predicts (zero mismatch this step; the next measurement's
        mismatch covers both steps). Status "hold", or a stop as in `step`."""
        x = self._predict()
        return self._follow(x, self._excite(), "hold", None, "no measurement")

    def stop(self, reason: str) -> ControlStep:
        """A step without a usable measurement that applies the stop (or, without one, the
        emergency input) whatever the last plan could still do."""
        return self._stop(self._predict(), None, reason)

    def _predict(self) -> np.ndarray | None:
        """The state the last step leads to by the model (None if unknown); advances the
        state set and records a zero mismatch for the plan."""
        if self._set is None or self._applied is None or self._stopping is not None:
            self._set = None  # (a stop's states follow its own model, not this one)
            return None
        self._set = next_set(self.problem.model, *self._set, self._applied)
        if self._plan is None or self._last is None:
            return self._set[0]
        x_prev, u_prev = self._last
        x = self._plan.A @ x_prev + self._plan.B @ u_prev
        self._record(np.zeros_like(x))
        return x

    def _follow(
        self, x: np.ndarray | None, eta: np.ndarray, status: str, sol: Solution | None, reason
    ) -> ControlStep:
        """The last plan's next input if it is still certified and leaves a certified stop,
        else the stop."""
        if x is not None and self._plan is not None and self._covers(len(self._deltas)):
            deltas = np.array(self._deltas).reshape(-1, x.size)
            u_cmd = self._plan.input(len(self._deltas), deltas)
            eta, margin = self._yielding(u_cmd, eta)
            if margin >= 0.0:
                return self._apply(x, u_cmd, eta, status, sol, reason, margin)
            reason = f"{reason}; last plan's next state has no certified stop ({margin:.4f})"
        elif self._plan is not None:
            reason = f"{reason}; last plan ran out"
        return self._stop(x, sol, reason)

    def _stop(self, x: np.ndarray | None, sol: Solution | None, reason: str) -> ControlStep:
        """The stop: certified by the stop under way, or from the current state set if
        that is known ("emergency" if neither certifies it)."""
        self._plan, self._cert = None, None
        margin, status = np.nan, "emergency"
        if self.stop_manoeuvre is not None:
            covering = self._stopping
            if self._set is not None:
                fresh = self.stop_manoeuvre.certify(*self._set, self.speed_reference)
                covering = fresh if covering is None or fresh.margin > covering.margin else covering
            self._stopping = covering
            if covering is not None:
                margin = covering.margin
                status = "stop" if covering.certified else "emergency"
        u = self.emergency_input.copy()
        return self._apply(x, u, np.zeros_like(u), status, sol, reason, margin)

    def _stop_margin(self, u: np.ndarray) -> float:
        """The stop's margin from every state the input u (m,) can lead to (inf without a
        stop)."""
        if self.stop_manoeuvre is None or self._set is None:
            return np.inf
        after = next_set(self.problem.model, *self._set, u)
        return self.stop_manoeuvre.certify(*after, self.speed_reference).margin

    def _yielding(self, u_cmd: np.ndarray, eta: np.ndarray) -> tuple[np.ndarray, float]:
        """The excitation to apply with u_cmd (m,) and the stop's margin after it: eta while
        that margin is at least `excitation_margin`, else whichever of eta, 0 and -eta
        leaves the largest (each is inside the excitation bound the plan is certified for,
        so the plan's guarantee stays; the choice keeps the car where it can stop)."""
        margin = self._stop_margin(u_cmd + eta)
        if margin >= self.excitation_margin or not np.any(eta):
            return eta, margin
        options = [(margin, eta), (self._stop_margin(u_cmd), np.zeros_like(eta))]
        options.append((self._stop_margin(u_cmd - eta), -eta))
        best, chosen = max(options, key=lambda option: option[0])
        return chosen, best

    def _excite(self) -> np.ndarray:
        """This step's excitation sample (m,), zeros without excitation."""
        m = self.problem.model.m
        return np.zeros(m) if self.excitation is None else self.excitation()

    def _record(self, delta: np.ndarray) -> None:
        """Keep the mismatch of the plan's next step as the plan feeds it back."""
        k = len(self._deltas) + 1
        earlier = np.array(self._deltas).reshape(-1, delta.size)
        self._deltas.append(self._plan.pseudo_delta(k, earlier, delta))

    def _covers(self, t: int) -> bool:
        """Whether the current plan is certified at its step t."""
        return t < self._plan.horizon or self._plan.lasts

    def _apply(
        self,
        x: np.ndarray | None,
        u_cmd: np.ndarray,
        eta: np.ndarray,
        status: str,
        sol: Solution | None,
        reason: str,
        stop_margin: float,
    ) -> ControlStep:
        """Record the step (state x it was taken from, None: unknown) with excitation eta."""
        self._last = None if x is None else (x, u_cmd)
        if status not in ("stop", "emergency"):
            self._stopping = None
        u = u_cmd + eta
        self._applied = u
        return ControlStep(
            u=u,
            u_cmd=u_cmd,
            status=status,
            solve_status="no measurement" if sol is None else sol.status,
            plan=self._plan,
            plan_step=len(self._deltas),
            certificate=self._cert,
            solve_time=0.0 if sol is None else sol.solve_time,
            reason=reason,
            stop_margin=stop_margin,
        )
