"""The nominal lane model and the measurement of its error on the simulated car."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from safe_control_ros.control.bounds import inf_norm
from safe_control_ros.sim.calibrate import calibrate, physics_prior
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import (
    bicycle_rates,
    input_scale,
    linearise,
    steering_feedforward,
)
from safe_control_ros.sim.model_error import measure_model_error
from safe_control_ros.sim.world import CarWorld

SPEED, WHEELBASE, DT = 1.5, 0.325, 0.1
CAR_YAML = Path(__file__).resolve().parents[1] / "config" / "car.yaml"


def bicycle_step(x, u, curvature=0.0, substeps=40):
    """The nonlinear bicycle over one sample time DT with u held (RK4)."""
    h = DT / substeps
    x = np.asarray(x, dtype=float)
    for _ in range(substeps):
        k1 = bicycle_rates(x, u, SPEED, WHEELBASE, curvature)
        k2 = bicycle_rates(x + h / 2 * k1, u, SPEED, WHEELBASE, curvature)
        k3 = bicycle_rates(x + h / 2 * k2, u, SPEED, WHEELBASE, curvature)
        k4 = bicycle_rates(x + h * k3, u, SPEED, WHEELBASE, curvature)
        x = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def rms(a: np.ndarray) -> np.ndarray:
    """Root mean square of each column of a (T, n)."""
    return np.sqrt(np.mean(a**2, axis=0))


def test_linear_model_matches_finite_differences_of_the_nonlinear_bicycle():
    A0, B0 = linearise(SPEED, WHEELBASE, DT)
    h = 1e-6
    x0, u0 = np.zeros(3), np.zeros(2)
    A_fd = np.column_stack(
        [(bicycle_step(x0 + h * e, u0) - bicycle_step(x0 - h * e, u0)) / (2 * h) for e in np.eye(3)]
    )
    B_fd = np.column_stack(
        [(bicycle_step(x0, u0 + h * e) - bicycle_step(x0, u0 - h * e)) / (2 * h) for e in np.eye(2)]
    )
    np.testing.assert_allclose(A0, A_fd, atol=1e-7)
    np.testing.assert_allclose(B0, B_fd, atol=1e-7)


def test_linear_model_closed_form():
    A0, B0 = linearise(SPEED, WHEELBASE, DT)
    v, L = SPEED, WHEELBASE
    np.testing.assert_allclose(A0, [[1, v * DT, 0], [0, 1, 0], [0, 0, 1]], atol=1e-12)
    np.testing.assert_allclose(
        B0, [[v**2 * DT**2 / (2 * L), 0], [v * DT / L, 0], [0, DT]], atol=1e-12
    )


def test_feedforward_makes_the_lane_centre_an_equilibrium_on_an_arc():
    assert steering_feedforward(1 / 3, WHEELBASE) == pytest.approx(np.arctan(WHEELBASE / 3))
    np.testing.assert_allclose(
        bicycle_rates(np.zeros(3), np.zeros(2), SPEED, WHEELBASE, 1 / 3), 0.0, atol=1e-12
    )
    np.testing.assert_allclose(
        bicycle_step(np.zeros(3), np.zeros(2), curvature=1 / 3), 0.0, atol=1e-12
    )


def test_car_model_wheelbase_is_the_urdf_wheelbase():
    with CarWorld() as world:
        assert CarModelConfig.from_yaml(CAR_YAML).wheelbase == pytest.approx(world.wheelbase)


def test_model_error_measurement_on_a_short_trajectory():
    m = measure_model_error(SimConfig(), duration=4.0, seed=1)
    assert m.states.shape == (41, 3) and m.inputs.shape == (40, 2)
    assert m.saturated == 0
    assert m.eps_A == pytest.approx(inf_norm(m.estimate.A - m.A0))
    assert m.eps_B == pytest.approx(inf_norm(m.estimate.B - m.B0))
    assert m.residual_max.shape == (3,) and np.all(np.isfinite(m.residual_max))
    # The linearised bicycle explains most of the simulated car's motion in every coordinate.
    X, U = m.states, m.inputs
    unexplained = X[1:] - X[:-1] @ m.A0.T - U @ m.B0.T
    assert np.all(rms(unexplained) < 0.75 * rms(np.diff(X, axis=0)))
    again = measure_model_error(SimConfig(), duration=4.0, seed=1)
    assert np.array_equal(again.states, m.states)


def test_calibration_measures_the_prior_in_controller_coordinates():
    """Two short runs: the averaged fit is near the configured (120 s x 5) prior and the
    measured spread and residual are positive and in controller coordinates."""
    car = CarModelConfig.from_yaml(CAR_YAML)
    cal = calibrate(SimConfig.from_yaml(CAR_YAML), car, seeds=[0, 1], duration=20.0)
    np.testing.assert_allclose(cal.A, np.reshape(car.prior_A, (3, 3)), atol=0.06)
    np.testing.assert_allclose(cal.B, np.reshape(car.prior_B, (3, 2)), atol=0.06)
    assert 0 < cal.model.eps_A < 0.2 and 0 < cal.model.eps_B < 0.2
    assert np.all(cal.model.sigma_w > 0) and np.all(cal.model.sigma_w < 2 * np.array(car.sigma_w))


def _bicycle_with_servo(x, u, tau, substeps=400):
    """[e_y, e_psi, e_v] after DT of the linear bicycle whose steering follows u[0] with a
    first-order lag tau from zero (explicit Euler, fine steps)."""
    h = DT / substeps
    (e_y, e_psi, e_v), steering = np.asarray(x, float), 0.0
    for _ in range(substeps):
        e_y, e_psi, e_v, steering = (
            e_y + h * SPEED * e_psi,
            e_psi + h * SPEED / WHEELBASE * steering,
            e_v + h * u[1],
            steering + h * (u[0] - steering) / tau,
        )
    return np.array([e_y, e_psi, e_v])


@pytest.mark.parametrize("tau", [0.03, 0.06])
def test_servo_linearisation_integrates_the_bicycle_with_its_servo(tau):
    A, B = linearise(SPEED, WHEELBASE, DT, tau)
    x, u = np.array([0.05, -0.1, 0.2]), np.array([0.1, 1.0])
    np.testing.assert_allclose(A @ x + B @ u, _bicycle_with_servo(x, u, tau), atol=2e-4)
    slower = linearise(SPEED, WHEELBASE, DT, 2 * tau)[1]
    assert B[1, 0] < linearise(SPEED, WHEELBASE, DT)[1][1, 0] and slower[1, 0] < B[1, 0]


def test_servo_linearisation_tends_to_the_bicycle():
    A0, B0 = linearise(SPEED, WHEELBASE, DT)
    A, B = linearise(SPEED, WHEELBASE, DT, 1e-6)
    np.testing.assert_allclose(A, A0)
    np.testing.assert_allclose(B, B0, atol=1e-5)


def test_physics_prior_covers_every_plant_it_was_measured_on():
    """The bicycle with the servo as the centre; its rows' bounds are the largest distance of
    any run's fit (two plants, one seed), and sigma_w the largest residual."""
    car = CarModelConfig.from_yaml(CAR_YAML)
    sim = SimConfig.from_yaml(CAR_YAML)
    plants = [{"mass_scale": 0.5}, {"steering_time_constant": 0.06}]
    cal = physics_prior(sim, car, plants, seeds=[3], duration=20.0, steering_time_constant=0.03)
    np.testing.assert_allclose(cal.B, linearise(SPEED, WHEELBASE, DT, 0.03)[1])
    rows_A, rows_B = cal.model.row_errors
    Dx, Du = np.asarray(car.state_scale), input_scale(car)
    for plant in plants:
        run = measure_model_error(dataclasses.replace(sim, **plant), 20.0, seed=3)
        assert np.all(np.abs((run.estimate.A - cal.A) * Dx / Dx[:, None]).sum(1) <= rows_A + 1e-12)
        assert np.all(np.abs((run.estimate.B - cal.B) * Du / Dx[:, None]).sum(1) <= rows_B + 1e-12)
        assert np.all(run.residual_max / Dx <= cal.model.sigma_w + 1e-12)
    assert rows_A.max() == cal.model.eps_A and rows_B.max() == cal.model.eps_B
