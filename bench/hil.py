"""Hardware-in-the-loop run: the sim as its own process in real time, the stack (camera,
estimator, controller) in others, over Cyclone DDS on loopback, with a competing CPU load.

The sim advances its world by one control period per wall-clock period (its timer runs on
the wall clock; a tick it cannot keep is skipped, so simulated time then falls behind);
the stack's timers run on the wall clock too, not on /clock. The sim starts once the
controller is up. Every sample is read with its DDS source timestamp: the writer's wall
clock, common to all processes on this machine.

- Camera-to-command latency of a /drive: from the sim writing the sensor sample the
  command was computed from to the controller writing the /drive. The sample is the
  ground-truth /lane_state of one sim tick (written right after the physics step that
  produced it, i.e. at its sensor time), identified by its arc length s, which the
  controller reports as `state_s` in the /diagnostics status stamped like the /drive.
  It includes transport, the wait for the controller's next tick (the two timers are not
  aligned: up to one period, fixed by when the processes started) and the tick's work,
  reported apart ("tick to /drive": from the tick's start, the /drive stamp, to its write).
- Missed control deadline: a control period without a /drive written by its due time
  plus `controller.deadline`. Due times: the controller's timer grid, `control_period`
  apart at the median phase of its ticks (a tick never starts before its due time, so
  each tick belongs to the last due time before it, 1 ms of clock jitter allowed). A
  skipped tick is missed. Late solves (longer than the deadline, replaced by the
  fallback) are counted apart.
- Violations: ground-truth /lane_state samples outside the safe set of car_model
  (|e_y| <= e_y_max, |e_psi| <= e_psi_max, |e_v| <= e_v_max).
- CPU load: `--load` busy-loop processes, each wanting a whole core, at normal priority.

    python bench/hil.py [--duration 180] [--load 1] [--track oval] [--logs DIR]

The processes use ROS_DOMAIN_ID and CYCLONEDDS_URI as set (e.g. a domain of its own and
loopback only, as the tests do, to stay off other graphs).
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

from safe_control_ros.launcher import CONFIG, RECORDED, DdsGraph, parameters
from safe_control_ros.nodes import layouts
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.dds import Tap, TapSample
from safe_control_ros.sim.config import CarModelConfig

TOPICS = ("/lane_state", "/drive", "/diagnostics")
BUSY = "while True: pass"
JITTER = 1e-3  # s: a tick this much before its due time (clock jitter) still belongs to it


@dataclass
class HilResult:
    """What one run measured; times in s."""

    duration: float  # wall clock from the sim's first sample to its last
    load: int  # busy processes
    load_cpu: float  # CPU s per wall s the busy processes got
    host_load: tuple[float, float]  # 1-min load average at start and end
    latency: np.ndarray  # per matched /drive
    commands: int  # /drive written
    periods: int  # control periods in the run
    missed: int  # periods without a /drive by due time + deadline
    late_solves: int  # solves longer than the deadline (fallback applied)
    tick_delay: np.ndarray  # controller tick start after its due time, per tick
    tick_work: np.ndarray  # from a tick's start to its /drive written, per /drive
    sim_skipped: int  # sim periods skipped (simulated time fell behind)
    travelled: float  # m along the track (arc-length increments; a lap's wrap left out)
    violations: int
    statuses: dict[str, int] = field(default_factory=dict)  # controller statuses

    def table(self) -> str:
        """The run as a Markdown table."""
        ms = 1e3 * self.latency
        delay, work = 1e3 * self.tick_delay, 1e3 * self.tick_work
        rows = [
            ("run length", f"{self.duration:.0f} s wall clock"),
            ("competing load", f"{self.load} busy process(es), {self.load_cpu:.2f} CPU s/s"),
            ("host load average", f"{self.host_load[0]:.2f} -> {self.host_load[1]:.2f}"),
            ("commands (/drive)", f"{self.commands} ({len(self.latency)} matched to a sample)"),
            ("latency median", f"{np.median(ms):.1f} ms"),
            ("latency p99", f"{np.percentile(ms, 99):.1f} ms"),
            ("latency max", f"{ms.max():.1f} ms"),
            ("tick to /drive p50 / p99", _p50_p99(work)),
            ("control periods", str(self.periods)),
            ("missed deadlines", f"{self.missed} ({100 * self.missed / self.periods:.2f} %)"),
            ("late solves", str(self.late_solves)),
            ("tick delay p50 / p99", _p50_p99(delay)),
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


def _stamp(header) -> tuple[int, int]:
    return (header.stamp.sec, header.stamp.nanosec)


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
            if st.name == layouts.PLANNER_STATUS:
                values = {kv.key: kv.value for kv in st.values}
                status[_stamp(s.msg.header)] = values | {"message": st.message}
    written = collections.defaultdict(list)  # s of a sample (as reported) -> write times
    for s in lanes:
        written[f"{s.msg.data[0]:.6f}"].append(s.source_time)
    latency = []
    for d in drives:
        values = status.get(_stamp(d.msg.header), {})
        times = [t for t in written.get(values.get("state_s", ""), []) if t <= d.source_time]
        if times:
            latency.append(d.source_time - max(times))
    period = controller.control_period
    stamps = np.array([msg.seconds(d.msg.header.stamp) for d in drives])
    phase = stamps[0] + np.median((stamps - stamps[0] + period / 2) % period - period / 2)
    ticks = np.floor((stamps - phase + JITTER) / period)
    due = phase + ticks * period
    written_at = np.array([d.source_time for d in drives])
    on_time = set(ticks[written_at <= due + controller.deadline].astype(int))
    periods = int(ticks[-1] - ticks[0]) + 1
    data = np.array([s.msg.data for s in lanes])
    e = np.abs(data[:, 1:4])
    limits = np.array([car.e_y_max, car.e_psi_max, car.e_v_max])
    sim_times = np.array([s.source_time for s in lanes])
    gaps = np.round(np.diff(sim_times) / period)
    return {
        "duration": float(sim_times[-1] - sim_times[0]),
        "latency": np.array(latency),
        "commands": len(drives),
        "periods": periods,
        "missed": periods - len(on_time),
        "late_solves": sum(v.get("solve_status") == "late" for v in status.values()),
        "tick_delay": stamps - due,
        "tick_work": written_at - stamps,
        "sim_skipped": int(np.sum(np.maximum(gaps - 1, 0))),
        "travelled": float(np.sum(np.maximum(np.diff(data[:, 0]), 0.0))),
        "violations": int(np.sum(np.any(e > limits, axis=1))),
        "statuses": dict(collections.Counter(v["message"] for v in status.values())),
    }


def run(
    duration: float, load: int = 1, track: str = "oval", log_dir: Path | None = None
) -> HilResult:
    """Start the graph (sim last), add `load` busy processes, record `duration` s of wall
    clock, stop everything and analyse. Uses this process's ROS_DOMAIN_ID and
    CYCLONEDDS_URI; node logs go to `log_dir` (default: a temporary directory)."""
    params = parameters(CONFIG / "car.yaml", track)
    controller = ControllerConfig.from_dict(params["controller"])
    car = CarModelConfig.from_yaml(CONFIG / "car.yaml")
    tap = Tap({t: RECORDED[t] for t in TOPICS})
    samples: list[TapSample] = []
    busy: list[subprocess.Popen] = []
    host = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp, DdsGraph(params, log_dir or Path(tmp)) as graph:
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
