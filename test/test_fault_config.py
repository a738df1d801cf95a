"""Configuration faults: every parameter of every node with a wrong type, sign, size or
range, and missing or malformed parameter files, stop the start-up with one clear message
naming the parameter (and what is allowed), raised by the project's checks, never from
inside numpy, cvxpy or pybullet.

The cases are generated from the parameter schema (every `Parameters` dataclass and its
fields' rules), so a new parameter is covered when it is declared.
"""

from __future__ import annotations

import math
import traceback
from dataclasses import MISSING, fields
from typing import Any

import pytest

from safe_control_ros.launcher import CONFIG, NODES, main, parameters
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.nodes.perception_node import PerceptionNode
from safe_control_ros.paramfile import ALL_NODES
from safe_control_ros.runtime import parameters as runtime_parameters
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.schema import Parameters

NODE_CLASSES = NODES | {"perception": PerceptionNode}
REQUIRED = {"perception": {"map_path": "no/such/map.npz"}}  # required, checked last


def _config_classes() -> list[type[Parameters]]:
    found, todo = [], list(Parameters.__subclasses__())
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo += cls.__subclasses__()
    return sorted(found, key=lambda c: c.SECTION)


def _bad_values(name: str, rule: dict[str, Any], default: Any) -> list[tuple[str, Any, str]]:
    """(case, value, text the error must contain) for parameter `name` (section.field)
    with a field's rule and default (None: required)."""
    section, field = name.split(".")
    null = f"{section}: missing required parameter(s) ['{field}']" if default is None else ""
    if rule["kind"] is bool:
        allowed = f"{name}: expected true or false"
        return [(c, v, allowed) for c, v in [("number", 1), ("string", "true"), ("null", None)]]
    if rule["kind"] is str:
        allowed = f"{name}: " + ("expected one of" if rule["choices"] else "expected a non-empty")
        return [("number", 3, allowed), ("empty", "", allowed), ("null", None, null or allowed)]
    integer = rule["kind"] is int
    low, high = rule["low"], rule["high"]
    bracket = "(" if rule["open_low"] else "["
    allowed = f"expected {'an integer' if integer else 'a number'} in {bracket}{low}, {high}]"
    scalars = [("string", "1"), ("bool", True), ("null", None)]
    scalars.append(("float", 1.5) if integer else ("nan", math.nan))
    if math.isfinite(low):
        scalars.append(("below range", low if rule["open_low"] else low - 1))
    if math.isfinite(high):
        scalars.append(("above range", high + 1 if integer else 2.0 * high + 1.0))
    if rule["kind"] is not tuple:
        cases = [(c, v, f"{name}: {allowed}") for c, v in [*scalars, ("list", [1])]]
        return [(c, v, null if v is None and null else t) for c, v, t in cases]
    size = rule["size"]
    item = default[0] if default else 0.0  # a valid element
    want = f"{name}: expected a list of {size} numbers" if size else f"{name}: expected a non"
    cases = [("scalar", item, want), ("empty", [], want), ("null", None, null or want)]
    if size:
        cases.append(("wrong size", [item] * (size + 1), want))
    cases += [(f"element {c}", [v] * (size or 1), f"{name}[0]: {allowed}") for c, v in scalars]
    return cases


def _cases():
    for cls in _config_classes():
        readers = ("controller", "estimator") if cls.NODE == ALL_NODES else (cls.NODE,)
        for f in fields(cls):
            default = None if f.default is MISSING else f.default
            name = f"{cls.SECTION}.{f.name}"
            for case, value, text in _bad_values(name, dict(f.metadata), default):
                for node in readers:
                    yield pytest.param(node, cls, f.name, value, text, id=f"{node}-{name}-{case}")


def _start(node: str, params: dict[str, dict]):
    """Build node `node` as the runtimes do at start-up."""
    runtime = Runtime(params)
    job = NODE_CLASSES[node](runtime.create_node(node))
    runtime.check_parameters()
    return job


def _start_fails(node: str, params: dict[str, dict]) -> ValueError:
    """The ValueError of starting `node`, checked to be one line raised by the project."""
    with pytest.raises(ValueError) as info:
        _start(node, params)
    err = info.value
    assert "\n" not in str(err), str(err)
    origin = traceback.extract_tb(err.__traceback__)[-1].filename
    assert "/safe_control_ros/" in origin and "site-packages" not in origin, origin
    return err


@pytest.mark.parametrize(("node", "cls", "name", "value", "text"), list(_cases()))
def test_bad_parameter_stops_start_up_naming_it(node, cls, name, value, text):
    params = parameters(CONFIG / "car.yaml", "oval")
    params[node] = params.get(node, {}) | REQUIRED.get(node, {})
    params.setdefault(cls.NODE, {})[cls.PREFIX + name] = value
    assert text in str(_start_fails(node, params))


def test_required_parameters_missing():
    params = parameters(CONFIG / "car.yaml", "oval")
    del params[ALL_NODES]["car_model.sigma_w"]
    err = _start_fails("controller", params)
    assert "car_model: missing required parameter(s) ['sigma_w']" in str(err)
    err = _start_fails("perception", params)
    assert "perception: missing required parameter(s) ['map_path']" in str(err)
    params["perception"] = {"map_path": "no/such/map.npz"}
    assert "perception.map_path: no such file" in str(_start_fails("perception", params))


