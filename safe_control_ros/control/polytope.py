"""Polytopes {x : H x <= h} for state and input constraints."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.optimize import linprog

from .checks import as_matrix, as_vector


@dataclass(frozen=True)
class Polytope:
    """The set {x in R^n : H x <= h}; H is (p, n), h is (p,). Must be bounded and non-empty."""

    H: np.ndarray
    h: np.ndarray

    def __post_init__(self) -> None:
        H = as_matrix("H", self.H, (None, None))
        h = as_vector("h", self.h, H.shape[0])
        object.__setattr__(self, "H", H)
        object.__setattr__(self, "h", h)
        _ = self.bounding_box  # rejects empty and unbounded sets now, not at first use

    @classmethod
    def box(cls, upper, lower=None) -> Polytope:
        """Box lower <= x <= upper (lower defaults to -upper), both (n,)."""
        up = as_vector("upper", upper)
        lo = -up if lower is None else as_vector("lower", lower, up.size)
        eye = np.eye(up.size)
        return cls(np.vstack([eye, -eye]), np.concatenate([up, -lo]))

    @property
    def dim(self) -> int:
        return self.H.shape[1]

    @cached_property
    def bounding_box(self) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper), each (n,): the tightest box containing the set."""
        return _bounding_box(self.H, self.h)

    @property
    def max_inf_norm(self) -> float:
        """max ||x||_inf over the set."""
        lo, up = self.bounding_box
        return float(np.max(np.maximum(np.abs(lo), np.abs(up))))

    def margins(self, x: np.ndarray) -> np.ndarray:
        """h - H x for points x (..., n): non-negative where x is inside."""
        return self.h - np.asarray(x) @ self.H.T

    def contains(self, x: np.ndarray, tol: float = 0.0) -> np.ndarray:
        """True where every constraint holds up to `tol`, for points x (..., n)."""
        return np.all(self.margins(x) >= -tol, axis=-1)


def _bounding_box(H: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = H.shape[1]
    lower, upper = np.empty(n), np.empty(n)
    for j in range(n):
        for sign, out in ((1.0, upper), (-1.0, lower)):
            c = np.zeros(n)
            c[j] = -sign
            res = linprog(c, A_ub=H, b_ub=h, bounds=[(None, None)] * n, method="highs")
            if res.status == 2:
                raise ValueError("polytope (H, h): expected a non-empty set, got an empty one")
            if res.status == 3:
                raise ValueError("polytope (H, h): expected a bounded set, got an unbounded one")
            out[j] = sign * -res.fun
    return lower, upper
