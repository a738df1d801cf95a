"""Standalone launcher: the graph of car.launch.py without ROS 2.

--mode inprocess (default): every node in this process, lockstep with the simulated clock,
deterministic and as fast as the computation. --mode dds: one process per node over
Cyclone DDS with ROS 2 naming on the wire, in real time, so ROS 2 tools on the same network
see the topics.

    safe-control-launch [--track oval] [--duration 30] [--mode inprocess|dds] [--record DIR]
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from .nodes.camera_node import CameraNode
from .nodes.controller_node import ControllerNode
from .nodes.estimator_node import EstimatorNode
from .nodes.sim_node import SimNode
from .paramfile import load_parameter_file
from .runtime import messages as msg
from .runtime.inprocess import Runtime

CONFIG = Path(__file__).resolve().parents[1] / "config"
NODES = {
    "sim": SimNode,
    "camera": CameraNode,
    "estimator": EstimatorNode,
    "controller": ControllerNode,
}
RECORDED = {  # topic: type; camera images are left out to keep logs small
    "/clock": msg.Clock,
    "/odom": msg.Odometry,
    "/lane_state": msg.Float64MultiArray,
    "/drive": msg.AckermannDriveStamped,
    "/cmd_vel": msg.TwistStamped,
    "/controller/input": msg.Float64MultiArray,
    "/model": msg.Float64MultiArray,
    "/plan": msg.Path,
    "/diagnostics": msg.DiagnosticArray,
}


def parameters(config: Path, track: str) -> dict[str, dict]:
    """The car config with the track's parameter file layered on top, as the launch file
    passes them: {node: {parameter: value}}."""
    params = load_parameter_file(config)
    track_file = config.parent / f"track_{track}.yaml"
    for node, values in load_parameter_file(track_file).items():
        params[node] = params.get(node, {}) | values
    return params


def build(params: dict[str, dict], use_sim: bool = True) -> tuple[Runtime, dict]:
    """The in-process runtime with every node built and its parameters checked."""
    runtime = Runtime(params)
    names = NODES if use_sim else {k: v for k, v in NODES.items() if k != "sim"}
    jobs = {name: cls(runtime.create_node(name)) for name, cls in names.items()}
    runtime.check_parameters()
    return runtime, jobs


def run_inprocess(params: dict[str, dict], duration: float, record: Path | None) -> None:
    from .runtime.recording import Recorder

    runtime, jobs = build(params)
    recorder = Recorder(runtime.create_node("recorder"), record, RECORDED) if record else None
    try:
        runtime.spin_until(duration)
    finally:
        if recorder is not None:
            recorder.close()
        jobs["sim"].destroy()


def run_dds(params: dict[str, dict], duration: float) -> int:
    """One process per node for `duration` wall-clock seconds, then SIGINT to each."""
    with tempfile.TemporaryDirectory() as tmp:
        file = Path(tmp) / "params.yaml"
        file.write_text(yaml.safe_dump({n: {"ros__parameters": p} for n, p in params.items()}))
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "safe_control_ros.runtime.dds",
                    f"{cls.__module__}:{cls.__name__}",
                    "--name",
                    name,
                    "--params-file",
                    str(file),
                ]
            )
            for name, cls in NODES.items()
        ]
        time.sleep(duration)
        for proc in procs:
            proc.send_signal(signal.SIGINT)
        codes = [proc.wait(timeout=30) for proc in procs]
        return 0 if not any(codes) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG / "car.yaml")
    parser.add_argument("--track", default="oval", help="config/track_<name>.yaml")
    parser.add_argument("--duration", type=float, default=30.0, help="s (simulated or wall)")
    parser.add_argument("--mode", choices=("inprocess", "dds"), default="inprocess")
    parser.add_argument("--record", type=Path, help="rosbag2 (MCAP) directory, inprocess mode")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    try:
        params = parameters(args.config, args.track)
        if args.mode == "dds":
            return run_dds(params, args.duration)
        run_inprocess(params, args.duration, args.record)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
