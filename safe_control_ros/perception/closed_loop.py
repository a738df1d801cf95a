"""Perception in the loop on the simulated car: camera -> map -> controller -> car.

The measurement is y = [e_y_hat, e_psi_hat, e_v] / state_scale: lateral offset and heading
from the map on the latest camera image, speed error measured exactly (wheel odometry).
Ground truth is only recorded, for checking.

With a `control.innovation.MeasurementGuard`, an image out of distribution (the map's
`ood_score` above the threshold) gives no measurement, and the guard decides whether the
controller may use the others (finite, innovation test) or holds its plan, then stops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..control.innovation import MeasurementGuard
from ..control.receding import RecedingHorizon
from ..sim.lane_plant import LanePlant
from .dataset import preview


@dataclass(frozen=True)
class Episode:
    """True states (N, n) and applied inputs (N, m) in controller coordinates after each
    step, the measurements (N, n) the controller was given, its statuses (N,) and whether
    each measurement was used (N,)."""

    states: np.ndarray
    inputs: np.ndarray
    measurements: np.ndarray
    statuses: list[str]
    used: np.ndarray

    @property
    def errors(self) -> np.ndarray:
        """(N, n) measurement errors y - x (controller coordinates)."""
        return self.measurements - np.vstack([self.states[:1] * np.nan, self.states[:-1]])


def measure(plant: LanePlant, perception_map) -> tuple[np.ndarray, float]:
    """y (3,) in controller coordinates from the camera image (and the track preview at
    the car's arc length, for maps that take it) and the measured speed, and the image's
    out-of-distribution score."""
    image = plant.world.camera_image()[None]
    lane = plant.world.lane_state()
    ahead = preview(plant.world.track, [lane.s])  # the track map ahead of the car
    estimate = np.asarray(perception_map.predict(image, ahead), dtype=float)[0]
    e_v = lane.e_v
    y = np.array([estimate[0], estimate[1], e_v]) / plant.state_scale
    return y, float(perception_map.ood_score(image)[0])


def run(
    plant: LanePlant,
    controller: RecedingHorizon,
    perception_map,
    steps: int,
    guard: MeasurementGuard | None = None,
    ood_threshold: float = 2.0,
) -> Episode:
    """Drive `steps` control periods from the world's current state. With a guard, images
    whose out-of-distribution score exceeds `ood_threshold` give no measurement; without
    one the controller uses every measurement (the certainty-equivalent way)."""
    states, inputs, ys, statuses, used = [], [], [], [], []
    for _ in range(steps):
        y, ood = measure(plant, perception_map)
        if guard is None:
            step = controller.step(y)
        else:
            step = guard.step(controller, y if ood <= ood_threshold else None)
            guard.applied(step.u)
        states.append(plant.apply(step.u))
        inputs.append(plant.applied.copy())
        ys.append(y)
        statuses.append(step.status)
        used.append(step.status not in ("hold", "stop", "emergency"))
    return Episode(np.array(states), np.array(inputs), np.array(ys), statuses, np.array(used))
