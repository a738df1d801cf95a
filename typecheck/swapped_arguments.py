"""Must fail the type check (`.ci/typecheck` asserts it does): rclpy's arguments swapped."""

from __future__ import annotations

from typing import TYPE_CHECKING

from safe_control_ros.runtime import messages as msg

if TYPE_CHECKING:
    from rclpy.node import Node


def swapped(node: Node) -> None:
    node.create_publisher("/lane_state", msg.LaneState, 10)  # topic and type swapped
