"""Track geometry and the lane frame, checked against circle geometry by hand."""

import math

import numpy as np
import pytest

from safe_control_ros.sim.config import SimConfig
from safe_control_ros.sim.track import Track, wrap_angle


@pytest.fixture
def oval() -> Track:
    cfg = SimConfig()
    return Track(cfg.track_lengths, cfg.track_curvatures)


def test_wrap_angle_is_half_open():
    assert wrap_angle(math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(-math.pi) == pytest.approx(-math.pi)
    assert wrap_angle(3 * math.pi / 2) == pytest.approx(-math.pi / 2)


def test_straight_lane_frame():
    track = Track([10.0], [0.0])
    assert not track.closed
    s, e_y, e_psi = track.project(4.0, 0.3, -0.2)
    assert (s, e_y, e_psi) == pytest.approx((4.0, 0.3, -0.2))
    assert track.project(4.0, -0.3, 3.0)[1:] == pytest.approx((-0.3, 3.0))


@pytest.mark.parametrize("turn", [1.0, -1.0])
def test_arc_lane_frame_matches_circle_geometry(turn):
    """After a 5 m straight, an arc of radius R turning left (turn=1) or right (turn=-1)."""
    R, phi, offset, heading_error = 2.0, 0.9, 0.25, 0.3
    track = Track([5.0, 4.0], [0.0, turn / R])
    centre = np.array([5.0, turn * R])
    # The point 'offset' m towards the circle centre from the centreline at angle phi:
    # it lies left of the centreline for a left turn, right of it for a right turn.
    radial = np.array([math.sin(phi), -turn * math.cos(phi)])  # centre -> centreline
    x, y = centre + (R - offset) * radial
    tangent_yaw = turn * phi
    s, e_y, e_psi = track.project(x, y, tangent_yaw + heading_error)
    assert s == pytest.approx(5.0 + R * phi)
    assert e_y == pytest.approx(turn * offset)
    assert e_psi == pytest.approx(heading_error)
    assert track.curvature(s) == turn / R
    assert track.pose(s) == pytest.approx([*(centre + R * radial), tangent_yaw])


def test_oval_is_closed_and_wraps(oval):
    assert oval.closed
    assert oval.length == pytest.approx(12.0 + 6.0 * math.pi)
    assert oval.pose(oval.length + 1.0) == pytest.approx(oval.pose(1.0))
    # Just before the start line, on the last half circle (centre (0, 3), radius 3):
    s, e_y, _ = oval.project(-0.1, 0.05, 0.0)
    assert s == pytest.approx(oval.length - 3.0 * math.atan2(0.1, 2.95))
    assert e_y == pytest.approx(3.0 - math.hypot(0.1, 2.95))


def test_to_world_and_project_are_inverse(oval):
    rng = np.random.default_rng(0)
    for s, e_y, e_psi in zip(
        rng.uniform(0, oval.length, 50),
        rng.uniform(-0.5, 0.5, 50),
        rng.uniform(-1, 1, 50),
        strict=True,
    ):
        assert oval.project(*oval.to_world(s, e_y, e_psi)) == pytest.approx((s, e_y, e_psi))


def test_bad_track_rejected():
    with pytest.raises(ValueError, match="full circle"):
        Track([10.0], [1.0])
    with pytest.raises(ValueError, match="same length"):
        Track([1.0, 2.0], [0.0])
