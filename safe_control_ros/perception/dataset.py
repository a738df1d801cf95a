"""Labelled camera images rendered from the car world over a region R of lane-frame states.

Poses are sampled uniformly: arc length s uniform along the track, (e_y m, e_psi rad)
uniform in the box R = [-e_y_max, e_y_max] x [-e_psi_max, e_psi_max] (optionally scaled up
to sample beyond R). Speed does not change the image. Every image gets the world's
randomisation (brightness gain, pixel noise), seeded per sample, so a dataset is
reproducible from (camera configuration, region, seed). Stored as one .npz holding the
images (N, H, W, 3) uint8, the labels (N, 2) [e_y, e_psi] and the arc lengths (N,), with
the metadata as JSON.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..sim.config import SimConfig
from ..sim.world import CarWorld

#: SimConfig fields that fix the image geometry: a map only applies to the same values.
CAMERA_GEOMETRY = (
    "camera_width",
    "camera_height",
    "camera_fov",
    "camera_position",
    "camera_rpy",
)
#: SimConfig fields that change the appearance of images (recorded, not enforced).
CAMERA_APPEARANCE = (
    "light_direction",
    "light_ambient",
    "light_diffuse",
    "brightness_jitter",
    "pixel_noise_std",
    "lane_half_width",
    "marking_width",
)
LABELS = ("e_y", "e_psi")  # m, rad


@dataclass(frozen=True)
class Region:
    """The box R = {|e_y| <= e_y_max (m), |e_psi| <= e_psi_max (rad)} of lane-frame states."""

    e_y_max: float = 0.3
    e_psi_max: float = 0.4

    def __post_init__(self) -> None:
        for name in ("e_y_max", "e_psi_max"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value > 0):
                raise ValueError(f"region.{name}: expected a number > 0, got {value!r}")

    @property
    def half_widths(self) -> np.ndarray:
        """(2,) [e_y_max, e_psi_max]."""
        return np.array([self.e_y_max, self.e_psi_max])

    def distance(self, states: np.ndarray) -> np.ndarray:
        """Scaled distance (N,) of states (N, 2) outside R: max_i (|x_i| / half_width_i) - 1,
        clipped at 0 (0 inside R, 0.5 on the boundary of R scaled by 1.5)."""
        scaled = np.abs(np.asarray(states, dtype=float)) / self.half_widths
        return np.maximum(scaled.max(axis=-1) - 1.0, 0.0)

    def contains(self, states: np.ndarray) -> np.ndarray:
        return self.distance(states) <= 0.0


def camera_metadata(config: SimConfig) -> dict:
    """The camera configuration of `config`: geometry and appearance fields, JSON-able."""
    return {name: _jsonable(getattr(config, name)) for name in CAMERA_GEOMETRY + CAMERA_APPEARANCE}


def check_camera(expected: dict, config: SimConfig | dict, what: str = "map") -> None:
    """ValueError naming every geometry field where `config` differs from `expected`."""
    actual = camera_metadata(config) if isinstance(config, SimConfig) else config
    wrong = [
        f"{name}: {what} trained for {expected.get(name)!r}, camera has {actual.get(name)!r}"
        for name in CAMERA_GEOMETRY
        if not np.allclose(np.atleast_1d(expected.get(name)), np.atleast_1d(actual.get(name)))
    ]
    if wrong:
        raise ValueError("camera configuration mismatch: " + "; ".join(wrong))


@dataclass
class Dataset:
    """Images (N, H, W, 3) uint8, states (N, 2) [e_y m, e_psi rad], arc lengths s (N,) m."""

    images: np.ndarray
    states: np.ndarray
    s: np.ndarray
    metadata: dict

    def __len__(self) -> int:
        return len(self.states)

    def subset(self, index) -> Dataset:
        return Dataset(self.images[index], self.states[index], self.s[index], self.metadata)

    def split(self, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Random split into (first `fraction`, rest)."""
        order = np.random.default_rng(seed).permutation(len(self))
        k = round(fraction * len(self))
        return self.subset(order[:k]), self.subset(order[k:])

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez_compressed(
            path,
            images=self.images,
            states=self.states,
            s=self.s,
            metadata=json.dumps(self.metadata),
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        with np.load(path) as data:
            return cls(data["images"], data["states"], data["s"], json.loads(str(data["metadata"])))

    @staticmethod
    def concatenate(parts: list[Dataset]) -> Dataset:
        meta = dict(parts[0].metadata)
        meta["parts"] = [p.metadata for p in parts]
        return Dataset(
            np.concatenate([p.images for p in parts]),
            np.concatenate([p.states for p in parts]),
            np.concatenate([p.s for p in parts]),
            meta,
        )


def generate(
    config: SimConfig,
    region: Region,
    count: int,
    seed: int,
    scale: float = 1.0,
    s_max: float | None = None,
    progress: bool = True,
) -> Dataset:
    """Render `count` images at poses uniform over the track x (R scaled by `scale`).

    config: the world (track, camera, randomisation). The sample poses and every image's
    brightness and noise follow from `seed`. s_max (m): sample arc lengths in [0, s_max)
    instead of the whole track (an open track's last metres look at its end).
    """
    if count < 1:
        raise ValueError(f"count: expected an integer >= 1, got {count!r}")
    if not scale > 0:
        raise ValueError(f"scale: expected a number > 0, got {scale!r}")
    config = dataclasses.replace(config, camera_period=config.control_period)
    # one stream each: the first k samples of a set are the set of k samples
    pose_rng, image_rng, s_rng = (
        np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(3)
    )
    states = pose_rng.uniform(-1.0, 1.0, (count, 2)) * region.half_widths * scale
    image_seeds = image_rng.integers(0, 2**31, count)
    images = np.empty((count, config.camera_height, config.camera_width, 3), np.uint8)
    with CarWorld(config) as world:
        s = s_rng.uniform(0.0, world.track.length if s_max is None else s_max, count)
        for i in tqdm(range(count), desc="render", disable=not progress, leave=False):
            world.reset(int(image_seeds[i]), s=float(s[i]), e_y=states[i, 0], e_psi=states[i, 1])
            images[i] = world.camera_image()
    metadata = {
        "camera": camera_metadata(config),
        "region": dataclasses.asdict(region),
        "scale": scale,
        "seed": seed,
        "count": count,
        "s_max": s_max,
        "track_lengths": list(config.track_lengths),
        "track_curvatures": list(config.track_curvatures),
        "labels": list(LABELS),
    }
    return Dataset(images, states, s, metadata)


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value
