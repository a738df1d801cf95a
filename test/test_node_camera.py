"""The camera node: forwarding the simulator's camera at its rate, reading a video device
with OpenCV, and start-up errors."""

import cv2
import numpy as np
import pytest

from safe_control_ros.nodes.camera_node import CameraNode
from safe_control_ros.runtime import messages as msg
from safe_control_ros.runtime.inprocess import Runtime


def _run(params, feed=None, until=1.0):
    runtime = Runtime({"camera": params})
    camera = CameraNode(runtime.create_node("camera"))
    probe = runtime.create_node("probe")
    images = []
    probe.create_subscription(msg.Image, "/camera/image_raw", images.append)
    if feed is not None:
        pub = probe.create_publisher(msg.Image, "/sim/camera/image_raw")
        probe.create_timer(
            feed,
            lambda: pub.publish(
                msg.image(runtime.now, "camera_link", np.zeros((64, 64, 3), np.uint8))
            ),
        )
    runtime.spin_until(until)
    camera.destroy()
    return images


def test_sim_images_are_forwarded_at_most_at_the_rate():
    assert len(_run({"rate": 5.0}, feed=0.1)) == 5  # 10 Hz in, 5 Hz out
    assert len(_run({"rate": 10.0}, feed=0.5)) == 2  # never a frame twice
    assert _run({"rate": 10.0}) == []


def test_device_frames_are_read_resized_and_converted(tmp_path):
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, :, 2] = 255  # red in BGR
    for _ in range(5):
        writer.write(frame)
    writer.release()
    images = _run({"source": "device", "device": str(video), "rate": 10.0})
    assert len(images) == 5  # then the clip ends: logged and skipped
    rgb = msg.image_array(images[0], 64, 64)
    assert rgb[..., 0].mean() > 200 and rgb[..., 2].mean() < 50  # red stays red


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"source": "device", "device": "/nonexistent/video9"}, "camera.device: cannot open"),
        ({"source": "usb"}, "camera.source: expected one of"),
        ({"rate": 0.0}, "camera.rate"),
        ({"width": 2}, "camera.width"),
    ],
)
def test_bad_camera_parameters_fail_at_start_up(params, match):
    with pytest.raises(ValueError, match=match):
        _run(params)
