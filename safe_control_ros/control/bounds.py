"""Error bounds eps_A >= ||A - Ahat||, eps_B >= ||B - Bhat|| holding with probability 1-delta.

Norm: the induced infinity-norm (largest absolute row sum), the one robust SLS with
polytope constraints and bounded disturbances needs (||dA x||_inf <= eps_A ||x||_inf).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .checks import as_matrix, in_range, positive_int
from .excitation import Policy
from .sysid import Estimate


@dataclass(frozen=True)
class ErrorBounds:
    """Bounds on the induced inf-norm of the model error, jointly with probability 1-delta;
    a bootstrap also bounds each row's 1-norm (eps_A_rows, eps_B_rows (n,), jointly with
    probability 1-delta by a union bound over the rows)."""

    eps_A: float
    eps_B: float
    delta: float
    method: str
    eps_A_rows: np.ndarray | None = None
    eps_B_rows: np.ndarray | None = None


def inf_norm(M: np.ndarray) -> np.ndarray:
    """Induced inf-norm (max absolute row sum) of M (..., r, c)."""
    return np.abs(M).sum(axis=-1).max(axis=-1)


def data_dependent_bounds(
    est: Estimate, noise_scale: float, delta: float, prior_radius: float
) -> ErrorBounds:
    """Self-normalised martingale bound (Abbasi-Yadkori, Pal, Szepesvari 2011, Thm 2).

    Valid uniformly in time for data collected in closed loop, when each noise coordinate
    is conditionally `noise_scale`-sub-Gaussian (any noise with |w_i| <= s qualifies with
    s) and every row of [A B] - prior has Euclidean norm <= `prior_radius`.
    Each row i lies in {th : ||th - th_hat_i||_V <= beta} with probability 1 - delta/n; the
    operator bounds are the exact maxima of ||.||_1 over that ellipsoid.
    """
    R = in_range("noise_scale", noise_scale, 0.0, open_low=True)
    delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
    S = in_range("prior_radius", prior_radius, 0.0)
    n = est.A.shape[0]
    d = est.gram.shape[0]
    logdet = np.linalg.slogdet(est.gram)[1]
    beta = R * np.sqrt(2 * np.log(n / delta) + logdet - d * np.log(est.ridge))
    beta += np.sqrt(est.ridge) * S
    W = np.linalg.inv(est.gram)
    return ErrorBounds(
        eps_A=beta * _max_l1_on_ellipsoid(W[:n, :n]),
        eps_B=beta * _max_l1_on_ellipsoid(W[n:, n:]),
        delta=delta,
        method="data-dependent",
    )


def _max_l1_on_ellipsoid(W: np.ndarray) -> float:
    """max ||v||_1 over {v : v^T W^{-1} v <= 1} = max over sign vectors s of sqrt(s^T W s)."""
    k = W.shape[0]
    if k > 14:  # 2^k sign vectors become too many: use ||v||_1 <= sqrt(k) ||v||_2
        return float(np.sqrt(k * np.linalg.eigvalsh(W)[-1]))
    signs = np.array([(1.0, *s) for s in itertools.product((1.0, -1.0), repeat=k - 1)])
    return float(np.sqrt(np.max(np.einsum("si,ij,sj->s", signs, W, signs))))


def bootstrap_bounds(
    est: Estimate,
    x,
    u,
    x_next,
    delta: float,
    policy: Policy | None = None,
    n_boot: int = 200,
    seed: int = 0,
) -> ErrorBounds:
    """Bootstrap bound (Dean et al., FoCM 2019, Alg. 2) from transitions x (T, n),
    u (T, m), x_next (T, n) that `est` was fitted on.

    Re-simulates `n_boot` trajectories of length T from x[0] under (Ahat, Bhat), the
    data-collection `policy` and residuals resampled with replacement. Without a policy
    (one too costly to re-run, such as an MPC) it uses `fitted_policy(x, u)`, the linear
    feedback that best explains the inputs plus resampled input residuals. Each replicate
    is re-fitted with the same ridge and prior; returns the (1 - delta/2) quantiles of the
    A and B errors (joint level 1 - delta by a union bound). Approximate:
    its coverage rests on the bootstrap principle, not on a theorem, and needs enough data
    for (Ahat, Bhat) to resemble the truth (in our tests: a few hundred steps).
    """
    n, m = est.B.shape
    X = as_matrix("x", x, (None, n))
    T = X.shape[0]
    U = as_matrix("u", u, (T, m))
    Y = as_matrix("x_next", x_next, (T, n))
    delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
    M = positive_int("n_boot", n_boot, 10)
    rng = np.random.default_rng(seed)
    residuals = Y - X @ est.A.T - U @ est.B.T
    residuals -= residuals.mean(axis=0)
    residuals *= np.sqrt(T / max(T - est.gram.shape[0], 1))  # undo the fit's shrinkage
    policy = fitted_policy(X, U) if policy is None else policy
    gram, cross = _resimulated(est, X[0], T, policy, residuals, M, rng)
    theta = np.linalg.solve(gram, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
    return quantile_bounds(theta - np.hstack([est.A, est.B]), n, delta, "bootstrap")


def quantile_bounds(errors: np.ndarray, n: int, delta: float, method: str) -> ErrorBounds:
    """Bounds from bootstrap replicates of the error [dA dB] (M, n, n+m): the (1 - delta/2)
    quantiles of ||dA||_inf and ||dB||_inf, and per row the (1 - delta/(2n)) quantiles of
    the rows' 1-norms."""
    rows_A = np.abs(errors[:, :, :n]).sum(axis=2)  # (M, n)
    rows_B = np.abs(errors[:, :, n:]).sum(axis=2)
    q, q_row = 1 - delta / 2, 1 - delta / (2 * n)
    return ErrorBounds(
        eps_A=float(np.quantile(rows_A.max(axis=1), q)),
        eps_B=float(np.quantile(rows_B.max(axis=1), q)),
        delta=delta,
        method=method,
        eps_A_rows=np.quantile(rows_A, q_row, axis=0),
        eps_B_rows=np.quantile(rows_B, q_row, axis=0),
    )


