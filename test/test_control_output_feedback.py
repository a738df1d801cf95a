"""Output-feedback robust SLS (y = x + e, |e_i| <= eps_e_i; control.sls with eps_e and
control.measurement): exact reduction to state feedback at zero error, the responses to
measurement errors against a simulated closed loop, plan-horizon falsification on true
systems with worst-case error sequences, the closed loop against the certainty-equivalent
baseline, the real-time formulation, and the PyBullet car driven from a measured state
with bounded error (20 seeds per track)."""

import dataclasses
import warnings

import numpy as np
import pytest
from slow_groups import sizes

from safe_control_ros.control.falsify import (
    closed_loop,
    plan_violations,
    sample_true_systems,
    vertices,
)
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.measurement import (
    robust_output_feedback,
    with_region,
)
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS, error_responses
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import controller_instance, input_scale
from safe_control_ros.sim.lane_plant import LanePlant
from safe_control_ros.sim.world import CarWorld

CAR_YAML = "config/car.yaml"
TRACKS = {
    "straight": {"track_lengths": (35.0,), "track_curvatures": (0.0,)},
    "oval": {},
}
# Controller coordinates (x / (0.25 m, 0.7 rad, 0.5 m/s)): 12.5 mm, 0.035 rad, exact speed.
EPS_E = np.array([0.05, 0.05, 0.0])
TAU = 0.0  # the configured constant mismatch budget
EDGE = np.array([1.0, 0.0, 0.0])  # a reference on the lane edge: the error decides the side


@pytest.fixture(autouse=True)
def _quiet():
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's accuracy notes


@pytest.fixture(scope="module")
def inst():
    return controller_instance(CarModelConfig.from_yaml(CAR_YAML))


def _robust(inst, eps_e=EPS_E, fast=False, **options):
    return robust_output_feedback(
        inst.model, inst.safe_set, inst.Q, inst.R, 5, eps_e, fast=fast, tau=TAU, **options
    )


@pytest.mark.parametrize("problem", [RobustSLS, FastRobustSLS])
def test_zero_error_recovers_the_state_feedback_problem_exactly(inst, problem):
    args = (inst.model, inst.safe_set, inst.Q, inst.R, 5)
    base = problem(*args, tau=TAU)
    zero = problem(*args, tau=TAU, eps_e=np.zeros(3))
    assert with_region(inst.safe_set, None) is inst.safe_set
    for x0 in ([0.2, -0.1, 0.05], [-0.3, 0.15, -0.1], [0.0, 0.0, 0.0]):
        a, b = base.solve(np.array(x0)), zero.solve(np.array(x0))
        assert a.status == b.status == "optimal"
        assert b.plan.cost == pytest.approx(a.plan.cost, rel=1e-9)
        np.testing.assert_allclose(b.plan.Phi_u, a.plan.Phi_u, atol=1e-9)
        for field in dataclasses.fields(a.certificate):
            name = field.name
            np.testing.assert_equal(getattr(b.certificate, name), getattr(a.certificate, name))


def test_error_responses_reproduce_a_closed_loop_on_measurements(inst):
    """x_t = z_t + sum_k Phi_x[t,k] zeta_k + sum_{j<t} Psi_x[t,j] e_j (and u_t with j <= t)
    for a plan run on measurements of a random true system: the summation by parts that
    the robust problem's tightening is built on."""
    plan = _robust(inst).solve(np.array([0.1, -0.05, 0.2])).plan
    model, T, n = inst.model, plan.horizon, inst.model.n
    rng = np.random.default_rng(3)
    As, Bs = sample_true_systems(model, 1, rng)
    e = rng.uniform(-1, 1, (T + 1, n)) * EPS_E
    w = rng.uniform(-1, 1, (T, n)) * model.sigma_w
    x, u = np.zeros((T + 1, n)), np.zeros((T, model.m))
    zeta, deltas = np.zeros((T + 1, n)), np.zeros((T, n))
    x[0] = plan.z[0] - e[0]
    for t in range(T):
        u[t] = plan.input(t, deltas[:t])
        x[t + 1] = As[0] @ x[t] + Bs[0] @ u[t] + w[t]
        zeta[t + 1] = x[t + 1] - model.A @ x[t] - model.B @ u[t]
        deltas[t] = (x[t + 1] + e[t + 1]) - model.A @ (x[t] + e[t]) - model.B @ u[t]
    Psi_x, Psi_u = error_responses(plan.Phi_x, plan.Phi_u, model.A)
    x_sum = plan.z + np.einsum("tkij,kj->ti", plan.Phi_x, zeta) + np.einsum("tjab,jb->ta", Psi_x, e)
    u_sum = plan.v + np.einsum("tkij,kj->ti", plan.Phi_u, zeta) + np.einsum("tjab,jb->ta", Psi_u, e)
    np.testing.assert_allclose(x_sum[1:], x[1:], atol=1e-10)
    np.testing.assert_allclose(u_sum, u, atol=1e-10)


