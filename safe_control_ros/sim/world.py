"""The simulated car world: a racecar on a lane-marked track, in a headless pybullet client.

This is the unknown plant of the project. A controller uses five calls:

    world = CarWorld(SimConfig.from_yaml("config/car.yaml"))
    world.reset(seed)                      # fresh world, car on the centreline at speed
    world.command(steering, accel)         # rad, m/s^2; held until the next command
    world.step(config.control_period)      # advance simulated time (s)
    world.lane_state(), world.camera_image()

Everything random (gusts, image brightness and noise) comes from the seed, and pybullet is
deterministic, so one seed reproduces a run bit for bit, images included. Rendering draws
from its own random stream: turning the camera off does not change the trajectory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

from .camera import DashCamera
from .car import Racecar
from .command import CommandGate, CommandStats
from .config import SimConfig
from .track import Track

GRASS = (0.30, 0.42, 0.25, 1.0)  # RGBA of the ground beside the track
ASPHALT = (0.13, 0.13, 0.14, 1.0)
MARKING = (0.95, 0.95, 0.95, 1.0)
MESH_STEP, MESH_TURN = 1.0, 0.05  # m, rad: longest lane-mesh quad along the track


@dataclass(frozen=True)
class Pose:
    """Ground-truth pose and speed of the car (base_link, on the ground under the rear axle)."""

    x: float  # m, world frame
    y: float  # m
    yaw: float  # rad, in [-pi, pi]
    speed: float  # m/s, along the car's x axis (< 0 when rolling backwards)


@dataclass(frozen=True)
class LaneState:
    """Ground-truth lane-frame state of the car (see `track` for the definitions)."""

    s: float  # m, arc length along the centreline
    e_y: float  # m, > 0 left of the centreline
    e_psi: float  # rad, heading error in [-pi, pi)
    e_v: float  # m/s, speed - reference speed
    curvature: float  # 1/m, centreline curvature at s (for steering feed-forward)

    @property
    def x(self) -> np.ndarray:
        """The controller's state [e_y, e_psi, e_v], shape (3,)."""
        return np.array([self.e_y, self.e_psi, self.e_v])


class CarWorld:
    """A pybullet world (DIRECT mode) holding the track, the racecar and its camera."""

    def __init__(self, config: SimConfig | None = None) -> None:
        self.config = config or SimConfig()
        self.track = Track(self.config.track_lengths, self.config.track_curvatures)
        self._p = BulletClient(connection_mode=p.DIRECT)
        self._gate = CommandGate(
            self.config.steering_limit,
            self.config.accel_max,
            self.config.decel_max,
            self.config.watchdog_timeout,
        )
        dt = self.config.physics_dt
        self._camera_steps = round(self.config.camera_period / dt)  # 0: camera off
        self._gust_steps = round(self.config.gust_period / dt)
        self.reset()

    def reset(
        self,
        seed: int | None = None,
        s: float = 0.0,
        e_y: float = 0.0,
        e_psi: float = 0.0,
        speed: float | None = None,
    ) -> None:
        """Rebuild the world at time 0 with the car at lane pose (s m, e_y m, e_psi rad).

        seed: None uses `config.seed`. speed: m/s along the car's heading, None for the
        reference speed; the drive set-point starts there and the command is zero.
        """
        cfg = self.config
        seed = cfg.seed if seed is None else seed
        gust_seed, camera_seed = np.random.SeedSequence(seed).spawn(2)
        self._gust_rng = np.random.default_rng(gust_seed)
        self._gust = 0.0  # N
        c = self._p
        c.resetSimulation()
        c.setGravity(0.0, 0.0, -9.81)
        c.setTimeStep(cfg.physics_dt)
        _build_scene(c, cfg, self.track)
        self._car = Racecar(c, cfg)
        self._camera = DashCamera(c, cfg, np.random.default_rng(camera_seed))
        x, y, yaw = self.track.to_world(s, e_y, e_psi)
        self._car.place(x, y, yaw, cfg.reference_speed if speed is None else speed)
        self._steps = 0
        self._gate.reset(0.0)
        self._image: np.ndarray | None = None
        self._image_stamp = math.nan
        if self._camera_steps:
            self._capture()

    @property
    def time(self) -> float:
        """Simulated time since reset (s)."""
        return self._steps * self.config.physics_dt

    @property
    def wheelbase(self) -> float:
        """Distance (m) from the rear to the front axle, read from the URDF."""
        return self._car.wheelbase

    @property
    def stats(self) -> CommandStats:
        """Accepted, saturated and rejected command counts since reset."""
        return self._gate.stats

    @property
    def watchdog_tripped(self) -> bool:
        """True while the car brakes because no command came for `watchdog_timeout` s."""
        return self._gate.watchdog_tripped(self.time)

    @property
    def applied_command(self) -> tuple[float, float]:
        """(steering rad, accel m/s^2) in force now, after saturation and watchdog."""
        return self._gate.in_force(self.time)

    @property
    def camera_stamp(self) -> float:
        """Simulated time (s) at which the latest camera image was taken."""
        return self._image_stamp

    def command(self, steering: float, accel: float) -> str:
        """Set steering angle (rad, > 0 left) and acceleration (m/s^2) from now on.

        Returns "" or why it was saturated or rejected (see safe_control_ros.sim.command).
        """
        return self._gate.submit(steering, accel, self.time)

    def step(self, duration: float) -> None:
        """Advance simulated time by `duration` s, a non-negative multiple of physics_dt."""
        dt = self.config.physics_dt
        n = round(duration / dt)
        if n < 0 or abs(n * dt - duration) > 1e-9 * max(1.0, abs(duration)):
            raise ValueError(
                f"duration: expected a non-negative multiple of {dt} s, got {duration}"
            )
        for _ in range(n):
            if self._steps % self._gust_steps == 0:
                limit = self.config.gust_force_max
                self._gust = float(self._gust_rng.uniform(-limit, limit))
            self._car.actuate(*self._gate.in_force(self.time), dt)
            self._car.push_sideways(self._gust)
            self._p.stepSimulation()
            self._steps += 1
            if self._camera_steps and self._steps % self._camera_steps == 0:
                self._capture()

    def pose(self) -> Pose:
        """Ground-truth world pose and speed of the car."""
        position, orientation, speed = self._car.ground_truth()
        yaw = self._p.getEulerFromQuaternion(orientation)[2]
        return Pose(float(position[0]), float(position[1]), yaw, speed)

    def lane_state(self) -> LaneState:
        """Ground-truth lane-frame state of the car."""
        pose = self.pose()
        s, e_y, e_psi = self.track.project(pose.x, pose.y, pose.yaw)
        e_v = pose.speed - self.config.reference_speed
        return LaneState(s, e_y, e_psi, e_v, float(self.track.curvature(s)))

    def camera_image(self) -> np.ndarray:
        """Latest camera image (camera_height, camera_width, 3) uint8 RGB, see camera_stamp."""
        if self._image is None:
            raise RuntimeError("camera_image: the camera is off (sim.camera_period = 0)")
        return self._image

    def close(self) -> None:
        """Disconnect from pybullet; the world is unusable afterwards."""
        self._p.disconnect()

    def __enter__(self) -> CarWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _capture(self) -> None:
        position, orientation, _ = self._car.ground_truth()
        self._image = self._camera.render(position, orientation)
        self._image_stamp = self.time


