"""A plant the trusted model does not describe: the controller's consistency test finds
that its recorded transitions are explained by no system in the model's ball, reports it at
ERROR and stops the car with the certified stop, for good; a /model that does not explain
the transitions is not adopted. The nominal car is never flagged. In-process, lockstep,
seeded."""

from __future__ import annotations

import numpy as np
import pytest
from test_fault_model import PRIOR, TIGHTER, ModelSender, _with
from test_fault_solver import CAR, STANDING, drive, violations

from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes.statuses import MODEL_STATUS
from safe_control_ros.runtime import messages as msg


def _params(controller=None, **sim):
    params = parameters(CONFIG / "car.yaml", "oval")
    params["sim"].update(sim)
    params["controller"].update(controller or {})
    return params


def test_nominal_car_is_consistent():
    controller, probe = drive(duration=20.0)
    statuses = {step[1] for step in probe.controller().values()}
    assert statuses == {"optimal"}
    assert not controller.mismatch
    check = controller._consistency(controller.model, controller._window_data())
    assert check.samples == controller.window.maxlen  # the test ran on a full window
    assert check.ratio.max() < 0.5, check.describe()


def test_slow_steering_is_detected_and_stops_the_car():
    """Steering servo lag 0.2 s (0.03 s in the model's data): flagged within 6 s; the stop
    brings the car to rest in its lane and keeps it there; a tighter /model that does not
    explain the transitions is rejected."""

    def sender(runtime):
        ModelSender(runtime.create_node("model_sender"), {8.0: _with(**TIGHTER)})

    controller, probe = drive(
        duration=14.0, params=_params(steering_time_constant=0.2), between=sender
    )
    ticks = probe.controller()
    flagged = min(k for k, (_, _, values) in ticks.items() if "mismatch" in values["reason"])
    assert flagged * 0.1 <= 6.0
    assert controller.mismatch.startswith("model mismatch: residual / allowance")
    after = [ticks[k] for k in ticks if k >= flagged]
    assert all(level == msg.ERROR and message == "stop" for level, message, _ in after)
    models = probe.diags[MODEL_STATUS]
    assert models[0][1:3] == (msg.ERROR, controller.mismatch)
    assert "does not explain the transitions" in models[-1][2]
    assert controller.model is not None and controller.model.eps_A == PRIOR.eps_A
    lanes = np.array(probe.lanes)
    braking = np.arange(len(lanes)) >= flagged - 1  # lane states from t = 0.1 s
    assert violations(lanes, speed_floor=braking) == 0
    assert np.all(np.abs(CAR.speed + lanes[-10:, 3]) <= STANDING)
    assert all(d.drive.speed == 0.0 for d in probe.drives[-10:])


def test_a_window_of_zero_switches_the_test_off():
    controller, probe = drive(
        duration=8.0, params=_params({"consistency_window": 0.0}, steering_time_constant=0.2)
    )
    assert not controller.mismatch
    assert {step[1] for step in probe.controller().values()} == {"optimal"}


PRIOR_ROWS, COVERING_ROWS = (1.0, 1.0, 1.0), (1.0, 1.0, 7.5)  # car_model.eps_*_row_scale


UNIFORM = {"excitation": "uniform", "excitation_hold": [1.0, 1.0]}  # i.i.d. in the box
SIGN = {"excitation": "sign", "excitation_hold": [10.0, 1.0]}  # car.yaml's


@pytest.mark.parametrize(
    ("rows", "excitation", "kind", "flagged"),
    [
        (PRIOR_ROWS, (0.02, 0.05), UNIFORM, False),
        (PRIOR_ROWS, (0.02, 0.3), UNIFORM, True),
        (COVERING_ROWS, (0.02, 0.3), UNIFORM, False),
        (COVERING_ROWS, (0.05, 0.5), UNIFORM, True),
        (PRIOR_ROWS, (0.02, 0.05), SIGN, False),
        (PRIOR_ROWS, (0.02, 0.3), SIGN, True),
    ],
    ids=["prior-small", "prior", "covering", "covering-large", "sign-small", "sign"],
)
def test_a_light_car_refutes_the_prior_and_not_the_covering_one(rows, excitation, kind, flagged):
    """mass_scale 0.5, 25 s with excitation (rad, m/s^2). With (0.02, 0.3) i.i.d. uniform
    the configured prior is refuted on its speed row, the prior whose speed row is 7.5 times
    wider (what sim.coverage measures for mass_scale 0.5-1.5 at its i.i.d. excitation) is
    not and plans at every step. With little excitation the data do not refute the prior;
    with much more they refute the wider one too (its scale holds for the data it was
    measured on). car.yaml's sign samples refute the prior in 2.3 s (uniform: 21 s)."""
    controller_params = {"learning_duration": 25.0, "sigma_eta": list(excitation)} | kind
    params = _params(controller_params, mass_scale=0.5)
    params["/**"]["car_model.eps_A_row_scale"] = list(rows)
    params["/**"]["car_model.eps_B_row_scale"] = list(rows)
    controller, probe = drive(duration=25.0, params=params)
    assert bool(controller.mismatch) == flagged
    statuses = {step[1] for step in probe.controller().values()}
    assert statuses == ({"optimal", "stop"} if flagged else {"optimal"})
    if flagged:
        ratios = controller.mismatch.split("(")[1].split(")")[0].split(", ")
        assert float(ratios[2]) > 1 and max(map(float, ratios[:2])) <= 1  # the speed row
        ticks = probe.controller()
        first = min(k for k, (_, _, values) in ticks.items() if "mismatch" in values["reason"])
        assert first * 0.1 <= (5.0 if kind is SIGN else 25.0)
    else:
        assert violations(np.array(probe.lanes)) == 0