@pytest.mark.parametrize("x0", [[0.15, 0.05, 0.3], [-0.1, -0.05, -0.5], [0.0, 0.1, 0.0]])
def test_plans_survive_sampled_true_systems_and_error_sequences(inst, x0):
    """500 true systems on the boundary of the error set, vertex disturbances and vertex
    measurement errors: no plan leaves the safe set. The state-feedback plan from the same
    measurement, run on the same error sequences, does."""
    robust = _robust(inst).solve(np.array(x0), EDGE)
    assert robust.status == "optimal" and robust.certificate.verified
    bad, _ = plan_violations(robust.plan, inst.model, inst.safe_set, 0.0, 500, 1, EPS_E)
    assert bad.sum() == 0
    blind = _robust(inst, eps_e=0.0).solve(np.array(x0), EDGE)
    bad, _ = plan_violations(blind.plan, inst.model, inst.safe_set, 0.0, 500, 1, EPS_E)
    assert bad.sum() > 0


@pytest.mark.parametrize("systems", sizes(6, 20))
def test_closed_loop_on_measurements_stays_safe_and_feasible(inst, systems):
    """True systems on the boundary, 60 steps each around the lane centre, vertex
    disturbances and vertex measurement errors: no violation and never past the last
    plan (an emergency input). Recursive feasibility is not certified (no terminal
    invariant set): the real-time formulation, restricted to its response library, ran
    past its last plan 3 times in these 1,200 steps, and tracking a reference on the lane
    edge under these worst-case errors runs out of plans (README, known limits)."""
    problem = _robust(inst)
    As, Bs = sample_true_systems(inst.model, systems, np.random.default_rng(5))
    rng = np.random.default_rng(6)
    for A, B in zip(As, Bs, strict=True):
        controller = RecedingHorizon(problem)
        run = closed_loop(controller, A, B, np.zeros(3), 60, inst.model.sigma_w, rng, None, EPS_E)
        assert run.violations(inst.safe_set) == 0
        assert "emergency" not in run.statuses


def test_real_time_formulation_matches_the_generic_one(inst):
    generic, fast = _robust(inst), _robust(inst, fast=True)
    for x0 in ([0.0, 0.0, 0.0], [0.1, -0.05, 0.3], [-0.1, 0.05, -0.4]):
        a, b = generic.solve(np.array(x0)), fast.solve(np.array(x0))
        assert a.status == b.status == "optimal"
        assert b.certificate.verified
        assert a.plan.cost <= b.plan.cost * (1 + 1e-6) <= a.plan.cost * 1.15


def test_region_rows_are_constraints_on_the_true_state(inst):
    region = np.array([0.4, 0.2, np.inf])
    lo, up = with_region(inst.safe_set, region).state.bounding_box
    np.testing.assert_allclose(up, [0.4, 0.2, 1.0])
    np.testing.assert_allclose(lo, -up)
    with pytest.raises(ValueError, match="region"):
        with_region(inst.safe_set, [0.4, 0.2])
    with pytest.raises(ValueError, match="eps_e"):
        _robust(inst, eps_e=[0.1, -0.1, 0.0])


@pytest.mark.parametrize("seeds", sizes(5, 20))
@pytest.mark.parametrize("track", TRACKS)
def test_car_driven_from_a_bounded_error_measurement_stays_safe(track, seeds):
    """Measured state = truth + vertex errors of EPS_E (a sensor at its bound); episodes
    of 4 s (6 m), the real-time formulation."""
    car = CarModelConfig.from_yaml(CAR_YAML)
    sim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), camera_period=0.0, **TRACKS[track])
    inst = controller_instance(car)
    problem = _robust(inst, fast=True)
    with CarWorld(sim) as world:
        for seed in range(seeds):
            world.reset(seed, s=1.5 * seed % world.track.length)
            plant = LanePlant(world, car.state_scale, input_scale(car))
            controller = RecedingHorizon(problem)
            rng = np.random.default_rng(seed)
            x, states, inputs, statuses = plant.state(), [], [], []
            for _ in range(40):
                step = controller.step(x + vertices(rng, EPS_E, 3))
                x = plant.apply(step.u)
                states.append(x)
                inputs.append(plant.applied)
                statuses.append(step.status)
            assert inst.safe_set.violations(np.array(states), np.array(inputs)) == 0, seed
            assert statuses.count("emergency") == 0, seed
