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
    ratio, N = _per_row(model, x, u, x_next, eps_e, "allowance")
    return Consistency(ratio, N)


def covering_scale(model: UncertainModel, x, u, x_next, eps_e=None) -> np.ndarray:
    """(n,): per row, the smallest scale of its model-error bounds (eps_A_i, eps_B_i) with
    which the ball around the model's nominal explains the transitions x (N, n), u (N, m),
    x_next (N, n) within the row's allowance (inf if no ball does): the ball a prior needs
    to cover a plant's data."""
    return _per_row(model, x, u, x_next, eps_e, "ball")[0]


def _per_row(model: UncertainModel, x, u, x_next, eps_e, scaled: str) -> tuple[np.ndarray, int]:
    """The smallest scale of `scaled` ("allowance" or "ball") per row, and N."""
    n, m = model.n, model.m
    x = as_matrix("x", x, (None, n))
    N = x.shape[0]
    u, x_next = as_matrix("u", u, (N, m)), as_matrix("x_next", x_next, (N, n))
    if N == 0:
        return np.zeros(n), 0
    data = np.hstack([x, u])
    rows_A, rows_B = model.row_errors
    with_ball = rows_A * bound_vector("eps_e", eps_e, n).max()  # the part that grows with A
    fixed = allowance(model, eps_e) - with_ball
    scales = [
        _smallest_scale(data, x_next[:, i], np.hstack([model.A[i], model.B[i]]), n,
                        (rows_A[i], rows_B[i]), (fixed[i], with_ball[i]), scaled)
        for i in range(n)
    ]  # fmt: skip
    return np.array(scales), N


def _smallest_scale(
    data: np.ndarray,
    target: np.ndarray,
    center: np.ndarray,
    n: int,
    ball: tuple[float, float],
    allowed: tuple[float, float],
    scaled: str,
) -> float:
    """min s s.t. |target - data theta| <= a_fixed + a_ball (`allowed`) and
    ||theta - center||_1 within `ball` (eps_A on its first n entries, eps_B on the rest),
    with s multiplying the whole allowance (scaled "allowance") or the ball and a_ball, the
    part of the allowance that grows with it ("ball"); inf if no s does. Variables
    [theta, p >= |theta - center|, s]."""
    N, d = data.shape
    eye, zeros = np.eye(d), np.zeros((d, 1))
    sums = np.zeros((2, d))  # sum of p over the A part, over the B part
    sums[0, :n], sums[1, n:] = 1.0, 1.0
    eps, (a_fixed, a_ball) = np.asarray(ball, float), allowed
    a = max(a_fixed + a_ball, 1e-12)  # no allowance: only exact fits
    on_ball = eps if scaled == "ball" else np.zeros(2)
    on_fit = np.full(N, a_ball if scaled == "ball" else a)
    A_ub = np.vstack(
        [
            np.hstack([eye, -eye, zeros]),
            np.hstack([-eye, -eye, zeros]),
            np.hstack([np.zeros((2, d)), sums, -on_ball[:, None]]),
            np.hstack([data, np.zeros((N, d)), -on_fit[:, None]]),
            np.hstack([-data, np.zeros((N, d)), -on_fit[:, None]]),
        ]
    )
    fit = np.full(N, a) - on_fit  # the allowance where it is not scaled
    b_ub = np.concatenate([center, -center, eps - on_ball, target + fit, fit - target])
    cost = np.zeros(2 * d + 1)
    cost[-1] = 1.0
    bounds = [(None, None)] * d + [(0, None)] * (d + 1)
    result = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")
    if result.status == 2:
        return np.inf
    if result.status != 0:
        raise ArithmeticError(f"consistency: linear program failed: {result.message}")
    return float(result.fun)
