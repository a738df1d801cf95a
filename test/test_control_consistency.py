"""The set-membership test of recorded transitions against an uncertain model
(control.consistency): against an independent formulation (cvxpy), never a flag for data
from systems on the corners and boundary of the ball with disturbances and measurement
errors at their bounds (and tight there), always a flag for systems just outside. Seeded."""

from __future__ import annotations

import cvxpy as cp
import numpy as np
import pytest

from safe_control_ros.control.consistency import TOLERANCE, allowance, consistency, covering_scale
from safe_control_ros.control.falsify import corner_systems, sample_true_systems
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.launcher import CONFIG
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

PRIOR = controller_instance(CarModelConfig.from_yaml(CONFIG / "car.yaml")).model
ROWS_A, ROWS_B = PRIOR.eps_A * np.array([0.5, 1.0, 0.25]), PRIOR.eps_B * np.array([1, 0.5, 0.3])
ROW_WISE = UncertainModel.row_wise(PRIOR.A, PRIOR.B, ROWS_A, ROWS_B, PRIOR.sigma_w)
EPS_E = np.array([0.04, 0.018, 0.0])  # the perception bound in controller coordinates


def transitions(rng, A, B, N: int, sigma_w, eps_e=0.0):
    """N transitions of x+ = A x + B u + w from states and inputs uniform in the safe set's
    and input box's unit boxes, w at random vertices of sigma_w, measured with errors at
    random vertices of eps_e."""
    x, u = rng.uniform(-1, 1, (N, A.shape[0])), rng.uniform(-1, 1, (N, B.shape[1]))
    x_next = x @ A.T + u @ B.T + rng.choice([-1.0, 1.0], x.shape) * sigma_w
    e = rng.choice([-1.0, 1.0], (N + 1, A.shape[0])) * eps_e
    return x + e[:-1], u, x_next + e[1:]


def oracle_ratio(model: UncertainModel, x, u, x_next, eps_e) -> np.ndarray:
    """The same quantity, formulated in cvxpy (norms as atoms) and solved by Clarabel."""
    a = allowance(model, eps_e)
    rows_A, rows_B = model.row_errors
    out = []
    for i in range(model.n):
        theta = cp.Variable(model.n + model.m)
        fit = cp.norm_inf(x_next[:, i] - np.hstack([x, u]) @ theta) / a[i]
        ball = [
            cp.norm1(theta[: model.n] - model.A[i]) <= rows_A[i],
            cp.norm1(theta[model.n :] - model.B[i]) <= rows_B[i],
        ]
        problem = cp.Problem(cp.Minimize(fit), ball)
        problem.solve(solver="CLARABEL")
        out.append(problem.value)
    return np.array(out)


@pytest.mark.parametrize("model", [PRIOR, ROW_WISE], ids=["scalar", "row-wise"])
def test_matches_an_independent_formulation(model):
    rng = np.random.default_rng(0)
    for scale in (0.5, 3.0):  # consistent and not
        A_true = model.A + scale * model.eps_A * np.eye(3) / 3
        data = transitions(rng, A_true, model.B, 40, model.sigma_w, EPS_E)
        mine = consistency(model, *data, EPS_E).ratio
        np.testing.assert_allclose(mine, oracle_ratio(model, *data, EPS_E), rtol=1e-5)


@pytest.mark.parametrize("model", [PRIOR, ROW_WISE], ids=["scalar", "row-wise"])
def test_never_flags_systems_in_the_ball(model):
    """Corner and boundary systems, vertex disturbances and measurement errors: no flag,
    and the worst ratio reaches 1 (the allowance cannot be smaller)."""
    rng = np.random.default_rng(1)
    corners = corner_systems(model, 30, rng)
    boundary = sample_true_systems(model, 30, rng)
    worst = 0.0
    for As, Bs in (corners, boundary):
        for A, B in zip(As, Bs, strict=True):
            for eps_e in (0.0, EPS_E):
                check = consistency(model, *transitions(rng, A, B, 50, model.sigma_w, eps_e), eps_e)
                assert check.consistent, check.describe()
                worst = max(worst, check.ratio.max())
    assert worst > 0.99


def test_flags_systems_just_outside_the_ball():
    """Corners of the ball scaled by 1.2, disturbances at their bound: flagged by every
    window of 20 transitions."""
    rng = np.random.default_rng(2)
    As, Bs = corner_systems(PRIOR, 30, rng)
    for A, B in zip(As, Bs, strict=True):
        A_out, B_out = PRIOR.A + 1.2 * (A - PRIOR.A), PRIOR.B + 1.2 * (B - PRIOR.B)
        check = consistency(PRIOR, *transitions(rng, A_out, B_out, 20, PRIOR.sigma_w))
        assert not check.consistent and check.ratio.max() > 1.1, check.describe()


def test_edge_cases_and_bad_input():
    empty = consistency(PRIOR, np.zeros((0, 3)), np.zeros((0, 2)), np.zeros((0, 3)))
    assert empty.consistent and empty.samples == 0
    x = np.zeros((4, 3))
    exact = consistency(PRIOR, x, np.zeros((4, 2)), x @ PRIOR.A.T)
    assert exact.ratio.max() <= TOLERANCE
    with pytest.raises(ValueError, match="u: expected a 4x2 matrix"):
        consistency(PRIOR, x, np.zeros((3, 2)), x)
    with pytest.raises(ValueError, match="eps_e"):
        consistency(PRIOR, x, np.zeros((4, 2)), x, eps_e=[-1.0, 0.0, 0.0])


@pytest.mark.parametrize("model", [PRIOR, ROW_WISE], ids=["scalar", "row-wise"])
def test_covering_scale_is_the_smallest_ball_that_explains_the_data(model):
    """At the returned scale of each row's bounds the data are explained, 0.1% below they
    are not (checked with `consistency`); data from a corner at 3 times the ball need at
    most 3; data no ball explains (no allowance, noisy) give inf."""
    rng = np.random.default_rng(3)
    (A,), (B,) = corner_systems(model, 1, rng)
    A3, B3 = model.A + 3 * (A - model.A), model.B + 3 * (B - model.B)
    data = transitions(rng, A3, B3, 60, model.sigma_w, EPS_E)
    scale = covering_scale(model, *data, EPS_E)
    assert np.all(scale <= 3 + 1e-6) and np.all(scale > 1)

    def ratio(k: np.ndarray) -> np.ndarray:
        rows_A, rows_B = model.row_errors
        scaled = UncertainModel.row_wise(model.A, model.B, k * rows_A, k * rows_B, model.sigma_w)
        return consistency(scaled, *data, EPS_E).ratio

    assert np.all(ratio(scale * (1 + 1e-4)) <= 1 + TOLERANCE)
    assert np.all(ratio(scale * (1 - 1e-3)) > 1)
    exact = UncertainModel(model.A, model.B, model.eps_A, model.eps_B, 0.0)
    assert np.all(np.isinf(covering_scale(exact, *data)))
