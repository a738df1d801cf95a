"""Dashboard camera fixed to the car, rendered with pybullet's CPU renderer (ER_TINY_RENDERER).

The camera looks along its own +x axis with +z up (REP-103 body axes); its pose is given in
the car frame base_link. Each frame gets a random brightness gain and Gaussian pixel noise
from the camera's own random generator.
"""

from __future__ import annotations

import math

import numpy as np
import pybullet as p
from pybullet_utils.bullet_client import BulletClient

from .config import SimConfig

NEAR, FAR = 0.02, 30.0  # m, clipping planes


class DashCamera:
    """RGB images (height, width, 3) uint8 from a camera on the car."""

    def __init__(self, client: BulletClient, config: SimConfig, rng: np.random.Generator) -> None:
        self._p = client
        self._cfg = config
        self._rng = rng
        self._mount = (config.camera_position, client.getQuaternionFromEuler(config.camera_rpy))
        aspect = config.camera_width / config.camera_height
        self._projection = client.computeProjectionMatrixFOV(
            math.degrees(config.camera_fov), aspect, NEAR, FAR
        )

    def render(self, car_position, car_orientation) -> np.ndarray:
        """Image (height, width, 3) uint8 from the car at position (3,) m, quaternion (4,)."""
        c, cfg = self._p, self._cfg
        eye, orientation = c.multiplyTransforms(car_position, car_orientation, *self._mount)
        rotation = np.reshape(c.getMatrixFromQuaternion(orientation), (3, 3))
        view = c.computeViewMatrix(eye, np.add(eye, rotation[:, 0]), rotation[:, 2])
        rgba = c.getCameraImage(
            cfg.camera_width,
            cfg.camera_height,
            view,
            self._projection,
            lightDirection=cfg.light_direction,
            lightAmbientCoeff=cfg.light_ambient,
            lightDiffuseCoeff=cfg.light_diffuse,
            lightSpecularCoeff=0.0,
            shadow=0,
            renderer=p.ER_TINY_RENDERER,
            flags=p.ER_NO_SEGMENTATION_MASK,
        )[2]
        image = np.reshape(rgba, (cfg.camera_height, cfg.camera_width, 4))[:, :, :3]
        gain = 1.0 + self._rng.uniform(-cfg.brightness_jitter, cfg.brightness_jitter)
        noise = self._rng.normal(0.0, cfg.pixel_noise_std, image.shape)
        return np.clip(np.rint(gain * image + noise), 0, 255).astype(np.uint8)
