"""Speed of the simulated car world: simulated seconds per wall second, and camera frame cost.

The car keeps its lane on the default oval (feed-forward + LQR on the nominal model) with
physics at 1/240 s and a 0.1 s control period. Frame cost: each single physics step is timed;
steps that render a frame minus the median step that does not.

    python bench/sim_speed.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from safe_control_ros.sim.config import SimConfig
from safe_control_ros.sim.lane_model import lane_keeping_gain, linearise
from safe_control_ros.sim.model_error import command_lane_keeping
from safe_control_ros.sim.world import CarWorld

CAMERAS = {"off": None, "64x64": (64, 64), "160x120": (160, 120)}


def camera_config(size: tuple[int, int] | None) -> SimConfig:
    """Default world with the camera off (None) or at (width, height) px."""
    if size is None:
        return dataclasses.replace(SimConfig(), camera_period=0.0)
    return dataclasses.replace(SimConfig(), camera_width=size[0], camera_height=size[1])


def realtime_factor(config: SimConfig, seconds: float) -> float:
    """Simulated seconds per wall second over `seconds` of lane keeping."""
    with CarWorld(config) as world:
        gain = lane_keeping_gain(
            *linearise(config.reference_speed, world.wheelbase, config.control_period)
        )
        steps = round(seconds / config.control_period)
        start = time.perf_counter()
        for _ in range(steps):
            command_lane_keeping(world, gain)
            world.step(config.control_period)
        return world.time / (time.perf_counter() - start)


def frame_times_ms(config: SimConfig, seconds: float) -> np.ndarray:
    """Rendering cost (ms) of each frame taken during `seconds` of lane keeping."""
    with CarWorld(config) as world:
        gain = lane_keeping_gain(
            *linearise(config.reference_speed, world.wheelbase, config.control_period)
        )
        per_period = round(config.control_period / config.physics_dt)
        plain, rendering = [], []
        for _ in range(round(seconds / config.control_period)):
            command_lane_keeping(world, gain)
            for _ in range(per_period):
                stamp = world.camera_stamp
                start = time.perf_counter()
                world.step(config.physics_dt)
                elapsed = time.perf_counter() - start
                (rendering if world.camera_stamp != stamp else plain).append(elapsed)
    return 1e3 * (np.array(rendering) - np.median(plain))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="simulated s per case")
    args = parser.parse_args()
    print(f"simulated s per wall s ({args.seconds:g} s of lane keeping, one process)")
    print(f"{'camera':<10}{'rate':>8}{'speed':>10}")
    for name, size in CAMERAS.items():
        config = camera_config(size)
        rate = f"{1 / config.camera_period:g} Hz" if size else "-"
        print(f"{name:<10}{rate:>8}{realtime_factor(config, args.seconds):>9.1f}x")
    print("\nms per rendered frame (ER_TINY_RENDERER)")
    print(f"{'size':<10}{'median':>8}{'p95':>8}")
    for name, size in CAMERAS.items():
        if size:
            ms = frame_times_ms(camera_config(size), args.seconds)
            print(f"{name:<10}{np.median(ms):>8.2f}{np.percentile(ms, 95):>8.2f}")


if __name__ == "__main__":
    main()
