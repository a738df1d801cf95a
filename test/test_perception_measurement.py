"""The measurement-robust controller (control.measurement): exact reduction to the
state-feedback RobustSLS at zero error, the inflated disturbance and tightening, a
falsification against worst-case measurement errors, and the PyBullet car driven from a
measured state with bounded error (20 seeds per track)."""

import dataclasses
import warnings

import numpy as np
import pytest

from safe_control_ros.control.measurement import (
    MeasurementRobustSLS,
    certainty_equivalent,
    measurement_disturbance,
    measurement_safe_set,
)
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import controller_instance, input_scale
from safe_control_ros.sim.lane_plant import LanePlant
from safe_control_ros.sim.world import CarWorld

CAR_YAML = "config/car.yaml"
TRACKS = {
    "straight": {"track_lengths": (35.0,), "track_curvatures": (0.0,)},
    "oval": {},
}
EPS_E = np.array([0.015, 0.015, 0.0])  # controller coordinates: 3.75 mm, 0.0105 rad, exact e_v


@pytest.fixture(autouse=True)
def _quiet():
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's accuracy notes


def _instance():
    return controller_instance(CarModelConfig.from_yaml(CAR_YAML))


def test_zero_error_recovers_the_state_feedback_problem_exactly():
    inst = _instance()
    base = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, tau=0.3)
    meas = MeasurementRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, eps_e=np.zeros(3), tau=0.3
    )
    assert meas.model == base.model
    for x0 in ([0.2, -0.1, 0.05], [-0.3, 0.15, -0.1], [0.0, 0.0, 0.0]):
        a, b = base.solve(np.array(x0)), meas.solve(np.array(x0))
        assert a.status == b.status == "optimal"
        assert b.plan.cost == pytest.approx(a.plan.cost, rel=1e-6)
        np.testing.assert_allclose(b.plan.v, a.plan.v, atol=1e-6)
        np.testing.assert_allclose(b.plan.Phi_u, a.plan.Phi_u, atol=1e-6)


def test_inflated_disturbance_and_tightening_follow_the_derivation():
    A = np.array([[1.0, 0.5], [-0.2, 0.9]])
    model = UncertainModel(A, np.eye(2), eps_A=0.1, eps_B=0.0, sigma_w=0.05)
    eps = np.array([0.02, 0.04])
    # row 1: 0.02 + 1*0.02 + 0.5*0.04 = 0.06; row 2: 0.04 + 0.2*0.02 + 0.9*0.04 = 0.08
    assert measurement_disturbance(model, eps) == pytest.approx(0.05 + 0.08 + 0.1 * 0.04)
    inst = _instance()
    eps3 = np.array([0.1, 0.05, 0.0])
    tight = measurement_safe_set(inst.safe_set, eps3, region=[0.8, 0.5, np.inf])
    lo, up = tight.state.bounding_box
    np.testing.assert_allclose(up, [0.7, 0.45, 1.0])
    np.testing.assert_allclose(lo, -up)
    with pytest.raises(ValueError, match="empty"):
        measurement_safe_set(inst.safe_set, [0.9, 0.0, 0.0], region=[0.8, 0.5, np.inf])


def _falsify(problem, inst, eps, x_ref, seeds=10, steps=25):
    """Closed loop on the true model at a vertex of its error set, vertex disturbances and
    measurement errors pushing towards the reference side; returns the violations."""
    m = inst.model
    total = 0
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        dA = m.eps_A * np.sign(rng.standard_normal(m.A.shape)) / m.n
        dB = m.eps_B * np.sign(rng.standard_normal(m.B.shape)) / m.m
        controller = RecedingHorizon(problem)
        x = np.zeros(m.n)
        states, inputs = [], []
        for _ in range(steps):
            e = -eps * np.sign(x_ref + 1e-9) * rng.choice([1.0, 0.5], size=m.n)
            u = controller.step(x + e, x_ref).u
            w = m.sigma_w * rng.choice([-1.0, 1.0], size=m.n)
            x = (m.A + dA) @ x + (m.B + dB) @ u + w
            states.append(x)
            inputs.append(u)
        total += inst.safe_set.violations(np.array(states), np.array(inputs))
    return total


def test_robust_controller_survives_worst_case_measurement_errors_where_ce_does_not():
    inst = _instance()
    x_ref = np.array([1.0, 0.0, 0.0])  # hug the lane edge: the error decides the side
    robust = MeasurementRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, eps_e=EPS_E, tau=0.3
    )
    ce = certainty_equivalent(inst.model, inst.safe_set, inst.Q, inst.R, horizon=5)
    assert _falsify(robust, inst, EPS_E, x_ref) == 0
    assert _falsify(ce, inst, EPS_E, x_ref) > 0


@pytest.mark.parametrize("track", TRACKS)
def test_car_driven_from_a_bounded_error_measurement_stays_safe(track):
    """Measured state = truth + uniform error within EPS_E (a sensor at the bound the
    robust problem is feasible for); episodes of 4 s (6 m)."""
    car = CarModelConfig.from_yaml(CAR_YAML)
    sim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), camera_period=0.0, **TRACKS[track])
    inst = controller_instance(car)
    problem = MeasurementRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, eps_e=EPS_E, tau=0.3
    )
    with CarWorld(sim) as world:
        for seed in range(20):
            world.reset(seed, s=1.5 * seed % world.track.length)
            plant = LanePlant(world, car.state_scale, input_scale(car))
            controller = RecedingHorizon(problem)
            rng = np.random.default_rng(seed)
            x, states, inputs, statuses = plant.state(), [], [], []
            for _ in range(40):
                step = controller.step(x + rng.uniform(-EPS_E, EPS_E))
                x = plant.apply(step.u)
                states.append(x)
                inputs.append(plant.applied)
                statuses.append(step.status)
            assert inst.safe_set.violations(np.array(states), np.array(inputs)) == 0, seed
            assert statuses.count("emergency") == 0, seed
