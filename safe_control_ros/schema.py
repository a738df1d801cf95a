"""Parameter sets as validated, frozen dataclasses, read from ROS 2 parameter files.

A field made with `param` carries its rule (type, range, size or choices); building the
dataclass checks every value and raises ValueError naming the parameter and what is
allowed. `Parameters.from_yaml` reads what a node receives from a parameter file;
`runtime.parameters.declare_config` declares the same fields on a node.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import MISSING, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .paramfile import load_parameter_file, node_parameters

INF = math.inf
P = TypeVar("P", bound="Parameters")


def param(
    default: Any = MISSING,
    low: float = -INF,
    high: float = INF,
    *,
    open_low: bool = False,
    size: int | None = None,
    kind: type | None = None,
    choices: tuple[str, ...] = (),
) -> Any:
    """A dataclass field with its validation rule; `kind`, else the default's type (float,
    int, bool, str or a tuple of floats; float without a default) is the parameter's type; with
    `choices` it is a string from those.

    Values must lie in [low, high] ((low, high] if `open_low`); a tuple has `size` elements
    (None: one or more) and the rule applies to each element.
    """
    kind = kind or (float if default is MISSING else type(default))
    rule = {"kind": kind, "low": low, "high": high, "open_low": open_low, "size": size}
    if choices or kind is str:
        rule = {"kind": str, "choices": choices}
    return field(default=default, metadata=rule)


def check_number(name: str, value: Any, rule: Mapping[str, Any]) -> float | int:
    integer = rule["kind"] is int
    number_types = (int,) if integer else (int, float)
    bracket = "(" if rule["open_low"] else "["
    what = "an integer" if integer else "a number"
    allowed = f"{what} in {bracket}{rule['low']}, {rule['high']}]"
    ok = isinstance(value, number_types) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        above = value > rule["low"] if rule["open_low"] else value >= rule["low"]
        ok = above and value <= rule["high"]
    if not ok:
        raise ValueError(f"{name}: expected {allowed}, got {value!r}")
    return int(value) if integer else float(value)


def check(name: str, value: Any, rule: Mapping[str, Any]) -> Any:
    if rule["kind"] is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{name}: expected true or false, got {value!r}")
        return value
    if rule["kind"] is str:
        if rule["choices"] and value not in rule["choices"]:
            raise ValueError(f"{name}: expected one of {list(rule['choices'])}, got {value!r}")
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}: expected a non-empty string, got {value!r}")
        return value
    if rule["kind"] is not tuple:
        return check_number(name, value, rule)
    size = rule["size"]
    if not isinstance(value, list | tuple) or len(value) < 1 or size not in (None, len(value)):
        want = f"a list of {size}" if size else "a non-empty list of"
        raise ValueError(f"{name}: expected {want} numbers, got {value!r}")
    return tuple(check_number(f"{name}[{i}]", v, rule) for i, v in enumerate(value))


class Parameters:
    """Base of the parameter dataclasses: validation on construction and loading from YAML."""

    SECTION: ClassVar[str]  # name in error messages
    NODE: ClassVar[str]  # the node section of the parameter file that holds them
    PREFIX: ClassVar[str] = ""  # dotted prefix of their parameter names

    def __post_init__(self) -> None:
        for f in fields(self):
            name = f"{self.SECTION}.{f.name}"
            object.__setattr__(self, f.name, check(name, getattr(self, f.name), f.metadata))
        self._check_consistency()

    def _check_consistency(self) -> None:
        """Checks that involve several parameters (raise ValueError)."""

    @classmethod
    def from_dict(cls: type[P], params: dict[str, Any]) -> P:
        """Build from {parameter name: value}; unknown names are rejected, missing ones default."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"{cls.SECTION}: unknown parameter(s) {unknown}; known: {sorted(known)}"
            )
        missing = [f.name for f in fields(cls) if f.default is MISSING and f.name not in params]
        if missing:
            raise ValueError(f"{cls.SECTION}: missing required parameter(s) {missing}")
        return cls(**params)

    @classmethod
    def from_yaml(cls: type[P], path: str | Path) -> P:
        """Build from what node NODE receives from a ROS 2 parameter file (names under
        PREFIX)."""
        params = node_parameters(load_parameter_file(path), cls.NODE)
        n = len(cls.PREFIX)
        mine = {
            k[n:]: v for k, v in params.items() if k.startswith(cls.PREFIX) and "." not in k[n:]
        }
        if not mine:
            where = f"'{cls.NODE}: ros__parameters:'" + (f" '{cls.PREFIX}*'" if cls.PREFIX else "")
            raise ValueError(f"{path}: expected {cls.SECTION} parameters in {where}")
        return cls.from_dict(mine)
