"""Perception in the loop on the simulated car: camera -> map -> controller -> car.

The measurement is y = [e_y_hat, e_psi_hat, e_v] / state_scale: lateral offset and heading
from the map on the latest camera image, speed error measured exactly (wheel odometry).
Ground truth is only recorded, for checking.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..control.receding import RecedingHorizon
from ..sim.lane_plant import LanePlant


@dataclass(frozen=True)
class Episode:
    """True states (N, n) and applied inputs (N, m) in controller coordinates after each
    step, the measurements (N, n) the controller saw, and its statuses (N,)."""

    states: np.ndarray
    inputs: np.ndarray
    measurements: np.ndarray
    statuses: list[str]

    @property
    def errors(self) -> np.ndarray:
        """(N, n) measurement errors y - x (controller coordinates)."""
        return self.measurements - np.vstack([self.states[:1] * np.nan, self.states[:-1]])


def measure(plant: LanePlant, predict) -> np.ndarray:
    """y (3,) in controller coordinates from the camera image and the measured speed."""
    estimate = np.asarray(predict(plant.world.camera_image()[None]), dtype=float)[0]
    e_v = plant.world.lane_state().e_v
    return np.array([estimate[0], estimate[1], e_v]) / plant.state_scale


def run(plant: LanePlant, controller: RecedingHorizon, predict, steps: int) -> Episode:
    """Drive `steps` control periods from the world's current state."""
    states, inputs, ys, statuses = [], [], [], []
    for _ in range(steps):
        y = measure(plant, predict)
        step = controller.step(y)
        states.append(plant.apply(step.u))
        inputs.append(plant.applied.copy())
        ys.append(y)
        statuses.append(step.status)
    return Episode(np.array(states), np.array(inputs), np.array(ys), statuses)
