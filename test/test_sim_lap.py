"""The robust controller of the control core drives the PyBullet car (ground-truth state)
a lap of each track, 4 seeds each (20 under the `full` marker), without leaving the safe
set."""

import dataclasses
import warnings

import numpy as np
import pytest
from slow_groups import sizes

from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import controller_instance, input_scale
from safe_control_ros.sim.lane_plant import LanePlant
from safe_control_ros.sim.world import CarWorld

CAR_YAML = "config/car.yaml"
TRACKS = {
    "straight": {"track_lengths": (35.0,), "track_curvatures": (0.0,)},
    "oval": {},  # config/car.yaml: two straights and two half circles of radius 3 m
}


@pytest.mark.parametrize("seeds", sizes(4, 20))
@pytest.mark.parametrize("track", TRACKS)
def test_robust_controller_drives_laps_without_violations(track, seeds):
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's accuracy notes
    car = CarModelConfig.from_yaml(CAR_YAML)
    sim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), camera_period=0.0, **TRACKS[track])
    inst = controller_instance(car)
    problem = RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, tau=0.3)
    lap = 30.0 if track == "straight" else None
    with CarWorld(sim) as world:
        length = lap or world.track.length
        steps = round(length / sim.reference_speed / sim.control_period)
        for seed in range(seeds):
            world.reset(seed)
            plant = LanePlant(world, car.state_scale, input_scale(car))
            controller = RecedingHorizon(problem)
            x, states, inputs, statuses = plant.state(), [], [], []
            travelled, s = 0.0, world.lane_state().s
            for _ in range(steps):
                step = controller.step(x)
                x = plant.apply(step.u)
                states.append(x)
                inputs.append(plant.applied)
                statuses.append(step.status)
                s, last = world.lane_state().s, s
                travelled += (s - last) % world.track.length
            assert inst.safe_set.violations(np.array(states), np.array(inputs)) == 0, seed
            assert statuses.count("emergency") == 0, seed
            assert travelled == pytest.approx(length, abs=0.5), seed  # a whole lap
