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
    coordinate, kept as (n,)). Row-wise bounds, if given: ||dA_(i,:)||_1 <= eps_A_rows_i
    (n,), likewise eps_B_rows; eps_A and eps_B are then their largest."""

    A: np.ndarray
    B: np.ndarray
    eps_A: float = 0.0
    eps_B: float = 0.0
    sigma_w: np.ndarray | float = 0.0
    eps_A_rows: np.ndarray | None = None
    eps_B_rows: np.ndarray | None = None

    def __post_init__(self) -> None:
        A = as_matrix("A", self.A, (None, None))
        object.__setattr__(self, "A", as_matrix("A", A, (A.shape[0], A.shape[0])))
        object.__setattr__(self, "B", as_matrix("B", self.B, (A.shape[0], None)))
        for name in ("eps_A", "eps_B"):
            object.__setattr__(self, name, in_range(name, getattr(self, name), 0.0))
            rows = getattr(self, f"{name}_rows")
            if rows is None:
                continue
            rows = bound_vector(f"{name}_rows", rows, A.shape[0])
            if not np.isclose(rows.max(), getattr(self, name), rtol=1e-12, atol=0.0):
                raise ValueError(
                    f"{name}: expected the largest of {name}_rows = {rows.max()!r}, got "
                    f"{getattr(self, name)!r}"
                )
            rows.flags.writeable = False
            object.__setattr__(self, f"{name}_rows", rows)
        sigma_w = bound_vector("sigma_w", self.sigma_w, A.shape[0])
        sigma_w.flags.writeable = False
        object.__setattr__(self, "sigma_w", sigma_w)

    @classmethod
    def row_wise(cls, A, B, eps_A_rows, eps_B_rows, sigma_w=0.0) -> UncertainModel:
        """The model with row-wise error bounds eps_A_rows, eps_B_rows (n,)."""
        eps_A, eps_B = float(np.max(eps_A_rows)), float(np.max(eps_B_rows))
        return cls(A, B, eps_A, eps_B, sigma_w, eps_A_rows, eps_B_rows)

    @property
    def row_errors(self) -> tuple[np.ndarray, np.ndarray]:
        """(bound on ||dA_(i,:)||_1, bound on ||dB_(i,:)||_1) for each row i, each (n,)."""
        n = self.n
        rows_A = np.full(n, self.eps_A) if self.eps_A_rows is None else self.eps_A_rows
        rows_B = np.full(n, self.eps_B) if self.eps_B_rows is None else self.eps_B_rows
        return rows_A, rows_B

    def tighter_than(self, other: UncertainModel) -> bool:
        """True if no row's bound and no sigma_w_i is larger than `other`'s and the total
        of the bounds is smaller: its set of systems and disturbances is tighter on every
        coordinate (with scalar bounds: eps_A and eps_B no larger, eps_A + eps_B smaller)."""
        (mine_A, mine_B), (theirs_A, theirs_B) = self.row_errors, other.row_errors
        no_larger = (
            np.all(mine_A <= theirs_A)
            and np.all(mine_B <= theirs_B)
            and np.all(self.sigma_w <= other.sigma_w)
        )
        return bool(no_larger and (mine_A + mine_B).sum() < (theirs_A + theirs_B).sum())

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


def first_step_error(model: UncertainModel, safe_set: SafeSet, sigma_eta=0.0) -> np.ndarray:
    """eps_A max||x|| + eps_B max||u + eta|| row by row: the most model error one step adds
    to each coordinate from the safe set, (n,) (controller units)."""
    u_max = safe_set.inputs.max_inf_norm + float(np.max(sigma_eta))
    rows_A, rows_B = model.row_errors
    return rows_A * safe_set.state.max_inf_norm + rows_B * u_max
