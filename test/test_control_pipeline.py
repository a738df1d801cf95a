"""The three steps end to end on a linear system: collect data safely with excitation,
fit with bounds, synthesize robust control."""

import numpy as np
import pytest

from safe_control_ros.control.excitation import Excitation
from safe_control_ros.control.falsify import boundary_errors, closed_loop, vertices
from safe_control_ros.control.instances import lane_keeping, normalized
from safe_control_ros.control.learning import ModelLearner
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS

EPS0 = 0.03  # prior model error (fractions of the safe set)
SIGMA_W = 0.001
SIGMA_ETA = np.array([0.15, 0.15])
HORIZON = 5
X_REF = np.array([1.0, 0.0, 0.0])  # operate at the lane edge, where model error costs most


@pytest.fixture(scope="module")
def truth():
    return normalized(lane_keeping(eps=0.0, sigma_w=SIGMA_W))


def _operate(truth, model: UncertainModel):
    """Cost and violations of 60 steps of robust control from the origin, fixed noise."""
    problem = RobustSLS(model, truth.safe_set, truth.Q, truth.R, HORIZON)
    rng = np.random.default_rng(5)
    A, B = truth.model.A, truth.model.B
    ep = closed_loop(RecedingHorizon(problem), A, B, np.zeros(3), 60, SIGMA_W, rng, X_REF)
    return ep.cost(truth.Q, truth.R, X_REF), ep.violations(truth.safe_set), ep.statuses


def test_learn_then_control_is_safe_and_improves_with_data(truth):
    A, B = truth.model.A, truth.model.B
    rng = np.random.default_rng(0)
    prior = UncertainModel(
        A + boundary_errors(rng, 1, 3, 3, EPS0)[0],
        B + boundary_errors(rng, 1, 3, 2, EPS0)[0],
        EPS0,
        EPS0,
        SIGMA_W,
    )
    optimal_cost, *_ = _operate(truth, UncertainModel(A, B, 0.0, 0.0, SIGMA_W))
    learner = ModelLearner(prior, delta=0.05)
    collector = RecedingHorizon(
        RobustSLS(prior, truth.safe_set, truth.Q, truth.R, HORIZON, sigma_eta=SIGMA_ETA),
        excitation=Excitation(SIGMA_ETA, seed=1),
    )
    x, learning_violations, suboptimality, eps = np.zeros(3), 0, [], []
    for samples in (0, 400, 1600):
        while learner.samples < samples:  # step 1: safe data collection
            step = collector.step(x)
            x_next = A @ x + B @ step.u + vertices(rng, np.full(3, SIGMA_W), 3)
            learning_violations += truth.safe_set.violations(x_next, step.u)
            learner.add(x, step.u, x_next)
            x = x_next
        model = learner.model()  # step 2: least squares with error bounds
        cost, violations, statuses = _operate(truth, model)  # step 3: robust control
        assert violations == 0 and statuses.count("optimal") == len(statuses)
        suboptimality.append(cost / optimal_cost - 1)
        eps.append(model.eps_A + model.eps_B)
    assert learning_violations == 0
    assert eps[0] > eps[1] > eps[2]
    assert suboptimality[0] > suboptimality[1] > suboptimality[2]
    assert suboptimality[2] < 0.1 < suboptimality[0]
