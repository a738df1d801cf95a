"""Perception maps: dataset generation, training time, inference time per frame, accuracy.

Generates a training set over R = |e_y| <= 0.2 m, |e_psi| <= 0.2 rad (scaled by 1.25) on
the default oval at the default 64x64 camera, trains the kernel map and the CNN, and times
single-frame inference on one CPU thread (median and 99th percentile over --frames calls),
then calibrates each map's bound on held-out data and checks it on fresh data.

    python bench/perception.py [--train 2000] [--heldout 600] [--frames 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from safe_control_ros.perception.calibration import calibrate, check
from safe_control_ros.perception.dataset import Region, generate
from safe_control_ros.perception.maps import CnnMap, KernelMap
from safe_control_ros.sim.config import SimConfig

REGION = Region(0.2, 0.2)


def frame_times(predict, images: np.ndarray, frames: int) -> np.ndarray:
    """Wall times (ms) of `frames` single-image predictions."""
    out = np.empty(frames)
    for i in range(frames):
        image = images[i % len(images)][None]
        start = time.perf_counter()
        predict(image)
        out[i] = 1e3 * (time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--heldout", type=int, default=600)
    parser.add_argument("--frames", type=int, default=300)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sim = SimConfig.from_yaml("config/car.yaml")

    start = time.perf_counter()
    train = generate(sim, REGION, args.train, seed=1, scale=1.25)
    gen_s = time.perf_counter() - start
    heldout = generate(sim, REGION, args.heldout, seed=2)
    fresh = generate(sim, REGION, args.heldout, seed=3)
    mb = train.images.nbytes / 1e6
    print(f"dataset: {len(train)} images 64x64, {mb:.1f} MB raw, {gen_s:.1f} s to render")

    fit, val = train.split(0.85)
    maps = {}
    start = time.perf_counter()
    maps["kernel"] = KernelMap.fit(fit, val)
    train_s = {"kernel": time.perf_counter() - start}
    start = time.perf_counter()
    maps["cnn"] = CnnMap.fit(train, epochs=30)
    train_s["cnn"] = time.perf_counter() - start

    header = "map     train s  infer ms median  p99   mean|e| (m, rad)   eps_e (m, rad)   coverage"
    print(header)
    for name, m in maps.items():
        ms = frame_times(m.predict, fresh.images, args.frames)
        bound = calibrate(m.predict, heldout, REGION)
        cov = check(m.predict, bound, fresh)
        print(
            f"{name:7s} {train_s[name]:7.1f}  {np.median(ms):15.2f} {np.quantile(ms, 0.99):5.2f}"
            f"   ({cov.mean_abs[0]:.4f}, {cov.mean_abs[1]:.4f})   "
            f"({bound.eps[0]:.3f}, {bound.eps[1]:.3f})   {cov.joint:.3f} of {cov.samples}"
        )


if __name__ == "__main__":
    main()
