"""Falsification of robust SLS: true systems on the boundary of the error set, vertex
disturbances and excitation; the certainty-equivalent baseline must fail the same test."""

import numpy as np
import pytest
from slow_groups import sizes

from safe_control_ros.control.falsify import (
    closed_loop_campaign,
    plan_violations,
)
from safe_control_ros.control.instances import lane_edge, lane_keeping, normalized
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.plan import Plan, rollout_responses
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS, certify

SCENARIO = lane_edge()
X0, X_REF = SCENARIO.x0, SCENARIO.x_ref


@pytest.fixture(scope="module")
def inst():
    return SCENARIO.instance


def _robust(inst, horizon):
    return RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, horizon, sigma_eta=inst.sigma_eta)


def _nominal(inst, horizon):
    return NominalMPC(inst.model, inst.safe_set, inst.Q, inst.R, horizon)


def test_robust_plan_is_safe_for_500_sampled_true_systems(inst):
    sol = _robust(inst, 10).solve(X0, X_REF)
    assert sol.status == "optimal" and sol.certificate.verified
    violations, states = plan_violations(
        sol.plan, inst.model, inst.safe_set, inst.sigma_eta, 500, seed=1
    )
    assert violations.sum() == 0
    assert sol.certificate.state_margin < 1e-4  # the tightened constraints are active
    assert states[:, :, 0].max() > X0[0] + 0.1  # and it does drive towards the edge


def test_certainty_equivalent_plan_violates_on_the_same_systems(inst):
    sol = _nominal(inst, 10).solve(X0, X_REF)
    violations, _ = plan_violations(
        sol.plan, inst.model, inst.safe_set, inst.sigma_eta, 500, seed=1
    )
    assert (violations > 0).mean() > 0.2


@pytest.mark.parametrize("systems", sizes(6, 20))
def test_closed_loop_robust_is_safe_and_certainty_equivalent_is_not(inst, systems):
    """Boundary systems x 200 steps (bench/falsify.py runs 500 systems)."""
    robust = closed_loop_campaign(_robust(inst, 5), inst.sigma_eta, systems, 200, X0, X_REF)
    assert robust.violations == 0
    assert robust.statuses.get("emergency", 0) == 0
    nominal = closed_loop_campaign(_nominal(inst, 5), inst.sigma_eta, systems, 200, X0, X_REF)
    assert nominal.violating_systems >= systems // 2  # 18 of 20 with this seed


def test_certificate_detects_a_tampered_plan(inst):
    problem = _robust(inst, 6)
    sol = problem.solve(X0, X_REF)
    assert sol.certificate.verified
    pushed = sol.plan.v.copy()
    pushed[:, 0] += 0.2  # steer harder towards the edge than the plan allows
    bad = Plan(**{**sol.plan.__dict__, "v": pushed})
    z, _ = rollout_responses(bad.A, bad.B, X0, pushed, bad.Phi_u)
    bad = Plan(**{**bad.__dict__, "z": z})
    cert = certify(bad, inst.model, inst.safe_set, inst.sigma_eta, problem.tau, problem.eta)
    assert not cert.verified and cert.state_margin < 0


def test_infeasible_solve_falls_back_to_the_last_plan_then_emergency(inst):
    problem = _robust(inst, 5)
    controller = RecedingHorizon(problem, emergency_input=[0.0, -1.0])
    first = controller.step(X0, X_REF)
    assert first.status == "optimal"
    x1 = first.plan.A @ X0 + first.plan.B @ first.u + 0.01
    controller.set_problem(_robust(normalized(lane_keeping(eps=0.5, sigma_w=0.01)), 5))
    second = controller.step(x1, X_REF)
    assert (second.status, second.solve_status) == ("fallback", "infeasible")
    delta = x1 - first.plan.A @ X0 - first.plan.B @ first.u_cmd
    np.testing.assert_allclose(second.u, first.plan.input(1, delta[None]))
    x = x1
    for _ in range(3):  # plan steps 2, 3, 4 of the horizon-5 plan
        step = controller.step(x, X_REF)
        x = step.plan.A @ x + step.plan.B @ step.u if step.plan else x
    assert step.status == "fallback" and step.plan_step == 4
    last = controller.step(x, X_REF)
    assert last.status == "emergency"
    np.testing.assert_allclose(last.u, [0.0, -1.0])


def test_hold_continues_the_plan_on_its_prediction_then_emergency(inst):
    """Without a measurement the plan continues with zero mismatch; the next measurement's
    mismatch is taken against the predicted state, so it covers both steps."""
    controller = RecedingHorizon(_robust(inst, 5), emergency_input=[0.0, -1.0])
    assert controller.hold().status == "emergency"  # no plan yet
    first = controller.step(X0, X_REF)
    held = controller.hold()
    assert held.status == "hold" and held.plan_step == 1
    np.testing.assert_allclose(held.u, first.plan.input(1, np.zeros((1, 3))))
    predicted = first.plan.A @ (first.plan.A @ X0 + first.plan.B @ first.u) + first.plan.B @ held.u
    controller.set_problem(_robust(normalized(lane_keeping(eps=0.5, sigma_w=0.01)), 5))
    x2 = predicted + 0.01
    step = controller.step(x2, X_REF)  # infeasible: fallback on the mismatch since the hold
    assert step.status == "fallback" and step.plan_step == 2
    deltas = np.array([np.zeros(3), x2 - predicted])
    np.testing.assert_allclose(step.u, first.plan.input(2, deltas))
    statuses = [controller.hold().status for _ in range(3)]
    assert statuses == ["hold", "hold", "emergency"]


def test_solver_error_is_a_status_not_an_exception(inst):
    problem = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, 3, solver="NO_SUCH_SOLVER")
    sol = problem.solve(X0)
    assert sol.status == "failed" and sol.plan is None and "NO_SUCH_SOLVER" in sol.message
