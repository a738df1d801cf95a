"""Innovation test (control.innovation): never rejects a measurement the model and the
perception bound allow (Monte Carlo over true systems on the boundary of the error set,
worst-case disturbances and errors, gaps of missing frames), and rejects injected
outliers beyond the prediction box."""

import numpy as np
import pytest

from safe_control_ros.control.falsify import sample_true_systems, vertices
from safe_control_ros.control.innovation import InnovationTest, MeasurementGuard
from safe_control_ros.control.measurement import robust_output_feedback
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import blind_stop, controller_instance

EPS_E = np.array([0.05, 0.05, 0.0])


@pytest.fixture(scope="module")
def car():
    return CarModelConfig.from_yaml("config/car.yaml")


@pytest.fixture(scope="module")
def inst(car):
    return controller_instance(car)


def _trajectory(inst, rng, steps):
    """True states (steps+1, n) in the safe set's interior and inputs (steps, m) of a
    boundary system under a stabilising input and vertex disturbances."""
    model = inst.model
    As, Bs = sample_true_systems(model, 1, rng)
    x = np.zeros((steps + 1, model.n))
    u = np.zeros((steps, model.m))
    for t in range(steps):
        u[t] = np.clip(-np.array([[1.2, 3.0, 0.0], [0.0, 0.0, 1.0]]) @ x[t], -1, 1)
        x[t + 1] = As[0] @ x[t] + Bs[0] @ u[t] + vertices(rng, np.full(3, model.sigma_w), 3)
    return x, u


@pytest.mark.parametrize("gap", [1, 3])
def test_consistent_measurements_are_never_rejected(inst, gap):
    rng = np.random.default_rng(gap)
    worst = 0.0
    for _ in range(40):
        x, u = _trajectory(inst, rng, 30)
        assert np.all(inst.safe_set.state.contains(x))
        test = InnovationTest(inst.model, inst.safe_set, EPS_E)
        for t in range(31):
            if t % gap == 0:
                ok, excess = test.check(x[t] + vertices(rng, EPS_E, 3))
                assert ok
                worst = max(worst, excess)
                test.accept(x[t] + vertices(rng, EPS_E, 3))
            if t < 30:
                test.applied(u[t])
    assert 0.2 < worst <= 1.0  # the box is not vacuous


def test_outliers_beyond_the_prediction_box_are_rejected(inst):
    rng = np.random.default_rng(9)
    x, u = _trajectory(inst, rng, 10)
    test = InnovationTest(inst.model, inst.safe_set, EPS_E)
    test.accept(x[0])
    test.applied(u[0])
    box = np.abs(inst.model.A) @ EPS_E + test.zeta_bar + EPS_E
    for i in (0, 1):
        outlier = x[1].copy()
        outlier[i] += 2.5 * box[i]
        ok, excess = test.check(outlier)
        assert not ok and excess > 1.0
    assert test.check(x[1])[0]
    test.reset()
    assert test.check(x[1] + 10.0) == (True, 0.0)


def test_guard_holds_the_plan_then_stops_and_uses_measurements_again(car, inst):
    problem = robust_output_feedback(inst.model, inst.safe_set, inst.Q, inst.R, 5, EPS_E)
    guard = MeasurementGuard(InnovationTest(inst.model, inst.safe_set, EPS_E), 2)
    stop = blind_stop(car)
    controller = RecedingHorizon(problem, stop=stop, eps_e=EPS_E)
    x = np.zeros(3)
    statuses = []
    for y in [x, None, np.full(3, np.nan), None, None, x, x + 5.0, x]:
        step = guard.step(controller, y)
        guard.applied(step.u)
        statuses.append(step.status)
        if step.status == "stop":
            np.testing.assert_allclose(step.u, stop.u_stop)
            assert step.stop_margin >= 0.0
    # one hold (a second would leave no certified stop: the prediction's box grows by the
    # prior's sigma_w), then the stop, certified, also while measurements are missing past
    # hold_steps; a measurement after the stop is accepted (no reference), the outlier right
    # after it is not (the plan holds), the next good one is used
    assert statuses == ["optimal", "hold", "stop", "stop", "stop", "optimal", "hold", "optimal"]
