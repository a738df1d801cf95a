"""The uncertain linear model and the safe set the controllers are given."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import as_matrix, bound_vector, in_range
from .polytope import Polytope


@dataclass(frozen=True)
class UncertainModel:
    """Nominal (A (n,n), B (n,m)) and the set of true systems and disturbances around it:
    x+ = (A + dA) x + (B + dB) u + w, ||dA||_inf <= eps_A, ||dB||_inf <= eps_B (induced
    inf-norms), |w_i| <= sigma_w_i (state units; sigma_w given as one number or per
    coordinate, kept as (n,))."""

    A: np.ndarray
    B: np.ndarray
    eps_A: float = 0.0
    eps_B: float = 0.0
    sigma_w: np.ndarray | float = 0.0

    def __post_init__(self) -> None:
        A = as_matrix("A", self.A, (None, None))
        object.__setattr__(self, "A", as_matrix("A", A, (A.shape[0], A.shape[0])))
        object.__setattr__(self, "B", as_matrix("B", self.B, (A.shape[0], None)))
        for name in ("eps_A", "eps_B"):
            object.__setattr__(self, name, in_range(name, getattr(self, name), 0.0))
        sigma_w = bound_vector("sigma_w", self.sigma_w, A.shape[0])
        sigma_w.flags.writeable = False
        object.__setattr__(self, "sigma_w", sigma_w)

    def tighter_than(self, other: UncertainModel) -> bool:
        """True if its model error bound eps_A + eps_B is smaller than `other`'s."""
        return self.eps_A + self.eps_B < other.eps_A + other.eps_B

    @property
    def n(self) -> int:
        return self.A.shape[0]

    @property
    def m(self) -> int:
        return self.B.shape[1]


@dataclass(frozen=True)
class SafeSet:
    """State constraints x in `state` (n-dim) and applied-input constraints in `inputs`."""

    state: Polytope
    inputs: Polytope

    def check(self, n: int, m: int) -> SafeSet:
        """Self, after checking the dimensions against a model with n states, m inputs."""
        if self.state.dim != n:
            raise ValueError(f"safe_set.state: expected dimension {n}, got {self.state.dim}")
        if self.inputs.dim != m:
            raise ValueError(f"safe_set.inputs: expected dimension {m}, got {self.inputs.dim}")
        return self

    def violations(self, states: np.ndarray, inputs: np.ndarray, tol: float = 0.0) -> int:
        """Number of steps where states (..., n) or inputs (..., m) leave the set."""
        return int(
            np.sum(~self.state.contains(states, tol)) + np.sum(~self.inputs.contains(inputs, tol))
        )


def first_step_error(model: UncertainModel, safe_set: SafeSet, sigma_eta=0.0) -> float:
    """eps_A max||x|| + eps_B max||u + eta||: the most model error one step adds from the
    safe set (controller units)."""
    u_max = safe_set.inputs.max_inf_norm + float(np.max(sigma_eta))
    return model.eps_A * safe_set.state.max_inf_norm + model.eps_B * u_max
