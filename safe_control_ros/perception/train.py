"""Build a calibrated perception map file for the perception node.

Renders a training set over R (scaled by 1.25, from the oval of the parameter file and a
straight), a held-out set (R scaled by 1.5, for the bound and its growth outside R) and a
fresh set (R, for the coverage check); fits the map, calibrates, stores the bound and its
coverage in the map's metadata and saves it:

    python -m safe_control_ros.perception.train --kind cnn --out maps/cnn.npz
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from ..sim.config import SimConfig
from .calibration import attach, calibrate, check
from .dataset import Dataset, Region, generate
from .maps import CnnMap, KernelMap, PerceptionMap

STRAIGHT = {"track_lengths": (35.0,), "track_curvatures": (0.0,)}


def build(
    config: SimConfig,
    region: Region,
    kind: str = "cnn",
    train_size: int = 2000,
    heldout_size: int = 600,
    seed: int = 0,
    progress: bool = True,
) -> PerceptionMap:
    """A fitted, calibrated map (see module); 3/4 of each set from `config`'s track, 1/4
    from a 35 m straight (arc lengths below 30 m)."""
    straight = dataclasses.replace(config, **STRAIGHT)

    def both(count: int, offset: int, scale: float) -> Dataset:
        k = count * 3 // 4
        return Dataset.concatenate(
            [
                generate(config, region, k, seed + offset, scale, progress=progress),
                generate(straight, region, count - k, seed + offset + 1, scale, 30.0, progress),
            ]
        )

    train = both(train_size, 0, 1.25)
    heldout = both(heldout_size, 10, 1.5)
    fresh = both(heldout_size, 20, 1.0)
    if kind == "kernel":
        fit, val = train.split(0.85, seed=seed)
        result: PerceptionMap = KernelMap.fit(fit, val, progress=progress)
    elif kind == "cnn":
        result = CnnMap.fit(train, seed=seed, progress=progress)
    else:
        raise ValueError(f"kind: expected 'kernel' or 'cnn', got {kind!r}")
    bound = calibrate(result.predict, heldout, region)
    attach(result, bound, check(result.predict, bound, fresh))
    return result


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/car.yaml")
    parser.add_argument("--kind", choices=("kernel", "cnn"), default="cnn")
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=600)
    parser.add_argument("--e-y-max", type=float, default=0.2, help="m, region R")
    parser.add_argument("--e-psi-max", type=float, default=0.2, help="rad, region R")
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(args)
    import torch

    torch.set_num_threads(1)
    region = Region(a.e_y_max, a.e_psi_max)
    result = build(SimConfig.from_yaml(a.config), region, a.kind, a.train, a.heldout, a.seed)
    path = result.save(a.out)
    bound = result.error_bound
    print(
        f"{path}: eps_e = {np.round(bound['eps'], 4)} (m, rad), growth per unit distance "
        f"outside R {np.round(bound['slope'], 4)}, fresh coverage {bound['coverage']}"
    )


if __name__ == "__main__":
    main()
