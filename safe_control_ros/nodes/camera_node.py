"""Camera node: publishes /camera/image_raw (sensor_msgs/Image, rgb8) at `rate` Hz.

source "sim": forwards each image of the simulator's /sim/camera/image_raw as it arrives,
as a camera driver publishes each frame it captures (stamp and frame kept), at most `rate`
per second of the images' stamps (a frame sooner than 1/rate after the last one is
dropped); none when the simulator sends none. source "device": reads a V4L2/USB
camera (or a video file) with OpenCV, converts BGR to RGB and resizes to width x height.
A frame that cannot be read is logged and skipped. Parameters: `camera` section.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..schema import Parameters, param
from .qos import SENSOR_DATA

if TYPE_CHECKING:  # the node handle: rclpy's Node, or a standalone runtime's
    from rclpy.node import Node

RATE_TOLERANCE = 0.01  # of a frame period: stamps this much early still count as on time


@dataclass(frozen=True)
class CameraConfig(Parameters):
    SECTION: ClassVar[str] = "camera"
    NODE: ClassVar[str] = "camera"

    source: str = param("sim", choices=("sim", "device"))
    device: str = param("/dev/video0")  # V4L2 device, camera index ("0") or video file
    rate: float = param(10.0, 0.0, 120.0, open_low=True)  # Hz
    width: int = param(64, 8, 4096)  # px, device images are resized to this
    height: int = param(64, 8, 4096)  # px
    frame_id: str = param("camera_link")


class CameraNode:
    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = declare_config(node, CameraConfig)
        self.log = node.get_logger()
        self.last_stamp = -math.inf  # s, stamp of the last simulator image forwarded
        self.capture = None
        self.failures = 0
        self.image_pub = node.create_publisher(msg.Image, "/camera/image_raw", SENSOR_DATA)
        if self.config.source == "sim":
            node.create_subscription(msg.Image, "/sim/camera/image_raw", self.on_sim, SENSOR_DATA)
        else:
            self.capture = capture = _open(self.config.device)
            node.create_timer(1.0 / self.config.rate, lambda: self.on_frame(*capture.read()))

    def on_sim(self, image) -> None:
        stamp = msg.seconds(image.header.stamp)
        if stamp - self.last_stamp >= (1.0 - RATE_TOLERANCE) / self.config.rate:
            self.last_stamp = stamp
            self.image_pub.publish(image)

    def on_frame(self, ok: bool, frame: np.ndarray) -> None:
        """Publish a device frame (`ok` False: none could be read)."""
        if not ok:
            self.failures += 1
            self.log.warning(f"camera.device {self.config.device}: no frame ({self.failures})")
            return
        t = self.node.get_clock().now().nanoseconds * 1e-9
        self.image_pub.publish(msg.image(t, self.config.frame_id, self._rgb(frame)))

    def _rgb(self, bgr: np.ndarray) -> np.ndarray:
        import cv2

        size = (self.config.width, self.config.height)
        return cv2.cvtColor(cv2.resize(bgr, size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)

    def destroy(self) -> None:
        if self.capture is not None:
            self.capture.release()


def _open(device: str):
    """An opened cv2.VideoCapture; ValueError naming the parameter if it cannot open."""
    import cv2

    capture = cv2.VideoCapture(int(device) if device.isdigit() else device)
    if not capture.isOpened():
        raise ValueError(f"camera.device: cannot open {device!r} (a V4L2 device, index or file)")
    return capture


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros camera_node`."""
    from ..runtime.ros import spin

    spin("camera", CameraNode, args)
