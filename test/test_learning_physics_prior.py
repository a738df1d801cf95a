"""The demo's starting point: the physics prior (config/prior_physics.yaml) on the
simulated car, in the in-process graph. It plans with half the model-error budget (a
smaller operating region), drives without leaving the safe set while it learns, and the
data make every row of the model tighter than the prior's within 45 s."""

import numpy as np
import pytest

from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.launcher import CONFIG, build, parameters
from safe_control_ros.nodes.statuses import MODEL_STATUS, PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance, linearise

PARAMS = parameters(CONFIG / "car.yaml", "oval", "physics")


def _car() -> CarModelConfig:
    values = {k.removeprefix("car_model."): v for k, v in PARAMS["/**"].items()}
    return CarModelConfig(**values)


def test_physics_prior_is_the_bicycle_with_its_servo():
    car = _car()
    A, B = linearise(car.speed, car.wheelbase, car.sample_time, 0.03)
    np.testing.assert_allclose(np.reshape(car.prior_A, (3, 3)), A, atol=1e-4)
    np.testing.assert_allclose(np.reshape(car.prior_B, (3, 2)), B, atol=1e-4)
    rows_A, rows_B = controller_instance(car).model.row_errors
    np.testing.assert_allclose(rows_A, [0.0314, 0.1219, 0.1827], rtol=1e-3)
    np.testing.assert_allclose(rows_B, [0.0092, 0.0382, 0.1443], rtol=1e-3)


@pytest.mark.parametrize(("budget", "plans"), [(1.0, False), (0.5, True)])
def test_only_a_smaller_operating_region_is_certified_from_the_physics_prior(budget, plans):
    """While learning (excitation 0.02 rad, 0.05 m/s^2), from the lane centre at horizon 5:
    the full budget has no plan, half of it has (controller.budget_scales [1.0, 0.5])."""
    inst = controller_instance(_car(), sigma_eta=(0.02, 0.05))
    problem = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, 5, inst.sigma_eta, tau=0.0,
                        budget_scale=budget)  # fmt: skip
    assert (problem.solve(np.zeros(3)).plan is not None) == plans


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_learning_tightens_the_physics_prior_within_45_s_without_violations():
    params = {node: dict(values) for node, values in PARAMS.items()}
    params["controller"] |= {"learning_duration": 60.0}
    runtime, jobs = build(params)
    seen: dict[str, list] = {"lane": [], "diag": []}
    probe = runtime.create_node("probe")
    probe.create_subscription(msg.LaneState, "/lane_state", seen["lane"].append)
    probe.create_subscription(msg.DiagnosticArray, "/diagnostics", seen["diag"].append)
    runtime.spin_until(45.0)  # the first tighter model is in use at 40 s
    jobs["sim"].destroy()
    lanes = np.array([msg.lane_values(m)[1:4] for m in seen["lane"]])
    car = jobs["controller"].car
    assert np.all(np.abs(lanes) <= [car.e_y_max, car.e_psi_max, car.e_v_max])
    statuses = [(s.name, s.message) for d in seen["diag"] for s in d.status]
    assert {m for name, m in statuses if name == PLANNER_STATUS} == {"optimal"}
    assert (MODEL_STATUS, "model accepted") in statuses
    prior, used = jobs["controller"].instance.model, jobs["controller"].model
    assert used.tighter_than(prior)
    (used_A, used_B), (prior_A, prior_B) = used.row_errors, prior.row_errors
    # every row (measured: eps_A 1.3 / 1.9 / 7.4 times tighter, eps_B 1.6 / 1.9 / 18)
    assert np.all(used_A < prior_A) and np.all(used_B < prior_B)
    assert used_A[2] < 0.5 * prior_A[2]
