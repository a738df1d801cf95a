"""The simulated car as a plant in the controller's coordinates (x / state_scale,
u / input_scale), for the algorithm layer's loops (`control.loop.Plant`)."""

from __future__ import annotations

import numpy as np

from .model_error import command_relative
from .world import CarWorld


class LanePlant:
    """Each `apply(u)` commands feed-forward + u * input_scale for one control period."""

    def __init__(self, world: CarWorld, state_scale, input_scale) -> None:
        self.world = world
        self.state_scale = np.asarray(state_scale, dtype=float)
        self.input_scale = np.asarray(input_scale, dtype=float)
        self.applied = np.zeros(self.input_scale.size)  # last applied input, scaled

    def state(self) -> np.ndarray:
        """Lane-frame state [e_y, e_psi, e_v] / state_scale, (3,)."""
        return self.world.lane_state().x / self.state_scale

    def apply(self, u: np.ndarray) -> np.ndarray:
        """Command u (2,) for one control period; returns the next state (3,)."""
        self.applied = command_relative(self.world, u * self.input_scale) / self.input_scale
        self.world.step(self.world.config.control_period)
        return self.state()
