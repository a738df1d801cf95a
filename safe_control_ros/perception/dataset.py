"""Labelled camera images rendered from the car world over a region R of lane-frame states.

Poses are sampled uniformly: arc length s uniform along the track (optionally a fraction
of the samples near the track's curvature changes, where a curve ahead enters or leaves
the view), (e_y m, e_psi rad) uniform in the box R = [-e_y_max, e_y_max] x
[-e_psi_max, e_psi_max] (optionally scaled up to sample beyond R). Speed does not change
the image. Every image gets the world's randomisation (brightness gain, pixel noise),
seeded per sample, so a dataset is reproducible from (camera configuration, region, seed).
Images are the world's own (`CarWorld.reset` at the pose, then `camera_image`), rendered
without rebuilding the scene for each pose (about 2 ms per 64x64 image instead of 12).
Stored as one .npz holding the images (N, H, W, 3) uint8, the labels (N, 2) [e_y, e_psi],
the arc lengths (N,) and the track previews (N, K) (see `preview`), with the metadata as
JSON.

Why a map may need the track preview: the lane lines are only in view from about 0.9 m
ahead of the rear axle. Within that distance before a curve entry (or exit) every visible
line is on the arc (or the straight), and the image equals, up to a few pixels at the
horizon, the image of a pose at the entry with e_psi larger by about curvature x distance
(up to 0.3 rad on the oval). Images alone cannot tell these poses apart; the heading
change of the track ahead, which the car knows from its arc length and its map of the
track, can.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..sim.camera import DashCamera
from ..sim.config import SimConfig
from ..sim.track import Track
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
#: m, distances ahead of the car at which `preview` gives the heading change of the track.
PREVIEW = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
#: m, arc lengths relative to a curvature change sampled by `generate(near_changes=...)`:
#: where images alone are ambiguous (the change within about 1 m ahead) and its margins.
CHANGE_WINDOW = (-1.5, 1.5)


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
    """Images (N, H, W, 3) uint8, states (N, 2) [e_y m, e_psi rad], arc lengths s (N,) m,
    track previews (N, len(PREVIEW)) rad (None in files written before previews existed)."""

    images: np.ndarray
    states: np.ndarray
    s: np.ndarray
    metadata: dict
    preview: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.states)

    def subset(self, index) -> Dataset:
        preview = None if self.preview is None else self.preview[index]
        return Dataset(
            self.images[index], self.states[index], self.s[index], self.metadata, preview
        )

    def split(self, fraction: float, seed: int = 0) -> tuple[Dataset, Dataset]:
        """Random split into (first `fraction`, rest)."""
        order = np.random.default_rng(seed).permutation(len(self))
        k = round(fraction * len(self))
        return self.subset(order[:k]), self.subset(order[k:])

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        extra = {} if self.preview is None else {"preview": self.preview}
        np.savez_compressed(
            path,
            images=self.images,
            states=self.states,
            s=self.s,
            metadata=json.dumps(self.metadata),
            **extra,
        )
        return path if path.suffix == ".npz" else path.with_name(path.name + ".npz")

    @classmethod
    def load(cls, path: str | Path) -> Dataset:
        with np.load(path) as data:
            preview = data["preview"] if "preview" in data.files else None
            meta = json.loads(str(data["metadata"]))
            return cls(data["images"], data["states"], data["s"], meta, preview)

    @staticmethod
    def concatenate(parts: list[Dataset]) -> Dataset:
        meta = dict(parts[0].metadata)
        meta["parts"] = [p.metadata for p in parts]
        meta["count"] = sum(len(p) for p in parts)
        previews = [p.preview for p in parts]
        return Dataset(
            np.concatenate([p.images for p in parts]),
            np.concatenate([p.states for p in parts]),
            np.concatenate([p.s for p in parts]),
            meta,
            None if any(v is None for v in previews) else np.concatenate(previews),
        )


def generate(
    config: SimConfig,
    region: Region,
    count: int,
    seed: int,
    scale: float = 1.0,
    s_max: float | None = None,
    progress: bool = True,
    near_changes: float = 0.0,
) -> Dataset:
    """Render `count` images at poses uniform over the track x (R scaled by `scale`).

    config: the world (track, camera, randomisation). The sample poses and every image's
    brightness and noise follow from `seed`. s_max (m): sample arc lengths in [0, s_max)
    instead of the whole track (an open track's last metres look at its end).
    near_changes: fraction of the samples (in expectation) whose arc length is uniform in
    `CHANGE_WINDOW` around a uniformly chosen curvature change of the track (none on a
    track of one curvature); the others are uniform along the track.
    """
    if count < 1:
        raise ValueError(f"count: expected an integer >= 1, got {count!r}")
    if not scale > 0:
        raise ValueError(f"scale: expected a number > 0, got {scale!r}")
    if not 0.0 <= near_changes <= 1.0:
        raise ValueError(f"near_changes: expected a number in [0, 1], got {near_changes!r}")
    config = dataclasses.replace(config, camera_period=config.control_period)
    # one stream each: the first k samples of a set are the set of k samples
    pose_rng, image_rng, s_rng, change_rng = (
        np.random.default_rng(q) for q in np.random.SeedSequence(seed).spawn(4)
    )
    states = pose_rng.uniform(-1.0, 1.0, (count, 2)) * region.half_widths * scale
    image_seeds = image_rng.integers(0, 2**31, count)
    images = np.empty((count, config.camera_height, config.camera_width, 3), np.uint8)
    with CarWorld(config) as world:
        end = world.track.length if s_max is None else s_max
        s = s_rng.uniform(0.0, end, count)
        if near_changes > 0.0:
            u = change_rng.uniform(size=(count, 3))
            s = _near_changes(s, world.track, end, near_changes, u)
        render = _Renderer(world)
        for i in tqdm(range(count), desc="render", disable=not progress, leave=False):
            images[i] = render(int(image_seeds[i]), float(s[i]), states[i, 0], states[i, 1])
    metadata = {
        "camera": camera_metadata(config),
        "region": dataclasses.asdict(region),
        "scale": scale,
        "seed": seed,
        "count": count,
        "s_max": s_max,
        "near_changes": near_changes,
        "track_lengths": list(config.track_lengths),
        "track_curvatures": list(config.track_curvatures),
        "labels": list(LABELS),
        "preview_distances": list(PREVIEW),
    }
    track = Track(config.track_lengths, config.track_curvatures)
    return Dataset(images, states, s, metadata, preview(track, s))


def preview(track: Track, s) -> np.ndarray:
    """(N, len(PREVIEW)) rad: heading change of the centreline of `track` from arc length s
    (N,) m to s + d for each d in PREVIEW (continuous in s; 0 on a straight). On a closed
    track s + d wraps around the lap; an open track ends straight."""
    s = np.atleast_1d(np.asarray(s, dtype=float))
    return _heading(track, s[:, None] + np.array(PREVIEW)) - _heading(track, s)[:, None]


def _heading(track: Track, s: np.ndarray) -> np.ndarray:
    """Centreline heading (rad) at arc lengths s, accumulated from s = 0 (laps included)."""
    if track.closed:
        laps = np.floor(s / track.length)
        s = s - laps * track.length
    else:
        laps = np.zeros_like(s)
        s = np.clip(s, 0.0, track.length)
    turn = track.curvatures * track.lengths
    covered = np.clip(s[..., None] - track.starts, 0.0, track.lengths)
    return covered @ track.curvatures + laps * turn.sum()


def curvature_changes(track: Track) -> np.ndarray:
    """Arc lengths (m) where the curvature of `track` changes."""
    k = track.curvatures
    inner = track.starts[1:][k[1:] != k[:-1]]
    if track.closed and k[0] != k[-1]:
        inner = np.concatenate([[0.0], inner])
    return inner


def _near_changes(s, track: Track, end: float, fraction: float, u: np.ndarray) -> np.ndarray:
    """Replace a `fraction` of the arc lengths s by arc lengths near curvature changes; u
    (N, 3) uniform in [0, 1): [choose, which change, where in the window]."""
    changes = curvature_changes(track)
    low, high = CHANGE_WINDOW
    if not track.closed:
        changes = changes[(changes + low >= 0.0) & (changes + high <= end)]
    if changes.size == 0:
        return s
    near = changes[(u[:, 1] * changes.size).astype(int)] + low + (high - low) * u[:, 2]
    if track.closed:
        near = near % track.length
    return np.where(u[:, 0] < fraction, near, s)


class _Renderer:
    """The image of `CarWorld.reset(seed, s, e_y, e_psi)` then `camera_image()`, without
    rebuilding the scene: the car is moved to the pose and a camera with the reset's random
    stream renders it. The first image is checked against a real reset."""

    def __init__(self, world: CarWorld) -> None:
        self.world = world
        self.checked = False

    def __call__(self, seed: int, s: float, e_y: float, e_psi: float) -> np.ndarray:
        world, cfg = self.world, self.world.config
        _, camera_seed = np.random.SeedSequence(seed).spawn(2)  # as CarWorld.reset
        x, y, yaw = world.track.to_world(s, e_y, e_psi)
        car = world._car
        car.place(x, y, yaw, cfg.reference_speed)
        camera = DashCamera(world._p, cfg, np.random.default_rng(camera_seed))
        position, orientation, _ = car.ground_truth()
        image = camera.render(position, orientation)
        if not self.checked:
            world.reset(seed, s=s, e_y=e_y, e_psi=e_psi)
            if not np.array_equal(image, world.camera_image()):
                raise RuntimeError("dataset: images differ from the world's own after a reset")
            self.checked = True
        return image


def _jsonable(value):
    return list(value) if isinstance(value, tuple) else value
