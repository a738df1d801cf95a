"""Parameter sets: loading from config/car.yaml and clear errors for bad values."""

from pathlib import Path

import numpy as np
import pytest

from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import controller_instance, input_scale, safe_set

CAR_YAML = Path(__file__).resolve().parents[1] / "config" / "car.yaml"


def test_yaml_sections_load():
    sim = SimConfig.from_yaml(CAR_YAML)
    assert sim == SimConfig()  # the file states the defaults explicitly
    model = CarModelConfig.from_yaml(CAR_YAML)
    assert model.sample_time == sim.control_period
    assert model.speed == sim.reference_speed
    assert model.e_y_max < sim.lane_half_width


def test_car_model_gives_prior_and_safe_set():
    model = CarModelConfig.from_yaml(CAR_YAML)
    inst = controller_instance(model)
    prior = inst.model
    assert (prior.eps_A, prior.eps_B) == (model.eps_A0, model.eps_B0)
    np.testing.assert_array_equal(prior.sigma_w, model.sigma_w)  # per coordinate
    Dx, Du = np.array(model.state_scale), input_scale(model)
    np.testing.assert_allclose(Dx[:, None] * prior.A / Dx, np.reshape(model.prior_A, (3, 3)))
    np.testing.assert_allclose(Dx[:, None] * prior.B / Du, np.reshape(model.prior_B, (3, 2)))
    corner = np.array([model.e_y_max, -model.e_psi_max, model.e_v_max]) / Dx
    assert inst.safe_set.state.contains(corner)  # the same box, scaled
    assert not inst.safe_set.state.contains(corner * 1.01)
    box = safe_set(model)
    assert box.state.contains([model.e_y_max, -model.e_psi_max, 0.0])
    assert not box.state.contains([model.e_y_max + 1e-3, 0.0, 0.0])
    assert box.inputs.contains([0.0, model.accel_min])
    assert not box.inputs.contains([0.0, model.accel_min - 1e-3])


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"camera_width": 0}, r"sim.camera_width: expected an integer in \[8, 1024\], got 0"),
        ({"camera_width": 64.0}, r"sim.camera_width: expected an integer"),
        ({"physics_dt": -0.01}, r"sim.physics_dt: expected a number in \(0.0, 0.02\]"),
        ({"steering_time_constant": "fast"}, r"sim.steering_time_constant: expected a number"),
        ({"tyre_friction": float("nan")}, r"sim.tyre_friction: expected a number"),
        ({"seed": True}, r"sim.seed: expected an integer"),
        ({"camera_rpy": [0.0, 0.5]}, r"sim.camera_rpy: expected a list of 3 numbers"),
        ({"camera_position": [0.0, 0.0, 9.0]}, r"sim.camera_position\[2\]: expected a number"),
        ({"track_curvatures": [0.0]}, r"sim.track_curvatures: expected 4 values"),
        ({"track_lengths": [20.0], "track_curvatures": [0.5]}, r"sim.track_lengths\[0\]"),
        ({"track_lengths": [1.0], "track_curvatures": [3.0]}, r"sim.track_curvatures\[0\]"),
        ({"control_period": 0.101}, r"sim.control_period: expected a multiple of physics_dt"),
        ({"marking_width": 0.45}, r"sim.marking_width: expected less than lane_half_width"),
        ({"camera_widht": 64}, r"sim: unknown parameter\(s\) \['camera_widht'\]"),
    ],
)
def test_bad_sim_parameter_named_in_error(params, message):
    with pytest.raises(ValueError, match=message):
        SimConfig.from_dict(params)


def test_car_model_requires_measured_bounds():
    prior = {"prior_A": [1.0] * 9, "prior_B": [0.0] * 6}
    with pytest.raises(ValueError, match=r"missing required parameter\(s\) \['sigma_w'\]"):
        CarModelConfig.from_dict(prior | {"eps_A0": 0.1, "eps_B0": 0.1})
    with pytest.raises(ValueError, match=r"car_model.eps_B0: expected a number in \[0.0, inf\]"):
        CarModelConfig.from_dict(prior | {"eps_A0": 0.1, "eps_B0": -0.1, "sigma_w": 0.01})
    with pytest.raises(ValueError, match=r"car_model.prior_B: expected a list of 6 numbers"):
        bounds = {"eps_A0": 0.1, "eps_B0": 0.1, "sigma_w": 0.01}
        CarModelConfig.from_dict(prior | bounds | {"prior_B": [0.0] * 5})


def test_yaml_without_section_rejected(tmp_path):
    path = tmp_path / "other.yaml"
    path.write_text("controller:\n  ros__parameters: {}\n")
    with pytest.raises(ValueError, match="expected sim parameters in 'sim: ros__parameters:'"):
        SimConfig.from_yaml(path)
