"""The car's command input: saturation, rejection of non-finite values, and a watchdog.

Behaves like the input stage of a real car's drive electronics: a command is a steering angle
(rad, > 0 turns left) and a longitudinal acceleration (m/s^2). Out-of-range values are clipped
and counted; NaN or inf values are ignored (the previous command stays) and counted. With no
accepted command for `watchdog_timeout` seconds the car brakes at `decel_max` to a stop,
keeping its last steering angle, until the next accepted command.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

_log = logging.getLogger(__name__)


@dataclass
class CommandStats:
    """Counts of commands since the last reset."""

    accepted: int = 0  # finite commands (possibly saturated)
    saturated: int = 0  # accepted commands with at least one component clipped
    rejected: int = 0  # commands with a NaN or inf component, ignored


class CommandGate:
    """Holds the command in force at each instant of simulated time."""

    def __init__(
        self, steering_limit: float, accel_max: float, decel_max: float, watchdog_timeout: float
    ) -> None:
        self._limits = {
            "steering": (-steering_limit, steering_limit),
            "accel": (-decel_max, accel_max),
        }
        self._decel_max = decel_max
        self._timeout = watchdog_timeout
        self.reset(0.0)

    def reset(self, time: float) -> None:
        """Zero command (straight, no acceleration), as if received at `time` (s)."""
        self.steering, self.accel = 0.0, 0.0  # rad, m/s^2: the last accepted command
        self._last_time = time
        self.stats = CommandStats()

    def submit(self, steering: float, accel: float, time: float) -> str:
        """Take a command received at `time` (s); return "" or why it was changed or ignored."""
        values = {"steering": float(steering), "accel": float(accel)}
        bad = [f"{k}={v}" for k, v in values.items() if not math.isfinite(v)]
        if bad:
            self.stats.rejected += 1
            reason = (
                f"rejected non-finite command ({', '.join(bad)}); keeping steering="
                f"{self.steering} rad, accel={self.accel} m/s^2"
            )
            _log.warning(reason)
            return reason
        clipped = []
        for name, (low, high) in self._limits.items():
            value = min(max(values[name], low), high)
            if value != values[name]:
                clipped.append(f"{name} {values[name]} saturated to {value}")
            values[name] = value
        self.steering, self.accel = values["steering"], values["accel"]
        self._last_time = time
        self.stats.accepted += 1
        if not clipped:
            return ""
        self.stats.saturated += 1
        reason = "; ".join(clipped)
        _log.debug(reason)
        return reason

    def watchdog_tripped(self, time: float) -> bool:
        """True when no command was accepted in the `watchdog_timeout` s before `time`."""
        return time - self._last_time > self._timeout

    def in_force(self, time: float) -> tuple[float, float]:
        """(steering rad, accel m/s^2) to apply at `time` (s): braking if the watchdog tripped."""
        if self.watchdog_tripped(time):
            return self.steering, -self._decel_max
        return self.steering, self.accel