def wild_bootstrap_bounds(
    est: Estimate,
    x,
    u,
    x_next,
    delta: float,
    block: int = 10,
    n_boot: int = 200,
    seed: int = 0,
) -> ErrorBounds:
    """Block wild bootstrap bound from transitions x (T, n), u (T, m), x_next (T, n) that
    `est` was fitted on.

    Each replicate keeps the regressors z_t = [x_t; u_t], multiplies the residuals r_t
    (leverage-corrected) by one Rademacher sign per block of `block` consecutive
    transitions and re-fits with the same ridge:
    Theta* - Theta_hat = (sum_t v_t r_t z_t^T - lam (Theta_hat - Theta0)) V^-1.
    Unlike `bootstrap_bounds`, which re-simulates a linear system with i.i.d. residuals,
    it keeps the residuals where the data put them, so it accounts for a misspecified
    model: residuals that depend on the state and input (heteroscedastic, Wu 1986; Liu
    1988) and that are correlated over up to about `block` steps (dependent wild
    bootstrap, Shao 2010). The ball then bounds the distance to the best linear fit under
    the data's distribution (the long-run fit), not to a linear truth there may not be.
    Returns `quantile_bounds` of the replicates. Approximate, like every bootstrap: on a
    linear plant in closed loop it covers 0.83, 0.88, 0.91 of runs of 300, 600, 1,000
    steps at 1 - delta = 0.9 (row bounds; test_control_row_learning).
    """
    n, m = est.B.shape
    X = as_matrix("x", x, (None, n))
    T = X.shape[0]
    Z = np.hstack([X, as_matrix("u", u, (T, m))])
    Y = as_matrix("x_next", x_next, (T, n))
    delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
    b = positive_int("block", block, 1)
    M = positive_int("n_boot", n_boot, 10)
    residuals = Y - Z @ np.hstack([est.A, est.B]).T  # (T, n)
    leverage = np.einsum("ti,ij,tj->t", Z, np.linalg.inv(est.gram), Z)
    residuals /= (1 - np.minimum(leverage, 0.5))[:, None]  # HC3: undo the fit's pull
    signs = np.random.default_rng(seed).choice((-1.0, 1.0), size=(M, -(-T // b)))
    v = np.repeat(signs, b, axis=1)[:, :T]  # (M, T)
    cross = np.einsum("mt,ti,tj->mij", v, residuals, Z)  # (M, n, n+m)
    cross -= est.ridge * (np.hstack([est.A, est.B]) - est.prior)  # the ridge's pull
    errors = np.linalg.solve(est.gram, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
    return quantile_bounds(errors, n, delta, "wild bootstrap")


def fitted_policy(x: np.ndarray, u: np.ndarray) -> Policy:
    """u = K x + k + e fitted by least squares to x (T, n), u (T, m); the returned policy
    adds residuals e resampled with replacement (a surrogate of the data's controller)."""
    Z = np.hstack([x, np.ones((x.shape[0], 1))])
    gain = np.linalg.lstsq(Z, u, rcond=None)[0]  # (n+1, m)
    residuals = u - Z @ gain

    def policy(states: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        picks = residuals[rng.integers(0, residuals.shape[0], size=states.shape[0])]
        return states @ gain[:-1] + gain[-1] + picks

    return policy


def _resimulated(est: Estimate, x0, T: int, policy: Policy, residuals, M: int, rng):
    """Statistics of M trajectories re-simulated under (Ahat, Bhat) and `policy`."""
    n = est.A.shape[0]
    x = np.broadcast_to(x0, (M, n)).copy()
    gram = np.broadcast_to(est.ridge * np.eye(est.gram.shape[0]), (M, *est.gram.shape)).copy()
    cross = np.broadcast_to(est.ridge * est.prior, (M, *est.prior.shape)).copy()
    for _ in range(T):
        u = policy(x, rng)
        x_next = x @ est.A.T + u @ est.B.T + residuals[rng.integers(0, T, size=M)]
        z = np.hstack([x, u])
        gram += z[:, :, None] * z[:, None, :]
        cross += x_next[:, :, None] * z[:, None, :]
        x = x_next
    return gram, cross
