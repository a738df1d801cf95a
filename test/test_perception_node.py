"""The perception node in the in-process runtime: valid measurements from the sim node's
camera, and valid = 0 for stale, garbage, out-of-distribution, wrongly encoded or sized
images and for missing images; parameters validated at start-up."""

import numpy as np
import pytest

from safe_control_ros.nodes.camera_node import CameraNode
from safe_control_ros.nodes.perception_node import PerceptionNode
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.paramfile import load_parameter_file
from safe_control_ros.perception.dataset import Region
from safe_control_ros.perception.train import build
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.sim.config import SimConfig

CONFIG = "config/car.yaml"
REGION = Region(0.2, 0.2)


@pytest.fixture(scope="module")
def map_path(tmp_path_factory):
    sim = SimConfig.from_yaml(CONFIG)
    kernel = build(sim, REGION, "kernel", train_size=300, heldout_size=100, progress=False)
    return str(kernel.save(tmp_path_factory.mktemp("map") / "kernel.npz"))


def _graph(map_path, with_sim=True, **overrides):
    params = load_parameter_file(CONFIG)
    params["perception"] = {"map_path": map_path} | overrides
    runtime = Runtime(params)
    sim = SimNode(runtime.create_node("sim")) if with_sim else None
    if with_sim:  # forwards /sim/camera/image_raw to /camera/image_raw
        CameraNode(runtime.create_node("camera"))
    node = PerceptionNode(runtime.create_node("perception"))
    runtime.check_parameters()
    probe = runtime.create_node("probe")
    seen = []
    probe.create_subscription(msg.PerceptionMeasurement, "/perception/measurement", seen.append)
    return runtime, sim, node, probe, seen


def test_measurements_from_the_sim_camera_are_valid_and_bounded(map_path):
    runtime, sim, node, _, seen = _graph(map_path)
    lane = []
    runtime.create_node("truth").create_subscription(msg.LaneState, "/lane_state", lane.append)
    runtime.spin_until(1.0)
    assert seen and all(m.valid for m in seen), node.counts
    data = np.array([[m.e_y, m.e_psi, m.bound_e_y, m.bound_e_psi] for m in seen])
    bound = data[:, 2:4]
    np.testing.assert_allclose(bound, node.bound.eps[None].repeat(len(data), 0))
    truth = {m.header.stamp.nanosec: [m.e_y, m.e_psi] for m in lane}  # by stamp (< 1 s)
    assert all(m.header.frame_id == "camera_link" for m in seen)
    estimate_error = data[:, :2] - np.array([truth[m.header.stamp.nanosec] for m in seen])
    assert np.all(np.abs(estimate_error) <= bound)
    sim.destroy()


def test_stale_garbage_and_malformed_images_are_flagged_and_the_node_keeps_running(map_path):
    runtime, _, node, probe, seen = _graph(map_path, with_sim=False)
    camera = probe.create_publisher(msg.Image, "/camera/image_raw")
    rng = np.random.default_rng(0)
    garbage = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    runtime.spin_until(1.0)  # no images at all: the watchdog reports invalid
    assert seen and not any(m.valid for m in seen) and node.counts["none"] > 0
    seen.clear()
    now = runtime.now
    cases = {
        "stale": msg.image(now - 1.0, "camera_link", garbage),
        "ood": msg.image(now, "camera_link", garbage),
        "ood_black": msg.image(now, "camera_link", np.zeros((64, 64, 3), np.uint8)),
        "bad_size": msg.image(now, "camera_link", garbage[:32]),
    }
    encoded = msg.image(now, "camera_link", garbage)
    encoded.encoding = "bgr8"
    cases["bad_encoding"] = encoded
    for image in cases.values():
        camera.publish(image)
    runtime._deliver()
    assert len(seen) == len(cases)
    assert not any(m.valid for m in seen)
    assert node.counts["stale"] == 1 and node.counts["ood"] == 2 and node.counts["bad"] == 2


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"map_path": ""}, "perception.map_path"),
        ({"map_path": "/no/such/map.npz"}, "no such file"),
        ({"max_image_age": -1.0}, "perception.max_image_age"),
        ({"ood_threshold": "high"}, "perception.ood_threshold"),
        ({"no_such_parameter": 1}, "unknown parameter"),
    ],
)
def test_bad_parameters_fail_at_start_up(map_path, overrides, match):
    overrides = {"map_path": map_path} | overrides
    with pytest.raises(ValueError, match=match):
        _graph(with_sim=False, **overrides)


def test_an_uncalibrated_map_is_refused(map_path, tmp_path):
    from safe_control_ros.perception.maps import load_map

    bare = load_map(map_path)
    bare.metadata.pop("error_bound")
    with pytest.raises(ValueError, match="calibrated error bound"):
        _graph(str(bare.save(tmp_path / "bare.npz")), with_sim=False)
