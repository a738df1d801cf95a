"""The car model the controller starts from: a kinematic bicycle in the lane frame, linearised.

State x = [e_y (m), e_psi (rad), e_v (m/s)], input u = [delta (rad), a (m/s^2)]; the
reference point is the rear-axle centre (base_link of the racecar). Nonlinear model at speed
v = v_ref + e_v on a centreline of curvature kappa (1/m):

    e_y'   = v sin(e_psi)
    e_psi' = v tan(delta_ff + delta) / L - kappa v cos(e_psi) / (1 - kappa e_y)
    e_v'   = a

Curvature is handled as a known offset: the caller steers delta_ff + delta with the
feed-forward delta_ff = atan(L kappa) (`steering_feedforward`), which makes x = 0 an
equilibrium on an arc of constant curvature. Where the curvature jumps (straight to arc), the
curvature half a sample ahead (at s + v dt / 2) halves the error of that step; the measured
model error assumes this look-ahead (`model_error.command_lane_keeping`).

The linear model is taken about the straight-line equilibrium (kappa = 0, x = 0, u = 0) and
discretised exactly with the input held over each sample time dt (zero-order hold):

    x+ = A0 x + B0 u,  A0 = [[1, v dt, 0], [0, 1, 0], [0, 0, 1]],
                       B0 = [[v^2 dt^2 / (2 L), 0], [v dt / L, 0], [0, dt]].

What it leaves out (curvature terms of order kappa^2 v dt, steering servo lag, tyre slip,
gusts) is the model error eps_A0, eps_B0, sigma_w, measured in `model_error`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.linalg import expm

from ..control.instances import Instance, normalized
from ..control.lqr import lqr
from ..control.model import SafeSet, UncertainModel
from ..control.polytope import Polytope
from ..control.stop import BlindStop, Braking, TrustedStops
from .config import CarModelConfig


def bicycle_rates(
    x: np.ndarray, u: np.ndarray, speed: float, wheelbase: float, curvature: float = 0.0
) -> np.ndarray:
    """Time derivative (3,) of the lane-frame state x (3,) under input u (2,) (see module)."""
    e_y, e_psi, e_v = x
    delta, accel = u
    v = speed + e_v
    turn = v * math.tan(steering_feedforward(curvature, wheelbase) + delta) / wheelbase
    track_turn = curvature * v * math.cos(e_psi) / (1.0 - curvature * e_y)
    return np.array([v * math.sin(e_psi), turn - track_turn, accel])


def steering_feedforward(curvature: float, wheelbase: float) -> float:
    """Steering angle (rad) that follows a circle of `curvature` (1/m) with a bicycle of
    `wheelbase` (m)."""
    return math.atan(wheelbase * curvature)


def linearise(
    speed: float, wheelbase: float, dt: float, steering_time_constant: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(A0 (3, 3), B0 (3, 2)) of the bicycle at `speed` m/s on a straight, sample time dt s.

    With a steering servo (first order, `steering_time_constant` s > 0) the steering angle
    follows the command from the feed-forward within each step: the exact zero-order hold
    of the bicycle with the servo's state, started at zero each step (what the previous
    command left is not a state of the 3-state model; its effect is model error)."""
    tau = steering_time_constant
    Ac = np.zeros((4, 4))  # [e_y, e_psi, e_v, steering]
    Ac[0, 1], Ac[1, 3] = speed, speed / wheelbase
    Bc = np.zeros((4, 2))
    Bc[2, 1] = 1.0
    if tau > 0:
        Ac[3, 3], Bc[3, 0] = -1.0 / tau, 1.0 / tau
    else:  # the steering is the command: its column drives e_psi directly
        Bc[:, 0], Ac[1, 3] = 0.0, 0.0
        Bc[1, 0] = speed / wheelbase
    block = np.zeros((6, 6))
    block[:4, :4], block[:4, 4:] = Ac, Bc
    exact = expm(block * dt)  # [[Phi, Gamma], [0, I]]
    return exact[:3, :3], exact[:3, 4:]


