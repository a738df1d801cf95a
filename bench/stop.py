"""Time of the certified stop's checks on the car's configuration (control.stop): one
`certify` of a start box, and one `next_set` + `certify` (what the controller adds to each
step, twice when a new plan is refused). Prints a table.

    python bench/stop.py [--count 2000]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from safe_control_ros.control.stop import next_set
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import blind_stop, controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=2000)
    args = parser.parse_args()
    car = CarModelConfig.from_yaml(CONFIG)
    model, stop = controller_instance(car).model, blind_stop(car)
    rng = np.random.default_rng(0)
    centers = rng.uniform(-0.5, 0.5, (args.count, 3))
    radii = rng.uniform(0.0, 0.1, (args.count, 3))
    u = rng.uniform(-1.0, 0.8, (args.count, 2))
    timings: dict[str, list[float]] = {"certify": [], "next_set + certify": []}
    certified = 0
    for c, r, v in zip(centers, radii, u, strict=True):
        start = time.perf_counter()
        certified += stop.certify(c, r, car.speed).certified
        timings["certify"].append(time.perf_counter() - start)
        start = time.perf_counter()
        stop.certify(*next_set(model, c, r, v), car.speed)
        timings["next_set + certify"].append(time.perf_counter() - start)
    print(f"{'':<20} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, values in timings.items():
        ms = 1e3 * np.array(values)
        print(f"{name:<20} {np.median(ms):>8.3f} {np.percentile(ms, 95):>8.3f} {ms.max():>8.3f}")
    print(f"certified: {certified} of {args.count} random start boxes")


if __name__ == "__main__":
    main()
