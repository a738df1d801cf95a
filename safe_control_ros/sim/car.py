"""The pybullet_data racecar: Ackermann steering through a lagging servo, a speed-controlled
rear drive through an open differential, and mass and tyre friction as parameters.

Frames follow the URDF: base_link lies on the ground under the rear-axle centre, x forward,
y left, z up. The drive behaves like a speed-controlled motor (as on the MIT/F1TENTH
racecar): the commanded acceleration is integrated into a speed set-point in [0, max_speed];
the set-point's rate (feed-forward) plus a proportional loop on the mean rear-wheel speed,
both scaled for the URDF's nominal mass, give one torque (bounded by motor_torque_max) for
both rear wheels, as an open differential does. (Velocity motors on both wheels would act as
a locked axle: in Bullet one wheel then grips and the other slides, which changes the car's
speed by about 0.5 m/s per rad of steering.) The front wheels roll freely.

Wheel contact: the URDF's wheel collision cylinders are replaced by spheres of the same
radius, and the tyres are vertically compliant. Bullet touches a level cylinder at one rim
edge and a rigid four-wheeled car on a diagonal wheel pair (about 24 N and 6 N per wheel
instead of 14 N each), which makes the car pull to one side and the light wheels slide.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pybullet as p
import pybullet_data
from pybullet_utils.bullet_client import BulletClient

from .config import SimConfig

URDF = "racecar/racecar.urdf"  # in pybullet_data
WHEEL_CYLINDER = '<cylinder length="0.045" radius="0.05"/>'
WHEEL_SPHERE = '<sphere radius="0.05"/>'
TYRE_STIFFNESS, TYRE_DAMPING = 2e4, 300.0  # N/m, N s/m: vertical, per wheel
STEERING_JOINTS = ("left_steering_hinge_joint", "right_steering_hinge_joint")
DRIVEN_WHEELS = ("left_rear_wheel_joint", "right_rear_wheel_joint")
FREE_WHEELS = ("left_front_wheel_joint", "right_front_wheel_joint")
# Hinge position-motor gain: pybullet's default (0.1) adds a ~40 ms lag of its own; this one
# tracks within a few physics steps, so the steering lag is the servo's time constant.
STEER_POSITION_GAIN = 1.0


@functools.cache
def _racecar_urdf() -> str:
    """Path of pybullet_data's racecar URDF with sphere wheel collisions and absolute mesh
    paths, in the temporary directory under a name derived from its content."""
    source = Path(pybullet_data.getDataPath()) / URDF
    text = source.read_text()
    if text.count(WHEEL_CYLINDER) != 4:
        raise RuntimeError(f"{source}: expected 4 wheel cylinders {WHEEL_CYLINDER}")
    text = text.replace(WHEEL_CYLINDER, WHEEL_SPHERE)
    text = text.replace('filename="meshes/', f'filename="{source.parent}/meshes/')
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    path = Path(tempfile.gettempdir()) / f"safe_control_ros_racecar_{digest}.urdf"
    if not path.exists():  # write-then-rename: concurrent processes never see a partial file
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(text)
        partial.replace(path)
    return str(path)


class Racecar:
    """One racecar in a pybullet client; its geometry is read from the URDF."""

    def __init__(self, client: BulletClient, config: SimConfig) -> None:
        self._p = client
        self._cfg = config
        self.id = client.loadURDF(_racecar_urdf(), flags=p.URDF_USE_INERTIA_FROM_FILE)
        links = range(-1, client.getNumJoints(self.id))
        joints = {client.getJointInfo(self.id, j)[1].decode(): j for j in links[1:]}
        self._steer = [joints[n] for n in STEERING_JOINTS]
        self._drive = [joints[n] for n in DRIVEN_WHEELS]
        self._wheels = self._drive + [joints[n] for n in FREE_WHEELS]
        hinge_left, hinge_right = (client.getJointInfo(self.id, j) for j in self._steer)
        rear = client.getJointInfo(self.id, self._drive[0])
        self.wheelbase = hinge_left[14][0] - rear[14][0]  # m, 0.325
        self.track_width = hinge_left[14][1] - hinge_right[14][1]  # m, 0.2
        self.wheel_radius = client.getCollisionShapeData(self.id, self._drive[0])[0][3][0]  # m
        self._steer_force = hinge_left[10]  # N m, URDF effort limit
        dynamics = [client.getDynamicsInfo(self.id, j) for j in links]
        wheel_inertia = sum(client.getDynamicsInfo(self.id, j)[2][2] for j in self._wheels)
        nominal_mass = sum(d[0] for d in dynamics) + wheel_inertia / self.wheel_radius**2  # kg
        self._torque_per_accel = nominal_mass * self.wheel_radius / 2  # N m / (m/s^2) per wheel
        for link, (mass, _, inertia, *_) in zip(links, dynamics, strict=True):
            client.changeDynamics(
                self.id,
                link,
                mass=mass * config.mass_scale,
                localInertiaDiagonal=[i * config.mass_scale for i in inertia],
            )
            # The car is seen only through its dashboard camera, which does not see the car;
            # the renderer skips transparent links (about 2 ms per 64x64 frame saved).
            client.changeVisualShape(self.id, link, rgbaColor=[0, 0, 0, 0])
        for j in self._wheels:
            client.changeDynamics(
                self.id,
                j,
                lateralFriction=config.tyre_friction,
                contactStiffness=TYRE_STIFFNESS,
                contactDamping=TYRE_DAMPING,
            )
        client.setJointMotorControlArray(self.id, self._wheels, p.VELOCITY_CONTROL, forces=[0] * 4)
        self.steering = 0.0  # rad, servo output
        self.speed_setpoint = 0.0  # m/s

    def place(self, x: float, y: float, yaw: float, speed: float) -> None:
        """Put the car at the ground pose (x m, y m, yaw rad) rolling straight at `speed` m/s."""
        c = self._p
        orientation = c.getQuaternionFromEuler([0.0, 0.0, yaw])
        c.resetBasePositionAndOrientation(self.id, [x, y, 0.0], orientation)
        c.resetBaseVelocity(self.id, [speed * math.cos(yaw), speed * math.sin(yaw), 0.0], [0, 0, 0])
        for j in self._wheels:
            c.resetJointState(self.id, j, 0.0, speed / self.wheel_radius)
        for j in self._steer:
            c.resetJointState(self.id, j, 0.0, 0.0)
        self.steering = 0.0
        self.speed_setpoint = speed

    def actuate(self, steering: float, accel: float, dt: float) -> None:
        """Set the motors for the next physics step of dt s: steering servo towards `steering`
        (rad), speed set-point ramped by `accel` (m/s^2)."""
        cfg, c = self._cfg, self._p
        tau = cfg.steering_time_constant
        self.steering += (steering - self.steering) * (1.0 - math.exp(-dt / tau) if tau else 1.0)
        # Ackermann: both front wheels point at the turn centre on the rear-axle line.
        t, half = math.tan(self.steering), self.track_width / 2.0
        L = self.wheelbase
        angles = [math.atan2(L * t, L - side * half * t) for side in (1, -1)]  # left, right
        c.setJointMotorControlArray(
            self.id,
            self._steer,
            p.POSITION_CONTROL,
            targetPositions=angles,
            forces=[self._steer_force] * 2,
            positionGains=[STEER_POSITION_GAIN] * 2,
        )
        previous = self.speed_setpoint
        self.speed_setpoint = min(max(previous + accel * dt, 0.0), cfg.max_speed)
        left, right = c.getJointStates(self.id, self._drive)
        wheel_speed = self.wheel_radius * (left[1] + right[1]) / 2.0
        error = self.speed_setpoint - wheel_speed
        ramp = (self.speed_setpoint - previous) / dt
        torque = self._torque_per_accel * (ramp + error / cfg.drive_time_constant)
        torque = min(max(torque, -cfg.motor_torque_max), cfg.motor_torque_max)
        c.setJointMotorControlArray(self.id, self._drive, p.TORQUE_CONTROL, forces=[torque, torque])

    def push_sideways(self, force: float) -> None:
        """Apply `force` N along the car's y axis (left) at mid-wheelbase, 0.1 m above the
        ground, during the next physics step."""
        self._p.applyExternalForce(
            self.id, -1, [0.0, force, 0.0], [self.wheelbase / 2.0, 0.0, 0.1], p.LINK_FRAME
        )

    def ground_truth(self) -> tuple[np.ndarray, np.ndarray, float]:
        """(position (3,) m, orientation quaternion (4,), forward speed m/s) of base_link."""
        position, orientation = self._p.getBasePositionAndOrientation(self.id)
        velocity, _ = self._p.getBaseVelocity(self.id)
        forward = self._p.getMatrixFromQuaternion(orientation)[0::3]  # first column of R
        return np.array(position), np.array(orientation), float(np.dot(velocity, forward))
