"""The part every receding-horizon problem here shares: nominal model, cost and solve."""

from __future__ import annotations

import time

import cvxpy as cp
import numpy as np

from .checks import as_matrix, as_vector, positive_int
from .lqr import lqr
from .model import SafeSet, UncertainModel
from .plan import Certificate, Plan, Solution, Tail, rollout_responses

MARGIN = 1e-6  # constraints are tightened by this much so solver round-off never violates


class HorizonProblem:
    """A horizon-T problem compiled once (cvxpy parameters x0, x_ref) and re-solved per step.

    Nominal cost: sum_t |z_t - x_ref|_Q^2 + |v_t|_R^2 + |z_T - x_ref|_P^2, where P is the
    LQR cost-to-go of the nominal model unless `terminal_cost` is a matrix or "none".
    Subclasses add their variables, constraints and cost in `_formulate` and turn the
    solution into a plan in `_extract`.
    """

    def __init__(
        self,
        model: UncertainModel,
        safe_set: SafeSet,
        Q,
        R,
        horizon: int,
        terminal_cost: np.ndarray | str = "lqr",
        solver: str = "CLARABEL",
        solver_options: dict | None = None,
    ) -> None:
        n, m = model.n, model.m
        self.model = model
        self.safe_set = safe_set.check(n, m)
        self.Q = as_matrix("Q", Q, (n, n))
        self.R = as_matrix("R", R, (m, m))
        self.T = positive_int("horizon", horizon)
        self.sqrt_Q, self.sqrt_R = psd_sqrt("Q", self.Q), psd_sqrt("R", self.R)
        self.P = terminal_cost_matrix(terminal_cost, model, self.Q, self.R)
        self.sqrt_P = psd_sqrt("terminal_cost", self.P)
        self.solver = solver
        self.solver_options = dict(solver_options or {})
        self._x0 = cp.Parameter(n, name="x0")
        self._xref = cp.Parameter(n, name="x_ref", value=np.zeros(n))
        self._z = cp.Variable((self.T + 1, n), name="z")
        self._v = cp.Variable((self.T, m), name="v")
        constraints, cost = self._formulate()
        self._problem = cp.Problem(cp.Minimize(cost), constraints)

    def _nominal(self) -> tuple[list, cp.Expression]:
        """Nominal dynamics constraints and nominal cost."""
        z, v, T, n = self._z, self._v, self.T, self.model.n
        A, B = self.model.A, self.model.B
        err = z - np.ones((T + 1, 1)) @ cp.reshape(self._xref, (1, n), order="C")
        cost = (
            cp.sum_squares(err[:T] @ self.sqrt_Q)
            + cp.sum_squares(v @ self.sqrt_R)
            + cp.sum_squares(err[T] @ self.sqrt_P)
        )
        return [z[0] == self._x0, z[1:] == z[:-1] @ A.T + v @ B.T], cost

    def _formulate(self) -> tuple[list, cp.Expression]:
        raise NotImplementedError

    def _extract(self) -> tuple[Plan, Certificate | None]:
        raise NotImplementedError

    def _plan(self, Phi_u: np.ndarray, delta_bound: np.ndarray, tail: Tail | None = None):
        """The solved (v, Phi_u (T, T+1, m, n)) as a plan whose states follow exactly."""
        A, B = self.model.A, self.model.B
        z, Phi_x = rollout_responses(A, B, self._x0.value, self._v.value, Phi_u)
        v = self._v.value.copy()
        return Plan(A, B, z, v, Phi_x, Phi_u, delta_bound, float(self._problem.value), tail)

    def solve(self, x0, x_ref=None) -> Solution:
        """Solve from the measured state x0 (n,) towards x_ref (n,, default 0).

        Solver trouble is a status, never an exception; a plan whose certificate fails
        verification is reported as "failed"."""
        n = self.model.n
        self._x0.value = as_vector("x0", x0, n)
        self._xref.value = np.zeros(n) if x_ref is None else as_vector("x_ref", x_ref, n)
        start = time.perf_counter()
        try:
            self._problem.solve(solver=self.solver, **self.solver_options)
            status = self._problem.status
        except cp.error.SolverError as err:
            status, message = "failed", str(err)
        else:
            message = status
        if status in (cp.INFEASIBLE, cp.INFEASIBLE_INACCURATE):
            return Solution("infeasible", None, None, time.perf_counter() - start, message)
        if status != cp.OPTIMAL or self._v.value is None:
            return Solution("failed", None, None, time.perf_counter() - start, message)
        plan, cert = self._extract()
        elapsed = time.perf_counter() - start
        if cert is not None and not cert.verified:
            return Solution("failed", None, cert, elapsed, "solution failed verification")
        return Solution("optimal", plan, cert, elapsed)


def terminal_cost_matrix(terminal_cost, model: UncertainModel, Q: np.ndarray, R: np.ndarray):
    """P (n, n) from "lqr" (the DARE cost-to-go of the nominal model), "none" or a matrix."""
    if isinstance(terminal_cost, str):
        if terminal_cost == "lqr":
            return lqr(model.A, model.B, Q, R).P
        if terminal_cost == "none":
            return np.zeros_like(Q)
        raise ValueError(
            f"terminal_cost: expected 'lqr', 'none' or a matrix, got {terminal_cost!r}"
        )
    return as_matrix("terminal_cost", terminal_cost, Q.shape)


def psd_sqrt(name: str, M: np.ndarray) -> np.ndarray:
    """S with S S^T = M for a symmetric positive semi-definite M."""
    w, V = np.linalg.eigh((M + M.T) / 2)
    if not np.allclose(M, M.T) or w.min() < -1e-9 * max(1.0, abs(w).max()):
        raise ValueError(f"{name}: expected a symmetric positive semi-definite matrix")
    return V * np.sqrt(np.clip(w, 0.0, None))
