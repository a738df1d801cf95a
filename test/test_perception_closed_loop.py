"""The learned map in the loop on the PyBullet car (camera on; ground truth only checks).

The kernel map's calibrated bound (about 0.1 m and 0.25-0.3 rad, from the rare images
where a curve ahead looks like a heading error) is far larger than what the robust
measurement controller can absorb (about 0.004 m and 0.01 rad, see
test_perception_measurement): the robust controller reports that its problem is infeasible
and refuses to drive on this map. The certainty-equivalent controller drives on it; it
stays in the lane in nominal conditions (observed over 20 seeds per track, not certified)
and leaves it under dim lighting, on images whose out-of-distribution score the perception
node flags as invalid.
"""

import dataclasses
import warnings

import numpy as np
import pytest

from safe_control_ros.control.measurement import MeasurementRobustSLS, certainty_equivalent
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.perception.calibration import calibrate
from safe_control_ros.perception.closed_loop import run
from safe_control_ros.perception.dataset import Dataset, Region, generate
from safe_control_ros.perception.maps import KernelMap
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import controller_instance, input_scale
from safe_control_ros.sim.lane_plant import LanePlant
from safe_control_ros.sim.world import CarWorld

CAR_YAML = "config/car.yaml"
REGION = Region(0.2, 0.2)
STRAIGHT = {"track_lengths": (35.0,), "track_curvatures": (0.0,)}
TRACKS = {"straight": STRAIGHT, "oval": {}}
DIM = {"light_ambient": 0.15, "light_diffuse": 0.15, "pixel_noise_std": 10.0}
STEPS = 40  # 4 s, 6 m per episode
OOD_THRESHOLD = 2.0  # the perception node's default


@pytest.fixture(autouse=True)
def _quiet():
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's accuracy notes


@pytest.fixture(scope="module")
def learned():
    """Kernel map on 800 oval + 200 straight images (R scaled by 1.25), its bound from 300
    held-out images."""
    sim = SimConfig.from_yaml(CAR_YAML)
    straight = dataclasses.replace(sim, **STRAIGHT)
    train = Dataset.concatenate(
        [
            generate(sim, REGION, 800, seed=1, scale=1.25, progress=False),
            generate(straight, REGION, 200, seed=2, scale=1.25, s_max=30.0, progress=False),
        ]
    )
    heldout = generate(sim, REGION, 300, seed=3, progress=False)
    fit, val = train.split(0.85)
    kernel = KernelMap.fit(fit, val, progress=False)
    return kernel, calibrate(kernel.predict, heldout, REGION)


def _setup():
    car = CarModelConfig.from_yaml(CAR_YAML)
    return car, controller_instance(car)


def _robust(learned):
    car, inst = _setup()
    _, bound = learned
    scale = np.asarray(car.state_scale)
    eps_e = np.array([*bound.eps, 0.0]) / scale
    region = np.array([REGION.e_y_max, REGION.e_psi_max, np.inf]) / scale
    return MeasurementRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, horizon=5, eps_e=eps_e, region=region, tau=0.3
    )


def test_robust_controller_refuses_the_learned_bound(learned):
    _, bound = learned
    print("calibrated eps_e (m, rad):", bound.eps)
    with pytest.raises(ValueError, match="empty"):
        _robust(learned)


def _drive(track, predict, seeds, **sim_overrides):
    car, inst = _setup()
    sim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), **TRACKS[track], **sim_overrides)
    problem = certainty_equivalent(inst.model, inst.safe_set, inst.Q, inst.R, horizon=5)
    violations, worst = [], 0.0
    with CarWorld(sim) as world:
        for seed in seeds:
            world.reset(seed, s=1.5 * seed % min(world.track.length, 25.0))
            plant = LanePlant(world, car.state_scale, input_scale(car))
            episode = run(plant, RecedingHorizon(problem), predict, STEPS)
            violations.append(inst.safe_set.violations(episode.states, episode.inputs))
            worst = max(worst, float(np.abs(episode.states[:, 0]).max()))
    return violations, worst


@pytest.mark.parametrize("track", TRACKS)
def test_certainty_equivalent_drives_on_the_learned_map_in_nominal_light(learned, track):
    kernel, _ = learned
    violations, worst = _drive(track, kernel.predict, range(20))
    print(track, "violations per episode", violations, "max |e_y| / e_y_max", worst)
    assert sum(violations) == 0


def test_dim_light_makes_certainty_equivalent_leave_the_lane(learned):
    kernel, _ = learned
    violations, worst = _drive("oval", kernel.predict, range(6), **DIM)
    print("dim light: violations per episode", violations, "max |e_y| / e_y_max", worst)
    assert sum(violations) > 0
    # ... on images the out-of-distribution score flags (the perception node's valid = 0)
    dim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), **DIM)
    images = generate(dim, REGION, 20, seed=4, progress=False).images
    assert np.all(kernel.ood_score(images) > OOD_THRESHOLD)
