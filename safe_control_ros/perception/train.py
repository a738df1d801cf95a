"""Build a calibrated perception map file for the perception node.

Renders a training set over R (scaled by 1.25) and a held-out set (R scaled by 1.5, for
the bound and its growth outside R), both with 30 % of the poses on the track drawn near
its curvature changes (where images are hardest), and a fresh set (R, uniform along the
track, for the coverage check), each 3/4 from the track of the parameter file and 1/4
from a straight; fits the map, calibrates, stores the bound and its coverage in the map's
metadata and saves it:

    python -m safe_control_ros.perception.train --kind cnn --preview --out map.npz

or `build(SimConfig.from_yaml("config/car.yaml"), REGION, "cnn", preview=True)`. With the
defaults (R = 0.1 m x 0.1 rad, 12000 training images, the small CNN for 25 epochs) this
takes about 100 s on one CPU thread (35 s rendering) and gives eps_e of about 0.02 m and
0.016 rad. `--preview` fits a map that also takes the track preview (see `dataset`);
without it the map reads the image alone and its e_psi bound stays near 0.2 rad (a curve
ahead and a heading error look alike).

The shipped map `maps/cnn_preview.npz` (eps_e 0.009 m, 0.0096 rad; 14 minutes on one
thread) was made with

    python -m safe_control_ros.perception.train --kind cnn --preview --network large \\
        --train 40000 --heldout 6000 --epochs 40 --out maps/cnn_preview.npz
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from ..sim.config import SimConfig
from .calibration import attach, calibrate, check
from .dataset import Dataset, Region, generate
from .maps import NETWORKS, CnnMap, KernelMap, PerceptionMap

STRAIGHT = {"track_lengths": (35.0,), "track_curvatures": (0.0,)}
REGION = Region(0.1, 0.1)  # m, rad: the default region R
NEAR_CHANGES = 0.3  # share of training and held-out poses near curvature changes


def datasets(
    config: SimConfig,
    region: Region,
    train_size: int,
    heldout_size: int,
    seed: int = 0,
    progress: bool = True,
    near_changes: float = NEAR_CHANGES,
) -> dict[str, Dataset]:
    """{"train", "heldout", "fresh"} sets (see module); 3/4 of each from `config`'s track,
    1/4 from a 35 m straight (arc lengths below 30 m)."""
    straight = dataclasses.replace(config, **STRAIGHT)

    def both(count: int, offset: int, scale: float, near: float) -> Dataset:
        k = count * 3 // 4
        return Dataset.concatenate(
            [
                generate(config, region, k, seed + offset, scale, None, progress, near),
                generate(straight, region, count - k, seed + offset + 1, scale, 30.0, progress),
            ]
        )

    return {
        "train": both(train_size, 0, 1.25, near_changes),
        "heldout": both(heldout_size, 10, 1.5, near_changes),
        "fresh": both(heldout_size, 20, 1.0, 0.0),
    }


def build(
    config: SimConfig,
    region: Region = REGION,
    kind: str = "cnn",
    train_size: int = 12000,
    heldout_size: int = 3000,
    seed: int = 0,
    progress: bool = True,
    preview: bool = False,
    epochs: int = 25,
    network: str = "small",
    near_changes: float = NEAR_CHANGES,
) -> PerceptionMap:
    """A fitted, calibrated map (see module); epochs and network apply to the CNN. The
    map's metadata records the seconds spent rendering and fitting."""
    if kind not in ("kernel", "cnn"):
        raise ValueError(f"kind: expected 'kernel' or 'cnn', got {kind!r}")
    start = time.perf_counter()
    sets = datasets(config, region, train_size, heldout_size, seed, progress, near_changes)
    rendered = time.perf_counter()
    if kind == "kernel":
        fit, val = sets["train"].split(0.85, seed=seed)
        result: PerceptionMap = KernelMap.fit(fit, val, progress=progress, preview=preview)
    else:
        result = CnnMap.fit(
            sets["train"],
            epochs=epochs,
            seed=seed,
            progress=progress,
            preview=preview,
            network=network,
        )
    bound = calibrate(result.predict, sets["heldout"], region)
    attach(result, bound, check(result.predict, bound, sets["fresh"]))
    result.metadata["build_seconds"] = {
        "render": rendered - start,
        "fit_and_calibrate": time.perf_counter() - rendered,
    }
    return result


def main(args: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="config/car.yaml")
    parser.add_argument("--kind", choices=("kernel", "cnn"), default="cnn")
    parser.add_argument("--out", required=True)
    parser.add_argument("--train", type=int, default=12000)
    parser.add_argument("--heldout", type=int, default=3000)
    parser.add_argument("--e-y-max", type=float, default=REGION.e_y_max, help="m, region R")
    parser.add_argument("--e-psi-max", type=float, default=REGION.e_psi_max, help="rad, R")
    parser.add_argument("--preview", action="store_true", help="the map takes the preview")
    parser.add_argument("--epochs", type=int, default=25, help="CNN training epochs")
    parser.add_argument("--network", choices=sorted(NETWORKS), default="small")
    parser.add_argument("--seed", type=int, default=0)
    a = parser.parse_args(args)
    import torch

    torch.set_num_threads(1)
    region = Region(a.e_y_max, a.e_psi_max)
    result = build(
        SimConfig.from_yaml(a.config),
        region,
        a.kind,
        a.train,
        a.heldout,
        a.seed,
        preview=a.preview,
        epochs=a.epochs,
        network=a.network,
    )
    path = result.save(a.out)
    bound, seconds = result.error_bound, result.metadata["build_seconds"]
    print(
        f"{path}: eps_e = {np.round(bound['eps'], 4)} (m, rad), growth per unit distance "
        f"outside R {np.round(bound['slope'], 4)}, fresh coverage {bound['coverage']} of "
        f"{bound['coverage_samples']}; {seconds['render']:.0f} s rendering, "
        f"{seconds['fit_and_calibrate']:.0f} s fitting and calibrating"
    )


if __name__ == "__main__":
    main()
