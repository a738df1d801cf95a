"""Quality-of-service profiles: rclpy's when present, their standalone equivalents else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """The fields of rclpy's QoSProfile that the standalone runtimes read."""

    depth: int
    reliability: str = "RELIABLE"
    durability: str = "VOLATILE"


def _sensor_data() -> Any:
    try:
        from rclpy.qos import qos_profile_sensor_data
    except ImportError:
        return 1  # the standalone runtimes take a depth
    return qos_profile_sensor_data


def _latched() -> Any:
    try:
        from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    except ImportError:
        return Profile(1, durability="TRANSIENT_LOCAL")
    return QoSProfile(
        depth=1,
        reliability=ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL,
    )


SENSOR_DATA = _sensor_data()  # best effort, keep last few: images, ground truth
RELIABLE = 10  # reliable, keep last 10
LATCHED = _latched()  # reliable, the last message kept for late subscribers: /model
