"""A receding-horizon plan: nominal trajectory plus causal feedback on model mismatch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .terminal import StationaryResponse


@dataclass(frozen=True)
class Plan:
    """x_t = z_t + sum_{k=1..t} Phi_x[t,k] delta_k, u_t = v_t + sum_{k=1..t} Phi_u[t,k] delta_k,
    where delta_k = x_k - A x_{k-1} - B u_{k-1} is the mismatch seen against (A, B).
    Blocks with k = 0 or k > t are zero. A nominal plan has Phi_u = 0."""

    A: np.ndarray  # nominal model the plan was made for, (n, n)
    B: np.ndarray  # (n, m)
    z: np.ndarray  # nominal states (T+1, n)
    v: np.ndarray  # nominal inputs (T, m)
    Phi_x: np.ndarray  # (T+1, T+1, n, n)
    Phi_u: np.ndarray  # (T, T+1, m, n)
    delta_bound: np.ndarray  # c_k >= |delta_k| (elementwise) the plan is safe for, (T+1, n)
    cost: float
    tail: Tail | None = None  # what the plan does after its horizon; None: nothing certified

    @property
    def horizon(self) -> int:
        return self.v.shape[0]

    @property
    def lasts(self) -> bool:
        """True if the plan is certified for all time (it has a tail), not only T steps."""
        return self.tail is not None

    def input(self, t: int, deltas: np.ndarray) -> np.ndarray:
        """Commanded input (m,) at step t given the mismatches (t, n) of steps 1..t as
        `pseudo_delta` made them; t < T, or any t with a tail."""
        T = self.horizon
        if t < T:
            return self.v[t] + np.einsum("kij,kj->i", self.Phi_u[t, 1 : t + 1], deltas[:t])
        if self.tail is None:
            raise ValueError(f"t: expected a step below the horizon {T} for a plan without a tail")
        M = self.tail.response.M
        first = max(t - M.shape[0] + 1, T - M.shape[0] + 1, 1)  # oldest step still responded to
        recent = deltas[first - 1 : t][::-1]  # hat_delta_t, hat_delta_{t-1}, ...
        return self.tail.v_eq + np.einsum("kij,kj->i", M[: len(recent)], recent)

    def pseudo_delta(self, k: int, earlier: np.ndarray, delta: np.ndarray) -> np.ndarray:
        """What the plan feeds back for the mismatch delta (n,) of step k >= 1, given what it
        made of steps 1..k-1 (k-1, n): delta itself, and with a tail at k >= T the terminal
        module's pseudo-mismatch (at T the earlier mismatches' remainder, after T the
        equilibrium's defect and the response's residual)."""
        T = self.horizon
        if self.tail is None or k < T:
            return delta
        N = self.tail.response.length
        if k == T:
            early = np.einsum("kij,kj->i", self.Phi_x[T, 1 : T - N + 1], earlier[: T - N])
            return delta + early
        defect = self.A @ self.z[T] + self.B @ self.tail.v_eq - self.z[T]
        return delta + defect + self.tail.response.residual @ earlier[k - N - 1]

    def shifted(self, delta: np.ndarray) -> Plan:
        """The plan one step on, from x_1 = z_1 + delta (n,), for a plan with a tail: the
        rest of this plan and one step of its tail, with the response to delta folded into
        the nominal. Its certificate (sls.certify) is the recursive-feasibility argument
        of the terminal module, checked in numpy."""
        if self.tail is None:
            raise ValueError("shifted: expected a plan with a tail")
        T, n, m = self.horizon, self.A.shape[0], self.B.shape[1]
        M, N = self.tail.response.M, self.tail.response.length
        # Input responses at step T (the tail's first): late mismatches k > T - N get
        # M_{T-k}; the earlier ones are one pseudo-mismatch at T with response M_0.
        at_T = np.zeros((T + 2, m, n))
        for k in range(1, T + 1):
            at_T[k] = M[T - k] if k > T - N else M[0] @ self.Phi_x[T, k]
        Phi_u = np.concatenate([self.Phi_u, at_T[None, : T + 1]], axis=0)  # (T+1, T+1, m, n)
        v = np.vstack([self.v, self.tail.v_eq])
        v_new = v[1:] + np.einsum("tij,j->ti", Phi_u[1:, 1], delta)
        Phi_u_new = np.zeros((T, T + 1, m, n))
        Phi_u_new[:, 1:T] = Phi_u[1:, 2:]  # the response to a mismatch of step T + 1 comes later
        z, Phi_x = rollout_responses(self.A, self.B, self.z[1] + delta, v_new, Phi_u_new)
        return Plan(self.A, self.B, z, v_new, Phi_x, Phi_u_new, self.delta_bound, 0.0, self.tail)


@dataclass(frozen=True)
class Tail:
    """After the horizon T a plan holds the equilibrium (z_T, v_eq (m,)) and applies the
    stationary `response` (terminal.StationaryResponse) to its pseudo-mismatches."""

    v_eq: np.ndarray
    response: StationaryResponse


@dataclass(frozen=True)
class Certificate:
    """A plan's robustness conditions, recomputed in numpy from the solution."""

    tau: float  # growth rate of the delta bound schedule
    eta: np.ndarray  # model-error part of the schedule's first step, per coordinate (n,)
    state_margin: float  # min over t and rows of b - (tightened f^T x_t)
    input_margin: float  # the same for the inputs
    induction_margin: float  # min over t of c_{t+1} - (bound on ||delta_{t+1}||)
    terminal_margin: float = np.inf  # the tail's constraints after the horizon (terminal)

    @property
    def verified(self) -> bool:
        margins = (self.state_margin, self.input_margin, self.induction_margin)
        return min(*margins, self.terminal_margin) >= 0.0


@dataclass(frozen=True)
class Solution:
    status: str  # "optimal", "infeasible" or "failed"
    plan: Plan | None
    certificate: Certificate | None
    solve_time: float  # s, wall clock of the whole solve call
    message: str = ""


def rollout_responses(A, B, x0, v, Phi_u) -> tuple[np.ndarray, np.ndarray]:
    """Nominal states z (T+1, n) and state responses Phi_x (T+1, T+1, n, n) implied by
    inputs v (T, m) and input responses Phi_u (T, T+1, m, n) under x+ = A x + B u + delta."""
    T, n = v.shape[0], A.shape[0]
    z = np.zeros((T + 1, n))
    Phi_x = np.zeros((T + 1, T + 1, n, n))
    z[0] = x0
    for t in range(T):
        z[t + 1] = A @ z[t] + B @ v[t]
        Phi_x[t + 1] = A @ Phi_x[t] + B @ Phi_u[t]
        Phi_x[t + 1, t + 1] = np.eye(n)
    return z, Phi_x
