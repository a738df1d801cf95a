"""Quality-of-service profiles: rclpy's when present, depths for the standalone runtimes."""

from __future__ import annotations

from typing import Any


def _sensor_data() -> Any:
    try:
        from rclpy.qos import qos_profile_sensor_data
    except ImportError:
        return 1  # the standalone runtimes take a depth
    return qos_profile_sensor_data


SENSOR_DATA = _sensor_data()  # best effort, keep last few: images, estimates
RELIABLE = 10  # reliable, keep last 10
