"""Declaring a validated config dataclass on a node.

A config dataclass (see `safe_control_ros.sim.config`) lists every parameter with its
default and allowed range; `declare_config` declares each on the node (under the class's
PREFIX) with a read-only descriptor, reads the values back (so launch files and parameter files
apply) and builds the dataclass, which raises ValueError naming the parameter and the
allowed range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rclpy.node import Node

try:
    from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
except ImportError:
    FloatingPointRange = ParameterDescriptor = None


def declare_config(node: Node, cls: Any) -> Any:
    """Declare every field of the config dataclass `cls` on `node`; return the validated
    instance built from the node's parameter values."""
    values = {}
    for f in fields(cls):
        default = None if f.default is MISSING else f.default
        if isinstance(default, tuple):
            default = list(default)
        name = cls.PREFIX + f.name
        value = node.declare_parameter(name, default, _descriptor(name, f.metadata)).value
        if value is not None or f.default is not MISSING:  # an explicit null is a bad value
            values[f.name] = list(value) if isinstance(value, list | tuple) else value
    return cls.from_dict(values)


def _descriptor(name: str, rule: Mapping[str, Any]):
    """A read-only ParameterDescriptor with the range of `rule` (None without ROS 2): the
    nodes read their parameters once at start-up, so `ros2 param set` is refused with
    "read-only" rather than reported as applied."""
    if ParameterDescriptor is None:
        return None
    low, high = rule.get("low", -math.inf), rule.get("high", math.inf)
    descriptor = ParameterDescriptor(
        name=name,
        description=f"allowed range [{low}, {high}]; read at start-up",
        dynamic_typing=True,
        read_only=True,
    )
    if rule.get("kind") is float and math.isfinite(low) and math.isfinite(high):
        descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
    return descriptor
