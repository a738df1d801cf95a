"""Time of the consistency test (control.consistency) on the car's prior: one test of a
window of transitions from a system on a corner of the ball, per window length (the
controller's default: 50 transitions, 5 s). Prints a table.

    python bench/consistency.py [--repeats 50] [--windows 20 50 100 300]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from safe_control_ros.control.consistency import consistency
from safe_control_ros.control.falsify import corner_systems
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--windows", type=int, nargs="+", default=[20, 50, 100, 300])
    args = parser.parse_args()
    model = controller_instance(CarModelConfig.from_yaml(CONFIG)).model
    rng = np.random.default_rng(0)
    (A,), (B,) = corner_systems(model, 1, rng)
    print(f"{'transitions':>11} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'kappa max':>10}")
    for N in args.windows:
        times, worst = [], 0.0
        for _ in range(args.repeats):
            x, u = rng.uniform(-1, 1, (N, model.n)), rng.uniform(-1, 1, (N, model.m))
            x_next = x @ A.T + u @ B.T + rng.choice([-1.0, 1.0], x.shape) * model.sigma_w
            start = time.perf_counter()
            worst = max(worst, consistency(model, x, u, x_next).ratio.max())
            times.append(time.perf_counter() - start)
        ms = 1e3 * np.array(times)
        print(
            f"{N:>11} {np.median(ms):>8.2f} {np.percentile(ms, 95):>8.2f} {ms.max():>8.2f} "
            f"{worst:>10.3f}"
        )


if __name__ == "__main__":
    main()
