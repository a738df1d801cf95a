"""Sim node: steps the PyBullet car world and publishes what a real car's sensors would.

Publishes /clock (rosgraph_msgs/Clock, sim time: each step's time `clock_delay` s after
its sensor data, so that nodes on sim time find the data of t there at t),
/sim/camera/image_raw (sensor_msgs/Image, rgb8, frame camera_link), /odom
(nav_msgs/Odometry, odom -> base_link, ground truth), the same pose on /tf (odom ->
base_link) and the camera's mount on /tf_static (base_link -> camera_link, REP-105), and
/lane_state (safe_control_interfaces/LaneState, ground truth with the curvature half a
control period ahead for the steering feed-forward); subscribes to /drive
(ackermann_msgs/AckermannDriveStamped: steering_angle rad, acceleration m/s^2).
Parameters: the `sim` section of config/car.yaml (SimConfig).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..runtime.pending import take_pending
from ..sim.config import SimConfig
from ..sim.track import wrap_angle
from ..sim.world import CarWorld
from .qos import LATCHED, RELIABLE, SENSOR_DATA

if TYPE_CHECKING:  # the node handle: rclpy's Node, or a standalone runtime's
    from rclpy.node import Node


class SimNode:
    """Advances the world by `physics_dt` multiples on a timer of period `control_period`."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.config = declare_config(node, SimConfig)
        self.world = CarWorld(self.config)
        self.log = node.get_logger()
        self._last_image_stamp = -1.0
        self._last_yaw = self.world.pose().yaw
        self._braking = False

        self.clock_pub = node.create_publisher(msg.Clock, "/clock", RELIABLE)
        self.image_pub = node.create_publisher(msg.Image, "/sim/camera/image_raw", SENSOR_DATA)
        self.odom_pub = node.create_publisher(msg.Odometry, "/odom", RELIABLE)
        self.lane_pub = node.create_publisher(msg.LaneState, "/lane_state", RELIABLE)
        self.tf_pub = node.create_publisher(msg.TFMessage, "/tf", RELIABLE)
        mount = (self.config.camera_position, self.config.camera_rpy)
        camera = msg.transform(self.world.time, "base_link", "camera_link", *mount)
        node.create_publisher(msg.TFMessage, "/tf_static", LATCHED).publish(msg.tf(camera))
        self.drive_sub = node.create_subscription(
            msg.AckermannDriveStamped, "/drive", self.on_drive, RELIABLE
        )
        self.started = not self.config.start_when_matched
        node.create_timer(self.config.control_period, self.on_tick)
        self._phase = node.create_timer(self.config.clock_delay, self._start_clock)

    def _start_clock(self) -> None:
        """`clock_delay` after the first tick's timer started: /clock from now on, once a
        period, at that phase."""
        self._phase.cancel()
        self.on_clock()
        self.node.create_timer(self.config.control_period, self.on_clock)

    def on_clock(self) -> None:
        self.clock_pub.publish(msg.clock(self.world.time))

    def on_drive(self, command) -> None:
        """Hand the command to the car's command gate; log saturation and rejection."""
        reason = self.world.command(command.drive.steering_angle, command.drive.acceleration)
        if reason:
            self.log.warning(f"/drive: {reason}")

    def matched(self) -> bool:
        """Whether a /drive publisher and /clock and /lane_state subscribers are matched."""
        return (
            self.drive_sub.get_publisher_count() > 0
            and self.clock_pub.get_subscription_count() > 0
            and self.lane_pub.get_subscription_count() > 0
        )

    def on_tick(self) -> None:
        """Advance physics by one period and publish the new sensor readings (once started)."""
        if not self.started:
            self.started = self.matched()
            if self.started:
                self.log.info("controller and subscribers matched: the world starts")
            return
        take_pending(self.drive_sub, self.on_drive)  # a command received is in force now
        self.world.step(self.config.control_period)
        t = self.world.time
        pose, lane = self.world.pose(), self.world.lane_state()
        yaw_rate = wrap_angle(pose.yaw - self._last_yaw) / self.config.control_period
        self._last_yaw = pose.yaw
        self.odom_pub.publish(msg.odometry(t, pose.x, pose.y, pose.yaw, pose.speed, yaw_rate))
        base = msg.transform(t, "odom", "base_link", (pose.x, pose.y, 0.0), (0.0, 0.0, pose.yaw))
        self.tf_pub.publish(msg.tf(base))
        ahead = lane.s + self.config.reference_speed * self.config.control_period / 2
        curvature = float(self.world.track.curvature(ahead))
        values = (lane.s, lane.e_y, lane.e_psi, lane.e_v, curvature)
        self.lane_pub.publish(msg.lane_state(t, values))
        if self.config.camera_period > 0 and self.world.camera_stamp != self._last_image_stamp:
            self._last_image_stamp = self.world.camera_stamp
            image = msg.image(self._last_image_stamp, "camera_link", self.world.camera_image())
            self.image_pub.publish(image)
        if self.world.watchdog_tripped != self._braking:
            self._braking = self.world.watchdog_tripped
            if self._braking:
                self.log.warning("no /drive command within the watchdog timeout: braking")
            else:
                self.log.info("/drive commands again: watchdog released")

    def destroy(self) -> None:
        self.world.close()


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros sim_node`."""
    from ..runtime.ros import spin

    spin("sim", SimNode, args)
