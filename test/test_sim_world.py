"""The PyBullet car world: determinism, camera geometry, ground truth, commands, watchdog."""

import dataclasses
import math

import numpy as np
import pytest

from safe_control_ros.sim.config import SimConfig
from safe_control_ros.sim.world import CarWorld

STRAIGHT = dataclasses.replace(SimConfig(), track_lengths=(30.0,), track_curvatures=(0.0,))


@pytest.fixture
def world():
    with CarWorld() as w:
        yield w


def drive(world: CarWorld, seed: int, steps: int = 15):
    """Reset with `seed`, drive a fixed weaving command; return states and camera images."""
    world.reset(seed)
    camera = world.config.camera_period > 0
    states, images = [], [world.camera_image()] if camera else []
    for k in range(steps):
        world.command(0.1 * math.sin(0.5 * k), 0.3 * math.cos(0.3 * k))
        world.step(world.config.control_period)
        pose = world.pose()
        states.append([pose.x, pose.y, pose.yaw, pose.speed, *world.lane_state().x])
        if camera:
            images.append(world.camera_image())
    return np.array(states), np.array(images)


def test_same_seed_reproduces_trajectory_and_images_bit_for_bit(world):
    states, images = drive(world, seed=3)
    again = drive(world, seed=3)  # same world, reset
    with CarWorld() as fresh:
        other = drive(fresh, seed=3)  # a separate pybullet client
    for run in (again, other):
        assert np.array_equal(run[0], states)
        assert np.array_equal(run[1], images)
    assert images.shape == (16, 64, 64, 3) and images.dtype == np.uint8


def test_different_seed_changes_trajectory_and_images(world):
    states, images = drive(world, seed=3)
    states_4, images_4 = drive(world, seed=4)
    assert not np.array_equal(states, states_4)
    assert not np.array_equal(images, images_4)


def test_camera_off_does_not_change_trajectory(world):
    states, _ = drive(world, seed=5)
    with CarWorld(dataclasses.replace(SimConfig(), camera_period=0.0)) as blind:
        assert np.array_equal(drive(blind, seed=5)[0], states)
        with pytest.raises(RuntimeError, match="camera is off"):
            blind.camera_image()


def marking_columns(image: np.ndarray, row: int) -> tuple[float, float]:
    """Mean column of the bright (lane-marking) pixels in `row`, left and right of centre."""
    cols = np.flatnonzero(image[row].mean(axis=1) > 170)
    half = image.shape[1] / 2
    return cols[cols < half].mean(), cols[cols >= half].mean()


def test_lane_markings_move_right_in_the_image_when_the_car_moves_left():
    """Both edge lines are seen in one image row; shifting the car left (e_y > 0) moves them
    right in the image, and a centred car sees them symmetric about the image centre."""
    with CarWorld(STRAIGHT) as world:
        columns = {}
        for e_y in (-0.1, 0.0, 0.1):
            world.reset(s=2.0, e_y=e_y)
            columns[e_y] = marking_columns(world.camera_image(), row=30)
    (left_r, right_r), (left_c, right_c), (left_l, right_l) = (
        columns[-0.1],
        columns[0.0],
        columns[0.1],
    )
    assert left_r + 3 < left_c < left_l - 3
    assert right_r + 3 < right_c < right_l - 3
    assert (left_c + right_c) / 2 == pytest.approx(31.5, abs=1.5)


def test_lane_state_on_the_arc_matches_circle_geometry(world):
    """Oval: a 6 m straight, then a left half circle of radius 3 m centred at (6, 3)."""
    phi, e_y, e_psi = 0.7, 0.2, -0.15
    s = 6.0 + 3.0 * phi
    world.reset(s=s, e_y=e_y, e_psi=e_psi, speed=0.0)
    radius = 3.0 - e_y  # left of the centreline = towards the centre on a left turn
    pose = world.pose()
    assert (pose.x, pose.y) == pytest.approx(
        (6.0 + radius * math.sin(phi), 3.0 - radius * math.cos(phi)), abs=1e-6
    )
    assert pose.yaw == pytest.approx(phi + e_psi, abs=1e-6)
    lane = world.lane_state()
    assert (lane.s, lane.e_y, lane.e_psi) == pytest.approx((s, e_y, e_psi), abs=1e-6)
    assert lane.curvature == pytest.approx(1 / 3)
    assert lane.e_v == pytest.approx(-world.config.reference_speed)


def test_car_follows_bicycle_kinematics_and_rep103_signs():
    with CarWorld(STRAIGHT) as world:
        assert world.wheelbase == pytest.approx(0.325)
        world.reset(s=1.0)
        for _ in range(10):
            world.command(0.1, 0.0)  # > 0 steers left: yaw and y grow
            world.step(0.1)
        pose = world.pose()
        assert pose.y > 0.1 and pose.speed == pytest.approx(1.5, abs=0.05)
        yaw_rate = 1.5 * math.tan(0.1) / 0.325
        assert pose.yaw == pytest.approx(yaw_rate * 1.0, rel=0.15)
        for _ in range(5):
            world.command(0.0, 1.0)
            world.step(0.1)
        assert world.pose().speed == pytest.approx(2.0, abs=0.1)


def test_saturation_and_rejection_counted(world):
    assert "saturated" in world.command(1.0, 5.0)
    assert world.applied_command == (0.35, 2.0)
    assert world.command(0.1, math.nan).startswith("rejected")
    assert world.applied_command == (0.35, 2.0)
    world.step(0.1)
    assert world.command(0.1, 0.0) == ""
    stats = world.stats
    assert (stats.accepted, stats.saturated, stats.rejected) == (2, 1, 1)
    world.reset()
    assert world.stats.accepted == 0


def test_watchdog_brakes_the_car_to_a_stop():
    with CarWorld(STRAIGHT) as world:
        world.command(0.0, 0.0)
        world.step(0.5)
        assert not world.watchdog_tripped and world.pose().speed > 1.4
        world.step(0.1)
        assert world.watchdog_tripped
        world.step(1.0)  # 1.5 m/s at 3 m/s^2: stopped after 0.5 s
        assert abs(world.pose().speed) < 0.02
        x = world.pose().x
        world.step(1.0)
        assert world.pose().x == pytest.approx(x, abs=0.01)  # and held
        world.command(0.0, 1.0)
        assert not world.watchdog_tripped


def test_step_duration_must_be_a_multiple_of_physics_dt(world):
    with pytest.raises(ValueError, match="duration: expected a non-negative multiple"):
        world.step(0.001)
    world.step(0.0)
    assert world.time == 0.0
