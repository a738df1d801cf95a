"""Perception maps trained on a small generated set: accuracy, save/load with metadata,
camera-mismatch errors, a calibrated bound's coverage on fresh data, and why the accurate
maps take the track preview (a curve ahead and a heading error look alike)."""

import dataclasses
import math

import numpy as np
import pytest

from safe_control_ros.perception.calibration import attach, bound_of, calibrate, check
from safe_control_ros.perception.dataset import PREVIEW, Dataset, Region, generate, preview
from safe_control_ros.perception.maps import CnnMap, KernelMap, load_map
from safe_control_ros.sim.config import SimConfig
from safe_control_ros.sim.track import Track
from safe_control_ros.sim.world import CarWorld

try:
    import torch
except ImportError:  # torch is an optional dependency: the CNN tests skip without it
    torch = None

CONFIG = "config/car.yaml"
SHIPPED = "maps/cnn_preview.npz"  # see perception.train
STRAIGHT = {"track_lengths": (35.0,), "track_curvatures": (0.0,)}
NO_TORCH = pytest.mark.skipif(torch is None, reason="no torch")
# kernel: image only; kernel_preview and cnn_preview: image and track preview
KINDS = ["kernel", "kernel_preview", pytest.param("cnn_preview", marks=NO_TORCH)]
REGION = Region(0.1, 0.1)
# Stated accuracy on fresh data inside R (mean |error|, m and rad) and calibrated bound
# (eps_e, m and rad), for maps fitted on 6000 training images (4500 oval, 1500 straight)
MEAN_ABS_ERROR = {
    "kernel": (0.016, 0.026),
    "kernel_preview": (0.008, 0.01),
    "cnn_preview": (0.004, 0.004),
}
BOUND = {"kernel": (0.12, 0.2), "kernel_preview": (0.055, 0.09), "cnn_preview": (0.035, 0.03)}


