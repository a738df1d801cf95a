"""Perception node: camera images -> a virtual lane-state sensor with a calibrated bound.

Subscribes to /camera/image_raw (sensor_msgs/Image, rgb8, the map's size) and, for a map
that takes the track preview, /lane_state (its arc length s on the track map); publishes
/perception/measurement (safe_control_interfaces/PerceptionMeasurement, stamped with the
image's stamp and frame), one message per image and one per `watchdog_period` without a
fresh image (stamped then). The true state satisfies |e_y - x_e_y| <= bound_e_y and
|e_psi - x_e_psi| <= bound_e_psi when valid (the map's calibrated bound, grown with the
estimate's distance outside the region R it was calibrated on). Not valid (values may be
NaN) for a stale image (stamp older
than `max_image_age` s, or older than the newest image seen: out of order), no image for
`max_image_age` s, an out-of-distribution image
(`ood_score` > `ood_threshold`), a non-finite estimate, or a wrong encoding/size (logged;
the node keeps running). Parameters: `perception` section (PerceptionConfig).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..perception.calibration import bound_of
from ..perception.dataset import preview
from ..perception.maps import load_map
from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..schema import Parameters, param
from ..sim.config import OVAL_CURVATURES, OVAL_LENGTHS
from ..sim.track import Track
from .qos import RELIABLE, SENSOR_DATA

if TYPE_CHECKING:  # the node handle: rclpy's Node, or a standalone runtime's
    from rclpy.node import Node


@dataclass(frozen=True)
class PerceptionConfig(Parameters):
    """Parameters of the perception node."""

    SECTION: ClassVar[str] = "perception"
    NODE: ClassVar[str] = "perception"

    map_path: str = param(kind=str)  # saved, calibrated map (.npz); required
    max_image_age: float = param(0.25, 0.0, 10.0, open_low=True)  # s, older images are stale
    ood_threshold: float = param(2.0, 0.0, open_low=True)  # 1, ood_score above: invalid
    watchdog_period: float = param(0.1, 0.0, 10.0, open_low=True)  # s, no-image check
    # The track map, for maps that take the track preview (arc length s from /lane_state):
    # segment lengths (m) and curvatures (1/m), as the sim's (config/track_*.yaml)
    track_lengths: tuple[float, ...] = param(OVAL_LENGTHS, 0.0, open_low=True)
    track_curvatures: tuple[float, ...] = param(OVAL_CURVATURES, -5.0, 5.0)

    def _check_consistency(self) -> None:
        if not Path(self.map_path).is_file():
            raise ValueError(f"{self.SECTION}.map_path: no such file {self.map_path!r}")
        try:
            Track(self.track_lengths, self.track_curvatures)
        except ValueError as err:
            raise ValueError(f"{self.SECTION}.track_lengths, track_curvatures: {err}") from None


class PerceptionNode:
    """Runs the map on each image and publishes the measurement with its bound."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = declare_config(node, PerceptionConfig)
        self.log = node.get_logger()
        self.map = load_map(self.config.map_path)
        self.bound = bound_of(self.map)  # ValueError for an uncalibrated map
        self.height, self.width = self.map.image_shape
        self.track = Track(self.config.track_lengths, self.config.track_curvatures)
        self.s: float | None = None  # m, latest arc length (for the preview)
        self._last_image_time = self._now()
        self._last_stamp = -math.inf  # s, header stamp of the newest image seen
        self._frame = "camera_link"  # frame of the newest image seen
        self.counts = {"valid": 0, "stale": 0, "ood": 0, "nonfinite": 0, "bad": 0, "none": 0}

        self.pub = node.create_publisher(
            msg.PerceptionMeasurement, "/perception/measurement", RELIABLE
        )
        node.create_subscription(msg.Image, "/camera/image_raw", self.on_image, SENSOR_DATA)
        if self.map.uses_preview:
            node.create_subscription(msg.LaneState, "/lane_state", self.on_lane, SENSOR_DATA)
        node.create_timer(self.config.watchdog_period, self.on_watchdog)

    def _now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def on_lane(self, lane) -> None:
        """Keep the arc length s (m) of /lane_state for the track preview."""
        if math.isfinite(lane.s):
            self.s = float(lane.s)

    def on_image(self, image) -> None:
        """Estimate, check and publish; every rejected image yields valid = 0."""
        self._last_image_time = self._now()
        try:
            rgb = msg.image_array(image, self.height, self.width)
        except ValueError as err:
            self.log.warning(f"/camera/image_raw: {err}")
            return self._publish_invalid("bad")
        stamp = msg.seconds(image.header.stamp)
        self._frame = image.header.frame_id or self._frame
        age = self._now() - stamp
        if age > self.config.max_image_age or stamp < self._last_stamp:
            self.log.warning(f"/camera/image_raw: stale or out-of-order image ({age:.3f} s old)")
            return self._publish_invalid("stale")
        self._last_stamp = stamp
        if self.map.uses_preview and self.s is None:
            self.log.warning("perception: no arc length on /lane_state yet for the preview")
            return self._publish_invalid("bad")
        ahead = preview(self.track, [self.s]) if self.map.uses_preview else None
        estimate = self.map.predict(rgb[None], ahead)[0]
        if not np.all(np.isfinite(estimate)):
            self.log.warning("perception: non-finite estimate")
            return self._publish_invalid("nonfinite")
        score = float(self.map.ood_score(rgb[None])[0])
        bound = self.bound.at(self.bound.region.distance(estimate[None]))[0]
        if not score <= self.config.ood_threshold:
            self.log.warning(f"perception: out-of-distribution image (score {score:.2f})")
            self.counts["ood"] += 1
            return self._publish(stamp, estimate, bound, valid=False)
        self.counts["valid"] += 1
        self._publish(stamp, estimate, bound, valid=True)

    def on_watchdog(self) -> None:
        """Publish valid = 0 while no image came for max_image_age s."""
        if self._now() - self._last_image_time > self.config.max_image_age:
            self._publish_invalid("none")

    def _publish_invalid(self, reason: str) -> None:
        self.counts[reason] += 1
        self._publish(self._now(), np.full(2, math.nan), np.full(2, math.nan), valid=False)

    def _publish(self, stamp: float, estimate, bound, valid: bool) -> None:
        """The measurement of the image stamped `stamp` (s); its frame is the camera's."""
        measurement = msg.perception_measurement(stamp, self._frame, estimate, bound, valid)
        self.pub.publish(measurement)


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros perception_node`."""
    from ..runtime.ros import spin

    spin("perception", PerceptionNode, args)
