"""The learned map in the loop on the PyBullet car (camera on; ground truth only checks).

The shipped calibrated CNN (maps/cnn_preview.npz: image and track preview; its training
and calibration are tested in test_perception_maps) gives the measurement; the
robust output-feedback SLS (control.measurement) plans with the map's calibrated bound and
keeps the true state inside the safe set and the region R the bound holds in. Measurements
pass the guard (finite, in distribution, innovation test) or the controller holds its
last plan and then brakes. Stress: dim light. The certainty-equivalent controller, which
uses every measurement as the state, leaves the lane; the guarded robust one sees the
images flagged out of distribution, holds, brakes to a stop and stays in the lane.
"""

import dataclasses
import functools
import warnings

import numpy as np
import pytest
from slow_groups import sizes

from safe_control_ros.control.innovation import InnovationTest, MeasurementGuard
from safe_control_ros.control.measurement import certainty_equivalent, robust_output_feedback
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.perception.calibration import calibrate, check
from safe_control_ros.perception.closed_loop import run
from safe_control_ros.perception.dataset import Region, generate
from safe_control_ros.perception.maps import load_map
from safe_control_ros.sim.config import CarModelConfig, SimConfig
from safe_control_ros.sim.lane_model import blind_stop, controller_instance, input_scale
from safe_control_ros.sim.lane_plant import LanePlant
from safe_control_ros.sim.world import CarWorld

CAR_YAML = "config/car.yaml"
MAP = "maps/cnn_preview.npz"
REGION = Region(0.12, 0.12)  # m, rad: the map's training region 0.1 x 0.1, widened
HORIZON = 3  # the tube of a longer horizon does not fit in REGION
STRAIGHT = {"track_lengths": (35.0,), "track_curvatures": (0.0,)}
TRACKS = {"straight": STRAIGHT, "oval": {}}
DIM = {"light_ambient": 0.15, "light_diffuse": 0.15, "pixel_noise_std": 10.0}
STEPS = 40  # 4 s, 6 m per episode
OOD_THRESHOLD = 2.0  # the perception node's default
HOLD_STEPS = 3
TAU = 0.0  # the configured constant mismatch budget


@pytest.fixture(autouse=True)
def _quiet():
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's accuracy notes


@pytest.fixture(scope="module")
def learned():
    import torch

    torch.set_num_threads(1)
    sim = SimConfig.from_yaml(CAR_YAML)
    cnn = load_map(MAP, camera=sim)
    heldout = generate(sim, REGION, 2000, seed=501, near_changes=0.3, progress=False)
    bound = calibrate(cnn.predict, heldout, REGION)
    fresh = generate(sim, REGION, 2000, seed=502, near_changes=0.3, progress=False)
    return cnn, bound, check(cnn.predict, bound, fresh)


@pytest.fixture(scope="module")
def setup():
    car = CarModelConfig.from_yaml(CAR_YAML)
    return car, controller_instance(car)


def _robust(setup, bound):
    car, inst = setup
    scale = np.asarray(car.state_scale)
    eps_e = np.array([*bound.eps, 0.0]) / scale
    region = np.array([REGION.e_y_max, REGION.e_psi_max, np.inf]) / scale
    problem = robust_output_feedback(
        inst.model, inst.safe_set, inst.Q, inst.R, HORIZON, eps_e, region, fast=True, tau=TAU
    )
    return problem, eps_e


def _guard(problem, eps_e):
    innovation = InnovationTest(problem.model, problem.safe_set, eps_e)
    return MeasurementGuard(innovation, HOLD_STEPS)


def _drive(setup, track, cnn, problem, guard_of, seeds, **sim_overrides):
    """Episodes from seeded starts; per episode (violations, lane violations, statuses,
    max |x| per coordinate)."""
    car, inst = setup
    sim = dataclasses.replace(SimConfig.from_yaml(CAR_YAML), **TRACKS[track], **sim_overrides)
    scale = np.asarray(car.state_scale[:2])
    lane = np.array([car.e_y_max, car.e_psi_max]) / scale  # the safe set's lane rows
    results = []
    with CarWorld(sim) as world:
        for seed in seeds:
            world.reset(seed, s=1.5 * seed % min(world.track.length, 25.0))
            plant = LanePlant(world, car.state_scale, input_scale(car))
            guard = None if guard_of is None else guard_of()
            controller = (  # robust: with the car's certified stop; CE: as it is
                RecedingHorizon(problem)
                if guard is None
                else RecedingHorizon(problem, stop=blind_stop(car), eps_e=guard.innovation.eps_e)
            )
            episode = run(plant, controller, cnn, STEPS, guard, OOD_THRESHOLD)
            lane_ok = np.abs(episode.states[:, :2]) <= lane
            results.append(
                (
                    inst.safe_set.violations(episode.states, episode.inputs),
                    int(np.sum(~lane_ok.all(axis=1))),
                    episode.statuses,
                    np.abs(episode.states).max(axis=0),
                )
            )
    return results


def test_the_learned_bound_is_one_the_robust_controller_can_work_with(learned, setup):
    _, bound, coverage = learned
    problem, eps_e = _robust(setup, bound)
    print("eps_e (m, rad) on R:", bound.eps, "controller units:", eps_e, coverage)
    assert problem.solve(np.zeros(3)).status == "optimal"
    assert np.all(coverage.coverage >= 0.99)


@pytest.mark.parametrize("episodes", sizes(8, 20))
@pytest.mark.parametrize("track", TRACKS)
def test_robust_output_feedback_on_the_learned_map_is_safe(learned, setup, track, episodes):
    cnn, bound, _ = learned
    problem, eps_e = _robust(setup, bound)
    region = np.array([REGION.e_y_max, REGION.e_psi_max]) / np.asarray(setup[0].state_scale[:2])
    guard = functools.partial(_guard, problem, eps_e)
    results = _drive(setup, track, cnn, problem, guard, range(episodes))
    statuses = [s for r in results for s in r[2]]
    worst = np.max([r[3] for r in results], axis=0)
    print(track, {s: statuses.count(s) for s in sorted(set(statuses))}, "max |x|:", worst)
    assert sum(r[0] for r in results) == 0
    assert np.all(worst[:2] <= region)  # inside R, where the bound holds
    assert statuses.count("stop") == statuses.count("emergency") == 0


def test_dim_light_ce_leaves_the_lane_and_robust_stops_in_it(learned, setup):
    cnn, bound, _ = learned
    _, inst = setup
    problem, eps_e = _robust(setup, bound)
    ce = certainty_equivalent(inst.model, inst.safe_set, inst.Q, inst.R, HORIZON)
    seeds = range(6)
    blind = _drive(setup, "oval", cnn, ce, None, seeds, **DIM)
    guarded = _drive(setup, "oval", cnn, problem, lambda: _guard(problem, eps_e), seeds, **DIM)
    print(
        "dim light, lane violations: ce", [r[1] for r in blind], "robust", [r[1] for r in guarded]
    )
    assert sum(r[1] for r in blind) > 0
    assert sum(r[1] for r in guarded) == 0
    # no image is usable from the start: no state to certify a stop from ("emergency"), the
    # car brakes straight on all the same
    assert all(r[2][-1] in ("stop", "emergency") for r in guarded)