@pytest.mark.parametrize(
    ("node", "values", "match"),
    [
        ("controller", {"deadline": 0.2}, "controller.deadline: expected at most control_period"),
        ("controller", {"control_period": 0.2, "deadline": 0.1}, "car_model.sample_time = 0.1"),
        ("controller", {"x_ref": [0.3, 0.0, 0.0]}, "controller.x_ref[0]: expected |e_y| <"),
        (
            "controller",
            {"plausible_state": [1.0, 1.6, 1.0]},
            "controller.plausible_state[2]: expected |e_v| > 1.5",
        ),
        ("controller", {"sigma_eta": [0.5, 0.5], "learning_duration": 5.0}, "no robust plan"),
        ("controller", {"horizn": 5}, "controller: unknown parameter(s) ['horizn']"),
        (
            "controller",
            {"excitation_hold": [2.5, 1.0]},
            "controller.excitation_hold: whole control periods; hold[0]: expected an integer",
        ),
        ("sim", {"track_curvatures": [0.0]}, "sim.track_curvatures: expected 4 values"),
        ("sim", {"control_period": 0.101}, "sim.control_period: expected a multiple"),
    ],
)
def test_inconsistent_parameters_stop_start_up(node, values, match):
    params = parameters(CONFIG / "car.yaml", "oval")
    params[node] = params.get(node, {}) | values
    assert match in str(_start_fails(node, params))


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"car_model.eps_A0": 0.2}, "controller: no robust plan for car_model"),
        ({"car_model.e_psi_max": 3.0}, "controller.plausible_state[1]: expected |e_psi| > 3.0"),
        ({"car_model.state_scale": [1e-9, 0.7, 0.5]}, "car_model.state_scale[0]: expected within"),
    ],
)
def test_inconsistent_car_model_stops_start_up(values, match):
    params = parameters(CONFIG / "car.yaml", "oval")
    params[ALL_NODES] |= values
    assert match in str(_start_fails("controller", params))


def _edit(old: str, new: str):
    """config/car.yaml with the lines that start with `old` replaced by `new`."""

    def edit(base: str) -> str:
        lines = [new if line.strip().startswith(old) else line for line in base.splitlines()]
        assert lines != base.splitlines(), old
        return "\n".join(lines) + "\n"

    return edit


FILES = {  # the file (text, a function of config/car.yaml's text, or None): one-line error
    "missing": (None, "config: cannot read"),
    "empty": ("", "expected a mapping of node names"),
    "list": ("- sim\n- controller\n", "expected a mapping of node names"),
    "syntax": ("sim:\n  ros__parameters:\n    seed: [0\n", "is not valid YAML: expected ','"),
    "tab": ("sim:\n\tros__parameters: {}\n", "is not valid YAML: found character '\\t'"),
    "duplicate": (_edit("seed: 0", "    seed: 0\n    seed: 1"), "duplicate key 'seed' (line"),
    "no ros__parameters": ("sim:\n  seed: 0\n", "expected 'sim: ros__parameters:' mapping"),
    "scalar parameters": ("sim:\n  ros__parameters: 3\n", "expected 'sim: ros__parameters:'"),
    "unknown node": (_edit("controller:", "controler:"), "section(s) ['controler'] name no"),
    "mapping value": (
        _edit("horizon:", "    horizon: {steps: 5}"),
        "controller: unknown parameter(s) ['horizon.steps']",
    ),
    "null value": (
        _edit("horizon:", "    horizon:"),
        "controller.horizon: expected an integer in [1, 50], got None",
    ),
    "binary": (b"\xff\xfe\x00", "is not UTF-8 text"),
}


@pytest.mark.parametrize(("text", "message"), FILES.values(), ids=FILES.keys())
def test_bad_parameter_file_stops_the_launcher_with_one_line(tmp_path, capsys, text, message):
    config = tmp_path / "car.yaml"
    if isinstance(text, bytes):
        config.write_bytes(text)
    elif callable(text):
        config.write_text(text((CONFIG / "car.yaml").read_text()))
    elif text is not None:
        config.write_text(text)
    (tmp_path / "track_oval.yaml").write_text((CONFIG / "track_oval.yaml").read_text())
    assert main(["--config", str(config), "--duration", "0.1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and message in err, err


class _Descriptor:
    """Stands in for rcl_interfaces' ParameterDescriptor and FloatingPointRange."""

    def __init__(self, **fields_: Any) -> None:
        self.__dict__.update(fields_)


def test_every_parameter_is_declared_read_only_under_ros(monkeypatch):
    """The nodes read their parameters once, so under rclpy each is declared read-only:
    `ros2 param set` is refused ("Trying to set a read-only parameter") instead of
    reporting success and changing nothing."""
    monkeypatch.setattr(runtime_parameters, "ParameterDescriptor", _Descriptor)
    monkeypatch.setattr(runtime_parameters, "FloatingPointRange", _Descriptor)
    seen: dict[str, Any] = {}
    node = Runtime(parameters(CONFIG / "car.yaml", "oval")).create_node("controller")
    declare = node.declare_parameter

    def recording(name, value=None, descriptor=None):
        seen[name] = descriptor
        return declare(name, value, descriptor)

    monkeypatch.setattr(node, "declare_parameter", recording)
    runtime_parameters.declare_config(node, ControllerConfig)
    assert set(seen) == {f.name for f in fields(ControllerConfig)}
    assert all(d.read_only and d.name == name for name, d in seen.items())
