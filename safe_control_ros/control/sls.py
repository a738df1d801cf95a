"""Robust System Level Synthesis over an uncertain linear model, as one cvxpy problem.

True system: x+ = (Ahat + dA) x + (Bhat + dB)(u + eta) + w, with ||dA||_inf <= eps_A,
||dB||_inf <= eps_B (induced inf-norms), ||w||_inf <= sigma_w and excitation
|eta_j| <= sigma_eta_j added to the commanded input u. Relative to the nominal model,
x_{t+1} = Ahat x_t + Bhat u_t + delta_{t+1}, delta_{t+1} = w + dA x_t + dB u_t + (Bhat+dB) eta.

The horizon-T plan is the nominal trajectory (z, v), z_0 = x0, and strictly causal
feedback on the realised deltas:
    x_t = z_t + sum_{k=1..t} Phi_x[t,k] delta_k,   u_t = v_t + sum_{k=1..t} Phi_u[t,k] delta_k.
Robustness (an induction over t): if ||delta_k||_inf <= c_k for k <= t, then
    ||delta_{t+1}|| <= s + eps_A ||x_t|| + eps_B ||u_t||
                    <= s + eps_A (||z_t|| + r^x_t) + eps_B (||v_t|| + r^u_t),
where s = sigma_w + ||Bhat diag(sigma_eta)||_inf + eps_B ||sigma_eta||_inf and
r^x_t = max_i sum_k c_k ||Phi_x[t,k]_(i,:)||_1 (same for u). The problem requires the right
side to be <= c_{t+1}, so ||delta_k|| <= c_k for every k by induction, and tightens each
constraint row f: f^T z_t + sum_k c_k ||f^T Phi_x[t,k]||_1 <= b (inputs also by |f|^T sigma_eta).
The schedule c_k = s + eta (tau + ... + tau^k) is fixed before the solve (cvxpy parameters),
so the problem is convex; tau and eta are its two knobs.
"""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .bounds import inf_norm
from .checks import in_range
from .excitation import check_sigma_eta
from .horizon import MARGIN, HorizonProblem
from .model import SafeSet, UncertainModel
from .plan import Certificate, Plan