def lane_keeping_gain(A0: np.ndarray, B0: np.ndarray) -> np.ndarray:
    """A small stabilising feedback u = -K x, K (2, 3): LQR on (A0, B0) with each state and
    input weighted by the inverse square of its scale (0.1 m, 0.1 rad, 0.2 m/s; 0.1 rad,
    1 m/s^2)."""
    return lqr(A0, B0, *lane_keeping_weights()).K


def lane_keeping_weights() -> tuple[np.ndarray, np.ndarray]:
    """(Q (3, 3), R (2, 2)) weighting each state and input by the inverse square of its
    scale (0.1 m, 0.1 rad, 0.2 m/s; 0.1 rad, 1 m/s^2), physical units."""
    return np.diag([1 / 0.1**2, 1 / 0.1**2, 1 / 0.2**2]), np.diag([1 / 0.1**2, 1 / 1.0**2])


def input_scale(config: CarModelConfig) -> np.ndarray:
    """(2,) half-widths of the input box: the controller works in u / input_scale."""
    return np.array([config.steering_max, (config.accel_max - config.accel_min) / 2])


def controller_instance(config: CarModelConfig, sigma_eta=(0.0, 0.0)) -> Instance:
    """The calibrated prior, safe set and lane-keeping weights in controller coordinates
    x / state_scale, u / input_scale; sigma_eta (2,) in physical units (rad, m/s^2)."""
    physical = Instance(
        model=prior(config),
        safe_set=safe_set(config),
        Q=lane_keeping_weights()[0],
        R=lane_keeping_weights()[1],
        sigma_eta=np.asarray(sigma_eta, dtype=float),
    )
    return normalized(physical, config.state_scale, input_scale(config))


def prior(config: CarModelConfig) -> UncertainModel:
    """The calibrated prior in physical units' matrices with its bounds (controller
    coordinates); row-wise bounds where eps_A_row_scale or eps_B_row_scale is not all
    ones."""
    A, B = np.reshape(config.prior_A, (3, 3)), np.reshape(config.prior_B, (3, 2))
    scale_A, scale_B = np.asarray(config.eps_A_row_scale), np.asarray(config.eps_B_row_scale)
    if np.all(scale_A == 1.0) and np.all(scale_B == 1.0):
        return UncertainModel(A, B, config.eps_A0, config.eps_B0, config.sigma_w)
    rows_A, rows_B = config.eps_A0 * scale_A, config.eps_B0 * scale_B
    return UncertainModel.row_wise(A, B, rows_A, rows_B, config.sigma_w)


def safe_set(config: CarModelConfig) -> SafeSet:
    """State box |e_y|, |e_psi|, |e_v| <= limits and input box on (delta, a), as polytopes."""
    state = Polytope.box([config.e_y_max, config.e_psi_max, config.e_v_max])
    inputs = Polytope.box(
        [config.steering_max, config.accel_max], [-config.steering_max, config.accel_min]
    )
    return SafeSet(state=state, inputs=inputs)


def blind_stop(config: CarModelConfig, model: UncertainModel | None = None) -> BlindStop:
    """The certified stop of the car (control.stop): straight on (steering feed-forward only)
    at accel_min, for `model` in controller coordinates (default: the prior)."""
    inst = controller_instance(config)
    braking = Braking(config.speed, config.sample_time, *config.brake_decel)
    u_stop = np.array([0.0, config.accel_min]) / input_scale(config)
    return BlindStop(model or inst.model, inst.safe_set, braking, u_stop, config.state_scale[2])


def trusted_stop(config: CarModelConfig, model: UncertainModel) -> TrustedStops:
    """The certified stop under `model` (controller coordinates) or under the car's prior,
    whichever certifies it more (a model adopted is consistent with the prior: both hold)."""
    return TrustedStops([blind_stop(config, model), blind_stop(config)])
