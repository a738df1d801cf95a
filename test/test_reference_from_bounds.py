"""The controller chooses its reference from what the bounds certify
(`controller.reference_fractions`): the first fraction of x_ref with a certified plan, at
start-up and for every model it adopts. In-process, lockstep, on the simulated car."""

import dataclasses

import numpy as np
import pytest
from test_trusted_stop import LEARNED

from safe_control_ros.launcher import CONFIG, build, parameters
from safe_control_ros.nodes import model_update
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.statuses import PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

TARGET = [0.2, 0.0, 0.0]  # m: 0.2 m left of the centre line, the edge is at 0.25 m
FRACTIONS = [1.0, 0.8, 0.6, 0.4, 0.2, 0.0]


def _graph(prior: str):
    params = parameters(CONFIG / "car.yaml", "oval", prior)
    params["controller"] |= {"x_ref": TARGET, "reference_fractions": FRACTIONS}
    return build(params)


def _references(diagnostics) -> list[np.ndarray]:
    return [
        np.array([float(v) for v in kv.value.split()])
        for d in diagnostics
        for s in d.status
        if s.name == PLANNER_STATUS
        for kv in s.values
        if kv.key == "x_ref"
    ]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_reference_is_as_close_to_x_ref_as_the_prior_certifies():
    """car.yaml's calibrated prior certifies 0.08 m of the 0.2 m asked for (0.12 m and more
    stop and restart the car); the car drives there, every step planned. (The physics
    prior certifies only the lane centre: next test.)"""
    offset = 0.08
    runtime, jobs = _graph("")
    diagnostics: list = []
    runtime.create_node("probe").create_subscription(
        msg.DiagnosticArray, "/diagnostics", diagnostics.append
    )
    runtime.spin_until(10.0)
    jobs["sim"].destroy()
    controller = jobs["controller"]
    np.testing.assert_allclose(controller.x_ref * controller.state_scale, [offset, 0, 0])
    references = _references(diagnostics)
    np.testing.assert_allclose(references[-1], [offset, 0.0, 0.0], atol=1e-4)
    statuses = {s.message for d in diagnostics for s in d.status if s.name == PLANNER_STATUS}
    assert statuses == {"optimal"}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_a_tighter_model_moves_the_reference_towards_x_ref():
    """From the physics prior (the centre), a /model with car.yaml's calibrated centre and
    bounds (and the physics prior's smaller disturbance bound) is adopted and brings the
    car to 0.12 m. There the certified stop is not always certified: a third of the steps
    stop or fall back, and the car restarts (a known limit of the two-step criterion)."""
    runtime, jobs = _graph("physics")
    controller = jobs["controller"]
    calibrated = controller_instance(CarModelConfig.from_yaml(CONFIG / "car.yaml")).model
    tighter = dataclasses.replace(calibrated, sigma_w=controller.model.sigma_w)
    assert model_update.rejection(tighter, controller.model) == ""
    source = runtime.create_node("source").create_publisher(msg.UncertainModel, "/model")
    lanes: list = []
    diagnostics: list = []
    probe = runtime.create_node("probe")
    probe.create_subscription(msg.LaneState, "/lane_state", lanes.append)
    probe.create_subscription(msg.DiagnosticArray, "/diagnostics", diagnostics.append)
    runtime.spin_until(10.0)
    np.testing.assert_allclose(controller.x_ref * controller.state_scale, [0.0, 0, 0])
    source.publish(model_update.encode(10.0, tighter))
    runtime.spin_until(22.0)
    jobs["sim"].destroy()
    assert controller.model is not controller.instance.model
    np.testing.assert_allclose(controller.x_ref * controller.state_scale, [0.12, 0, 0])
    e_y = np.array([msg.lane_values(m)[1] for m in lanes])
    assert np.abs(e_y).max() <= controller.car.e_y_max
    assert np.mean(e_y[-50:]) > 0.09  # the car drives near the new reference
    statuses = [s.message for d in diagnostics for s in d.status if s.name == PLANNER_STATUS]
    assert statuses[-150:].count("optimal") >= 100  # measured 2/3; the rest stop and restart


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_steady_input_foretells_the_plans_stop_margin_and_spares_builds(monkeypatch):
    """Each fraction's stop two steps on is first checked with the model's steady input at
    the reference (no planner built): from the physics prior, asked for 0.24 m, start-up
    builds the centre's planner only. Near the decision (|margin| < 0.1) a plan's margin is
    within 0.02 of the steady one (oracle: the plan; the calibrated prior on either side of
    0, measured 0.0004; a model learned from the car, measured 0.004-0.017)."""
    built = []
    original = ControllerNode._planner
    monkeypatch.setattr(
        ControllerNode,
        "_planner",
        lambda self, model, learning, x_ref: (
            built.append(x_ref) or original(self, model, learning, x_ref)
        ),
    )
    params = parameters(CONFIG / "car.yaml", "oval", "physics")
    params["controller"] |= {"x_ref": [0.24, 0.0, 0.0], "reference_fractions": FRACTIONS}
    _, jobs = build(params)
    controller = jobs["controller"]
    assert len(built) == 1 and not np.any(built[0])
    calibrated = controller_instance(CarModelConfig.from_yaml(CONFIG / "car.yaml")).model
    for model, fraction in ((calibrated, 0.6), (calibrated, 0.4), (LEARNED, 0.3), (LEARNED, 0.1)):
        x_ref = fraction * controller.x_target
        plan = original(controller, model, False, x_ref).solve(x_ref, x_ref).plan
        assert plan is not None
        steady = controller._steady_stop_margin(model, x_ref)
        assert controller._stop_margin(model, plan) == pytest.approx(steady, abs=0.02)
    jobs["sim"].destroy()
