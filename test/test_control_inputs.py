"""Bad arguments fail with a ValueError naming the argument and what was expected."""

import numpy as np
import pytest

from safe_control_ros.control.bounds import wild_bootstrap_bounds
from safe_control_ros.control.excitation import Excitation, excited_linear_policy
from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.lqr import lqr
from safe_control_ros.control.model import SafeSet, UncertainModel
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.polytope import Polytope
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.control.sysid import least_squares

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


def test_held_excitation_repeats_each_sample_for_its_steps():
    exc = Excitation([0.1, 2.0], seed=4, kind="sign", hold=3)
    samples = np.array([exc() for _ in range(30)])
    held = samples.reshape(10, 3, 2)
    assert np.all(held == held[:, :1])  # constant within each hold
    assert np.any(held[1:, 0] != held[:-1, 0])  # and new samples between
    assert np.all(np.abs(samples) == [0.1, 2.0])
    per_input = Excitation([0.1, 2.0], seed=4, kind="sign", hold=[4, 1])
    samples = np.array([per_input() for _ in range(400)])
    assert np.all(samples[:, 0].reshape(100, 4) == samples[::4, :1])  # steering held 4
    assert np.mean(samples[1:, 1] != samples[:-1, 1]) == pytest.approx(0.5, abs=0.1)  # i.i.d.
    with pytest.raises(ValueError, match=r"hold\[0\]"):
        Excitation([0.1], hold=0)
    with pytest.raises(ValueError, match="hold: expected 1 or 2 values, got 3"):
        Excitation([0.1, 2.0], hold=[1, 2, 3])


def test_held_excitation_teaches_the_state_columns_at_the_same_bound():
    """Same bound, same plant, same data length: samples held 10 steps move the state
    under LQR, i.i.d. ones mostly do not, and A's bootstrap rows shrink with the state's
    spread."""
    inst = lane_keeping(sigma_w=0.005)
    gain = -lqr(inst.model.A, inst.model.B, inst.Q, inst.R).K
    rng = np.random.default_rng(0)

    def rows_A(exc: Excitation) -> np.ndarray:
        x = np.zeros((2001, 3))
        u = np.zeros((2000, 2))
        for t in range(2000):
            u[t] = gain @ x[t] + exc()
            w = rng.uniform(-1, 1, 3) * inst.model.sigma_w
            x[t + 1] = inst.model.A @ x[t] + inst.model.B @ u[t] + w
        est = least_squares(x, u, ridge=1e-8)
        return wild_bootstrap_bounds(est, x[:-1], u, x[1:], 0.1).eps_A_rows

    iid = rows_A(Excitation([0.05, 0.05], seed=1))
    held = rows_A(Excitation([0.05, 0.05], seed=1, kind="sign", hold=10))
    assert np.all(held < iid / 2.2)  # measured 2.8-3.1; i.i.d. sign samples: 1.6-1.7


@pytest.mark.parametrize("floor", [0.0, 0.1])
def test_excitation_yields_where_it_would_thin_the_stop_margin(floor):
    """With a stop whose margin grows with the applied steering (0.05 + u_0), an excitation
    sample that would leave less than `excitation_margin` is replaced by the one of eta, 0,
    -eta with the largest margin; above it the sample goes out unchanged."""
    problem = RobustSLS(INST.model, INST.safe_set, INST.Q, INST.R, 5, sigma_eta=[0.05, 0.05])
    excitation = Excitation([0.05, 0.05], seed=0, kind="sign")
    ctrl = RecedingHorizon(problem, excitation=excitation, excitation_margin=floor)
    ctrl._stop_margin = lambda u: 0.05 + u[0]
    applied = []
    for _ in range(20):
        step = ctrl.step(np.zeros(3))
        assert step.status == "optimal"
        applied.append(step.u - step.u_cmd)
        assert step.stop_margin == pytest.approx(0.05 + step.u[0])
    steering = np.round(np.array(applied)[:, 0], 9)
    assert set(steering) == ({0.05} if floor > 0 else {-0.05, 0.05})
    assert np.all(np.abs(applied) == 0.05)  # a sign sample, whole, or its negative


def test_excitation_margin_is_checked():
    problem = RobustSLS(INST.model, INST.safe_set, INST.Q, INST.R, 5)
    with pytest.raises(ValueError, match="excitation_margin"):
        RecedingHorizon(problem, excitation_margin=-0.1)
