"""The real-time robust SLS against the same falsification and oracles as `RobustSLS`:
boundary true systems with vertex disturbances, closed loop with the certainty-equivalent
baseline as the control group, cost against the generic formulation, LQR with eps = 0."""

import control
import numpy as np
import pytest
from slow_groups import sizes

from safe_control_ros.control.falsify import (
    closed_loop_campaign,
    plan_violations,
)
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.instances import lane_edge, lane_keeping, normalized
from safe_control_ros.control.lqr import lqr
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS, certify

SCENARIO = lane_edge()
X0, X_REF = SCENARIO.x0, SCENARIO.x_ref


@pytest.fixture(scope="module")
def inst():
    return SCENARIO.instance


def _fast(inst, horizon, **kwargs):
    return FastRobustSLS(
        inst.model,
        inst.safe_set,
        inst.Q,
        inst.R,
        horizon,
        sigma_eta=inst.sigma_eta,
        design_ref=X_REF,
        **kwargs,
    )


@pytest.fixture(scope="module")
def fast10(inst):
    return _fast(inst, 10)


@pytest.fixture(scope="module")
def generic10(inst):
    return RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, 10, sigma_eta=inst.sigma_eta)


def test_fast_plan_is_safe_for_500_sampled_true_systems(inst, fast10):
    sol = fast10.solve(X0, X_REF)
    assert sol.status == "optimal" and sol.certificate.verified
    violations, states = plan_violations(
        sol.plan, inst.model, inst.safe_set, inst.sigma_eta, 500, seed=1
    )
    assert violations.sum() == 0
    assert sol.certificate.state_margin < 1e-4  # the tightened constraints are active
    assert states[:, :, 0].max() > X0[0] + 0.1  # and it does drive towards the edge
    baseline = NominalMPC(inst.model, inst.safe_set, inst.Q, inst.R, 10).solve(X0, X_REF)
    ce_violations, _ = plan_violations(
        baseline.plan, inst.model, inst.safe_set, inst.sigma_eta, 500, seed=1
    )
    assert (ce_violations > 0).mean() > 0.2  # the same systems break the baseline


def test_plan_is_certified_by_the_generic_certificate(inst, fast10, generic10):
    """The returned plan is checked by `sls.certify` with the library's schedule: it is a
    feasible point of the full robust problem with the same (tau, eta)."""
    sol = fast10.solve(X0, X_REF)
    lib = fast10.library
    cert = certify(sol.plan, inst.model, inst.safe_set, inst.sigma_eta, lib.tau, lib.eta)
    assert cert == sol.certificate and cert.verified
    np.testing.assert_allclose(sol.plan.delta_bound, generic10.c)  # same schedule


@pytest.mark.parametrize("systems", sizes(6, 20))
def test_closed_loop_fast_is_safe_and_certainty_equivalent_is_not(inst, systems):
    """Boundary systems x 200 steps each, vertex disturbances and excitation."""
    fast = closed_loop_campaign(_fast(inst, 5), inst.sigma_eta, systems, 200, X0, X_REF)
    assert fast.violations == 0
    assert fast.statuses.get("emergency", 0) == 0
    nominal = NominalMPC(inst.model, inst.safe_set, inst.Q, inst.R, 5)
    ce = closed_loop_campaign(nominal, inst.sigma_eta, systems, 200, X0, X_REF)
    assert ce.violating_systems >= systems // 2


def test_cost_against_the_generic_formulation(inst, fast10, generic10):
    """The fast problem restricts the responses to mixtures of the library, so its cost is
    never below the generic one and equals it at a design point. Between design points
    the gap on this instance (T = 10, tau = 0.5, 16 candidates) was measured at 1-14%
    (mean about 8%) towards the lane edge and under 2% towards the centre; the 5% target
    holds at the design points and near the centre, not everywhere."""
    rng = np.random.default_rng(5)
    states = np.vstack([X0, rng.uniform(-0.6, 0.6, size=(10, 3))])
    ratios = {}
    for ref in (X_REF, np.zeros(3)):
        for x in states:
            fast, generic = fast10.solve(x, ref), generic10.solve(x, ref)
            assert fast.status == generic.status
            if generic.plan is not None:
                ratios.setdefault(tuple(ref), []).append(fast.plan.cost / generic.plan.cost)
    edge, centre = np.array(ratios[tuple(X_REF)]), np.array(ratios[(0.0, 0.0, 0.0)])
    assert edge.min() > 1 - 1e-4 and centre.min() > 1 - 1e-4
    assert edge.max() < 1.15 and edge.mean() < 1.10
    assert centre.max() < 1.05
    # At a design point the mixture contains the generic solution: same cost.
    x_design = fast10.library.states[0]
    fast, generic = fast10.solve(x_design, X_REF), generic10.solve(x_design, X_REF)
    assert fast.plan.cost == pytest.approx(generic.plan.cost, rel=1e-3)


def test_model_update_swaps_the_library_and_falls_back_when_infeasible(inst):
    problem = _fast(inst, 5)
    controller = RecedingHorizon(problem, emergency_input=[0.0, -1.0])
    first = controller.step(X0, X_REF)
    assert first.status == "optimal"
    hopeless = normalized(lane_keeping(eps=0.5, sigma_w=0.01)).model
    seconds = problem.update_model(hopeless)
    assert seconds > 0 and problem.model is hopeless and problem.library.size == 0
    x1 = first.plan.A @ X0 + first.plan.B @ first.u + 0.01
    second = controller.step(x1, X_REF)
    assert (second.status, second.solve_status) == ("fallback", "infeasible")
    # A core prepared off the loop is installed in one step and used by the next solve.
    problem.install(problem.prepare(inst.model))
    assert controller.step(x1, X_REF).status == "optimal"


@pytest.fixture(scope="module")
def exact():
    return lane_keeping(eps=0.0, sigma_w=1e-4)


def _rest_only(inst, horizon, **kwargs):
    """Library from the resting point only (with eps = 0 every design point gives the same
    unconstrained responses)."""
    empty = np.zeros((0, inst.model.n))
    return FastRobustSLS(
        inst.model,
        inst.safe_set,
        inst.Q,
        inst.R,
        horizon,
        directions=empty,
        trajectory_directions=empty,
        **kwargs,
    )


def test_long_horizon_cost_matches_the_dare(exact):
    x0 = np.array([0.03, -0.05, 0.1])  # far from the constraints
    P = control.dlqr(exact.model.A, exact.model.B, exact.Q, exact.R)[1]
    sol = _rest_only(exact, 40, terminal_cost="none").solve(x0)
    assert sol.status == "optimal"
    assert sol.plan.cost == pytest.approx(x0 @ P @ x0, rel=0.01)


def test_lqr_terminal_cost_makes_the_plan_the_lqr_policy(exact):
    x0 = np.array([0.03, -0.05, 0.1])
    ref = lqr(exact.model.A, exact.model.B, exact.Q, exact.R)
    T = 8
    problem = _rest_only(exact, T, h2_weight=1.0)
    sol = problem.solve(x0)
    expected = x0 @ ref.P @ x0 + T * np.trace(ref.P)
    assert sol.plan.cost == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(sol.plan.v[0], ref(x0), rtol=1e-4)
    np.testing.assert_allclose(sol.plan.Phi_u[1, 1], -ref.K, rtol=1e-3, atol=1e-6)
