"""Calibrate the controller's prior on the simulated car, in controller coordinates.

The kinematic bicycle (A0, B0) misses the steering lag and the tyres' yaw transient, an
error of about 0.24 in ||.||_inf (`model_error`): too coarse for robust control. The prior
is therefore the least-squares fit averaged over calibration runs (seeds not used for
evaluation), expressed in the controller's coordinates x / state_scale, u / input_scale.
Its error bound eps is the largest distance of a single run's fit from that average, and
sigma_w, per coordinate, the largest absolute one-step residual of the average model over
all runs (the nonlinearity, the curvature jumps and the gusts). Point estimates:
config/car.yaml adds a safety factor.

    python -m safe_control_ros.sim.calibrate --seeds 100 101 102 103 104 --duration 120
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import numpy as np

from ..control.bounds import inf_norm
from ..control.model import UncertainModel
from .config import CarModelConfig, SimConfig
from .coverage import parse_range, plant_corners
from .lane_model import input_scale, linearise
from .model_error import measure_model_error


@dataclass(frozen=True)
class Calibration:
    A: np.ndarray  # (3, 3) average fit, physical units
    B: np.ndarray  # (3, 2)
    model: UncertainModel  # in controller coordinates, with the measured eps and sigma_w


def calibrate(sim: SimConfig, car: CarModelConfig, seeds, duration: float = 120.0) -> Calibration:
    """Fit each seeded run, average, and measure the spread and residuals (see module)."""
    runs = [measure_model_error(sim, duration, seed=s) for s in seeds]
    A = np.mean([r.estimate.A for r in runs], axis=0)
    B = np.mean([r.estimate.B for r in runs], axis=0)
    Dx, Du = np.asarray(car.state_scale), input_scale(car)
    scale_A = Dx / Dx[:, None]  # x / Dx coordinates: A -> Dx^-1 A Dx
    scale_B = Du / Dx[:, None]
    eps_A = max(inf_norm((r.estimate.A - A) * scale_A) for r in runs)
    eps_B = max(inf_norm((r.estimate.B - B) * scale_B) for r in runs)
    residual = (
        np.max(
            [np.abs(r.states[1:] - r.states[:-1] @ A.T - r.inputs @ B.T).max(axis=0) for r in runs],
            axis=0,
        )
        / Dx
    )  # per coordinate (3,)
    model = UncertainModel(A * scale_A, B * scale_B, eps_A, eps_B, residual)
    return Calibration(A=A, B=B, model=model)


def physics_prior(
    sim: SimConfig,
    car: CarModelConfig,
    plants: list[dict[str, float]],
    seeds,
    duration: float = 120.0,
    steering_time_constant: float = 0.0,
) -> Calibration:
    """The bicycle with the steering servo (`lane_model.linearise`, from the car's documented
    wheelbase, speed, sample time and servo lag) as the centre, with row-wise bounds that
    cover every plant of the range: per row, the largest distance (1-norm) of a run's fit
    from the centre, and sigma_w the largest residual of a run's own fit, over every plant
    (simulator parameters replacing `sim`'s) and seed. Point estimates, like `calibrate`."""
    A, B = linearise(car.speed, car.wheelbase, car.sample_time, steering_time_constant)
    Dx, Du = np.asarray(car.state_scale), input_scale(car)
    scale_A, scale_B = Dx / Dx[:, None], Du / Dx[:, None]
    rows_A, rows_B, residual = np.zeros(3), np.zeros(3), np.zeros(3)
    for plant in plants:
        for seed in seeds:
            run = measure_model_error(dataclasses.replace(sim, **plant), duration, seed=seed)
            fit = run.estimate
            rows_A = np.maximum(rows_A, np.abs((fit.A - A) * scale_A).sum(axis=1))
            rows_B = np.maximum(rows_B, np.abs((fit.B - B) * scale_B).sum(axis=1))
            residual = np.maximum(residual, run.residual_max / Dx)
    model = UncertainModel.row_wise(A * scale_A, B * scale_B, rows_A, rows_B, residual)
    return Calibration(A=A, B=B, model=model)


def main(argv: list[str] | None = None) -> None:
    """Print the calibrated (or physics) prior as the car_model parameters of
    config/car.yaml."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/car.yaml")
    parser.add_argument("--duration", type=float, default=120.0, help="s per run")
    parser.add_argument("--seeds", type=int, nargs="+", default=[100, 101, 102, 103, 104])
    parser.add_argument(
        "--physics",
        type=float,
        metavar="STEERING_TIME_CONSTANT",
        help="centre on the bicycle with this servo lag (s) instead of the average fit",
    )
    parser.add_argument("--plant", action="append", default=[], help="name=v1,v2 (repeat)")
    args = parser.parse_args(argv)
    sim, car = SimConfig.from_yaml(args.config), CarModelConfig.from_yaml(args.config)
    if args.physics is None:
        cal = calibrate(sim, car, args.seeds, args.duration)
    else:
        plants = plant_corners(dict(parse_range(spec) for spec in args.plant))
        cal = physics_prior(sim, car, plants, args.seeds, args.duration, args.physics)
    fmt = lambda a: "[" + ", ".join(f"{v:.4f}" for v in np.ravel(a)) + "]"  # noqa: E731
    print(f"prior_A: {fmt(cal.A)}")
    print(f"prior_B: {fmt(cal.B)}")
    m = cal.model
    rows_A, rows_B = m.row_errors
    print(f"measured: eps_A {m.eps_A:.4f}, eps_B {m.eps_B:.4f}, sigma_w {fmt(m.sigma_w)}")
    print(f"per row (e_y, e_psi, e_v): eps_A {fmt(rows_A)}, eps_B {fmt(rows_B)}")


if __name__ == "__main__":
    main()
