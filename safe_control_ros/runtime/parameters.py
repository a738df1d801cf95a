"""Parameters: ROS 2 parameter files, and declaring a validated config dataclass on a node.

A config dataclass (see `safe_control_ros.sim.config`) lists every parameter with its
default and allowed range; `declare_config` declares each on the node with a descriptor,
reads the values back (so launch files and parameter files apply) and builds the dataclass,
which raises ValueError naming the parameter and the allowed range.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, fields
from pathlib import Path
from typing import Any

import yaml

try:
    from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
except ImportError:
    FloatingPointRange = ParameterDescriptor = None


def load_parameter_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """{node name: {parameter: value}} from a ROS 2 parameter file; ValueError if malformed."""
    try:
        with open(path, encoding="utf-8") as stream:
            document = yaml.safe_load(stream)
    except OSError as err:
        raise ValueError(f"config: cannot read {path}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise ValueError(f"config: {path} is not valid YAML: {err}") from None
    if not isinstance(document, dict):
        raise ValueError(f"config: {path}: expected a mapping of node names")
    out = {}
    for node, section in document.items():
        params = section.get("ros__parameters") if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise ValueError(f"config: {path}: expected '{node}: ros__parameters:' mapping")
        out[node] = params
    return out


def declare_config(node, cls):
    """Declare every field of the config dataclass `cls` on `node`; return the validated
    instance built from the node's parameter values."""
    values = {}
    for f in fields(cls):
        default = None if f.default is MISSING else f.default
        if isinstance(default, tuple):
            default = list(default)
        value = node.declare_parameter(f.name, default, _descriptor(f.name, f.metadata)).value
        if value is not None:
            values[f.name] = list(value) if isinstance(value, list | tuple) else value
    return cls.from_dict(values)


def _descriptor(name: str, rule: dict):
    """A ParameterDescriptor with the range of `rule` (None without ROS 2)."""
    if ParameterDescriptor is None:
        return None
    low, high = rule.get("low", -math.inf), rule.get("high", math.inf)
    descriptor = ParameterDescriptor(
        name=name, description=f"allowed range [{low}, {high}]", dynamic_typing=True
    )
    if rule.get("kind") is float and math.isfinite(low) and math.isfinite(high):
        descriptor.floating_point_range = [FloatingPointRange(from_value=low, to_value=high)]
    return descriptor
