"""Standalone launcher: the graph of car.launch.py without ROS 2.

--mode inprocess (default): every node in this process, lockstep with the simulated clock,
deterministic and as fast as the computation; no ROS 2 needed. --mode ros: one ROS 2
process per node under rclpy (a ROS 2 installation's, or the wheels' environment of
`make ros-env`), in real time: the sim advances its world by one control period per
wall-clock period and publishes /clock, every other node runs on it (use_sim_time). The
sim starts last, once the controller is up, so that the car gets commands from its first
tick.

    safe-control-launch [--track oval] [--duration 30] [--mode inprocess|ros] [--record DIR]
        [--perception MAP] [--prior physics]

--perception MAP (e.g. the shipped maps/cnn_preview.npz) adds the perception node and
makes the controller drive on its measurements (`graph.PERCEPTION_PROFILE`), robust to the
bound `controller.measurement_bound` in the region `measurement_region` of the config.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

import yaml

from .graph import CONFIG, launch_graph, parameters, process_overrides, with_perception
from .nodes.camera_node import CameraNode
from .nodes.controller_node import ControllerNode
from .nodes.estimator_node import EstimatorNode
from .nodes.perception_node import PerceptionNode
from .nodes.sim_node import SimNode
from .runtime import messages as msg
from .runtime.inprocess import Runtime

NODES = {
    "sim": SimNode,
    "camera": CameraNode,
    "perception": PerceptionNode,
    "estimator": EstimatorNode,
    "controller": ControllerNode,
}
RECORDED = {  # topic: type; camera images are left out to keep logs small
    "/clock": msg.Clock,
    "/perception/measurement": msg.PerceptionMeasurement,
    "/odom": msg.Odometry,
    "/lane_state": msg.LaneState,
    "/drive": msg.AckermannDriveStamped,
    "/cmd_vel": msg.TwistStamped,
    "/controller/input": msg.ControlInput,
    "/model": msg.UncertainModel,
    "/plan": msg.Path,
    "/diagnostics": msg.DiagnosticArray,
    "/tf": msg.TFMessage,
    "/tf_static": msg.TFMessage,
}


def build(params: dict[str, dict], use_sim: bool = True) -> tuple[Runtime, dict]:
    """The in-process runtime with every node of `launch_graph` built and its parameters
    checked."""
    runtime = Runtime(params)
    jobs: dict = {}
    try:
        for name in launch_graph(params, use_sim):
            jobs[name] = NODES[name](runtime.create_node(name))
        runtime.check_parameters()
    except ValueError:
        for job in jobs.values():
            if hasattr(job, "destroy"):
                job.destroy()
        raise
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


class RosGraph:
    """Nodes of the launch graph as ROS 2 processes, one per node, under this Python's
    rclpy (`runtime.ros`), on this process's ROS_DOMAIN_ID and discovery settings: start,
    kill and restart them, with `graph.process_overrides` (sim time).
    Each process logs to `log_dir/<name>.log` (appended), or to this process's stderr."""

    def __init__(self, params: dict[str, dict], log_dir: Path | None = None) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.params_file = Path(self._tmp.name) / "params.yaml"
        self.nodes = launch_graph(params)
        processes = process_overrides(self.nodes, use_sim=True)
        params = params | {n: params.get(n, {}) | extra for n, extra in processes.items()}
        sections = {n: {"ros__parameters": p} for n, p in params.items()}
        self.params_file.write_text(yaml.safe_dump(sections))
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> subprocess.Popen:
        """Start node `name` (a key of graph.NODE_CLASSES) in a new process."""
        command = [
            *(sys.executable, "-m", "safe_control_ros.runtime.ros", name),
            *("--ros-args", "--params-file", str(self.params_file)),
        ]
        if self.log_dir is None:
            proc = subprocess.Popen(command)
        else:
            with open(self.log_dir / f"{name}.log", "a") as log:
                proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = proc
        return proc

    def start_all(self, names: Iterable[str] | None = None, ready_timeout: float = 60.0) -> bool:
        """Start the nodes `names` (default: the launch graph), the sim last once the
        controller (if started) is up (its /drive publisher is seen). False if a process
        exits or the controller is not up within `ready_timeout` s."""
        names = list(self.nodes if names is None else names)
        for name in names:
            if name != "sim":
                self.start(name)
        if "controller" in names and not self.wait_for_publisher("/drive", ready_timeout):
            return False
        if "sim" in names:
            self.start("sim")
        return True

    def wait_for_publisher(self, topic: str, timeout: float) -> bool:
        """Wait until some process publishes `topic` (a RECORDED topic); False after
        `timeout` s or as soon as a started process has exited."""
        from .runtime.ros import Tap

        tap = Tap({topic: RECORDED[topic]})
        try:
            end = time.monotonic() + timeout
            while time.monotonic() < end and not self.exited():
                if tap.writers(topic):
                    return True
                time.sleep(0.05)
            return False
        finally:
            tap.close()

    def exited(self) -> dict[str, int]:
        """{name: exit code} of the started processes that have exited."""
        codes = {name: proc.poll() for name, proc in self.processes.items()}
        return {name: code for name, code in codes.items() if code is not None}

    def kill(self, name: str) -> None:
        """SIGKILL node `name`'s process (no clean-up: a crash) and reap it."""
        proc = self.processes.pop(name)
        proc.kill()
        proc.wait()

    def stop(self) -> dict[str, int | None]:
        """SIGINT every process; {name: exit code, None if it had to be killed}."""
        for proc in self.processes.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        codes: dict[str, int | None] = {}
        for name, proc in self.processes.items():
            try:
                codes[name] = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.send_signal(signal.SIGUSR1)  # its stacks into its log (runtime.ros)
                time.sleep(1.0)
                proc.kill()
                proc.wait()
                codes[name] = None
        self.processes.clear()
        return codes

    def __enter__(self) -> RosGraph:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
        self._tmp.cleanup()


def run_ros(params: dict[str, dict], duration: float) -> int:
    """One ROS 2 process per node for `duration` wall-clock seconds once all are up, then
    SIGINT to each."""
    try:
        import rclpy  # noqa: F401
    except ImportError:
        raise ValueError(
            "--mode ros: rclpy not found; source a ROS 2 installation, or run "
            "`make ros-env` and use .venv/ros/bin/python -m safe_control_ros.launcher"
        ) from None
    with RosGraph(params) as graph:
        started = graph.start_all()
        if started:
            time.sleep(duration)
        codes = graph.stop()
    return 0 if started and not any(codes.values()) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=CONFIG / "car.yaml")
    parser.add_argument("--track", default="oval", help="config/track_<name>.yaml")
    parser.add_argument("--duration", type=float, default=30.0, help="s (simulated or wall)")
    parser.add_argument("--mode", choices=("inprocess", "ros"), default="inprocess")
    parser.add_argument("--record", type=Path, help="rosbag2 (MCAP) directory, inprocess mode")
    parser.add_argument("--perception", type=Path, help="drive on a calibrated map's output")
    parser.add_argument("--prior", default="", help="config/prior_<name>.yaml on top (physics)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    try:
        params = parameters(args.config, args.track, args.prior)
        if args.perception is not None:
            params = with_perception(params, args.perception)
        if args.mode == "ros":
            return run_ros(params, args.duration)
        run_inprocess(params, args.duration, args.record)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