def _build_scene(client: BulletClient, config: SimConfig, track: Track) -> None:
    """Flat ground coloured as grass, the asphalt lane and its two white edge lines (visual
    meshes only: the car drives on the ground plane)."""
    ground = client.createVisualShape(
        p.GEOM_BOX,
        halfExtents=[200, 200, 0.005],
        visualFramePosition=[0, 0, -0.005],
        rgbaColor=GRASS,
    )
    body = client.createMultiBody(0, client.createCollisionShape(p.GEOM_PLANE), ground)
    client.changeDynamics(body, -1, lateralFriction=1.0)  # Bullet multiplies: mu = tyre's
    poses = _lane_poses(track)
    w, m, road = config.lane_half_width, config.marking_width, config.road_half_width
    strips = [
        (-road, road, 0.001, ASPHALT),
        (-w - m / 2, -w + m / 2, 0.002, MARKING),
        (w - m / 2, w + m / 2, 0.002, MARKING),
    ]
    for right, left, height, colour in strips:
        vertices, indices = _strip_mesh(poses, right, left, height)
        shape = client.createVisualShape(
            p.GEOM_MESH,
            vertices=vertices,
            indices=indices,
            normals=[[0.0, 0.0, 1.0]] * len(vertices),
            rgbaColor=colour,
        )
        client.createMultiBody(0, -1, shape)


def _lane_poses(track: Track) -> list[np.ndarray]:
    """Centreline poses (N_i, 3) per segment, dense enough for flat quads."""
    out = []
    for start, length, kappa in zip(track.starts, track.lengths, track.curvatures, strict=True):
        step = min(MESH_STEP, MESH_TURN / abs(kappa)) if kappa else MESH_STEP
        out.append(track.pose(start + np.linspace(0.0, length, math.ceil(length / step) + 1)))
    return out


def _strip_mesh(
    poses: list[np.ndarray], right: float, left: float, height: float
) -> tuple[list, list]:
    """Triangles of the band between lateral offsets right < left (m) along each pose run."""
    vertices, indices = [], []
    for run in poses:
        normal = np.stack([-np.sin(run[:, 2]), np.cos(run[:, 2])], axis=1)
        base = len(vertices)
        for point, n in zip(run[:, :2], normal, strict=True):
            vertices += [[*(point + right * n), height], [*(point + left * n), height]]
        for k in range(len(run) - 1):
            a = base + 2 * k  # counter-clockwise seen from above
            indices += [a, a + 2, a + 1, a + 1, a + 2, a + 3]
    return vertices, indices
