"""Robust System Level Synthesis over an uncertain linear model, as one cvxpy problem.

True system: x+ = (Ahat + dA) x + (Bhat + dB)(u + eta) + w, with ||dA||_inf <= eps_A,
||dB||_inf <= eps_B (induced inf-norms), |w_i| <= sigma_w_i and excitation
|eta_j| <= sigma_eta_j added to the commanded input u. Relative to the nominal model,
x_{t+1} = Ahat x_t + Bhat u_t + delta_{t+1}, delta_{t+1} = w + dA x_t + dB u_t + (Bhat+dB) eta.

The horizon-T plan is the nominal trajectory (z, v), z_0 = x0, and strictly causal
feedback on the realised deltas:
    x_t = z_t + sum_{k=1..t} Phi_x[t,k] delta_k,   u_t = v_t + sum_{k=1..t} Phi_u[t,k] delta_k.
Robustness (an induction over t): if |delta_k| <= c_k (elementwise, c_k (n,)) for k <= t,
then every coordinate i of the next mismatch obeys
    |delta_{t+1,i}| <= s_i + eps_A ||x_t|| + eps_B ||u_t||
                    <= s_i + eps_A (||z_t|| + r^x_t) + eps_B (||v_t|| + r^u_t),
where s = sigma_w + |Bhat| sigma_eta + eps_B ||sigma_eta||_inf (n,) and
r^x_t = max_i sum_k |Phi_x[t,k]_(i,:)| c_k (same for u). The schedule is
c_k = s + e_k 1 with a model-error budget e_k; the problem requires
eps_A (||z_t|| + r^x_t) + eps_B (||v_t|| + r^u_t) <= e_{t+1}, so |delta_k| <= c_k for every k
by induction, and tightens each constraint row f: f^T z_t + sum_k |f^T Phi_x[t,k]| c_k <= b
(inputs also by |f|^T sigma_eta). A disturbance bound per coordinate is used as such: a
coordinate with little disturbance tightens the constraints less. So are row-wise model
error bounds (`UncertainModel.eps_A_rows`, `eps_B_rows`: ||dA_(i,:)||_1 <= eps_A_i):
coordinate i's mismatch then has eps_A_i, eps_B_i in place of eps_A, eps_B above, and its
own budget e_k,i.
The budget e_k = eta (1 + tau + ... + tau^{k-1}) is fixed before the solve, so the problem
is convex. eta = eps_A max||x|| + eps_B max||u|| over the safe set is the most model error
one step can add, so c_1 covers the first step from any safe state (`budget_scale` < 1
takes that fraction: the induction rows then confine the plan to where it suffices, and a
controller chooses eta per solve by trying problems with different budgets, `BudgetLadder`);
tau in [0, 1] lets the budget grow along the horizon. With tau = 0 the schedule is
constant, c_k = s + eta: then, with the full eta, the induction holds whenever the states
and inputs stay in the safe set (max ||x_t|| over the tube is max_i (|z_t,i| + its
deviation), at most max||x|| over the safe set; the real-time
formulation then drops its induction rows and checks x_0 only), and a plan shifted by one
step keeps its budget, which the terminal ingredient (`terminal`) needs for recursive
feasibility.

Output feedback (`eps_e`): the controller sees y_t = x_t + e_t, |e_t,i| <= eps_e_i, instead
of the state. The plan then runs on the measurements: z_0 = y_0 and
delta_{t+1} = y_{t+1} - Ahat y_t - Bhat u_t = zeta_{t+1} + e_{t+1} - Ahat e_t, where
zeta_{t+1} = w + dA x_t + dB u_t (+ excitation) is the mismatch on the true state. Summing
by parts, the true state and the input are
    x_t = z_t + sum_k Phi_x[t,k] zeta_k + sum_{j<t} Psi_x[t,j] e_j,
    u_t = v_t + sum_k Phi_u[t,k] zeta_k + sum_{j<=t} Psi_u[t,j] e_j,
    Psi[t,j] = Phi[t,j] - Phi[t,j+1] Ahat   (`error_responses`),
(the e_t of y_t cancels in x_t = y_t - e_t). Each constraint row f is tightened further by
sum_j |f^T Psi[t,j]| eps_e, and the induction on ||zeta_{t+1}|| <= c_{t+1} adds
eps_A max_i sum_j |Psi_x[t,j]_(i,:)| eps_e (||eps_e||_inf at t = 0, x_0 = y_0 - e_0) and the
same for the input with eps_B. The errors enter through the feedback the plan applies to
them (Phi - Phi Ahat ~ B K), not as an extra disturbance on every step: with eps_e = 0 the
problem is the state-feedback one.
"""

