"""Row-wise model-error bounds (UncertainModel.eps_A_rows, eps_B_rows): the same plans as
the scalar bound when the rows are equal, plans where only the largest row is known to be
large, and those plans survive true systems on the boundary and the corners of the
row-wise ball; the certified stop's one-step box holds for them too."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from safe_control_ros.control import falsify
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.control.stop import next_set
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import blind_stop, controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"
CAR = controller_instance(CarModelConfig.from_yaml(CONFIG))
HORIZON = 10
K = 2.4  # scale of (eps_A0, eps_B0): no plan at horizon 10 with the full budget alone
ROWS = np.array([0.25, 0.25, 1.0])  # e_y and e_psi rows a quarter of the e_v row's


def _row_wise(k: float, rows) -> UncertainModel:
    m = CAR.model
    return UncertainModel.row_wise(m.A, m.B, k * m.eps_A * rows, k * m.eps_B * rows, m.sigma_w)


def _problem(fast: bool, model: UncertainModel, horizon: int = HORIZON):
    cls = FastRobustSLS if fast else RobustSLS
    return cls(model, CAR.safe_set, CAR.Q, CAR.R, horizon, tau=0.0)


@pytest.fixture(scope="module")
def row_wise_plans() -> dict:
    """The row-wise model's plan from the lane centre, per formulation (fast: True)."""
    model = _row_wise(K, ROWS)
    return {fast: _problem(fast, model).solve(np.zeros(3)) for fast in (True, False)}


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "generic"])
def test_equal_rows_give_the_scalar_bound_s_plan(fast):
    scalar = CAR.model
    rows = _row_wise(1.0, np.ones(3))
    assert rows.eps_A == scalar.eps_A and rows.eps_B == scalar.eps_B
    x0 = np.array([0.3, -0.1, 0.2])
    one, other = (_problem(fast, m, 5).solve(x0) for m in (scalar, rows))
    np.testing.assert_allclose(one.plan.v, other.plan.v, atol=1e-6)
    np.testing.assert_allclose(one.plan.delta_bound, other.plan.delta_bound)


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "generic"])
def test_row_wise_bounds_plan_where_their_largest_does_not(fast, row_wise_plans):
    """At 2.4 times the configured error on the e_v row and a quarter of that on the others,
    the row-wise model plans from the lane centre; the same model with every row at the
    largest (the scalar bound) does not."""
    scalar = replace(_row_wise(K, ROWS), eps_A_rows=None, eps_B_rows=None)
    sol = row_wise_plans[fast]
    assert sol.status == "optimal" and sol.certificate.verified
    assert _problem(fast, scalar).solve(np.zeros(3)).plan is None


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "generic"])
def test_row_wise_plans_survive_their_ball(fast, row_wise_plans):
    """Oracle: the plan followed on 300 boundary and 300 corner systems of the row-wise
    ball with vertex disturbances: 0 violations; the samples' rows have the rows' norms."""
    model = _row_wise(K, ROWS)
    sol = row_wise_plans[fast]
    rng = np.random.default_rng(8)
    As, Bs = falsify.sample_true_systems(model, 300, rng)
    np.testing.assert_allclose(np.abs(As - model.A).sum(axis=2).max(axis=0), model.eps_A_rows)
    bad, _ = falsify.plan_violations(sol.plan, model, CAR.safe_set, np.zeros(2), 300, seed=3)
    assert bad.sum() == 0
    As, Bs = falsify.corner_systems(model, 300, rng)
    np.testing.assert_allclose(np.abs(Bs - model.B).sum(axis=2)[0], model.eps_B_rows)
    states, inputs = falsify.rollout_plan(sol.plan, As, Bs, model.sigma_w, np.zeros(2), rng)
    assert CAR.safe_set.violations(states[:, 1:], inputs) == 0


