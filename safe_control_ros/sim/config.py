"""Validated, frozen parameter sets of the simulated car world and of the car's nominal model.

Both are read from `config/car.yaml` in the ROS 2 parameter layout
(`<section>: ros__parameters: {name: value}`, flat names, SI units). Every parameter is
checked when the dataclass is built: a wrong type, sign, size or range raises `ValueError`
naming the parameter and the allowed range.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

from ..paramfile import ALL_NODES
from ..schema import Parameters, param

OVAL_ARC = 3 * math.pi  # m, half circle of radius 3 m
OVAL_LENGTHS = (6.0, OVAL_ARC, 6.0, OVAL_ARC)  # m, the default track (config/track_oval.yaml)
OVAL_CURVATURES = (0.0, 1 / 3, 0.0, 1 / 3)  # 1/m


def _multiple_of(name: str, value: float, step: float, step_name: str) -> None:
    """Require value = k * step for an integer k >= 0 (up to rounding)."""
    k = round(value / step)
    if abs(value - k * step) > 1e-9 * max(1.0, value):
        raise ValueError(f"{name}: expected a multiple of {step_name} = {step}, got {value!r}")


@dataclass(frozen=True)
class SimConfig(Parameters):
    """Every parameter of the simulated car world (the unknown plant). SI units."""

    SECTION: ClassVar[str] = "sim"
    NODE: ClassVar[str] = "sim"

    seed: int = param(0, 0)  # seeds gusts, brightness and pixel noise
    # Timing
    physics_dt: float = param(1 / 240, 0.0, 0.02, open_low=True)  # s, physics step
    control_period: float = param(0.1, 0.0, 1.0, open_low=True)  # s, multiple of physics_dt
    camera_period: float = param(0.1, 0.0, 10.0)  # s, multiple of physics_dt; 0: camera off
    watchdog_timeout: float = param(0.5, 0.0, 10.0, open_low=True)  # s without a command
    # s: /clock announces a step this long after its sensor data, so that nodes on sim time
    # act on the data of t at t however the data travels (a controller's phase after the
    # camera's trigger); less than control_period
    clock_delay: float = param(0.05, 0.0, 1.0, open_low=True)
    # hold the world (no step, /clock at its start) until a /drive publisher and /clock and
    # /lane_state subscribers are matched: nodes launched at once find the car as it starts
    start_when_matched: bool = param(False)
    # Track: segments of constant curvature from the origin along +x; default: an oval lap.
    # Lengths in m (arc length), curvatures in 1/m (> 0 turns left).
    track_lengths: tuple[float, ...] = param(OVAL_LENGTHS, 0.0, open_low=True)
    track_curvatures: tuple[float, ...] = param(OVAL_CURVATURES, -5.0, 5.0)
    lane_half_width: float = param(0.4, 0.05, 5.0)  # m, centreline to marking centre
    marking_width: float = param(0.05, 0.005, 0.5)  # m, white lane-edge line
    # Car (pybullet_data racecar)
    reference_speed: float = param(1.5, 0.0, 5.0, open_low=True)  # m/s, e_v = speed - this
    mass_scale: float = param(1.0, 0.1, 10.0)  # 1, multiplies every link mass and inertia
    tyre_friction: float = param(1.0, 0.01, 5.0)  # 1, tyre-ground Coulomb coefficient
    steering_limit: float = param(0.35, 0.0, 1.0, open_low=True)  # rad, |command| saturates
    steering_time_constant: float = param(0.03, 0.0, 2.0)  # s, first-order servo lag
    accel_max: float = param(2.0, 0.0, 20.0, open_low=True)  # m/s^2, command saturates
    decel_max: float = param(3.0, 0.0, 20.0, open_low=True)  # m/s^2, brake; command >= -this
    max_speed: float = param(3.0, 0.0, 5.0, open_low=True)  # m/s, drive speed set-point cap
    motor_torque_max: float = param(0.6, 0.0, 10.0, open_low=True)  # N m per rear wheel
    drive_time_constant: float = param(0.05, 0.02, 2.0)  # s, speed loop at nominal mass
    # Disturbance: lateral gust force on the car, piecewise constant, uniform in [-max, max]
    gust_force_max: float = param(5.0, 0.0, 100.0)  # N
    gust_period: float = param(0.5, 0.0, 10.0, open_low=True)  # s between gust changes
    # Dashboard camera (pose in the car frame base_link: x forward, y left, z up)
    camera_width: int = param(64, 8, 1024)  # px
    camera_height: int = param(64, 8, 1024)  # px
    camera_fov: float = param(1.4, 0.1, 2.8)  # rad, vertical field of view
    camera_position: tuple[float, ...] = param((0.3, 0.0, 0.3), -2.0, 2.0, size=3)  # m
    # rad: roll, pitch (> 0 looks down), yaw
    camera_rpy: tuple[float, ...] = param((0.0, 0.5, 0.0), -math.pi, math.pi, size=3)
    # Lighting: direction towards the light (world frame), ambient and diffuse coefficients
    light_direction: tuple[float, ...] = param((0.4, 0.3, 1.0), -1e3, 1e3, size=3)
    light_ambient: float = param(0.6, 0.0, 1.0)  # 1, ambient light coefficient
    light_diffuse: float = param(0.4, 0.0, 1.0)  # 1, diffuse light coefficient
    brightness_jitter: float = param(0.1, 0.0, 0.9)  # 1, per-frame gain in [1-j, 1+j]
    pixel_noise_std: float = param(2.0, 0.0, 128.0)  # 8-bit intensity levels, Gaussian

    @property
    def road_half_width(self) -> float:
        """Centreline to the asphalt edge (m), half a marking width beyond the marking."""
        return self.lane_half_width + 1.5 * self.marking_width

    def _check_consistency(self) -> None:
        s = self.SECTION
        if len(self.track_lengths) != len(self.track_curvatures):
            raise ValueError(
                f"{s}.track_curvatures: expected {len(self.track_lengths)} values (one per "
                f"track_lengths entry), got {len(self.track_curvatures)}"
            )
        for i, length in enumerate(self.track_lengths):
            kappa = self.track_curvatures[i]
            if abs(kappa) * length >= 2 * math.pi:
                raise ValueError(
                    f"{s}.track_lengths[{i}]: expected less than one full turn "
                    f"(< {2 * math.pi / abs(kappa)} m at curvature {kappa}), got {length}"
                )
            if abs(kappa) * self.road_half_width >= 1.0:
                raise ValueError(
                    f"{s}.track_curvatures[{i}]: expected |curvature| < 1 / road half-width "
                    f"(lane_half_width + 1.5 marking_width) = {1 / self.road_half_width}, "
                    f"got {kappa}"
                )
        if not self.marking_width < self.lane_half_width:
            raise ValueError(
                f"{s}.marking_width: expected less than lane_half_width = "
                f"{self.lane_half_width}, got {self.marking_width}"
            )
        if not any(self.light_direction):
            raise ValueError(f"{s}.light_direction: expected a non-zero vector, got (0, 0, 0)")
        if not self.clock_delay < self.control_period:
            raise ValueError(
                f"{s}.clock_delay: expected less than control_period = {self.control_period} "
                f"s, got {self.clock_delay}"
            )
        for name in ("control_period", "camera_period", "gust_period"):
            _multiple_of(f"{s}.{name}", getattr(self, name), self.physics_dt, "physics_dt")


@dataclass(frozen=True)
class CarModelConfig(Parameters):
    """The controller's starting knowledge: lane-frame model prior and safe set. SI units.

    The bicycle (A0, B0) follows from (wheelbase, speed, sample_time) by
    `lane_model.linearise`; its measured error is in `model_error`. The prior the controller
    uses is the calibrated (prior_A, prior_B) (`calibrate`, physical units, row-major);
    eps_A0, eps_B0 (times eps_A_row_scale, eps_B_row_scale per row), sigma_w bound its
    error in controller
    coordinates x / state_scale, u / input half-widths. Safe set: |e_y| <= e_y_max,
    |e_psi| <= e_psi_max, |e_v| <= e_v_max, |steering - feed-forward| <= steering_max,
    accel_min <= accel <= accel_max.
    """

    SECTION: ClassVar[str] = "car_model"
    NODE: ClassVar[str] = ALL_NODES  # every node that needs the model reads it
    PREFIX: ClassVar[str] = "car_model."

    prior_A: tuple[float, ...] = param(kind=tuple, size=9)  # calibrated A, row-major, SI
    prior_B: tuple[float, ...] = param(kind=tuple, size=6)  # calibrated B, row-major
    eps_A0: float = param(low=0.0)  # bound on ||A_true - A_prior||_inf, controller coords
    eps_B0: float = param(low=0.0)  # bound on ||B_true - B_prior||_inf, controller coords
    # bound on |w_i| per coordinate (e_y, e_psi, e_v), controller coordinates
    sigma_w: tuple[float, ...] = param(kind=tuple, low=0.0, size=3)
    # per row (e_y, e_psi, e_v): the row's bounds are these times eps_A0, eps_B0 (rows of
    # dA, dB in the 1-norm; sim.coverage, sim.calibrate measure what a range of plants needs)
    eps_A_row_scale: tuple[float, ...] = param((1.0, 1.0, 1.0), 0.0, 1e3, size=3, open_low=True)
    eps_B_row_scale: tuple[float, ...] = param((1.0, 1.0, 1.0), 0.0, 1e3, size=3, open_low=True)
    hardware_id: str = param("racecar")  # the car in /diagnostics (hardware_id)
    # m, rad, m/s: the controller works in x / state_scale
    state_scale: tuple[float, ...] = param((0.25, 0.7, 0.5), 0.0, size=3, open_low=True)
    wheelbase: float = param(0.325, 0.0, 5.0, open_low=True)  # m, rear to front axle
    speed: float = param(1.5, 0.0, 10.0, open_low=True)  # m/s, linearisation speed
    sample_time: float = param(0.1, 0.0, 1.0, open_low=True)  # s
    e_y_max: float = param(0.25, 0.0, open_low=True)  # m
    e_psi_max: float = param(0.35, 0.0, math.pi, open_low=True)  # rad
    e_v_max: float = param(0.5, 0.0, open_low=True)  # m/s
    steering_max: float = param(0.2, 1e-3, 1.0)  # rad
    accel_max: float = param(2.0, 0.0, open_low=True)  # m/s^2
    accel_min: float = param(-3.0, high=0.0)  # m/s^2 (braking)
    # m/s^2: the deceleration the car reaches at least and at most when commanded accel_min
    # (after its drive's lag), for the certified stop (control.stop)
    brake_decel: tuple[float, ...] = param((2.5, 3.5), 0.0, size=2, open_low=True)

    def _check_consistency(self) -> None:
        weak, strong = self.brake_decel
        if weak > strong:
            raise ValueError(
                f"{self.SECTION}.brake_decel: expected [at least, at most] with at least <= "
                f"at most, got {list(self.brake_decel)}"
            )
        for i, name in enumerate(("e_y_max", "e_psi_max", "e_v_max")):
            bound, scale = getattr(self, name), self.state_scale[i]
            if not 1e-3 <= bound / scale <= 1e3:
                raise ValueError(
                    f"{self.SECTION}.state_scale[{i}]: expected within a factor 1000 of "
                    f"{name} = {bound} (controller coordinates x / state_scale of order 1), "
                    f"got {scale}"
                )