class RobustSLS(HorizonProblem):
    """Robust SLS for one uncertain model, compiled once and re-solved for each x0.

    Cost: the nominal cost plus `h2_weight` (default s^2) times the same quadratic form of
    every feedback block (an H2 cost on the deltas). Schedule knobs `tau`, `eta`: see
    `set_schedule`. `sigma_eta` (m,) bounds the excitation added to the commanded input.
    """

    def __init__(
        self,
        model: UncertainModel,
        safe_set: SafeSet,
        Q,
        R,
        horizon: int,
        sigma_eta=0.0,
        tau: float = 0.5,
        eta: float | None = None,
        h2_weight: float | None = None,
        **options,
    ) -> None:
        self.sigma_eta = check_sigma_eta(sigma_eta, model.m)
        self.s = (
            model.sigma_w
            + float(inf_norm(model.B * self.sigma_eta))
            + model.eps_B * float(self.sigma_eta.max())
        )
        self.h2_weight = in_range("h2_weight", self.s**2 if h2_weight is None else h2_weight, 0.0)
        self._schedule_args = (tau, eta)
        super().__init__(model, safe_set, Q, R, horizon, **options)

    def set_schedule(self, tau: float, eta: float | None = None) -> None:
        """Set c_k = s + eta (tau + ... + tau^k), tau in (0, 1]. eta defaults to the worst
        model error over the safe set, (eps_A max||x|| + eps_B max||u||) / tau, so that
        c_1 covers the first step from any safe state."""
        self.tau = in_range("tau", tau, 0.0, 1.0, open_low=True)
        if eta is None:
            u_max = self.safe_set.inputs.max_inf_norm + float(self.sigma_eta.max())
            worst = self.model.eps_A * self.safe_set.state.max_inf_norm + self.model.eps_B * u_max
            eta = worst / self.tau
        self.eta = in_range("eta", eta, 0.0)
        powers = np.cumsum(self.tau ** np.arange(1, self.T + 1))
        self.c = np.concatenate([[0.0], self.s + self.eta * powers])  # (T+1,), c_0 unused
        self._c.value = self.c[1:]

    def _formulate(self):
        A, B, T, n, m = self.model.A, self.model.B, self.T, self.model.n, self.model.m
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
        self._c = cp.Parameter(T, nonneg=True, name="c")
        self.set_schedule(*self._schedule_args)
        self._X = [cp.Variable(((T - k + 1) * n, n), name=f"Phi_x{k}") for k in range(1, T + 1)]
        self._U = [cp.Variable(((T - k) * m, n), name=f"Phi_u{k}") for k in range(1, T)]
        cons, cost = self._nominal()
        for k, X in enumerate(self._X, start=1):
            cons.append(X[:n] == np.eye(n))
            if k < T:
                cons.append(
                    X[n:] == _blkdiag(A, T - k) @ X[:-n] + _blkdiag(B, T - k) @ self._U[k - 1]
                )
        tight_x = self._tightening(F, self._X, first_t=1)  # t = 1..T
        tight_u = self._tightening(G, self._U, first_t=0)  # t = 0..T-1
        exc_u = np.abs(G) @ self.sigma_eta
        cons += [
            cp.vec(self._z[1:] @ F.T, order="C") + tight_x <= np.tile(b - MARGIN, T),
            cp.vec(self._v @ G.T, order="C") + tight_u <= np.tile(g - exc_u - MARGIN, T),
        ]
        if self.model.eps_A > 0 or self.model.eps_B > 0:
            cons.append(self._induction() <= self._c)
        if self.h2_weight > 0:
            cost = cost + self.h2_weight * self._h2_cost()
        return cons, cost

    def _tightening(self, H: np.ndarray, Phis: list, first_t: int) -> cp.Expression:
        """sum_k c_k |H Phi[t,k]| 1 for t = first_t .. first_t+T-1, stacked (T * rows(H),)."""
        p, total = H.shape[0], 0
        for k, Phi in enumerate(Phis, start=1):
            blocks = Phi.shape[0] // H.shape[1]
            absrows = cp.sum(cp.abs(_blkdiag(H, blocks) @ Phi), axis=1)
            placed = _placement((k - first_t) * p, blocks * p, self.T * p) @ absrows
            total = total + self._c[k - 1] * placed
        return total

    def _induction(self) -> cp.Expression:
        """Bound (T,) on ||delta_{t+1}||_inf for t = 0..T-1 given ||delta_k|| <= c_k, k <= t."""
        T, n, m = self.T, self.model.n, self.model.m
        eps_A, eps_B = self.model.eps_A, self.model.eps_B
        z_norm = cp.max(cp.abs(self._z[:T]), axis=1)
        v_norm = cp.max(cp.abs(self._v), axis=1)
        bound = self.s + eps_A * z_norm + eps_B * v_norm
        if T == 1:
            return bound
        spread = eps_A * self._row_bound(self._X, n) + eps_B * self._row_bound(self._U, m)
        return bound + cp.hstack([np.zeros(1), spread])

    def _row_bound(self, Phis: list, rows: int) -> cp.Expression:
        """r_t = max_i sum_k c_k ||Phi[t,k]_(i,:)||_1 for t = 1..T-1, as a (T-1,) expression."""
        T, total = self.T, 0
        for k, Phi in enumerate(Phis[: T - 1], start=1):
            size = (T - k) * rows  # blocks t = k..T-1
            absrows = cp.sum(cp.abs(Phi[:size]), axis=1)
            total = total + self._c[k - 1] * (
                _placement((k - 1) * rows, size, (T - 1) * rows) @ absrows
            )
        return cp.max(cp.reshape(total, (T - 1, rows), order="C"), axis=1)

    def _h2_cost(self) -> cp.Expression:
        T, n = self.T, self.model.n
        cost = 0
        for k, X in enumerate(self._X, start=1):
            if k < T:
                cost += cp.sum_squares(_blkdiag(self.sqrt_Q.T, T - k) @ X[:-n])
                cost += cp.sum_squares(_blkdiag(self.sqrt_R.T, T - k) @ self._U[k - 1])
            cost += cp.sum_squares(self.sqrt_P.T @ X[-n:])
        return cost

    def _extract(self) -> tuple[Plan, Certificate]:
        T, n, m = self.T, self.model.n, self.model.m
        Phi_u = np.zeros((T, T + 1, m, n))
        for k, U in enumerate(self._U, start=1):
            Phi_u[k:, k] = U.value.reshape(T - k, m, n)
        plan = self._plan(Phi_u, self.c.copy())
        cert = certify(plan, self.model, self.safe_set, self.sigma_eta, self.tau, self.eta)
        return plan, cert


def certify(
    plan: Plan,
    model: UncertainModel,
    safe_set: SafeSet,
    sigma_eta: np.ndarray,
    tau: float,
    eta: float,
) -> Certificate:
    """Recompute the robustness conditions of `plan` for `model` in numpy (no solver)."""
    c, T = plan.delta_bound, plan.horizon
    s = model.sigma_w + inf_norm(model.B * sigma_eta) + model.eps_B * sigma_eta.max()
    F, b = safe_set.state.H, safe_set.state.h
    G, g = safe_set.inputs.H, safe_set.inputs.h
    fx = np.einsum("tkpj,k->tp", np.abs(np.einsum("pi,tkij->tkpj", F, plan.Phi_x)), c)
    fu = np.einsum("tkpj,k->tp", np.abs(np.einsum("pi,tkij->tkpj", G, plan.Phi_u)), c)
    rx = np.einsum("tkij,k->ti", np.abs(plan.Phi_x), c).max(axis=1)  # (T+1,)
    ru = np.einsum("tkij,k->ti", np.abs(plan.Phi_u), c).max(axis=1)  # (T,)
    bound = (
        s
        + model.eps_A * (np.abs(plan.z[:T]).max(axis=1) + rx[:T])
        + model.eps_B * (np.abs(plan.v).max(axis=1) + ru)
    )
    return Certificate(
        tau=tau,
        eta=eta,
        state_margin=float(np.min(b - plan.z[1:] @ F.T - fx[1:])),
        input_margin=float(np.min(g - plan.v @ G.T - fu - np.abs(G) @ sigma_eta)),
        induction_margin=float(np.min(c[1:] - bound)),
    )


def _blkdiag(M: np.ndarray, count: int) -> sp.csr_matrix:
    return sp.kron(sp.eye(count), sp.csr_matrix(M), format="csr")


def _placement(before: int, size: int, total: int) -> sp.csr_matrix:
    """Sparse (total, size) matrix that puts a (size,) vector at offset `before`."""
    rows = np.arange(before, before + size)
    return sp.csr_matrix((np.ones(size), (rows, np.arange(size))), shape=(total, size))