from __future__ import annotations

from dataclasses import replace

import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .checks import bound_vector, in_range, positive_int
from .excitation import check_sigma_eta
from .horizon import MARGIN, HorizonProblem
from .model import SafeSet, UncertainModel, first_step_error
from .plan import Certificate, Plan, Tail
from .terminal import StationaryResponse, stationary_response

STRUCTURE_TOL = 1e-9  # a tail's responses must equal the stationary ones to this (exact in use)


class RobustSLS(HorizonProblem):
    """Robust SLS for one uncertain model, compiled once and re-solved for each x0.

    Cost: the nominal cost plus `h2_weight` (default max(s)^2) times the same quadratic form
    of every feedback block (an H2 cost on the deltas). `tau`: growth of the schedule
    (module). `sigma_eta` (m,) bounds the excitation added to the commanded input.
    `eps_e` (n,) bounds the error of the measured state (output feedback, see module;
    default 0: state feedback). `terminal_length` N > 0: every plan ends in the stationary
    response of N steps (terminal module), for recursive feasibility; needs tau = 0, state
    feedback and horizon >= N (0: no terminal ingredient). `budget_scale` in (0, 1]: eta is
    that fraction of the most model error one step adds from the safe set (module); below
    1 the induction rows keep every step's model error within it.
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
        h2_weight: float | None = None,
        eps_e=None,
        terminal_length: int = 0,
        budget_scale: float = 1.0,
        **options,
    ) -> None:
        self.sigma_eta = check_sigma_eta(sigma_eta, model.m)
        self.eps_e = bound_vector("eps_e", eps_e, model.n)
        self.budget_scale = check_budget_scale(budget_scale, terminal_length)
        self.terminal_length = check_terminal(terminal_length, tau, self.eps_e, horizon)
        self.terminal: StationaryResponse | None = None
        self.s = disturbance_part(model, self.sigma_eta)
        default_h2 = float(self.s.max()) ** 2
        self.h2_weight = in_range("h2_weight", default_h2 if h2_weight is None else h2_weight, 0.0)
        self.tau = in_range("tau", tau, 0.0, 1.0)
        self.eta = self.budget_scale * first_step_error(model, safe_set, self.sigma_eta)
        growth = np.cumsum(self.tau ** np.arange(horizon))
        self.budget = np.outer(growth, self.eta)  # e_k per coordinate, k = 1..T (T, n)
        self.c = np.vstack([np.zeros(model.n), self.s + self.budget])  # (T+1, n)
        super().__init__(model, safe_set, Q, R, horizon, **options)

    def _formulate(self):
        A, B, T, n, m = self.model.A, self.model.B, self.T, self.model.n, self.model.m
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
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
        if self.eps_e.any():
            tight_x = tight_x + self._error_tightening(F, self._state_error_responses(), 1)
            tight_u = tight_u + self._error_tightening(G, self._input_error_responses(), 0)
        exc_u = np.abs(G) @ self.sigma_eta
        cons += [
            cp.vec(self._z[1:] @ F.T, order="C") + tight_x <= np.tile(b - MARGIN, T),
            cp.vec(self._v @ G.T, order="C") + tight_u <= np.tile(g - exc_u - MARGIN, T),
        ]
        if self.model.eps_A > 0 or self.model.eps_B > 0:
            cons += self._induction()
        if self.terminal_length:
            self.terminal = stationary_response(
                self.model, self.safe_set, self.c[1], self.terminal_length, self.sigma_eta
            )
            cons += self._terminal(self.terminal)
        if self.h2_weight > 0:
            cost = cost + self.h2_weight * self._h2_cost()
        return cons, cost

    def _terminal(self, response: StationaryResponse) -> list:
        """The plan ends in `response` (terminal module): the responses to the mismatches of
        the last N steps are its own, the earlier ones are zero at T, and z_T is an
        equilibrium (input v_eq) whose stationary tube is inside the constraints."""
        A, B, T, n, m = self.model.A, self.model.B, self.T, self.model.n, self.model.m
        N = response.length
        self._veq = cp.Variable(m, name="v_eq")
        tube_x, tube_u = response.tubes(self.safe_set, response.bound(self.c[1]))
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
        exc_u = np.abs(G) @ self.sigma_eta
        zT = self._z[T]
        cons = [
            zT == A @ zT + B @ self._veq,
            F @ zT + tube_x <= b - MARGIN,
            G @ self._veq + tube_u <= g - exc_u - MARGIN,
        ]
        cons += [self._X[k - 1][-n:] == 0 for k in range(1, T - N + 1)]
        for k in range(max(1, T - N + 1), T):
            cons.append(self._U[k - 1] == response.M[: T - k].reshape((T - k) * m, n))
        return cons

    def _tightening(self, H: np.ndarray, Phis: list, first_t: int) -> cp.Expression:
        """sum_k |H Phi[t,k]| c_k for t = first_t .. first_t+T-1, stacked (T * rows(H),)."""
        p, total = H.shape[0], 0
        for k, Phi in enumerate(Phis, start=1):
            blocks = Phi.shape[0] // H.shape[1]
            absrows = cp.abs(_blkdiag(H, blocks) @ Phi) @ self.c[k]
            total = total + _placement((k - first_t) * p, blocks * p, self.T * p) @ absrows
        return total

    def _error_tightening(self, H: np.ndarray, responses: list, first_t: int) -> cp.Expression:
        """sum_j |H Psi[t,j]| eps_e for t = first_t .. first_t+T-1, stacked like
        `_tightening`; responses: (first t, Psi_j stacked over t) from `*_error_responses`."""
        p, total = H.shape[0], 0
        for t0, Psi in responses:
            blocks = Psi.shape[0] // H.shape[1]
            absrows = cp.abs(_blkdiag(H, blocks) @ Psi) @ self.eps_e
            total = total + _placement((t0 - first_t) * p, blocks * p, self.T * p) @ absrows
        return total

    def _state_error_responses(self) -> list[tuple[int, cp.Expression]]:
        """(j + 1, Psi_x[t,j] for t = j+1..T) for j = 0..T-1."""
        A, n, X = self.model.A, self.model.n, self._X
        return [(j + 1, (X[j - 1][n:] if j else 0) - X[j] @ A) for j in range(self.T)]

    def _input_error_responses(self) -> list[tuple[int, cp.Expression]]:
        """(max(j, 1), Psi_u[t,j] for t = max(j, 1)..T-1) for j = 0..T-1 (Psi_u[0,0] = 0)."""
        A, m, U, T = self.model.A, self.model.m, self._U, self.T
        out: list[tuple[int, cp.Expression]] = [(1, -U[0] @ A)] if T > 1 else []
        for j in range(1, T):
            later = U[j] @ A if j < T - 1 else None
            out.append((j, U[j - 1] if later is None else U[j - 1] - _stack_below(later, m)))
        return out

    def _induction(self) -> list:
        """|delta_{t+1,i}| <= c_{t+1,i} for t = 0..T-1 given |delta_k| <= c_k, k <= t (module):
        row i's model-error bounds times bounds (T,) on ||x_t|| and ||u_t|| within the
        budget, one constraint per distinct pair of row bounds."""
        X, U = self._norm_bounds()
        return [a * X + b * U <= self.budget[:, i] for (a, b), i in row_pairs(self.model).items()]

    def _norm_bounds(self) -> tuple[cp.Expression, cp.Expression]:
        """Bounds (T,) on ||x_t||_inf and ||u_t||_inf, t = 0..T-1, over the tube given
        |delta_k| <= c_k, k <= t (and the measurement errors)."""
        T, n, m = self.T, self.model.n, self.model.m
        X = cp.max(cp.abs(self._z[:T]), axis=1)
        U = cp.max(cp.abs(self._v), axis=1)
        if self.eps_e.any():
            x0_err = np.eye(1, T).ravel() * self.eps_e.max()  # x_0 = y_0 - e_0
            X = X + self._error_row_bound(self._state_error_responses(), n) + x0_err
            U = U + self._error_row_bound(self._input_error_responses(), m)
        if T > 1:
            X = X + cp.hstack([np.zeros(1), self._row_bound(self._X, n)])
            U = U + cp.hstack([np.zeros(1), self._row_bound(self._U, m)])
        return X, U

    def _error_row_bound(self, responses: list, rows: int) -> cp.Expression:
        """max_i sum_j |Psi[t,j]_(i,:)| eps_e for t = 0..T-1, as (T,)."""
        T, total = self.T, 0
        for t0, Psi in responses:
            absrows = cp.abs(Psi) @ self.eps_e
            total = total + _placement(t0 * rows, Psi.shape[0], (T + 1) * rows) @ absrows
        return cp.max(cp.reshape(total, (T + 1, rows), order="C"), axis=1)[:T]

    def _row_bound(self, Phis: list, rows: int) -> cp.Expression:
        """r_t = max_i sum_k |Phi[t,k]_(i,:)| c_k for t = 1..T-1, as a (T-1,) expression."""
        T, total = self.T, 0
        for k, Phi in enumerate(Phis[: T - 1], start=1):
            size = (T - k) * rows  # blocks t = k..T-1
            absrows = cp.abs(Phi[:size]) @ self.c[k]
            total = total + _placement((k - 1) * rows, size, (T - 1) * rows) @ absrows
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
        tail = None
        if self.terminal is not None:
            M = self.terminal.M
            for k in range(max(1, T - len(M) + 1), T):
                Phi_u[k:, k] = M[: T - k]  # the solver's values up to round-off, made exact
            tail = Tail(self._veq.value.copy(), self.terminal)
        plan = self._plan(Phi_u, self.c.copy(), tail)
        cert = certify(
            plan, self.model, self.safe_set, self.sigma_eta, self.tau, self.eta, self.eps_e
        )
        return plan, cert


def row_pairs(model: UncertainModel) -> dict[tuple[float, float], int]:
    """The distinct pairs (eps_A_i, eps_B_i) of row-wise bounds, each with its first row i
    (one pair, row 0, without row-wise bounds)."""
    pairs: dict[tuple[float, float], int] = {}
    for i, pair in enumerate(zip(*model.row_errors, strict=True)):
        pairs.setdefault((float(pair[0]), float(pair[1])), i)
    return pairs


def disturbance_part(model: UncertainModel, sigma_eta: np.ndarray) -> np.ndarray:
    """s (n,): the part of each mismatch coordinate's bound that is there at any state,
    sigma_w + |B| sigma_eta + eps_B ||sigma_eta||_inf (module)."""
    rows_B = model.row_errors[1]
    return model.sigma_w + np.abs(model.B) @ sigma_eta + rows_B * float(np.max(sigma_eta))


def check_budget_scale(scale, terminal_length) -> float:
    """`scale` after checking it is in (0, 1], and 1 with a terminal response (whose
    tail keeps the states only inside the safe set, not the smaller budget's region)."""
    scale = in_range("budget_scale", scale, 0.0, 1.0, open_low=True)
    if scale < 1.0 and terminal_length:
        raise ValueError(f"budget_scale: expected 1 with a terminal response, got {scale}")
    return scale


def check_terminal(length, tau, eps_e: np.ndarray, horizon) -> int:
    """`length` after checking that a problem with these settings can end in a stationary
    response of that length (0: none); ValueError naming the parameter otherwise."""
    length = positive_int("terminal_length", length, 0)
    if length and tau != 0.0:
        raise ValueError(f"tau: expected 0 with a terminal response (constant schedule), got {tau}")
    if length and eps_e.any():
        raise ValueError("eps_e: expected 0 with a terminal response (state feedback)")
    if length > horizon:
        raise ValueError(f"horizon: expected at least terminal_length = {length}, got {horizon}")
    return length


def certify(
    plan: Plan,
    model: UncertainModel,
    safe_set: SafeSet,
    sigma_eta: np.ndarray,
    tau: float,
    eta: np.ndarray,
    eps_e=None,
) -> Certificate:
    """Recompute the robustness conditions of `plan` for `model` and measurement error
    bound eps_e (n,) (default 0) in numpy (no solver)."""
    c, T = plan.delta_bound, plan.horizon
    eps_e = bound_vector("eps_e", eps_e, model.n)
    s = disturbance_part(model, sigma_eta)
    F, b = safe_set.state.H, safe_set.state.h
    G, g = safe_set.inputs.H, safe_set.inputs.h
    rows = response_rows(plan.Phi_x, plan.Phi_u, plan.A, c, eps_e)
    fx, fu = rows(F, "x"), rows(G, "u")  # (T+1, p), (T, q)
    rx, ru = rows(np.eye(model.n), "x"), rows(np.eye(model.m), "u")
    rx[0] += eps_e.max()  # x_0 = y_0 - e_0
    # max ||x_t||_inf over the tube is max_i (|z_t,i| + its deviation), likewise for u
    rows_A, rows_B = model.row_errors
    x_norm = (np.abs(plan.z[:T]) + rx[:T]).max(axis=1)
    u_norm = (np.abs(plan.v) + ru).max(axis=1)
    bound = s + np.outer(x_norm, rows_A) + np.outer(u_norm, rows_B)  # (T, n)
    return Certificate(
        tau=tau,
        eta=eta,
        state_margin=float(np.min(b - plan.z[1:] @ F.T - fx[1:])),
        input_margin=float(np.min(g - plan.v @ G.T - fu - np.abs(G) @ sigma_eta)),
        induction_margin=float(np.min(c[1:] - bound)),
        terminal_margin=_tail_margin(plan, safe_set, sigma_eta, s, eta),
    )


def _tail_margin(plan: Plan, safe_set: SafeSet, sigma_eta: np.ndarray, s, eta):
    """The smallest margin of the tail's conditions (terminal module; inf without a tail),
    -inf if its structure does not hold: the responses to the last N mismatches are the
    stationary ones, the schedule is the constant c = s + eta (to round-off) or more, and
    the stationary tube around (z_T, v_eq) with the pseudo-mismatch bound d is inside the
    constraints."""
    T, tail, c = plan.horizon, plan.tail, plan.delta_bound
    if tail is None:
        return np.inf
    M = tail.response.M
    late = range(max(1, T - len(M) + 1), T)
    gap = max((np.abs(plan.Phi_u[k:T, k] - M[: T - k]).max() for k in late), default=0.0)
    if gap > STRUCTURE_TOL or np.ptp(c[1:], axis=0).max() > STRUCTURE_TOL:
        return -np.inf
    early = np.einsum("kij,j->i", np.abs(plan.Phi_x[T, 1 : late.start]), c[1])  # (n,), ~0
    defect = np.abs(plan.A @ plan.z[T] + plan.B @ tail.v_eq - plan.z[T])
    tube_x, tube_u = tail.response.tubes(safe_set, tail.response.bound(c[1] + defect + early))
    F, b = safe_set.state.H, safe_set.state.h
    G, g = safe_set.inputs.H, safe_set.inputs.h - np.abs(safe_set.inputs.H) @ sigma_eta
    state = np.min(b - F @ plan.z[T] - tube_x)
    inputs = np.min(g - G @ tail.v_eq - tube_u)
    return float(min(state, inputs, np.min(c[1] * (1 + 1e-12) - s - eta)))


def error_responses(Phi_x: np.ndarray, Phi_u: np.ndarray, A: np.ndarray):
    """Responses of the true state, (..., T+1, T+1, n, n), and of the input,
    (..., T, T+1, m, n), to the measurement errors e_j (module): Psi[t,j] = Phi[t,j] -
    Phi[t,j+1] A, for the state only j < t."""

    def by_parts(Phi: np.ndarray) -> np.ndarray:
        later = np.zeros_like(Phi)
        later[..., :-1, :, :] = Phi[..., 1:, :, :]
        return Phi - later @ A

    before = np.tril(np.ones(Phi_x.shape[-4:-2]), -1)[..., None, None]  # j < t
    return by_parts(Phi_x) * before, by_parts(Phi_u)


def response_rows(Phi_x: np.ndarray, Phi_u: np.ndarray, A: np.ndarray, c, eps_e):
    """rows(H, "x" or "u"): the worst-case deviation of H x_t (or H u_t) from its nominal,
    sum_k c_k |H Phi[t,k]| 1 + sum_j |H Psi[t,j]| eps_e, as (..., t, rows of H). Phi with
    leading batch axes allowed; c (T+1, n) the schedule, eps_e (n,) the measurement error."""
    on_deltas = c  # (T+1, n): weight of column j of block k
    on_errors = np.outer(np.ones(len(c)), eps_e)
    measured = bool(np.any(eps_e))  # without measurement error the Psi terms are zero
    Psi_x, Psi_u = error_responses(Phi_x, Phi_u, A) if measured else (None, None)
    responses = {"x": (Phi_x, Psi_x), "u": (Phi_u, Psi_u)}

    def rows(H: np.ndarray, which: str) -> np.ndarray:
        Phi, Psi = responses[which]
        deltas = _weighted_rows(H, Phi, on_deltas)
        return deltas + _weighted_rows(H, Psi, on_errors) if measured else deltas

    return rows


def _weighted_rows(H: np.ndarray, Phi: np.ndarray, W: np.ndarray) -> np.ndarray:
    """sum_{k,j} W[k,j] |(H Phi[t,k])_(p,j)|, (..., t, p), for Phi (..., t, k, r, j)."""
    return (np.abs(H @ Phi) * W[:, None, :]).sum(axis=(-3, -1))


def _stack_below(M: cp.Expression, rows: int) -> cp.Expression:
    """M with `rows` zero rows on top."""
    return cp.vstack([np.zeros((rows, M.shape[1])), M])


def _blkdiag(M: np.ndarray, count: int) -> sp.csr_matrix:
    return sp.kron(sp.eye(count), sp.csr_matrix(M), format="csr")


def _placement(before: int, size: int, total: int) -> sp.csr_matrix:
    """Sparse (total, size) matrix that puts a (size,) vector at offset `before`."""
    rows = np.arange(before, before + size)
    return sp.csr_matrix((np.ones(size), (rows, np.arange(size))), shape=(total, size))


class BudgetLadder:
    """eta chosen per solve: robust problems for the same model that differ only in their
    budget (`budget_scale`), tried in the given order; the first plan found is returned
    (solve time: all the tries)."""

    def __init__(self, problems: list) -> None:
        if not problems:
            raise ValueError("problems: expected at least one")
        self.problems = problems

    @property
    def model(self) -> UncertainModel:
        return self.problems[-1].model

    @property
    def safe_set(self) -> SafeSet:
        return self.problems[-1].safe_set

    def solve(self, x0, x_ref=None):
        spent = 0.0
        for problem in self.problems:
            sol = problem.solve(x0, x_ref)
            spent += sol.solve_time
            if sol.plan is not None:
                break
        return replace(sol, solve_time=spent)
