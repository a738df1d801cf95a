"""Perception maps trained on a small generated set: accuracy, save/load with metadata,
camera-mismatch errors, and a calibrated bound's coverage on fresh data."""

import dataclasses

import numpy as np
import pytest

from safe_control_ros.perception.calibration import attach, bound_of, calibrate, check
from safe_control_ros.perception.dataset import Dataset, Region, generate
from safe_control_ros.perception.maps import CnnMap, KernelMap, load_map
from safe_control_ros.sim.config import SimConfig

try:
    import torch
except ImportError:  # torch is an optional dependency: the CNN tests skip without it
    torch = None

CONFIG = "config/car.yaml"
KINDS = ["kernel", pytest.param("cnn", marks=pytest.mark.skipif(torch is None, reason="no torch"))]
REGION = Region(0.2, 0.2)
# Stated accuracy on fresh data inside R (mean |error|), sets of 800 training images
MEAN_ABS_ERROR = {"kernel": (0.03, 0.07), "cnn": (0.03, 0.07)}  # m, rad


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    if torch is not None:
        torch.set_num_threads(1)
    sim = SimConfig.from_yaml(CONFIG)
    folder = tmp_path_factory.mktemp("perception")
    sets = {
        "train": generate(sim, REGION, 800, seed=1, scale=1.25, progress=False),
        "heldout": generate(sim, REGION, 300, seed=2, scale=1.5, progress=False),
        "fresh": generate(sim, REGION, 300, seed=3, progress=False),
    }
    for name, d in sets.items():  # round trip through disk like a real pipeline
        sets[name] = Dataset.load(d.save(folder / f"{name}.npz"))
    return sets


@pytest.fixture(scope="module")
def maps(data):
    fit, val = data["train"].split(0.8, seed=0)
    result = {"kernel": KernelMap.fit(fit, val, progress=False)}
    if torch is not None:
        result["cnn"] = CnnMap.fit(data["train"], epochs=30, progress=False)
    return result


def test_dataset_is_uniform_over_the_region_and_carries_its_metadata(data):
    train = data["train"]
    assert train.images.shape == (800, 64, 64, 3) and train.images.dtype == np.uint8
    assert np.all(np.abs(train.states) <= 1.25 * REGION.half_widths)
    assert train.metadata["seed"] == 1 and train.metadata["region"] == {
        "e_y_max": 0.2,
        "e_psi_max": 0.2,
    }
    assert train.metadata["camera"]["camera_width"] == 64
    again = generate(SimConfig.from_yaml(CONFIG), REGION, 3, seed=1, scale=1.25, progress=False)
    np.testing.assert_array_equal(again.images, train.images[:3])  # reproducible


@pytest.mark.parametrize("kind", KINDS)
def test_maps_reach_the_stated_accuracy_on_fresh_data(data, maps, kind):
    fresh = data["fresh"]
    err = np.abs(maps[kind].predict(fresh.images) - fresh.states)
    print(kind, "mean |e|", err.mean(axis=0), "max", err.max(axis=0))
    assert np.all(err.mean(axis=0) < MEAN_ABS_ERROR[kind])


@pytest.mark.parametrize("kind", KINDS)
def test_saved_maps_predict_the_same_and_refuse_another_camera(data, maps, kind, tmp_path):
    sim = SimConfig.from_yaml(CONFIG)
    path = maps[kind].save(tmp_path / kind)
    loaded = load_map(path, camera=sim)
    images = data["fresh"].images[:20]
    np.testing.assert_allclose(loaded.predict(images), maps[kind].predict(images), atol=1e-6)
    assert loaded.metadata["dataset"]["seed"] == 1
    other = dataclasses.replace(sim, camera_fov=1.2, camera_rpy=(0.0, 0.4, 0.0))
    with pytest.raises(ValueError, match=r"camera_fov.*camera_rpy"):
        load_map(path, camera=other)
    with pytest.raises(ValueError, match="expected 64x64"):
        loaded.predict(images[:, :32])


@pytest.mark.parametrize("kind", KINDS)
def test_calibrated_bound_covers_fresh_data_and_grows_outside_the_region(data, maps, kind):
    m = maps[kind]
    bound = calibrate(m.predict, data["heldout"], REGION)
    coverage = check(m.predict, bound, data["fresh"])
    print(kind, "eps", bound.eps, "slope", bound.slope, coverage)
    assert coverage.samples == 300
    assert coverage.joint >= 0.98  # goal 0.99; 300 fresh samples resolve it coarsely
    assert np.all(bound.eps < [0.15, 0.35])  # m, rad: the bound's size
    assert np.all(bound.slope >= 0) and np.all(bound.at(1.0) >= bound.eps)
    attach(m, bound, coverage)
    np.testing.assert_allclose(bound_of(m).eps, bound.eps)


def test_out_of_distribution_score_separates_garbage(data, maps):
    rng = np.random.default_rng(0)
    garbage = rng.integers(0, 256, (10, 64, 64, 3), dtype=np.uint8)
    for m in maps.values():
        assert np.quantile(m.ood_score(data["fresh"].images), 0.99) < 2.0
        assert np.all(m.ood_score(garbage) > 2.0)
