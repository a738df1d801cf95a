"""Certainty-equivalent LQR from the discrete algebraic Riccati equation (baseline)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_discrete_are

from .checks import as_matrix


@dataclass(frozen=True)
class LQR:
    """Infinite-horizon LQR for x+ = A x + B u: u = -K x, cost-to-go x' P x."""

    K: np.ndarray  # (m, n)
    P: np.ndarray  # (n, n)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Input (..., m) for states (..., n)."""
        return -np.asarray(x) @ self.K.T


def lqr(A, B, Q, R) -> LQR:
    """Solve the DARE for (A (n,n), B (n,m), Q (n,n) psd, R (m,m) pd)."""
    A = as_matrix("A", A, (None, None))
    n = A.shape[0]
    B = as_matrix("B", B, (n, None))
    Q = as_matrix("Q", Q, (n, n))
    R = as_matrix("R", R, (B.shape[1], B.shape[1]))
    P = solve_discrete_are(A, B, Q, R)
    K = np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)
    return LQR(K=K, P=P)


def stage_costs(x: np.ndarray, u: np.ndarray, Q: np.ndarray, R: np.ndarray) -> np.ndarray:
    """x_t' Q x_t + u_t' R u_t for states x (T, n) and inputs u (T, m); shape (T,)."""
    return np.einsum("ti,ij,tj->t", x, Q, x) + np.einsum("ti,ij,tj->t", u, R, u)
