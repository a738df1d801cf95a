"""The launch graph (sim, estimator, controller) in the in-process runtime."""

import numpy as np
import pytest

from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.launcher import CONFIG, build, parameters
from safe_control_ros.nodes import layouts
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime


def _probe(runtime):
    probe = runtime.create_node("probe")
    seen = {"drive": [], "lane": [], "diag": [], "model": [], "plan": [], "twist": []}
    probe.create_subscription(msg.AckermannDriveStamped, "/drive", seen["drive"].append)
    probe.create_subscription(msg.Float64MultiArray, "/lane_state", seen["lane"].append)
    probe.create_subscription(msg.DiagnosticArray, "/diagnostics", seen["diag"].append)
    probe.create_subscription(msg.Float64MultiArray, "/model", seen["model"].append)
    probe.create_subscription(msg.Path, "/plan", seen["plan"].append)
    probe.create_subscription(msg.TwistStamped, "/cmd_vel", seen["twist"].append)
    return probe, seen


def _statuses(seen, name):
    return [s.message for d in seen["diag"] for s in d.status if s.name == name]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_graph_drives_the_car_safely_while_learning():
    params = parameters(CONFIG / "car.yaml", "oval")
    params["controller"] |= {"learning_duration": 10.0}
    params["estimator"] |= {"refit_period": 5.0}
    runtime, jobs = build(params)
    _, seen = _probe(runtime)
    runtime.spin_until(20.0)
    assert len(seen["drive"]) == 200 and len(seen["twist"]) == 200
    lanes = np.array([m.data for m in seen["lane"]])
    car = jobs["controller"].car
    assert np.all(np.abs(lanes[:, 1]) <= car.e_y_max)
    assert np.all(np.abs(lanes[:, 2]) <= car.e_psi_max)
    assert np.all(np.abs(lanes[:, 3]) <= car.e_v_max)
    assert set(_statuses(seen, layouts.PLANNER_STATUS)) == {"optimal"}
    assert len(_statuses(seen, layouts.FIT_STATUS)) == 4  # every refit period
    statuses = [s for d in seen["diag"] for s in d.status]
    assert {s.name for s in statuses} == {layouts.PLANNER_STATUS, layouts.FIT_STATUS}
    assert {s.name.split(": ")[0] for s in statuses} == {"controller", "estimator"}
    assert {s.hardware_id for s in statuses} == {car.hardware_id} == {"racecar"}
    assert jobs["estimator"].learner.samples == 199
    assert len(seen["plan"][-1].poses) == jobs["controller"].config.horizon + 1
    steering = np.array([m.drive.steering_angle for m in seen["drive"]])
    assert steering.max() > 0.08  # feed-forward into the left-hand arcs of the oval
    jobs["sim"].destroy()


def test_controller_without_state_sends_no_command():
    params = parameters(CONFIG / "car.yaml", "oval")
    runtime, _ = build(params, use_sim=False)
    _, seen = _probe(runtime)
    runtime.spin_until(1.0)
    assert seen["drive"] == []
    assert set(_statuses(seen, layouts.PLANNER_STATUS)) == {"no recent /lane_state: no command"}


def test_controller_ignores_malformed_state_and_model():
    runtime, jobs = build(parameters(CONFIG / "car.yaml", "oval"), use_sim=False)
    probe, _ = _probe(runtime)
    lane = probe.create_publisher(msg.Float64MultiArray, "/lane_state")
    model = probe.create_publisher(msg.Float64MultiArray, "/model")
    lane.publish(msg.array([0.0, np.nan, 0.0, 0.0, 0.0], layouts.LANE_STATE))
    model.publish(msg.array(np.full(18, np.nan), layouts.MODEL))
    runtime._deliver()
    assert jobs["controller"].lane is None
    assert jobs["controller"].model is jobs["controller"].instance.model


@pytest.mark.parametrize(
    ("node", "overrides", "match"),
    [
        ("controller", {"horizon": 0}, "controller.horizon"),
        ("controller", {"sigma_eta": [0.1]}, "controller.sigma_eta"),
        ("estimator", {"bound": "magic"}, "estimator.bound: expected one of"),
        ("controller", {"horizn": 5}, r"controller: unknown parameter\(s\) \['horizn'\]"),
    ],
)
def test_bad_node_parameters_fail_at_start_up(node, overrides, match):
    params = parameters(CONFIG / "car.yaml", "oval")
    params[node] = params.get(node, {}) | overrides
    with pytest.raises(ValueError, match=match):
        build(params, use_sim=False)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_controller_uses_the_fast_formulation_by_default_and_the_generic_on_request():
    for formulation, cls in (("fast", FastRobustSLS), ("generic", RobustSLS)):
        params = parameters(CONFIG / "car.yaml", "oval")
        params["controller"] |= {"formulation": formulation}
        runtime, jobs = build(params)
        _, seen = _probe(runtime)
        runtime.spin_until(2.0)
        assert isinstance(jobs["controller"].planner.planner, cls)
        assert set(_statuses(seen, layouts.PLANNER_STATUS)) == {"optimal"}
        assert len(seen["drive"]) == 20
        jobs["sim"].destroy()
    assert ControllerConfig().formulation == "fast"


def test_learning_phase_counts_from_the_first_tick_not_from_time_zero():
    params = parameters(CONFIG / "car.yaml", "oval")
    params["controller"] |= {"learning_duration": 1.0}
    runtime = Runtime(params)
    runtime.now_ns = 10**18  # ROS time: since 1970
    controller = ControllerNode(runtime.create_node("controller"))
    runtime.spin_until(runtime.now + 0.5)
    assert controller.learning
    runtime.spin_until(runtime.now + 1.0)
    assert not controller.learning
