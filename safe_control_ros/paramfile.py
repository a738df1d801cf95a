"""ROS 2 parameter files: `<node>: ros__parameters: {...}` sections, `/**` for every node.

Nested mappings become dotted names, as ROS 2 reads them (`car_model: {eps_A0: 1}` is the
parameter `car_model.eps_A0`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

ALL_NODES = "/**"


class _Loader(yaml.SafeLoader):
    """YAML's safe loader that rejects a key given twice in one mapping."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` may repeat keys
                continue
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep)


def load_parameter_file(path: str | Path) -> dict[str, dict[str, Any]]:
    """{node name: {dotted parameter name: value}}; ValueError naming the file (and the
    line of a YAML error) if it is missing or malformed."""
    try:
        with open(path, encoding="utf-8") as stream:
            document = yaml.load(stream, Loader=_Loader)  # a SafeLoader
    except OSError as err:
        raise ValueError(f"config: cannot read {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"config: {path} is not UTF-8 text") from None
    except yaml.YAMLError as err:
        raise ValueError(f"config: {path} is not valid YAML: {_one_line(err)}") from None
    if not isinstance(document, dict):
        raise ValueError(f"config: {path}: expected a mapping of node names")
    out = {}
    for node, section in document.items():
        params = section.get("ros__parameters") if isinstance(section, dict) else None
        if not isinstance(params, dict):
            raise ValueError(f"config: {path}: expected '{node}: ros__parameters:' mapping")
        out[node] = _flatten(params)
    return out


def _one_line(err: yaml.YAMLError) -> str:
    """A YAML error as one line: what is wrong and where."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        mark = err.problem_mark
        return f"{err.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return " ".join(str(err).split())


def node_parameters(file_params: dict[str, dict[str, Any]], node: str) -> dict[str, Any]:
    """The parameters a node named `node` receives: the `/**` section, then its own."""
    return file_params.get(ALL_NODES, {}) | file_params.get(node, {})


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat = {}
    for key, value in params.items():
        if isinstance(value, dict):
            flat |= _flatten(value, f"{prefix}{key}.")
        else:
            flat[f"{prefix}{key}"] = value
    return flat
