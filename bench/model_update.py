"""Control ticks while a model update's planner is built, on the car's configuration.

A 10 Hz loop of fast-formulation solves (the controller's tick) runs while the planner for
a new model (the configured prior with eps scaled by 0.9) is built: in the background
(`nodes.builds.Builds`, as the controller node does) or inside the tick (as a callback that
builds would). Printed per horizon: the build's wall time, and over the ticks during it the
largest lateness of a tick's start and the largest solve time (ms). Python threads share
the interpreter, so a background build slows the ticks but does not stop them.

    python bench/model_update.py [--horizons 5 10 20]
"""

from __future__ import annotations

import argparse
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.nodes.builds import Builds
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"
PERIOD = 0.1  # s


def ticks_during_build(horizon: int) -> tuple[float, float, float]:
    """(build s, largest tick lateness ms, largest solve ms) with a background build."""
    inst = controller_instance(CarModelConfig.from_yaml(CONFIG))
    tau = ControllerConfig.from_yaml(CONFIG).tau
    planner = FastRobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, horizon, tau=tau)
    new = replace(inst.model, eps_A=0.9 * inst.model.eps_A, eps_B=0.9 * inst.model.eps_B)
    builds = Builds(background=True)
    start = time.perf_counter()
    builds.submit("update", lambda: planner.prepare(new))
    late, solve, due, built = [], [], start + PERIOD, None
    while built is None:
        time.sleep(max(0.0, due - time.perf_counter()))
        late.append(time.perf_counter() - due)
        t = time.perf_counter()
        planner.solve(np.zeros(3))
        solve.append(time.perf_counter() - t)
        for _, core in builds.finished():
            built = time.perf_counter() - start
            planner.install(core)  # between two ticks
        due += PERIOD
    return built, 1e3 * max(late), 1e3 * max(solve)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 20])
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    print(f"{'T':>3} {'build s':>8} {'inline: tick stalls s':>22} {'tick late max ms':>17} "
          f"{'solve max ms':>13}")  # fmt: skip
    for T in args.horizons:
        built, late, solve = ticks_during_build(T)
        print(f"{T:>3} {built:>8.2f} {built:>22.2f} {late:>17.1f} {solve:>13.1f}", flush=True)


if __name__ == "__main__":
    main()