def test_next_set_holds_for_the_row_wise_ball():
    model = _row_wise(K, ROWS)
    rng = np.random.default_rng(5)
    center, radius, u = np.array([0.2, -0.1, 0.1]), np.array([0.05, 0.02, 0.01]), np.ones(2)
    after, spread = next_set(model, center, radius, u)
    for A, B in zip(*falsify.corner_systems(model, 500, rng), strict=True):
        x = center + falsify.vertices(rng, radius, 3)
        w = falsify.vertices(rng, model.sigma_w, 3)
        assert np.all(np.abs(A @ x + B @ u + w - after) <= spread + 1e-12)
    scalar = next_set(replace(model, eps_A_rows=None, eps_B_rows=None), center, radius, u)[1]
    assert np.all(spread <= scalar) and np.all(spread[:2] < scalar[:2])


def test_row_bounds_are_checked():
    m = CAR.model
    with pytest.raises(ValueError, match="eps_A: expected the largest of eps_A_rows"):
        UncertainModel(m.A, m.B, 0.1, 0.1, 0.0, eps_A_rows=[0.1, 0.2, 0.0])
    with pytest.raises(ValueError, match="eps_B_rows: expected values >= 0"):
        UncertainModel(m.A, m.B, 0.1, 0.1, 0.0, eps_B_rows=[0.1, -0.1, 0.0])
    with pytest.raises(ValueError, match="eps_A_rows: expected a vector of length 3"):
        UncertainModel.row_wise(m.A, m.B, [0.1, 0.1], [0.1, 0.1, 0.1])


COVERING = np.array([1.0, 1.0, 7.5])  # sim.coverage: mass_scale 0.5-1.5, lag 0-0.06 s


@pytest.mark.parametrize("horizon", [5, 10])
@pytest.mark.parametrize("fast", [True, False], ids=["fast", "generic"])
def test_a_prior_that_covers_the_plant_range_still_plans(fast, horizon):
    """The prior with its e_v row 7.5 times wider (what mass_scale 0.5-1.5 needs, the README)
    plans from the lane centre, its plan survives corner systems of that ball, and the
    stop is certified from a box around the centre."""
    model = _row_wise(1.0, COVERING)
    sol = _problem(fast, model, horizon).solve(np.zeros(3))
    assert sol.status == "optimal" and sol.certificate.verified
    rng = np.random.default_rng(9)
    As, Bs = falsify.corner_systems(model, 200, rng)
    states, inputs = falsify.rollout_plan(sol.plan, As, Bs, model.sigma_w, np.zeros(2), rng)
    assert CAR.safe_set.violations(states[:, 1:], inputs) == 0
    car = CarModelConfig.from_yaml(CONFIG)
    assert blind_stop(car, model).certify(np.zeros(3), np.full(3, 0.02), car.speed).certified


def test_tighter_means_tighter_on_every_row():
    m = CAR.model

    def scalar(a: float, b: float) -> UncertainModel:
        return UncertainModel(m.A, m.B, a * m.eps_A, b * m.eps_B, m.sigma_w)

    assert scalar(0.9, 0.9).tighter_than(m)
    assert not scalar(1.2, 0.1).tighter_than(m)  # a smaller sum, a larger eps_A
    covering = _row_wise(1.0, COVERING)
    assert not scalar(4.9, 5.1).tighter_than(covering)  # the demo's learned bounds
    assert _row_wise(1.0, np.array([0.5, 1.0, 7.5])).tighter_than(covering)
    assert not covering.tighter_than(covering)


def test_the_configured_row_scale_makes_a_row_wise_prior():
    config = CarModelConfig.from_yaml(CONFIG)
    assert CAR.model.eps_A_rows is None  # config/car.yaml: the configured plant, scalar
    wide = replace(config, eps_A_row_scale=tuple(COVERING), eps_B_row_scale=tuple(COVERING))
    model = controller_instance(wide).model
    np.testing.assert_allclose(model.eps_A_rows, config.eps_A0 * COVERING)
    np.testing.assert_allclose(model.eps_B_rows, config.eps_B0 * COVERING)
    np.testing.assert_allclose(model.A, CAR.model.A)  # same coordinates
