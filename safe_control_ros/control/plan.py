"""A receding-horizon plan: nominal trajectory plus causal feedback on model mismatch."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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
    delta_bound: np.ndarray  # c_k >= ||delta_k||_inf the plan is safe for, (T+1,), c_0 = 0
    cost: float

    @property
    def horizon(self) -> int:
        return self.v.shape[0]

    def input(self, t: int, deltas: np.ndarray) -> np.ndarray:
        """Commanded input (m,) at step t < T given deltas (t, n) = delta_1..delta_t."""
        return self.v[t] + np.einsum("kij,kj->i", self.Phi_u[t, 1 : t + 1], deltas)


@dataclass(frozen=True)
class Certificate:
    """A plan's robustness conditions, recomputed in numpy from the solution."""

    tau: float  # growth rate of the delta bound schedule
    eta: float  # scale of the model-error part of the schedule (state units)
    state_margin: float  # min over t and rows of b - (tightened f^T x_t)
    input_margin: float  # the same for the inputs
    induction_margin: float  # min over t of c_{t+1} - (bound on ||delta_{t+1}||)

    @property
    def verified(self) -> bool:
        return min(self.state_margin, self.input_margin, self.induction_margin) >= 0.0


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
