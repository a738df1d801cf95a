"""Bad arguments fail with a ValueError naming the argument and what was expected."""

import numpy as np
import pytest

from safe_control_ros.control.excitation import Excitation, excited_linear_policy
from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.lqr import lqr
from safe_control_ros.control.model import SafeSet, UncertainModel
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.polytope import Polytope
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS

INST = lane_keeping()
A, B = INST.model.A, INST.model.B


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"A": np.zeros((3, 2))}, "A: expected a 3x3 matrix"),
        ({"B": np.zeros((2, 2))}, r"B: expected a 3x\? matrix"),
        ({"A": np.full((3, 3), np.nan)}, "A: expected finite"),
        ({"eps_A": -0.1}, r"eps_A: expected a value in \[0.0"),
        ({"eps_B": np.inf}, "eps_B"),
        ({"sigma_w": -1.0}, "sigma_w"),
    ],
)
def test_uncertain_model_rejects(kwargs, match):
    with pytest.raises(ValueError, match=match):
        UncertainModel(**({"A": A, "B": B} | kwargs))


def test_polytope_rejects_empty_and_unbounded_sets():
    with pytest.raises(ValueError, match="non-empty"):
        Polytope(np.array([[1.0], [-1.0]]), np.array([-1.0, -1.0]))  # x <= -1 and x >= 1
    with pytest.raises(ValueError, match="bounded"):
        Polytope(np.array([[1.0, 0.0]]), np.array([1.0]))
    with pytest.raises(ValueError, match="h: expected a vector of length 2"):
        Polytope(np.eye(2), np.ones(3))


def test_polytope_geometry():
    p = Polytope.box([0.2, 0.5], lower=[-0.1, -0.5])
    lower, upper = p.bounding_box
    np.testing.assert_allclose(lower, [-0.1, -0.5])
    np.testing.assert_allclose(upper, [0.2, 0.5])
    assert p.max_inf_norm == pytest.approx(0.5)
    assert list(p.contains(np.array([[0.0, 0.0], [0.3, 0.0]]))) == [True, False]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"horizon": 0}, "horizon: expected an integer >= 1"),
        ({"tau": 1.5}, r"tau: expected a value in \[0.0, 1.0\]"),
        ({"tau": -0.1}, "tau"),
        ({"terminal_length": -1}, "terminal_length: expected an integer >= 0"),
        ({"terminal_length": 2}, "tau: expected 0 with a terminal response"),
        ({"terminal_length": 4, "tau": 0.0}, "horizon: expected at least terminal_length = 4"),
        ({"terminal_length": 2, "tau": 0.0, "eps_e": [0.1, 0, 0]}, "eps_e: expected 0 with"),
        ({"sigma_eta": [0.1, -0.1]}, r"sigma_eta\[1\]"),
        ({"sigma_eta": [0.1, 0.1, 0.1]}, "sigma_eta: expected a vector of length 2"),
        ({"Q": np.eye(2)}, "Q: expected a 3x3"),
        ({"R": -np.eye(2)}, "R: expected a symmetric positive semi-definite"),
        ({"terminal_cost": "big"}, "terminal_cost"),
        (
            {"safe_set": SafeSet(Polytope.box([1.0, 1.0]), Polytope.box([1.0, 1.0]))},
            "safe_set.state",
        ),
    ],
)
def test_robust_sls_rejects(kwargs, match):
    args = {"model": INST.model, "safe_set": INST.safe_set, "Q": INST.Q, "R": INST.R, "horizon": 3}
    with pytest.raises(ValueError, match=match):
        RobustSLS(**(args | kwargs))


def test_solve_and_step_reject_bad_states():
    problem = NominalMPC(INST.model, INST.safe_set, INST.Q, INST.R, 3)
    with pytest.raises(ValueError, match="x0: expected a vector of length 3"):
        problem.solve(np.zeros(2))
    with pytest.raises(ValueError, match="x: expected finite"):
        RecedingHorizon(problem).step([np.nan, 0.0, 0.0])
    with pytest.raises(ValueError, match="x_ref"):
        problem.solve(np.zeros(3), x_ref=np.zeros(4))


def test_excitation_is_bounded_seeded_and_checked():
    a = np.array([Excitation([0.1, 2.0], seed=4)() for _ in range(1)])
    exc = Excitation([0.1, 2.0], seed=4)
    samples = np.array([exc() for _ in range(2000)])
    assert np.all(np.abs(samples) <= [0.1, 2.0])
    assert np.abs(samples).max(axis=0) == pytest.approx([0.1, 2.0], rel=0.01)
    np.testing.assert_array_equal(samples[0], a[0])
    signs = Excitation([0.1], seed=0, kind="sign")
    assert {abs(signs()[0]) for _ in range(10)} == {0.1}
    with pytest.raises(ValueError, match="kind"):
        Excitation([0.1], kind="gaussian")
    with pytest.raises(ValueError, match=r"sigma_eta\[0\]"):
        Excitation([-0.1])
    policy = excited_linear_policy(-lqr(A, B, INST.Q, INST.R).K, 0.05)
    u = policy(np.zeros((100, 3)), np.random.default_rng(0))
    assert u.shape == (100, 2) and np.abs(u).max() <= 0.05
