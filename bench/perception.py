"""Perception maps: dataset generation, training time, inference time per frame, accuracy.

Renders the sets of `train.build` over R = |e_y| <= 0.1 m, |e_psi| <= 0.1 rad (training
over R scaled by 1.25 with a share of poses near curvature changes, held-out over R scaled
by 1.5, fresh over R; 3/4 on the default oval, 1/4 on a straight, default 64x64 camera),
fits the kernel map and the CNN, each from the image alone and with the track preview,
times single-frame inference on one CPU thread (median and 99th percentile over --frames
calls; the OOD score separately), then calibrates each map's bound on the held-out set and
checks it on the fresh set. --map adds saved maps (e.g. maps/cnn_preview.npz).

    python bench/perception.py [--train 12000] [--heldout 3000] [--epochs 25] [--frames 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from safe_control_ros.perception.calibration import calibrate, check
from safe_control_ros.perception.maps import CnnMap, KernelMap, load_map
from safe_control_ros.perception.train import REGION, datasets
from safe_control_ros.sim.config import SimConfig


def frame_times(fn, images: np.ndarray, previews: np.ndarray, frames: int) -> np.ndarray:
    """Wall times (ms) of `frames` single-image calls fn(image (1, H, W, 3), preview)."""
    out = np.empty(frames)
    for i in range(frames):
        k = i % len(images)
        image, preview = images[k][None], previews[k][None]
        start = time.perf_counter()
        fn(image, preview)
        out[i] = 1e3 * (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=12000)
    parser.add_argument("--heldout", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=25)
    parser.add_argument("--frames", type=int, default=300)
    parser.add_argument(
        "--seed", type=int, default=100, help="of the sets (not the shipped map's 0)"
    )
    parser.add_argument("--map", action="append", default=[], help="a saved map to add")
    args = parser.parse_args()
    torch.set_num_threads(1)
    sim = SimConfig.from_yaml("config/car.yaml")

    start = time.perf_counter()
    sets = datasets(sim, REGION, args.train, args.heldout, args.seed, progress=False)
    gen_s = time.perf_counter() - start
    train, heldout, fresh = sets["train"], sets["heldout"], sets["fresh"]
    images = sum(len(d) for d in sets.values())
    print(
        f"datasets: {len(train)} training, {len(heldout)} held-out, {len(fresh)} fresh images "
        f"64x64 ({train.images.nbytes / 1e6:.0f} MB raw training), {gen_s:.1f} s to render "
        f"({1e3 * gen_s / images:.1f} ms per image)"
    )

    fit, val = train.split(0.85)
    maps, train_s = {}, {}
    for name, make in {
        "kernel": lambda: KernelMap.fit(fit, val, progress=False),
        "kernel+preview": lambda: KernelMap.fit(fit, val, progress=False, preview=True),
        "cnn": lambda: CnnMap.fit(train, epochs=args.epochs, progress=False),
        "cnn+preview": lambda: CnnMap.fit(train, epochs=args.epochs, progress=False, preview=True),
    }.items():
        start = time.perf_counter()
        maps[name] = make()
        train_s[name] = time.perf_counter() - start
    for path in args.map:
        maps[path] = load_map(path, camera=sim)
        train_s[path] = maps[path].metadata["training"]["seconds"]

    print(
        "map             train s  infer ms median   p99  ood ms   mean|e| (m, rad)    "
        "eps_e (m, rad)     fresh coverage"
    )
    for name, m in maps.items():
        ms = frame_times(m.predict, fresh.images, fresh.preview, args.frames)
        ood = frame_times(lambda im, _, m=m: m.ood_score(im), fresh.images, fresh.preview, 50)
        bound = calibrate(m.predict, heldout, REGION)
        cov = check(m.predict, bound, fresh)
        print(
            f"{name:15s} {train_s[name]:7.0f}  {np.median(ms):15.2f} {np.quantile(ms, 0.99):5.2f}"
            f"  {np.median(ood):6.2f}   ({cov.mean_abs[0]:.4f}, {cov.mean_abs[1]:.4f})   "
            f"({bound.eps[0]:.4f}, {bound.eps[1]:.4f})   {cov.joint:.4f} of {cov.samples}"
        )


if __name__ == "__main__":
    main()
