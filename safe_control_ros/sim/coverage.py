"""How far the car's prior must widen for its ball to explain a range of plants.

For each plant at the corners of a box of simulator parameters (for example mass_scale
0.5-1.5 and steering_time_constant 0-0.06 s), drive the car with lane-keeping feedback
and bounded excitation (`model_error.measure_model_error`) and compute per state row the
smallest scale of the prior's (eps_A0, eps_B0) with which its ball explains every
transition within sigma_w (`control.consistency.covering_scale`). The largest over the
plants, per row, is how much the prior's bounds must grow before its certificates rest on a
model that no plant of the range refutes (on that data).

    python -m safe_control_ros.sim.coverage --plant mass_scale=0.5,1.5 \
        --plant steering_time_constant=0,0.06
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools

import numpy as np

from ..control.consistency import covering_scale
from .config import CarModelConfig, SimConfig
from .lane_model import controller_instance, input_scale
from .model_error import measure_model_error


def plant_corners(ranges: dict[str, tuple[float, ...]]) -> list[dict[str, float]]:
    """Every combination of the given values of the simulator parameters."""
    names = list(ranges)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*ranges.values())]


def parse_range(spec: str) -> tuple[str, tuple[float, ...]]:
    """'name=v1,v2,...' -> (name, values); ValueError naming what is wrong."""
    name, _, values = spec.partition("=")
    fields = {f.name for f in dataclasses.fields(SimConfig)}
    if name not in fields:
        raise ValueError(f"--plant: expected a sim parameter name=v1,v2, got {spec!r}")
    try:
        return name, tuple(float(v) for v in values.split(","))
    except ValueError:
        raise ValueError(
            f"--plant {name}: expected numbers separated by commas, got {values!r}"
        ) from None


def coverage(
    sim: SimConfig,
    car: CarModelConfig,
    plants: list[dict[str, float]],
    duration: float = 120.0,
    sigma_eta=(0.05, 0.3),
    seed: int = 21,
) -> list[np.ndarray]:
    """Per plant (parameters replacing `sim`'s), the (3,) covering scale of the prior's
    bounds on `duration` s of data with excitation sigma_eta (rad, m/s^2)."""
    prior = controller_instance(car).model
    Dx, Du = np.asarray(car.state_scale), input_scale(car)
    scales = []
    for plant in plants:
        run = measure_model_error(dataclasses.replace(sim, **plant), duration, sigma_eta, seed)
        x, u = run.states / Dx, run.inputs / Du
        scales.append(covering_scale(prior, x[:-1], u, x[1:]))
    return scales


def main(argv: list[str] | None = None) -> None:
    """Print the covering scale per plant and row, and the largest per row."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/car.yaml")
    parser.add_argument("--plant", action="append", default=[], help="name=v1,v2 (repeat)")
    parser.add_argument("--duration", type=float, default=120.0, help="s per plant")
    parser.add_argument("--seed", type=int, default=21)
    args = parser.parse_args(argv)
    plants = plant_corners(dict(parse_range(spec) for spec in args.plant))
    sim, car = SimConfig.from_yaml(args.config), CarModelConfig.from_yaml(args.config)
    scales = coverage(sim, car, plants, args.duration, seed=args.seed)
    print(f"{'plant':<50} {'e_y':>7} {'e_psi':>7} {'e_v':>7}")
    for plant, scale in zip(plants, scales, strict=True):
        name = ", ".join(f"{k} {v:g}" for k, v in plant.items()) or "as configured"
        print(f"{name:<50} " + " ".join(f"{s:>7.3f}" for s in scale))
    print(f"{'largest':<50} " + " ".join(f"{s:>7.3f}" for s in np.max(scales, axis=0)))


if __name__ == "__main__":
    main()
