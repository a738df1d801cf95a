"""eta chosen per solve (control.sls: budget_scale, BudgetLadder): plans with a smaller
first-step budget are certified and survive true systems on the boundary and the corners
of the ball, the ladder falls back to the full budget where the smaller one has no plan,
and on the car's configuration it at least doubles the largest model error with a plan
(against 1.22 at horizon 10 and 0.66 at horizon 20, the figures before either change)."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from safe_control_ros.control import falsify
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.sls import BudgetLadder, RobustSLS
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"
CAR = controller_instance(CarModelConfig.from_yaml(CONFIG))
SCALES = (1.0, 0.5)  # the ladder config/car.yaml recommends at horizons 10-20
BEFORE = {10: 1.22, 20: 0.66}  # largest feasible scale of (eps_A0, eps_B0) before


def _scaled(k: float):
    model = CAR.model
    return replace(model, eps_A=k * model.eps_A, eps_B=k * model.eps_B)


def _problem(fast: bool, model, horizon: int, scale: float):
    cls = FastRobustSLS if fast else RobustSLS
    return cls(model, CAR.safe_set, CAR.Q, CAR.R, horizon, tau=0.0, budget_scale=scale)


def _ladder(fast: bool, model, horizon: int) -> BudgetLadder:
    return BudgetLadder([_problem(fast, model, horizon, scale) for scale in SCALES])


@pytest.mark.parametrize(("horizon", "fast"), [(10, True), (10, False), (20, False)])
def test_the_ladder_doubles_the_largest_model_error_with_a_plan(horizon, fast):
    """At twice the earlier largest scale the ladder plans from the lane centre
    (horizon 20 with the fast formulation: `bench/realtime.py`, its build takes seconds);
    at horizon 10 the full budget alone does not."""
    model = _scaled(2.0 * BEFORE[horizon] + 0.01)
    sol = _ladder(fast, model, horizon).solve(np.zeros(3))
    assert sol.status == "optimal" and sol.certificate.verified
    if horizon == 10:
        assert _problem(fast, model, horizon, 1.0).solve(np.zeros(3)).plan is None


def test_the_configured_bounds_plan_at_horizon_20():
    sol = _ladder(False, CAR.model, 20).solve(np.zeros(3))
    assert sol.status == "optimal" and sol.certificate.verified


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "generic"])
def test_a_smaller_budget_plan_survives_the_ball(fast):
    """Oracle: a plan with half the budget, at 2.45 times the configured model error,
    followed on 300 boundary systems and 300 corner systems with vertex disturbances:
    0 violations; its numpy certificate includes the induction it now relies on."""
    model = _scaled(2.45)
    sol = _problem(fast, model, 10, 0.5).solve(np.zeros(3))
    assert sol.certificate.verified and sol.certificate.induction_margin >= 0.0
    bad, _ = falsify.plan_violations(sol.plan, model, CAR.safe_set, np.zeros(2), 300, seed=2)
    assert bad.sum() == 0
    rng = np.random.default_rng(4)
    As, Bs = falsify.corner_systems(model, 300, rng)
    states, inputs = falsify.rollout_plan(sol.plan, As, Bs, model.sigma_w, np.zeros(2), rng)
    assert CAR.safe_set.violations(states[:, 1:], inputs) == 0


def test_the_ladder_returns_the_first_plan_in_its_order():
    """The full budget's plan where it has one (the lane centre on
    the configured bounds); at 2.45 times the model error it has none and the half budget's
    plan is returned."""
    full, half = (_problem(False, _scaled(2.45), 10, s) for s in (1.0, 0.5))
    assert full.solve(np.zeros(3)).plan is None
    sol = BudgetLadder([full, half]).solve(np.zeros(3))
    assert sol.status == "optimal"
    np.testing.assert_allclose(sol.plan.delta_bound, half.c)
    full, half = (_problem(False, CAR.model, 5, s) for s in (1.0, 0.5))
    centre = BudgetLadder([full, half]).solve(np.zeros(3))
    np.testing.assert_allclose(centre.plan.delta_bound, full.c)
    edge = np.array([0.95, 0.0, 0.0])  # the half budget confines its plans to the centre
    assert half.solve(edge).plan is None and full.solve(edge).plan is not None


def test_budget_scale_is_checked():
    with pytest.raises(ValueError, match=r"budget_scale: expected a value in \(0.0, 1.0\]"):
        _problem(False, CAR.model, 5, 0.0)
    with pytest.raises(ValueError, match="budget_scale: expected 1 with a terminal response"):
        RobustSLS(CAR.model, CAR.safe_set, CAR.Q, CAR.R, 5, tau=0.0, budget_scale=0.5,
                  terminal_length=5)  # fmt: skip
    with pytest.raises(ValueError, match=r"controller\.budget_scales: expected"):
        ControllerConfig.from_dict({"budget_scales": [0.5, 1.0], "terminal_length": 3})
    with pytest.raises(ValueError, match="problems: expected at least one"):
        BudgetLadder([])
