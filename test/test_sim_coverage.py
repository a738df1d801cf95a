"""How far the prior must widen to explain a range of plants (sim.coverage): corners of the
range, argument errors, and on the simulated car: the configured plant needs no more than
the prior, a slow drive (0.3 s speed loop) needs a wider speed row. Seeded."""

from __future__ import annotations

import numpy as np
import pytest

from safe_control_ros.launcher import CONFIG
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.coverage import coverage, main, parse_range, plant_corners


def test_plant_corners_and_ranges():
    corners = plant_corners({"mass_scale": (0.5, 1.5), "steering_time_constant": (0.0, 0.06)})
    assert len(corners) == 4 and {"mass_scale": 1.5, "steering_time_constant": 0.0} in corners
    assert plant_corners({}) == [{}]
    assert parse_range("mass_scale=0.5,1.5") == ("mass_scale", (0.5, 1.5))
    with pytest.raises(ValueError, match="--plant: expected a sim parameter"):
        parse_range("mass=0.5")
    with pytest.raises(ValueError, match="--plant mass_scale: expected numbers"):
        parse_range("mass_scale=heavy")


def test_the_configured_plant_is_covered_and_a_slow_drive_is_not():
    sim, car = (
        SimConfig.from_yaml(CONFIG / "car.yaml"),
        CarModelConfig.from_yaml(CONFIG / "car.yaml"),
    )
    nominal, slow = coverage(sim, car, [{}, {"drive_time_constant": 0.3}], duration=20.0)
    assert np.all(nominal < 1.0)
    assert slow[2] > 1.0 and np.all(slow[:2] < 1.0)  # the speed row only


def test_command_line(capsys):
    main(["--config", str(CONFIG / "car.yaml"), "--plant", "mass_scale=1", "--duration", "2"])
    out = capsys.readouterr().out
    assert "mass_scale 1" in out and "largest" in out
