"""Receding-horizon loop: re-solve each step; on failure keep following the last plan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from .checks import as_vector
from .excitation import Excitation
from .model import SafeSet, UncertainModel
from .plan import Certificate, Plan, Solution

STATUSES = ("optimal", "fallback", "hold", "emergency")


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
    # plan without a measurement, `RecedingHorizon.hold`) or "emergency"
    solve_status: str  # what the solver said this step
    plan: Plan | None  # the plan being followed
    plan_step: int  # index of this step within that plan
    certificate: Certificate | None
    solve_time: float  # s


class RecedingHorizon:
    """Receding-horizon controller around a `Planner`.

    Each step solves from the measured state. If the solve is infeasible, fails or fails
    verification, the last feasible plan's causal feedback is applied on the mismatch
    seen since it was made; that keeps its guarantee for the rest of its horizon, and for
    all time if the plan has a tail (terminal module). Past it (or with no plan yet) the
    `emergency_input` (m,) is commanded. Never raises on solver
    trouble. With an `excitation` source, its sample is added to the applied input (not to
    the emergency input).
    """

    def __init__(
        self,
        problem: Planner,
        emergency_input=None,
        excitation: Excitation | None = None,
    ) -> None:
        self.problem = problem
        m = problem.model.m
        self.emergency_input = as_vector(
            "emergency_input", np.zeros(m) if emergency_input is None else emergency_input, m
        )
        self.excitation = excitation
        self._plan: Plan | None = None
        self._cert: Certificate | None = None
        self._deltas: list[np.ndarray] = []
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # (x, u_cmd) of last step

    def set_problem(self, problem: Planner) -> None:
        """Switch to a new problem (e.g. a new model estimate); the current plan stays as
        the fallback because it was made for its own model."""
        if (problem.model.n, problem.model.m) != (self.problem.model.n, self.problem.model.m):
            raise ValueError("problem: expected the same state and input dimensions")
        self.problem = problem

    def step(self, x, x_ref=None) -> ControlStep:
        """One control step from the measured state x (n,)."""
        x = as_vector("x", x, self.problem.model.n)
        if self._plan is not None and self._last is not None:
            x_prev, u_prev = self._last
            self._record(x - self._plan.A @ x_prev - self._plan.B @ u_prev)
        sol = self.problem.solve(x, x_ref)
        if sol.plan is not None:
            self._plan, self._cert, self._deltas = sol.plan, sol.certificate, []
            status, u_cmd = "optimal", sol.plan.v[0].copy()
        elif self._plan is not None and self._covers(len(self._deltas)):
            status = "fallback"
            u_cmd = self._plan.input(len(self._deltas), np.array(self._deltas).reshape(-1, x.size))
        else:
            self._plan, self._cert = None, None
            status, u_cmd = "emergency", self.emergency_input.copy()
        return self._apply(x, u_cmd, status, sol.status, sol.solve_time)

    def hold(self) -> ControlStep:
        """A step without a usable measurement: the last plan continues as if the state
        were the one its model predicts (zero mismatch this step; the next measurement's
        mismatch covers both steps). Past its horizon, or without a plan, the emergency
        input. Status "hold" (or "emergency")."""
        if self._plan is None or self._last is None:
            return self._apply(None, self.emergency_input.copy(), "emergency", "no measurement")
        x_prev, u_prev = self._last
        x = self._plan.A @ x_prev + self._plan.B @ u_prev
        self._record(np.zeros_like(x))
        if self._covers(len(self._deltas)):
            u_cmd = self._plan.input(len(self._deltas), np.array(self._deltas))
            return self._apply(x, u_cmd, "hold", "no measurement")
        self._plan, self._cert = None, None
        return self._apply(x, self.emergency_input.copy(), "emergency", "no measurement")

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
        status: str,
        solve_status: str,
        solve_time: float = 0.0,
    ) -> ControlStep:
        """Record the step (state x it was taken from, None: unknown) and add excitation."""
        self._last = None if x is None else (x, u_cmd)
        excite = self.excitation is not None and status != "emergency"
        u = u_cmd + self.excitation() if excite else u_cmd
        return ControlStep(
            u=u,
            u_cmd=u_cmd,
            status=status,
            solve_status=solve_status,
            plan=self._plan,
            plan_step=len(self._deltas),
            certificate=self._cert,
            solve_time=solve_time,
        )
