"""Hardware-in-the-loop run: the sim as its own process in real time, the stack (camera,
estimator, controller) in others, as ROS 2 nodes (rclpy: `launcher.RosGraph`), with a
competing CPU load.

The sim advances its world by one control period per wall-clock period (its timer runs on
the wall clock; a tick it cannot keep is skipped, so simulated time then falls behind)
and publishes /clock; the stack's timers run on it (use_sim_time). The sim starts once
the controller is up. Every sample is read with its DDS source timestamp: the writer's
wall clock, common to all processes on this machine.

- Sensor-to-command latency of a command: from the sim writing the sensor sample the
  command was computed from to the controller writing the command. The sample is the
  ground-truth /lane_state of one sim tick (written right after the physics step that
  produced it, i.e. at its sensor time), identified by its stamp, which the command's
  /controller/input carries (written right after the /drive). It includes transport, the
  wait for the controller's tick (the sim announces each step's time `sim.clock_delay`
  after its sensor data) and the tick's work, reported apart ("clock to /drive": from the
  sim writing the /clock of a step's time to the controller writing the /drive stamped
  with it).
- Missed control deadline: a step of the sim's /clock without a /drive stamped with its
  time written within `controller.deadline` after that /clock. Late solves (longer than
  the deadline, replaced by the fallback) are counted apart.
- Violations: ground-truth /lane_state samples outside the safe set of car_model
  (|e_y| <= e_y_max, |e_psi| <= e_psi_max, |e_v| <= e_v_max).
- CPU load: `--load` busy-loop processes, each wanting a whole core, at normal priority.

    python bench/hil.py [--duration 180] [--load 1] [--track oval] [--logs DIR]

Run it with an rclpy (a ROS 2 installation's, or `.venv/ros/bin/python` of `make ros-env`).
The processes use ROS_DOMAIN_ID and ROS_AUTOMATIC_DISCOVERY_RANGE as set (e.g. a domain of
its own and LOCALHOST, as the tests do, to stay off other graphs).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from safe_control_ros.launcher import CONFIG, RECORDED, RosGraph, parameters
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.nodes.statuses import PLANNER_STATUS
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.ros import Tap, TapSample
from safe_control_ros.sim.config import CarModelConfig

TOPICS = ("/clock", "/lane_state", "/drive", "/controller/input", "/diagnostics")
BUSY = "while True: pass"


@dataclass
class HilResult:
    """What one run measured; times in s."""

    duration: float  # wall clock from the sim's first sample to its last
    load: int  # busy processes
    load_cpu: float  # CPU s per wall s the busy processes got
    host_load: tuple[float, float]  # 1-min load average at start and end
    latency: np.ndarray  # s, per command matched to its sample
    commands: int  # /drive written
    periods: int  # steps of the sim's /clock while the controller commanded
    missed: int  # of them without their /drive within the deadline
    late_solves: int  # solves longer than the deadline (fallback applied)
    tick_work: np.ndarray  # from a step's /clock written to its /drive written, per /drive
    sim_skipped: int  # sim periods skipped (simulated time fell behind)
    travelled: float  # m along the track (arc-length increments; a lap's wrap left out)
    violations: int
    statuses: dict[str, int] = field(default_factory=dict)  # controller statuses

    def table(self) -> str:
        """The run as a Markdown table."""
        ms = 1e3 * self.latency
        work = 1e3 * self.tick_work
        rows = [
            ("run length", f"{self.duration:.0f} s wall clock"),
            ("competing load", f"{self.load} busy process(es), {self.load_cpu:.2f} CPU s/s"),
            ("host load average", f"{self.host_load[0]:.2f} -> {self.host_load[1]:.2f}"),
            ("commands (/drive)", f"{self.commands} ({len(self.latency)} matched to a sample)"),
            ("latency median", f"{np.median(ms):.1f} ms"),
            ("latency p99", f"{np.percentile(ms, 99):.1f} ms"),
            ("latency max", f"{ms.max():.1f} ms"),
            ("clock to /drive p50 / p99", _p50_p99(work)),
            ("control periods", str(self.periods)),
            ("missed deadlines", f"{self.missed} ({100 * self.missed / self.periods:.2f} %)"),
            ("late solves", str(self.late_solves)),
            ("sim periods skipped", str(self.sim_skipped)),
            ("travelled", f"{self.travelled:.1f} m"),
            ("controller statuses", str(self.statuses)),
            ("safe-set violations", str(self.violations)),
        ]
        return "\n".join(
            ["| quantity | value |", "|---|---|"] + [f"| {a} | {b} |" for a, b in rows]
        )


def _p50_p99(ms: np.ndarray) -> str:
    return f"{np.median(ms):.1f} / {np.percentile(ms, 99):.1f} ms"


def _stamp(time_msg) -> tuple[int, int]:
    """A builtin_interfaces/Time as a dictionary key."""
    return (time_msg.sec, time_msg.nanosec)


def analyse(
    samples: list[TapSample], controller: ControllerConfig, car: CarModelConfig
) -> dict[str, object]:
    """The measurements of `samples` (a run's /lane_state, /drive, /diagnostics)."""
    by_topic = collections.defaultdict(list)
    for s in samples:
        by_topic[s.topic].append(s)
    lanes, drives = by_topic["/lane_state"], by_topic["/drive"]
    status = {}  # stamp -> controller status values, with the status message
    for s in by_topic["/diagnostics"]:
        for st in s.msg.status:
            if st.name == PLANNER_STATUS:
                values = {kv.key: kv.value for kv in st.values}
                status[_stamp(s.msg.header.stamp)] = values | {"message": st.message}
    written = {_stamp(s.msg.header.stamp): s.source_time for s in lanes}  # stamp -> write time
    latency = [
        i.source_time - written[_stamp(i.msg.header.stamp)]
        for i in by_topic["/controller/input"]
        if _stamp(i.msg.header.stamp) in written
    ]
    period = controller.control_period
    announced = {_stamp(s.msg.clock): s.source_time for s in by_topic["/clock"]}  # step -> written
    commanded = {_stamp(d.msg.header.stamp): d.source_time for d in drives}
    steps = [t for t in announced if min(commanded) <= t <= max(commanded)]
    work = [commanded[t] - announced[t] for t in steps if t in commanded]
    deadline = controller.deadline
    on_time = [t for t in steps if t in commanded and commanded[t] - announced[t] <= deadline]
    data = np.array([msg.lane_values(s.msg) for s in lanes])
    e = np.abs(data[:, 1:4])
    limits = np.array([car.e_y_max, car.e_psi_max, car.e_v_max])
    sim_times = np.array([s.source_time for s in lanes])
    gaps = np.round(np.diff(sim_times) / period)
    return {
        "duration": float(sim_times[-1] - sim_times[0]),
        "latency": np.array(latency),
        "commands": len(drives),
        "periods": len(steps),
        "missed": len(steps) - len(on_time),
        "late_solves": sum(v.get("solve_status") == "late" for v in status.values()),
        "tick_work": np.array(work),
        "sim_skipped": int(np.sum(np.maximum(gaps - 1, 0))),
        "travelled": float(np.sum(np.maximum(np.diff(data[:, 0]), 0.0))),
        "violations": int(np.sum(np.any(e > limits, axis=1))),
        "statuses": dict(collections.Counter(v["message"] for v in status.values())),
    }


def run(
    duration: float, load: int = 1, track: str = "oval", log_dir: Path | None = None
) -> HilResult:
    """Start the graph (sim last), add `load` busy processes, record `duration` s of wall
    clock, stop everything and analyse. Uses this process's ROS_DOMAIN_ID and discovery
    range; node logs go to `log_dir` (default: a temporary directory)."""
    params = parameters(CONFIG / "car.yaml", track)
    controller = ControllerConfig.from_dict(params["controller"])
    car = CarModelConfig.from_yaml(CONFIG / "car.yaml")
    tap = Tap({t: RECORDED[t] for t in TOPICS})
    samples: list[TapSample] = []
    busy: list[subprocess.Popen] = []
    host = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp, RosGraph(params, log_dir or Path(tmp)) as graph:
        try:
            if not graph.start_all():
                raise RuntimeError(f"the graph did not start: exited {graph.exited()}")
            busy = [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(load)]
            cpu_start, wall_start = _cpu(busy), time.monotonic()
            while time.monotonic() < wall_start + duration:
                samples += tap.take()
                if graph.exited():
                    raise RuntimeError(f"a node process exited: {graph.exited()}")
                time.sleep(0.05)
            samples += tap.take()
            load_cpu = (_cpu(busy) - cpu_start) / (time.monotonic() - wall_start)
        finally:
            for proc in busy:
                proc.kill()
                proc.wait()
            tap.close()
    host.append(os.getloadavg()[0])
    measured = analyse(samples, controller, car)
    return HilResult(load=load, load_cpu=load_cpu, host_load=(host[0], host[1]), **measured)


def _cpu(processes: list[subprocess.Popen]) -> float:
    """CPU seconds (user + system) the processes used so far, from /proc."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for proc in processes:
        fields = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=180.0, help="s of wall clock")
    parser.add_argument("--load", type=int, default=1, help="busy-loop processes")
    parser.add_argument("--track", default="oval", help="config/track_<name>.yaml")
    parser.add_argument("--logs", type=Path, help="directory for the node processes' logs")
    args = parser.parse_args(argv)
    result = run(args.duration, args.load, args.track, args.logs)
    print(result.table())
    return 1 if result.violations else 0


if __name__ == "__main__":
    sys.exit(main())
