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
    """Bounds on the induced inf-norm of the model error, jointly with probability 1-delta."""

    eps_A: float
    eps_B: float
    delta: float
    method: str


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
    q = 1 - delta / 2
    return ErrorBounds(
        eps_A=float(np.quantile(inf_norm(theta[:, :, :n] - est.A), q)),
        eps_B=float(np.quantile(inf_norm(theta[:, :, n:] - est.B), q)),
        delta=delta,
        method="bootstrap",
    )


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
