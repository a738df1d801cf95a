"""The three steps end to end on a linear system: collect data safely with excitation,
fit with bounds, synthesize robust control."""

import numpy as np
import pytest

from safe_control_ros.control.falsify import closed_loop, perturbed_model
from safe_control_ros.control.instances import lane_keeping, normalized
from safe_control_ros.control.learning import ModelLearner
from safe_control_ros.control.loop import LinearPlant, SafeLearningLoop
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
    prior = perturbed_model(A, B, EPS0, SIGMA_W, seed=0)
    optimal_cost, *_ = _operate(truth, UncertainModel(A, B, 0.0, 0.0, SIGMA_W))
    loop = SafeLearningLoop(
        ModelLearner(prior, delta=0.05),
        truth.safe_set,
        truth.Q,
        truth.R,
        HORIZON,
        SIGMA_ETA,
        refit_every=400,
        seed=1,
    )
    plant = LinearPlant(A, B, SIGMA_W, np.zeros(3), seed=0)
    suboptimality, eps = [], []
    for samples in (0, 400, 1600):
        loop.run(plant, samples - loop.learner.samples, learning=True)  # step 1 (+ 2)
        cost, violations, statuses = _operate(truth, loop.model)  # step 3: robust control
        assert violations == 0 and statuses.count("optimal") == len(statuses)
        suboptimality.append(cost / optimal_cost - 1)
        eps.append(loop.model.eps_A + loop.model.eps_B)
    states, inputs = np.array(loop.log.states[1:]), np.array(loop.log.inputs)
    assert truth.safe_set.violations(states, inputs) == 0  # safe while learning
    assert set(loop.log.statuses) == {"optimal"}
    assert eps[0] > eps[1] > eps[2]
    assert suboptimality[0] > suboptimality[1] > suboptimality[2]
    assert suboptimality[2] < 0.1 < suboptimality[0]
