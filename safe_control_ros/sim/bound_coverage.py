"""Do the learner's bounds hold on the simulated car? Coverage against a long-run fit.

The car is not a linear system with i.i.d. noise, so a bound's 1 - delta is a claim to
check on the car itself. For each plant of a range (corners of simulator parameters, as in
`coverage`), one long run with lane-keeping feedback and bounded excitation
(`model_error.measure_model_error`) is cut into consecutive windows of `window`
transitions. On each window the learner (`control.learning.ModelLearner`) learns a model;
it is checked against:

- the long-run fit: least squares on the whole run without that window, the linear model
  the plant's data converge to under this excitation. Covered if every row of A - A_long
  and B - B_long lies in the model's ball (row-wise learners, as the estimator's: per
  row's bounds; otherwise ||A - A_long||_inf <= eps_A and likewise B);
- the next windows (held out, `future` of them): explained if the model's ball and sigma_w
  explain their transitions (`control.consistency`), the test the controller applies to a
  model it drives on.

    python -m safe_control_ros.sim.bound_coverage --plant mass_scale=0.5,1,1.5 \\
        --plant steering_time_constant=0,0.06 --duration 600 --window 600
"""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import numpy as np

from ..control.consistency import consistency
from ..control.excitation import KINDS
from ..control.learning import ModelLearner
from ..control.model import UncertainModel
from .config import CarModelConfig, SimConfig
from .coverage import parse_range, plant_corners
from .lane_model import controller_instance, input_scale
from .model_error import measure_model_error


@dataclass(frozen=True)
class Coverage:
    """Over the windows of one run: the fraction whose learned ball holds the long-run fit,
    the fraction whose model explains the next windows, and the median bounds."""

    long_run: float
    future: float
    windows: int
    eps: tuple[float, float]  # median (eps_A, eps_B)
    sigma_w: np.ndarray  # (n,) median learned sigma_w


def run_coverage(prior: UncertainModel, x, u, window: int, future: int = 5, **learner) -> Coverage:
    """Coverage (module) of a ModelLearner(prior, **learner) on one run: states x (T+1, n)
    and inputs u (T, m) in controller coordinates, windows of `window` transitions."""
    n = prior.n
    Z, Y = np.hstack([x[:-1], u]), x[1:]
    starts = range(0, len(Z) - window + 1, window)
    held, explained, tested, eps, sigma = 0, 0, 0, [], []
    for start in starts:
        inside = slice(start, start + window)
        model = _learned(prior, Z[inside], Y[inside], learner)
        outside = np.ones(len(Z), bool)
        outside[inside] = False
        theta = np.linalg.lstsq(Z[outside], Y[outside], rcond=None)[0].T
        rows_A, rows_B = model.row_errors
        held += bool(
            np.all(np.abs(model.A - theta[:, :n]).sum(axis=1) <= rows_A)
            and np.all(np.abs(model.B - theta[:, n:]).sum(axis=1) <= rows_B)
        )
        later = slice(start + window, start + window * (1 + future))
        if len(Z[later]) == window * future:
            tested += 1
            explained += consistency(model, Z[later, :n], Z[later, n:], Y[later]).consistent
        eps.append((model.eps_A, model.eps_B))
        sigma.append(model.sigma_w)
    count = len(eps)
    return Coverage(
        long_run=held / count,
        future=explained / tested if tested else float("nan"),
        windows=count,
        eps=tuple(np.median(eps, axis=0)),
        sigma_w=np.median(sigma, axis=0),
    )


def _learned(prior: UncertainModel, Z: np.ndarray, Y: np.ndarray, learner: dict) -> UncertainModel:
    """The model the learner fits to transitions Z = [x, u] (N, n+m), Y = x+ (N, n)."""
    model = ModelLearner(prior, **learner)
    for z, y in zip(Z, Y, strict=True):
        model.add(z[: prior.n], z[prior.n :], y)
    model.model()
    if model.last_learned is None:
        raise ValueError(f"window: {len(Z)} transitions are too few to learn from")
    return model.last_learned


def plant_runs(
    sim: SimConfig, car: CarModelConfig, plants, duration: float, sigma_eta, seed, excitation=()
):
    """Per plant, states (T+1, 3) and inputs (T, 2) in controller coordinates; `excitation`:
    (kind, hold) of `measure_model_error`."""
    Dx, Du = np.asarray(car.state_scale), input_scale(car)
    for plant in plants:
        config = dataclasses.replace(sim, **plant)
        run = measure_model_error(config, duration, sigma_eta, seed, *excitation)
        yield run.states / Dx, run.inputs / Du


LEARNERS = {  # name: ModelLearner arguments (row-wise, as the estimator's)
    "wild bootstrap, sigma_w prior": {"bound": "wild-bootstrap", "disturbance": "prior"},
    "bootstrap, sigma_w prior": {"bound": "bootstrap", "disturbance": "prior"},
    "wild bootstrap, sigma_w held-out": {"bound": "wild-bootstrap", "disturbance": "held-out"},
    "wild bootstrap, sigma_w in-sample": {"bound": "wild-bootstrap", "disturbance": "in-sample"},
}


def main(argv: list[str] | None = None) -> None:
    """Print, per plant and learner, the coverage against the long-run fit and the next
    windows, with the median bounds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", default="config/car.yaml")
    parser.add_argument("--plant", action="append", default=[], help="name=v1,v2 (repeat)")
    parser.add_argument("--duration", type=float, default=600.0, help="s per plant")
    parser.add_argument("--window", type=int, default=600, help="transitions learned from")
    parser.add_argument("--sigma-eta", type=float, nargs=2, default=(0.02, 0.05))
    parser.add_argument("--excitation", choices=KINDS, default="sign", help="samples")
    parser.add_argument(
        "--hold", type=int, nargs=2, default=(10, 1), help="steps per excitation sample, per input"
    )
    parser.add_argument("--delta", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=31)
    args = parser.parse_args(argv)
    plants = plant_corners(dict(parse_range(spec) for spec in args.plant))
    sim, car = SimConfig.from_yaml(args.config), CarModelConfig.from_yaml(args.config)
    prior = controller_instance(car).model
    excitation = (args.excitation, args.hold)
    runs = plant_runs(sim, car, plants, args.duration, args.sigma_eta, args.seed, excitation)
    print(f"{'plant':<38} {'learner':<34} {'long-run':>8} {'next':>6}  eps_A   eps_B   sigma_w")
    for plant, (x, u) in zip(plants, runs, strict=True):
        name = ", ".join(f"{k} {v:g}" for k, v in plant.items()) or "as configured"
        for label, kwargs in LEARNERS.items():
            c = run_coverage(prior, x, u, args.window, delta=args.delta, row_wise=True, **kwargs)
            sigma = np.array2string(c.sigma_w, precision=4)
            print(
                f"{name:<38} {label:<34} {c.long_run:>8.2f} {c.future:>6.2f}  "
                f"{c.eps[0]:.4f}  {c.eps[1]:.4f}  {sigma}"
            )


if __name__ == "__main__":
    main()
