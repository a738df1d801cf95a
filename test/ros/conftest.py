"""The tests under real rclpy: run with the ROS 2 environment's Python (`make ros-env`,
.venv/ros/bin/python, or a ROS 2 installation's), which `make test` does.

Every process of a session speaks DDS on loopback only and on a domain of its own.
"""

from __future__ import annotations

import os
import sys

import rclpy  # noqa: F401  (these tests need it: fail, never skip, without it)

os.environ["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
os.environ.setdefault("ROS_DOMAIN_ID", str(10 + os.getpid() % 90))
os.environ["PYTHONUNBUFFERED"] = "1"
os.environ.setdefault("AMENT_PREFIX_PATH", sys.prefix)  # the environment's packages
