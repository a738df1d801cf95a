"""Standalone launcher: the graph of car.launch.py without ROS 2, in one process, lockstep
with the simulated clock (deterministic).

    safe-control-launch --config config/car.yaml --track oval --duration 60
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from .nodes.controller_node import ControllerNode
from .nodes.estimator_node import EstimatorNode
from .nodes.sim_node import SimNode
from .paramfile import load_parameter_file
from .runtime.inprocess import Runtime

CONFIG = Path(__file__).resolve().parents[1] / "config"
NODES = {"sim": SimNode, "estimator": EstimatorNode, "controller": ControllerNode}


def parameters(config: Path, track: str) -> dict[str, dict]:
    """The car config with the track's parameter file layered on top, as the launch file
    passes them: {node: {parameter: value}}."""
    params = load_parameter_file(config)
    track_file = config.parent / f"track_{track}.yaml"
    for node, values in load_parameter_file(track_file).items():
        params[node] = params.get(node, {}) | values
    return params


def build(params: dict[str, dict], use_sim: bool = True) -> tuple[Runtime, dict]:
    """The runtime with every node built and its parameters checked."""
    runtime = Runtime(params)
    names = NODES if use_sim else {k: v for k, v in NODES.items() if k != "sim"}
    jobs = {name: cls(runtime.create_node(name)) for name, cls in names.items()}
    runtime.check_parameters()
    return runtime, jobs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG / "car.yaml")
    parser.add_argument("--track", default="oval", help="config/track_<name>.yaml")
    parser.add_argument("--duration", type=float, default=30.0, help="simulated s")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        runtime, jobs = build(parameters(args.config, args.track))
    except ValueError as err:
        print(f"error: {err}")
        return 2
    runtime.spin_until(args.duration)
    jobs["sim"].destroy()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
