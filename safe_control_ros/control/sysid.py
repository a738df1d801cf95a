"""Least squares for x+ = A x + B u + w from one trajectory, batch and online.

Both solve  min_Theta  sum_t ||x_{t+1} - Theta z_t||^2 + lam ||Theta - Theta0||_F^2,
z_t = [x_t; u_t], Theta = [A B], so they agree to rounding (Theta0: prior, default 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_matrix, in_range


@dataclass(frozen=True)
class Estimate:
    """A least-squares estimate and the Gram matrix that shapes its confidence set."""

    A: np.ndarray  # (n, n)
    B: np.ndarray  # (n, m)
    gram: np.ndarray  # V = lam I + sum z z^T, (n+m, n+m)
    ridge: float  # lam
    prior: np.ndarray  # Theta0 = [A0 B0] the ridge pulls towards, (n, n+m)
    samples: int  # number of transitions used


def check_trajectory(states, inputs) -> tuple[np.ndarray, np.ndarray]:
    """Validate states (T+1, n) and inputs (T, m); return them as float arrays."""
    X = as_matrix("states", states, (None, None))
    U = as_matrix("inputs", inputs, (X.shape[0] - 1, None))
    if U.shape[0] < 1:
        raise ValueError("states: expected at least 2 states (one transition)")
    return X, U


class OnlineLeastSquares:
    """Recursive least squares through sufficient statistics: O((n+m)^2) per sample."""

    def __init__(self, n: int, m: int, ridge: float = 1e-3, prior=None) -> None:
        self.n, self.m = n, m
        self.ridge = in_range("ridge", ridge, 0.0, open_low=True)
        d = n + m
        theta0 = np.zeros((n, d)) if prior is None else as_matrix("prior", prior, (n, d))
        self._gram = self.ridge * np.eye(d)
        self._prior = theta0
        self._cross = self.ridge * theta0  # sum x+ z^T + lam Theta0, (n, d)
        self.samples = 0

    def update(self, x, u, x_next) -> None:
        """Add transitions: x (k, n) or (n,), u (k, m) or (m,), x_next like x."""
        Z = np.hstack([np.atleast_2d(x), np.atleast_2d(u)])
        Y = np.atleast_2d(x_next)
        if Z.shape[1] != self.n + self.m or Y.shape != (Z.shape[0], self.n):
            raise ValueError(
                f"x, u, x_next: expected shapes (k, {self.n}), (k, {self.m}), (k, {self.n}); "
                f"got {np.shape(x)}, {np.shape(u)}, {np.shape(x_next)}"
            )
        if not (np.all(np.isfinite(Z)) and np.all(np.isfinite(Y))):
            raise ValueError("x, u, x_next: expected finite numbers, got NaN or inf")
        self._gram += Z.T @ Z
        self._cross += Y.T @ Z
        self.samples += Z.shape[0]

    def estimate(self) -> Estimate:
        """The current estimate (A, B) with its Gram matrix."""
        theta = np.linalg.solve(self._gram, self._cross.T).T
        return Estimate(
            A=theta[:, : self.n],
            B=theta[:, self.n :],
            gram=self._gram.copy(),
            ridge=self.ridge,
            prior=self._prior,
            samples=self.samples,
        )


def least_squares(states, inputs, ridge: float = 1e-3, prior=None) -> Estimate:
    """Batch estimate from states (T+1, n) and inputs (T, m) by an augmented lstsq solve."""
    X, U = check_trajectory(states, inputs)
    n, m = X.shape[1], U.shape[1]
    lam = in_range("ridge", ridge, 0.0, open_low=True)
    theta0 = np.zeros((n, n + m)) if prior is None else as_matrix("prior", prior, (n, n + m))
    Z = np.hstack([X[:-1], U])
    root = np.sqrt(lam)
    lhs = np.vstack([Z, root * np.eye(n + m)])
    rhs = np.vstack([X[1:], root * theta0.T])
    theta = np.linalg.lstsq(lhs, rhs, rcond=None)[0].T
    return Estimate(
        A=theta[:, :n],
        B=theta[:, n:],
        gram=lhs.T @ lhs,
        ridge=lam,
        prior=theta0,
        samples=Z.shape[0],
    )
