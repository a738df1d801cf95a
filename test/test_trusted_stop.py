"""The certified stop under every trusted model (control.stop.TrustedStops): a model learned
from the car's lane keeping fits a heading that drifts under full braking (a centre fitted
near zero acceleration, extrapolated to accel_min), so its own stop certifies only close to
the lane centre; the prior, with which the model is consistent, still certifies it. The
controller takes the better certificate and keeps driving on the learned model, where it
stopped and restarted every second or two with the learned model's stop alone."""

import numpy as np
import pytest
from test_fault_model import ModelSender
from test_fault_solver import Probe, violations

from safe_control_ros.control.model import UncertainModel
from safe_control_ros.control.stop import Braking, TrustedStops
from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes import controller_node, model_update
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.nodes.statuses import MODEL_STATUS
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import blind_stop, trusted_stop

PARAMS = parameters(CONFIG / "car.yaml", "oval", "physics")
CAR = CarModelConfig(**{k.removeprefix("car_model."): v for k, v in PARAMS["/**"].items()})
# The model the estimator published at 100 s of learning from the physics prior (row-wise
# bootstrap merged with the prior; controller coordinates; `safe-control-demo --learning 300`)
LEARNED = UncertainModel.row_wise(
    A=[[0.9957, 0.4412, -0.0161], [-0.0655, 1.0801, -0.0605], [-0.0149, -0.0194, 0.9598]],
    B=[[0.0146, -0.0059], [0.0925, -0.0229], [-0.0080, 0.5050]],
    eps_A_rows=[0.0277, 0.0965, 0.0377],
    eps_B_rows=[0.0083, 0.0307, 0.0147],
    sigma_w=[0.0128, 0.0493, 0.0351],
)
NEAR_CENTRE = (np.zeros(3), np.full(3, 0.05))  # controller units


def test_the_learned_centre_alone_does_not_certify_what_the_prior_does():
    alone = blind_stop(CAR, LEARNED).certify(*NEAR_CENTRE, CAR.speed)
    prior = blind_stop(CAR).certify(*NEAR_CENTRE, CAR.speed)
    assert alone.margin < 0 <= prior.margin
    both = trusted_stop(CAR, LEARNED).certify(*NEAR_CENTRE, CAR.speed)
    assert both.margin == prior.margin
    np.testing.assert_array_equal(both.tube, prior.tube)


def test_trusted_stops_need_one_braking_and_one_input():
    stop = blind_stop(CAR)
    with pytest.raises(ValueError, match="stops: expected at least one stop"):
        TrustedStops([])
    other = blind_stop(CAR, LEARNED)
    other.braking = Braking(2.0, 0.1, 2.5, 3.5)
    with pytest.raises(ValueError, match="same braking"):
        TrustedStops([stop, other])
    other = blind_stop(CAR, LEARNED)
    other.u_stop = np.zeros(2)
    with pytest.raises(ValueError, match="same u_stop"):
        TrustedStops([stop, other])


def _drive_after_update(duration: float = 16.0) -> Probe:
    """Sim and controller from the physics prior; LEARNED arrives on /model at 1 s."""
    runtime = Runtime({node: dict(values) for node, values in PARAMS.items()})
    sim = SimNode(runtime.create_node("sim"))
    ModelSender(runtime.create_node("estimator"), {1.0: model_update.encode(1.0, LEARNED)})
    ControllerNode(runtime.create_node("controller"))
    probe = Probe(runtime.create_node("probe"))
    try:
        runtime.spin_until(duration)
    finally:
        sim.destroy()
    return probe


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("trusted", [True, False])
def test_the_car_keeps_driving_on_the_learned_model(trusted, monkeypatch):
    if not trusted:  # the learned model's own stop only: what the controller did before
        monkeypatch.setattr(controller_node, "trusted_stop", blind_stop)
    probe = _drive_after_update()
    assert "model accepted" in {message for _, _, message, _ in probe.diags[MODEL_STATUS]}
    ticks = probe.controller().items()
    stops = [tick for tick, (_, message, _) in ticks if tick > 20 and message != "optimal"]
    lanes = np.array(probe.lanes)
    assert np.all(np.abs(lanes[:, 1:3]) <= [CAR.e_y_max, CAR.e_psi_max])
    if trusted:
        assert violations(lanes, CAR) == 0
        assert not stops
    else:
        assert stops
