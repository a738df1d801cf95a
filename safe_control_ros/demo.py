"""The demo: safe data collection with excitation, least squares with error bounds, then
robust SLS control at the lane edge; writes plots and a summary table.

    safe-control-demo --out out/demo [--learn-steps 1600] [--operate-steps 200]
"""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from .control.falsify import perturbed_model
from .control.instances import lane_keeping, normalized
from .control.learning import ModelLearner
from .control.loop import LinearPlant, SafeLearningLoop
from .report import write_report

STATE_NAMES = ("e_y / 0.2 m", "e_psi / 0.5 rad", "e_v / 0.5 m/s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out/demo"))
    parser.add_argument("--learn-steps", type=int, default=1600)
    parser.add_argument("--operate-steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's solver-accuracy notes

    truth = normalized(lane_keeping(eps=0.0, sigma_w=0.001))
    prior = perturbed_model(truth.model.A, truth.model.B, 0.03, 0.001, seed=args.seed)
    plant = LinearPlant(truth.model.A, truth.model.B, 0.001, np.zeros(3), seed=args.seed)
    loop = SafeLearningLoop(
        ModelLearner(prior, delta=0.05, seed=args.seed),
        truth.safe_set,
        truth.Q,
        truth.R,
        horizon=5,
        sigma_eta=[0.15, 0.15],
        seed=args.seed,
    )
    x_ref = np.array([1.0, 0.0, 0.0])  # drive along the left lane edge
    with tqdm(total=args.learn_steps + args.operate_steps, desc="steps", unit="step") as bar:
        loop.run(plant, args.learn_steps, learning=True, progress=bar.update)
        loop.stop_learning()
        loop.run(plant, args.operate_steps, learning=False, x_ref=x_ref, progress=bar.update)
    rows = write_report(
        args.out,
        loop.log,
        truth.safe_set,
        truth.Q,
        truth.R,
        x_ref,
        STATE_NAMES,
        "Safe learning on the lane-keeping model",
    )
    for phase, row in rows.items():
        print(f"{phase:>10}: " + ", ".join(f"{k} {v:.3g}" for k, v in row.items()))
    print(f"report: {args.out / 'report.md'}")
    return 0 if all(row["violations"] == 0 for row in rows.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
