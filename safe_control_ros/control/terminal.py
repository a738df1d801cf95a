"""Terminal ingredient: a stationary response that keeps the car safe after the horizon.

A stationary response is a time-invariant finite impulse response to the mismatches: the
mismatch delta_k moves the state by R_i delta_k and the input by M_i delta_k at step k + i,
i = 0..N-1, with R_0 = I and R_{i+1} = A R_i + B M_i. Under the constant schedule
(`sls`, tau = 0) every mismatch is bounded by c = s + eta while the state and input stay in
the safe set. Around an equilibrium (z_eq, v_eq) of the nominal model, the state is then
z_eq + sum_{i<N} R_i delta_{t-i} for all time, so
    F z_eq + sum_i |F R_i| c <= b,   G v_eq + sum_i |G M_i| c <= g - |G| sigma_eta
keeps every state and input safe forever, whatever the mismatch sequence (the bound c
holds again at every step because the constraints hold: an induction over time).

Numerically the response is not exactly finite: Delta = A R_{N-1} + B M_{N-1} ~ 1e-9, and
an equilibrium is one up to r_eq = A z_eq + B v_eq - z_eq. Both are folded into pseudo-
mismatches that the response is applied to,
    hat_delta_t = delta_t + r_eq + Delta hat_delta_{t-N},
which make the response exact (x_t = z_eq + sum_i R_i hat_delta_{t-i}) and are bounded by
d = (I - |Delta|)^{-1} (c + |r_eq| + rho) when the spectral radius of |Delta| is below 1
(rho: what the plan leaves of its earlier mismatches at the horizon, `Tail`). The
certificate checks the constraints above with d in place of c.

`stationary_response` finds R, M by a linear program that minimises the largest fraction
of any constraint the response uses (its `usage`); it exists for the model only if that
fraction is below 1. A receding-horizon plan of horizon T >= N ends in it (`RobustSLS`
with `terminal`): the responses to its last N mismatches are the stationary ones, the
earlier ones are zero at T, and z_T is an equilibrium whose stationary tube is inside the
constraints. Shifting such a plan by one step and appending the stationary response gives
a plan of the same form from the next state, so a feasible plan now implies a feasible plan
at every later step (recursive feasibility), and the last plan with its tail is a certified
policy for all time.
"""

from __future__ import annotations

from dataclasses import dataclass

import cvxpy as cp
import numpy as np

from .checks import positive_int
from .model import SafeSet, UncertainModel


@dataclass(frozen=True)
class StationaryResponse:
    """R (N, n, n), M (N, m, n) (module), designed for the mismatch bound c (n,) (controller
    units); residual = A R_{N-1} + B M_{N-1} (n, n); usage: the largest fraction of a
    constraint its tube takes at the bound c."""

    R: np.ndarray
    M: np.ndarray
    c: np.ndarray
    residual: np.ndarray
    usage: float

    @property
    def length(self) -> int:
        return self.R.shape[0]

    def bound(self, c) -> np.ndarray:
        """d (n,) >= |hat_delta| when the pseudo-mismatches' other terms are bounded by c (n,)
        (module); inf where the residual's spectral radius is not below 1."""
        n = self.R.shape[1]
        absres = np.abs(self.residual)
        if max(abs(np.linalg.eigvals(absres))) >= 1.0:
            return np.full(n, np.inf)
        return np.linalg.solve(np.eye(n) - absres, np.broadcast_to(c, n))

    def tubes(self, safe_set: SafeSet, d) -> tuple[np.ndarray, np.ndarray]:
        """sum_i |F R_i| d and sum_i |G M_i| d: the stationary tube on every constraint row."""
        F, G = safe_set.state.H, safe_set.inputs.H
        state = np.einsum("pr,irj->ipj", F, self.R)
        inputs = np.einsum("pr,irj->ipj", G, self.M)
        return np.abs(state).sum(axis=0) @ d, np.abs(inputs).sum(axis=0) @ d


def stationary_response(
    model: UncertainModel, safe_set: SafeSet, c, length: int, sigma_eta
) -> StationaryResponse:
    """The stationary response of `length` steps with the smallest usage for mismatches
    bounded by c (n,) (controller units); sigma_eta (m,) is the excitation the inputs keep room
    for. R is rolled out from the solved M, so R_{i+1} = A R_i + B M_i exactly."""
    N = positive_int("terminal_length", length)
    A, B, n, m = model.A, model.B, model.n, model.m
    F, b = safe_set.state.H, safe_set.state.h
    G, g = safe_set.inputs.H, safe_set.inputs.h - np.abs(safe_set.inputs.H) @ sigma_eta
    M = [cp.Variable((m, n)) for _ in range(N)]
    R = [np.eye(n)]
    for i in range(N):
        R.append(A @ R[-1] + B @ M[i])
    usage = cp.Variable()
    c = np.broadcast_to(np.asarray(c, dtype=float), n)
    tube_x = sum(cp.abs(F @ Ri) @ c for Ri in R[:N])
    tube_u = sum(cp.abs(G @ Mi) @ c for Mi in M)
    constraints = [R[N] == 0, tube_x <= usage * b, tube_u <= usage * g]
    problem = cp.Problem(cp.Minimize(usage), constraints)
    problem.solve(solver="CLARABEL")
    if problem.status != cp.OPTIMAL or usage.value >= 1.0:
        found = "" if usage.value is None else f"; its tube takes {usage.value:.3g} of a constraint"
        raise ValueError(
            f"terminal_length: no stationary response of {N} steps inside the constraints for "
            f"mismatches up to {np.round(c, 4)}{found}; a longer one, or a tighter model"
        )
    M_val = np.array([Mi.value for Mi in M])
    R_val = np.zeros((N, n, n))
    R_val[0] = np.eye(n)
    for i in range(N - 1):
        R_val[i + 1] = A @ R_val[i] + B @ M_val[i]
    residual = A @ R_val[-1] + B @ M_val[-1]
    return StationaryResponse(R_val, M_val, c.copy(), residual, float(usage.value))