def _both(count, seed, scale, near_changes=0.0):
    """3/4 on the oval of the parameter file, 1/4 on a straight."""
    sim = SimConfig.from_yaml(CONFIG)
    straight = dataclasses.replace(sim, **STRAIGHT)
    k = count * 3 // 4
    return Dataset.concatenate(
        [
            generate(sim, REGION, k, seed, scale, progress=False, near_changes=near_changes),
            generate(straight, REGION, count - k, seed + 1, scale, 30.0, progress=False),
        ]
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    if torch is not None:
        torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("perception")
    sets = {
        "train": _both(6000, 1, 1.25, near_changes=0.3),
        "heldout": _both(2000, 3, 1.5, near_changes=0.3),
        "fresh": _both(1000, 5, 1.0),
    }
    for name, d in sets.items():  # round trip through disk like a real pipeline
        sets[name] = Dataset.load(d.save(folder / f"{name}.npz"))
    return sets


@pytest.fixture(scope="module")
def maps(data):
    fit, val = data["train"].split(0.85, seed=0)
    result = {
        "kernel": KernelMap.fit(fit, val, progress=False),
        "kernel_preview": KernelMap.fit(fit, val, progress=False, preview=True),
    }
    if torch is not None:
        result["cnn_preview"] = CnnMap.fit(data["train"], epochs=30, progress=False, preview=True)
    return result


def test_dataset_is_uniform_over_the_region_and_carries_its_metadata(data):
    train = data["train"]
    assert train.images.shape == (6000, 64, 64, 3) and train.images.dtype == np.uint8
    assert np.all(np.abs(train.states) <= 1.25 * REGION.half_widths)
    assert train.preview.shape == (6000, len(PREVIEW))
    first = train.metadata["parts"][0]
    assert first["seed"] == 1 and first["region"] == {"e_y_max": 0.1, "e_psi_max": 0.1}
    assert first["camera"]["camera_width"] == 64 and first["near_changes"] == 0.3
    sim = SimConfig.from_yaml(CONFIG)
    again = generate(sim, REGION, 3, seed=1, scale=1.25, progress=False, near_changes=0.3)
    np.testing.assert_array_equal(again.images, train.images[:3])  # reproducible
    np.testing.assert_array_equal(again.preview, train.preview[:3])
    with CarWorld(dataclasses.replace(sim, camera_period=sim.control_period)) as world:
        for i in range(3):  # the world's own images
            image_seed = np.random.default_rng(np.random.SeedSequence(1).spawn(4)[1])
            seed = int(image_seed.integers(0, 2**31, 3)[i])
            world.reset(seed, s=train.s[i], e_y=train.states[i, 0], e_psi=train.states[i, 1])
            np.testing.assert_array_equal(world.camera_image(), train.images[i])


def test_poses_near_curvature_changes_are_oversampled(data):
    oval = data["train"].subset(slice(0, 4500))
    changes = np.array([0.0, 6.0, 6.0 + 3 * math.pi, 12.0 + 3 * math.pi, 12.0 + 6 * math.pi])
    near = np.abs(oval.s[:, None] - changes).min(axis=1) <= 1.5
    uniform = 4 * 3.0 / (12.0 + 6 * math.pi)  # share of the lap within 1.5 m of a change
    assert near.mean() == pytest.approx(uniform + 0.3 * (1 - uniform), abs=0.05)


def test_preview_is_the_heading_change_of_the_track_ahead():
    sim = SimConfig.from_yaml(CONFIG)
    oval = Track(sim.track_lengths, sim.track_curvatures)
    d = np.array(PREVIEW)
    np.testing.assert_allclose(preview(Track((35.0,), (0.0,)), [0.0, 20.0, 34.0]), 0.0)
    np.testing.assert_allclose(preview(oval, [2.0])[0], 0.0)  # straight ahead
    np.testing.assert_allclose(preview(oval, [5.5])[0], np.maximum(d - 0.5, 0.0) / 3.0)
    np.testing.assert_allclose(preview(oval, [10.0])[0], d / 3.0)  # on the arc
    exit_ = 6.0 + 3 * math.pi  # the arc ends: the heading change stops growing
    np.testing.assert_allclose(preview(oval, [exit_ - 0.6])[0], np.minimum(d, 0.6) / 3.0)
    lap = preview(oval, [oval.length - 0.2, 0.0, oval.length + 0.3])  # wraps around
    np.testing.assert_allclose(lap[1], 0.0, atol=1e-12)
    np.testing.assert_allclose(lap[0], np.minimum(d, 0.2) / 3.0)
    np.testing.assert_allclose(lap[2], preview(oval, [0.3])[0])


def test_a_curve_ahead_and_a_heading_error_look_alike():
    """0.5 m before the curve entry the image is that of a pose at the entry with e_psi
    larger by 0.165 rad: only the track preview tells them apart."""
    sim = dataclasses.replace(
        SimConfig.from_yaml(CONFIG), brightness_jitter=0.0, pixel_noise_std=0.0
    )
    entry, radius, before = 6.0, 3.0, 0.5
    with CarWorld(sim) as world:
        world.reset(0, s=entry - before, e_y=0.02, e_psi=-0.05)
        straight = world.camera_image().astype(int)
        r = math.hypot(before, radius - 0.02)  # same pose relative to the arc's circle
        e_psi = -0.05 + math.atan(before / (radius - 0.02))
        world.reset(0, s=entry + 1e-9, e_y=radius - r, e_psi=e_psi)
        arc = world.camera_image().astype(int)
    assert e_psi + 0.05 > 0.16
    differ = np.abs(straight - arc).max(axis=-1) > 30
    assert differ.mean() < 0.005  # a few pixels at the horizon
    oval = Track(sim.track_lengths, sim.track_curvatures)
    assert np.abs(preview(oval, [entry - before]) - preview(oval, [entry])).max() > 0.15


@pytest.mark.parametrize("kind", KINDS)
def test_maps_reach_the_stated_accuracy_on_fresh_data(data, maps, kind):
    fresh = data["fresh"]
    err = np.abs(maps[kind].predict(fresh.images, preview=fresh.preview) - fresh.states)
    print(kind, "mean |e|", err.mean(axis=0), "max", err.max(axis=0))
    assert np.all(err.mean(axis=0) < MEAN_ABS_ERROR[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_saved_maps_predict_the_same_and_refuse_another_camera(data, maps, kind, tmp_path):
    sim = SimConfig.from_yaml(CONFIG)
    path = maps[kind].save(tmp_path / kind)
    loaded = load_map(path, camera=sim)
    fresh = data["fresh"].subset(slice(0, 20))
    np.testing.assert_allclose(
        loaded.predict(fresh.images, fresh.preview),
        maps[kind].predict(fresh.images, fresh.preview),
        atol=1e-6,
    )
    assert loaded.metadata["dataset"]["seed"] == 1
    assert loaded.uses_preview == kind.endswith("preview")
    other = dataclasses.replace(sim, camera_fov=1.2, camera_rpy=(0.0, 0.4, 0.0))
    with pytest.raises(ValueError, match=r"camera_fov.*camera_rpy"):
        load_map(path, camera=other)
    with pytest.raises(ValueError, match="expected 64x64"):
        loaded.predict(fresh.images[:, :32], fresh.preview)
    if loaded.uses_preview:
        with pytest.raises(ValueError, match="needs the track preview"):
            loaded.predict(fresh.images)
        with pytest.raises(ValueError, match=r"preview: expected \(20, 7\)"):
            loaded.predict(fresh.images, fresh.preview[:, :3])


@pytest.mark.parametrize("kind", KINDS)
def test_calibrated_bound_covers_fresh_data_and_grows_outside_the_region(data, maps, kind):
    m = maps[kind]
    bound = calibrate(m.predict, data["heldout"], REGION)
    coverage = check(m.predict, bound, data["fresh"])
    print(kind, "eps", bound.eps, "slope", bound.slope, coverage)
    assert coverage.samples == 1000
    assert coverage.joint >= 0.99
    assert np.all(bound.eps < BOUND[kind])  # m, rad: the bound's size
    assert np.all(bound.slope >= 0) and np.all(bound.at(1.0) >= bound.eps)
    attach(m, bound, coverage)
    np.testing.assert_allclose(bound_of(m).eps, bound.eps)


def test_out_of_distribution_score_separates_garbage(data, maps):
    rng = np.random.default_rng(0)
    garbage = rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8)
    for m in maps.values():
        assert np.quantile(m.ood_score(data["fresh"].images), 0.99) < 2.0
        assert np.all(m.ood_score(garbage) > 2.0)


@NO_TORCH
def test_the_shipped_map_holds_its_bound_on_fresh_data():
    torch.set_num_threads(1)
    shipped = load_map(SHIPPED, camera=SimConfig.from_yaml(CONFIG))
    bound = bound_of(shipped)
    assert shipped.uses_preview and bound.region == REGION
    assert np.all(bound.eps < [0.012, 0.012])  # m, rad
    fresh = _both(1000, 7, 1.0)
    coverage = check(shipped.predict, bound, fresh)
    print("shipped map: eps", bound.eps, coverage)
    assert coverage.joint >= 0.99 and np.all(coverage.mean_abs < [0.002, 0.002])
