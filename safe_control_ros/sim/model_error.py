"""Measure how far the simulated car is from the nominal lane model (A0, B0).

Drive the PyBullet car around its track with a small stabilising feedback (LQR on the
nominal model) plus bounded uniform excitation, steering feed-forward atan(L kappa) added,
sample the lane-frame state every control period, fit [A B] by least squares and compare:
||A_fit - A0||_inf, ||B_fit - B0||_inf (induced inf-norms) and the largest absolute residual
of the fit per state coordinate (an estimate of the disturbance bound sigma_w). These are
point estimates from one trajectory, not bounds: config/car.yaml adds a safety factor.

    python -m safe_control_ros.sim.model_error --config config/car.yaml --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import numpy as np

from ..control.bounds import inf_norm
from ..control.excitation import Excitation
from ..control.sysid import Estimate, least_squares
from .config import SimConfig
from .lane_model import lane_keeping_gain, linearise, steering_feedforward
from .world import CarWorld


@dataclass(frozen=True)
class ModelError:
    """Nominal model, least-squares fit and their differences, from one simulated run."""

    A0: np.ndarray  # (3, 3)
    B0: np.ndarray  # (3, 2)
    estimate: Estimate  # fit of x+ = A x + B u
    eps_A: float  # ||A_fit - A0||_inf
    eps_B: float  # ||B_fit - B0||_inf
    residual_max: np.ndarray  # (3,) max_t |x_{t+1} - A_fit x_t - B_fit u_t| per coordinate
    states: np.ndarray  # (T+1, 3) lane-frame states [e_y, e_psi, e_v]
    inputs: np.ndarray  # (T, 2) applied inputs [delta - delta_ff, a]
    saturated: int  # commands clipped by the car (0 keeps the data inside the model's range)


def command_lane_keeping(
    world: CarWorld, gain: np.ndarray, eta: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Command u = -gain x (+ eta) for the next control period (see `command_relative`).

    Returns the state x (3,) and the applied input [steering - feed-forward, accel] (2,).
    """
    x = world.lane_state().x
    u = -gain @ x + (0.0 if eta is None else eta)
    return x, command_relative(world, u)


def command_relative(world: CarWorld, u: np.ndarray) -> np.ndarray:
    """Command steering feed-forward + u[0] (rad) and acceleration u[1] (m/s^2).

    The feed-forward atan(L kappa) uses the curvature half a control period ahead, where
    the car is mid-interval. Returns the applied [steering - feed-forward, accel] (2,)
    after the car's saturation.
    """
    lane = world.lane_state()
    ahead = lane.s + world.config.reference_speed * world.config.control_period / 2
    feedforward = steering_feedforward(world.track.curvature(ahead), world.wheelbase)
    world.command(feedforward + u[0], u[1])
    steering, accel = world.applied_command
    return np.array([steering - feedforward, accel])


def measure_model_error(
    config: SimConfig,
    duration: float = 60.0,
    sigma_eta=(0.05, 0.3),
    seed: int | None = None,
    kind: str = "uniform",
    hold: int = 1,
) -> ModelError:
    """Run the car for `duration` s with excitation |eta| <= sigma_eta (rad, m/s^2), seeded,
    its samples of `kind` each held `hold` steps (`control.excitation.Excitation`).

    The camera is switched off (it does not affect the trajectory). seed None: config.seed.
    """
    seed = config.seed if seed is None else seed
    config = dataclasses.replace(config, camera_period=0.0)
    dt = config.control_period
    with CarWorld(config) as world:
        world.reset(seed)
        A0, B0 = linearise(config.reference_speed, world.wheelbase, dt)
        gain = lane_keeping_gain(A0, B0)
        excitation = Excitation(sigma_eta, seed, kind, hold)
        states, inputs = [], []
        for _ in range(round(duration / dt)):
            x, u = command_lane_keeping(world, gain, excitation())
            world.step(dt)
            states.append(x)
            inputs.append(u)
        states.append(world.lane_state().x)
        saturated = world.stats.saturated
    X, U = np.array(states), np.array(inputs)
    est = least_squares(X, U, ridge=1e-8)  # plain least squares; the ridge only regularises
    residuals = X[1:] - X[:-1] @ est.A.T - U @ est.B.T
    return ModelError(
        A0=A0,
        B0=B0,
        estimate=est,
        eps_A=float(inf_norm(est.A - A0)),
        eps_B=float(inf_norm(est.B - B0)),
        residual_max=np.abs(residuals).max(axis=0),
        states=X,
        inputs=U,
        saturated=saturated,
    )


def main(argv: list[str] | None = None) -> None:
    """Print the measured model error for each seed and the maximum over seeds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default=None, help="ROS 2 parameter file with a sim section")
    parser.add_argument("--duration", type=float, default=60.0, help="s per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    config = SimConfig.from_yaml(args.config) if args.config else SimConfig()
    rows = []
    print(f"{'seed':>4} {'eps_A':>8} {'eps_B':>8}  max |residual| (e_y, e_psi, e_v)  saturated")
    for seed in args.seeds:
        m = measure_model_error(config, args.duration, seed=seed)
        rows.append([m.eps_A, m.eps_B, *m.residual_max])
        residuals = np.array2string(m.residual_max, precision=4)
        print(f"{seed:>4} {m.eps_A:8.4f} {m.eps_B:8.4f}  {residuals}  {m.saturated}")
    worst = np.max(rows, axis=0)
    print(f" max {worst[0]:8.4f} {worst[1]:8.4f}  {np.array2string(worst[2:], precision=4)}")


if __name__ == "__main__":
    main()
