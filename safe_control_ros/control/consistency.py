"""Is recorded data consistent with an uncertain model? A set-membership test.

An `UncertainModel` claims that one (A, B) with ||A_i - A0_i||_1 <= eps_A_i and
||B_i - B0_i||_1 <= eps_B_i for every row i (the row-wise form of its inf-norm ball) and
disturbances |w_i| <= sigma_w_i explain every transition x+ = A x + B u + w. With measured
states y = x + e, |e| <= eps_e (n,), the residual r_i = y+_i - A_i y - B_i u moves by
e+_i - A_i e, at most eps_e_i + |A0_i| eps_e + eps_A_i max(eps_e); the allowance of row i
is a_i = sigma_w_i + that.

`consistency` computes, per row, the smallest kappa_i such that one (A_i, B_i) in the ball
has |r_i,t| <= kappa_i a_i for every transition t (a linear program in A_i, B_i, kappa_i).
kappa_i > 1 proves that no system in the ball with disturbances and errors within their
bounds produced the data: the model is false for this plant, and with it the learner's
bounds and the grounds of every certificate built on it. (The certificates themselves need
less: each step's mismatch within its bound, which a time-varying system in the ball also
meets; `innovation` tests that per step.) There is no statistics in it: while the model's
assumptions hold nothing is ever flagged, and a plant outside the ball is flagged once its
data can no longer be explained by a system inside it (a plant that drives as one inside
does is not).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linprog

from .checks import as_matrix, bound_vector
from .model import UncertainModel

TOLERANCE = 1e-6  # of kappa: the linear program's own accuracy is about 1e-7


@dataclass(frozen=True)
class Consistency:
    """Per row, the smallest scale of its allowance that explains the data (<= 1: the
    model's ball does), over `samples` transitions."""

    ratio: np.ndarray  # (n,) kappa_i
    samples: int

    @property
    def consistent(self) -> bool:
        return bool(np.all(self.ratio <= 1.0 + TOLERANCE))

    def describe(self) -> str:
        ratios = ", ".join(f"{k:.2f}" for k in self.ratio)
        return f"residual / allowance at best ({ratios}) over {self.samples} transitions"


def allowance(model: UncertainModel, eps_e=None) -> np.ndarray:
    """a (n,): the largest |residual| per row the model allows for measurement errors
    within eps_e (n,), default 0 (see module)."""
    eps_e = bound_vector("eps_e", eps_e, model.n)
    rows_A, _ = model.row_errors
    return model.sigma_w + eps_e + np.abs(model.A) @ eps_e + rows_A * eps_e.max()


def consistency(model: UncertainModel, x, u, x_next, eps_e=None) -> Consistency:
    """The set-membership test (module) of transitions x (N, n), u (N, m), x_next (N, n),
    controller coordinates, against `model` for measurement errors within eps_e (n,)."""
    n, m = model.n, model.m
    x = as_matrix("x", x, (None, n))
    N = x.shape[0]
    u, x_next = as_matrix("u", u, (N, m)), as_matrix("x_next", x_next, (N, n))
    if N == 0:
        return Consistency(np.zeros(n), 0)
    data = np.hstack([x, u])
    bound = allowance(model, eps_e)
    rows_A, rows_B = model.row_errors
    ratio = np.array(
        [
            _row_ratio(data, x_next[:, i], np.hstack([model.A[i], model.B[i]]), n, rows_A[i],
                       rows_B[i], bound[i])
            for i in range(n)
        ]
    )  # fmt: skip
    return Consistency(ratio, N)


def _row_ratio(
    data: np.ndarray, target: np.ndarray, center: np.ndarray, n: int, eps_A, eps_B, a
) -> float:
    """min kappa s.t. |target - data theta| <= kappa a, ||theta - center||_1 within eps_A
    on its first n entries and eps_B on the rest. Variables [theta, p >= |theta - center|,
    kappa]."""
    N, d = data.shape
    eye, zeros = np.eye(d), np.zeros((d, 1))
    sums = np.zeros((2, d))  # sum of p over the A part, over the B part
    sums[0, :n], sums[1, n:] = 1.0, 1.0
    ball = np.hstack([np.zeros((2, d)), sums, np.zeros((2, 1))])
    if a <= 0:  # no allowance: kappa scales nothing, only exact fits count
        a = 1e-12
    A_ub = np.vstack(
        [
            np.hstack([eye, -eye, zeros]),
            np.hstack([-eye, -eye, zeros]),
            ball,
            np.hstack([data, np.zeros((N, d)), -a * np.ones((N, 1))]),
            np.hstack([-data, np.zeros((N, d)), -a * np.ones((N, 1))]),
        ]
    )
    b_ub = np.concatenate([center, -center, [eps_A, eps_B], target, -target])
    cost = np.zeros(2 * d + 1)
    cost[-1] = 1.0
    bounds = [(None, None)] * d + [(0, None)] * (d + 1)
    result = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if result.status != 0:
        raise ArithmeticError(f"consistency: linear program failed: {result.message}")
    return float(result.fun)
