"""Track centreline of piecewise-constant curvature, parametrised by arc length, and the lane
frame.

REP-103 axes: x forward, y left, z up; yaw counter-clockwise from +x. Lane frame of a pose:
s (m) arc length of the nearest centreline point, e_y (m) signed distance from it, positive
to the left of the centreline, e_psi (rad) = yaw - centreline yaw at s, wrapped to [-pi, pi).
"""

from __future__ import annotations

import math

import numpy as np

TWO_PI = 2.0 * math.pi


def wrap_angle(angle):
    """Angle(s) in rad wrapped to [-pi, pi)."""
    return (np.asarray(angle) + math.pi) % TWO_PI - math.pi


def _advance(start: np.ndarray, curvature, sigma):
    """Poses (..., 3) = (x, y, yaw) at arc length sigma (...) along a constant-curvature arc.

    Exact chord form, valid for straight lines too: the chord of length sigma * sinc(k sigma / 2)
    points along the mean heading yaw0 + k sigma / 2.
    """
    half_turn = curvature * sigma / 2.0
    chord = sigma * np.sinc(half_turn / math.pi)  # np.sinc(x) = sin(pi x) / (pi x)
    mid = start[2] + half_turn
    return np.stack(
        [start[0] + chord * np.cos(mid), start[1] + chord * np.sin(mid), start[2] + 2 * half_turn],
        axis=-1,
    )


class Track:
    """A centreline from the origin heading +x: segment i is `lengths[i]` m long with constant
    curvature `curvatures[i]` 1/m (> 0 turns left, 0 is straight).

    A track whose end pose equals its start pose is closed: s then wraps modulo `length`.
    Each arc must turn less than a full circle (projection onto it is then unique).
    """

    def __init__(self, lengths, curvatures) -> None:
        self.lengths = np.asarray(lengths, dtype=float)
        self.curvatures = np.asarray(curvatures, dtype=float)
        if self.lengths.ndim != 1 or self.lengths.shape != self.curvatures.shape:
            raise ValueError("lengths, curvatures: expected two vectors of the same length")
        if not (np.all(self.lengths > 0) and np.all(np.isfinite(self.curvatures))):
            raise ValueError("lengths: expected positive numbers; curvatures: finite numbers")
        if np.any(np.abs(self.curvatures) * self.lengths >= TWO_PI):
            raise ValueError("lengths: expected each arc to turn less than a full circle")
        self.starts = np.concatenate([[0.0], np.cumsum(self.lengths)[:-1]])  # m, (k,)
        self.length = float(self.lengths.sum())  # m
        poses = [np.zeros(3)]
        for length, kappa in zip(self.lengths, self.curvatures, strict=True):
            poses.append(_advance(poses[-1], kappa, length))
        self._start_poses = np.array(poses[:-1])  # (k, 3)
        end = poses[-1]
        self.closed = bool(np.hypot(end[0], end[1]) < 1e-6 and abs(wrap_angle(end[2])) < 1e-6)

    def _normalise(self, s):
        s = np.asarray(s, dtype=float)
        return s % self.length if self.closed else np.clip(s, 0.0, self.length)

    def _segment(self, s: np.ndarray) -> np.ndarray:
        return np.clip(np.searchsorted(self.starts, s, side="right") - 1, 0, self.lengths.size - 1)

    def curvature(self, s):
        """Centreline curvature (1/m) at arc length(s) s (m)."""
        return self.curvatures[self._segment(self._normalise(s))]

    def pose(self, s) -> np.ndarray:
        """Centreline poses (..., 3) = (x m, y m, yaw rad) at arc length(s) s (...) m; yaw
        accumulates along the track (not wrapped)."""
        s = self._normalise(s)
        i = self._segment(s)
        return _advance(self._start_poses[i].T, self.curvatures[i], s - self.starts[i])

    def to_world(self, s: float, e_y: float, e_psi: float) -> np.ndarray:
        """World pose (3,) = (x, y, yaw) of the lane-frame pose (s, e_y, e_psi)."""
        x, y, yaw = self.pose(s)
        return np.array([x - e_y * math.sin(yaw), y + e_y * math.cos(yaw), yaw + e_psi])

    def project(self, x: float, y: float, yaw: float) -> tuple[float, float, float]:
        """Lane-frame pose (s m, e_y m, e_psi rad) of the world pose (x, y, yaw)."""
        q = np.array([x, y])
        best = (math.inf, 0.0, 0)
        for i, (start, kappa, length) in enumerate(
            zip(self._start_poses, self.curvatures, self.lengths, strict=True)
        ):
            sigma = _closest_on_segment(q, start, kappa, length)
            distance = float(np.hypot(*(q - _advance(start, kappa, sigma)[:2])))
            if distance < best[0]:
                best = (distance, sigma, i)
        _, sigma, i = best
        cx, cy, cyaw = _advance(self._start_poses[i], self.curvatures[i], sigma)
        e_y = -(x - cx) * math.sin(cyaw) + (y - cy) * math.cos(cyaw)
        s = float(self._normalise(self.starts[i] + sigma))
        return s, float(e_y), float(wrap_angle(yaw - cyaw))


def _closest_on_segment(q: np.ndarray, start: np.ndarray, kappa: float, length: float) -> float:
    """Arc length in [0, length] of the segment point closest to the point q (2,)."""
    heading = np.array([math.cos(start[2]), math.sin(start[2])])
    if kappa == 0.0:
        return float(np.clip((q - start[:2]) @ heading, 0.0, length))
    left = np.array([-heading[1], heading[0]])
    d = q - (start[:2] + left / kappa)  # from the circle centre
    sign = math.copysign(1.0, kappa)
    yaw = math.atan2(sign * d[0], -sign * d[1])  # heading at the nearest circle point
    mid_turn = kappa * length / 2.0
    turn = float(wrap_angle(yaw - start[2] - mid_turn)) + mid_turn
    return float(np.clip(turn / kappa, 0.0, length))
