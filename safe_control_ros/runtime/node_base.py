"""What the standalone runtimes' nodes share: parameters, logger, name, timers, time points."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from . import messages


@dataclass
class Parameter:
    name: str
    value: Any


@dataclass(frozen=True)
class TimePoint:
    """What `Clock.now()` returns: nanoseconds of ROS time."""

    nanoseconds: int

    def to_msg(self):
        return messages.stamp(self.nanoseconds * 1e-9)


class Timer:
    def __init__(self, period_ns: int, callback: Callable[[], None]) -> None:
        self.period_ns, self.callback = period_ns, callback
        self.due_ns: int | None = None  # next firing, when the runtime tracks it here
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


def transient_local(qos: Any) -> bool:
    """Whether a QoS (a depth, or a QoSProfile-like object) keeps the last message for
    subscribers that come later."""
    return "TRANSIENT_LOCAL" in str(getattr(qos, "durability", "")).upper()


class NodeBase:
    """The parameter, logging and naming part of the rclpy.node.Node subset."""

    def __init__(self, name: str, overrides: dict[str, Any]) -> None:
        self._name = name
        self._overrides = dict(overrides)
        self._params: dict[str, Parameter] = {}
        self._logger = logging.getLogger(f"safe_control_ros.{name}")

    def get_name(self) -> str:
        return self._name

    def get_logger(self) -> logging.Logger:
        return self._logger

    def declare_parameter(self, name: str, value: Any = None, descriptor: Any = None) -> Parameter:
        """Declare with a default; a value from the configuration overrides it."""
        if name in self._params:
            raise ValueError(f"{self._name}.{name}: parameter already declared")
        param = Parameter(name, self._overrides.get(name, value))
        self._params[name] = param
        return param

    def get_parameter(self, name: str) -> Parameter:
        if name not in self._params:
            raise ValueError(f"{self._name}.{name}: parameter not declared")
        return self._params[name]

    def _check_parameters(self, own: dict[str, Any]) -> None:
        """ValueError for parameters of the node's own file section it did not declare
        (typos); rclpy would silently ignore them."""
        unknown = sorted(set(own) - set(self._params))
        if unknown:
            raise ValueError(f"{self._name}: unknown parameter(s) {unknown}")

    def _make_timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        if not period_s > 0:
            raise ValueError(f"{self._name}: timer period must be > 0 s, got {period_s}")
        return Timer(round(period_s * 1e9), callback)
