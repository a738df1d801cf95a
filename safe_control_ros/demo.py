"""The demo: the PyBullet car learns safely while it drives the lane-edge task (as close
to `--offset` m left of the centre line as its bounds certify, `edge_task`), then drives
on the learned model; writes plots, a summary table and an MCAP log (out/demo/log), and
prints progress. No ROS 2 needed (in-process runtime).

    safe-control-demo [--out out/demo] [--duration 300] [--learning 240] [--offset 0.24]
        [--track oval] [--prior physics]
"""

from __future__ import annotations

import argparse
import shutil
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .edge_task import task_controller
from .launcher import CONFIG, RECORDED, build, parameters
from .monitor import Monitor
from .report import write_report
from .runtime.recording import Recorder
from .sim.lane_model import lane_keeping_weights, safe_set

STATE_NAMES = ("e_y (m)", "e_psi (rad)", "e_v (m/s)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--config", type=Path, default=CONFIG / "car.yaml")
    parser.add_argument("--track", default="oval")
    parser.add_argument("--duration", type=float, default=300.0, help="simulated s")
    parser.add_argument("--learning", type=float, default=240.0, help="s with excitation")
    parser.add_argument("--offset", type=float, default=0.24, help="m, target e_y (0: centre)")
    parser.add_argument(
        "--prior", default="physics", help="config/prior_<name>.yaml on top ('': car.yaml's)"
    )
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's solver-accuracy notes

    params = parameters(args.config, args.track, args.prior)
    params["controller"] |= task_controller(args.offset, args.learning)
    runtime, jobs = build(params)
    car = jobs["controller"].car
    monitor = Monitor(runtime.create_node("monitor"), car)
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.out / "log", ignore_errors=True)
    with (
        Recorder(runtime.create_node("recorder"), args.out / "log", RECORDED),
        tqdm(total=round(args.duration), desc="simulated s", unit="s") as bar,
    ):
        for t in range(1, round(args.duration) + 1):
            runtime.spin_until(float(t))
            bar.update()
    jobs["sim"].destroy()
    Q, R = lane_keeping_weights()
    x_ref = np.asarray(jobs["controller"].config.x_ref)
    prior = jobs["controller"].instance.model
    rows = write_report(
        args.out,
        monitor.aligned(),
        safe_set(car),
        Q,
        R,
        x_ref,
        STATE_NAMES,
        f"Safe learning on the PyBullet car ({args.track} track)",
        prior=prior,
        period=jobs["controller"].config.control_period,
    )
    for phase, row in rows.items():
        print(f"{phase:>10}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()))
    print(f"report: {args.out / 'report.md'}")
    return 0 if all(row["violations"] == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
