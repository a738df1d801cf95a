"""Error bounds eps_A >= ||A - Ahat||, eps_B >= ||B - Bhat|| holding with probability 1-delta.

Norm: the induced infinity-norm (largest absolute row sum), the one robust SLS with
polytope constraints and bounded disturbances needs (||dA x||_inf <= eps_A ||x||_inf).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from .checks import as_vector, in_range, positive_int
from .excitation import Policy
from .sysid import Estimate, check_trajectory


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
    states,
    inputs,
    policy: Policy,
    delta: float,
    n_boot: int = 200,
    seed: int = 0,
) -> ErrorBounds:
    """Parametric bootstrap (Dean et al., FoCM 2019, Alg. 2) for one closed-loop trajectory.

    Re-simulates `n_boot` trajectories of the same length from the same x0 under
    (Ahat, Bhat), the data-collection `policy` and residuals resampled with replacement,
    re-fits each with the same ridge and prior, and returns the (1 - delta/2) quantiles of
    the A and B errors (joint level 1 - delta by a union bound). Approximate: its coverage
    rests on the bootstrap principle, not on a theorem, and needs enough data for
    (Ahat, Bhat) to resemble the truth (in our tests: a few hundred steps).
    """
    X, U = check_trajectory(states, inputs)
    delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
    M = positive_int("n_boot", n_boot, 10)
    n, T = X.shape[1], U.shape[0]
    rng = np.random.default_rng(seed)
    residuals = X[1:] - X[:-1] @ est.A.T - U @ est.B.T
    residuals -= residuals.mean(axis=0)
    residuals *= np.sqrt(T / max(T - est.gram.shape[0], 1))  # undo the fit's shrinkage
    x = np.broadcast_to(as_vector("states[0]", X[0], n), (M, n)).copy()
    gram = np.broadcast_to(est.ridge * np.eye(est.gram.shape[0]), (M, *est.gram.shape)).copy()
    cross = np.broadcast_to(est.ridge * est.prior, (M, *est.prior.shape)).copy()
    for _ in range(T):
        u = policy(x, rng)
        x_next = x @ est.A.T + u @ est.B.T + residuals[rng.integers(0, T, size=M)]
        z = np.hstack([x, u])
        gram += z[:, :, None] * z[:, None, :]
        cross += x_next[:, :, None] * z[:, None, :]
        x = x_next
    theta = np.linalg.solve(gram, np.swapaxes(cross, 1, 2)).swapaxes(1, 2)
    q = 1 - delta / 2
    return ErrorBounds(
        eps_A=float(np.quantile(inf_norm(theta[:, :, :n] - est.A), q)),
        eps_B=float(np.quantile(inf_norm(theta[:, :, n:] - est.B), q)),
        delta=delta,
        method="bootstrap",
    )
