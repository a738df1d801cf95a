"""Independent oracles: python-control's DARE for LQR, and LQR for robust SLS with eps = 0."""

import control
import numpy as np
import pytest

from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.lqr import lqr
from safe_control_ros.control.sls import RobustSLS

X0 = np.array([0.03, -0.05, 0.1])  # far from the constraints: none is active


@pytest.fixture(scope="module")
def inst():
    return lane_keeping(eps=0.0, sigma_w=1e-4)


def test_lqr_matches_python_control(inst):
    A, B, Q, R = inst.model.A, inst.model.B, inst.Q, inst.R
    K_ref, P_ref, _ = control.dlqr(A, B, Q, R)
    ours = lqr(A, B, Q, R)
    np.testing.assert_allclose(ours.K, K_ref, rtol=1e-8)
    np.testing.assert_allclose(ours.P, P_ref, rtol=1e-8)


def test_long_horizon_robust_sls_cost_matches_lqr(inst):
    """No terminal cost: only a long horizon makes the finite-horizon cost approach DARE."""
    P = control.dlqr(inst.model.A, inst.model.B, inst.Q, inst.R)[1]
    sls = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, 40, terminal_cost="none")
    sol = sls.solve(X0)
    assert sol.status == "optimal"
    assert sol.plan.cost == pytest.approx(X0 @ P @ X0, rel=0.01)
    short = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, 3, terminal_cost="none")
    assert short.solve(X0).plan.cost < 0.9 * X0 @ P @ X0  # the check can fail


def test_lqr_terminal_cost_makes_every_horizon_exact(inst):
    """With P as terminal cost the nominal cost is x0'P x0 and each of the T feedback
    columns costs trace(P) (H2 weight 1); the plan is the LQR policy."""
    ref = lqr(inst.model.A, inst.model.B, inst.Q, inst.R)
    T = 8
    sls = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, T, h2_weight=1.0)
    sol = sls.solve(X0)
    expected = X0 @ ref.P @ X0 + sls.h2_weight * T * np.trace(ref.P)
    assert sol.plan.cost == pytest.approx(expected, rel=1e-5)
    np.testing.assert_allclose(sol.plan.v[0], ref(X0), rtol=1e-4)
    np.testing.assert_allclose(sol.plan.Phi_u[1, 1], -ref.K, rtol=1e-3, atol=1e-6)
