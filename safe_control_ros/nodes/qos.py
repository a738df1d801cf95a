"""Quality-of-service profiles: rclpy's when present, depths otherwise."""

from __future__ import annotations

try:
    from rclpy.qos import qos_profile_sensor_data
except ImportError:
    qos_profile_sensor_data = 1  # the standalone runtime takes a depth

SENSOR_DATA = qos_profile_sensor_data  # best effort, keep last few: images, estimates
RELIABLE = 10  # reliable, keep last 10
