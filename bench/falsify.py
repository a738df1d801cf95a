"""Closed-loop falsification campaign: robust SLS vs certainty-equivalent MPC on true
systems sampled on the boundary of the error set, vertex disturbances and excitation.

    python bench/falsify.py [--systems 500] [--steps 200] [--horizon 5]
"""

from __future__ import annotations

import argparse
import time
import warnings

from safe_control_ros.control.falsify import closed_loop_campaign
from safe_control_ros.control.instances import lane_edge
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.sls import RobustSLS

SCENARIO = lane_edge()
X0, X_REF = SCENARIO.x0, SCENARIO.x_ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--systems", type=int, default=500)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--horizon", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    inst = SCENARIO.instance
    problems = {
        "robust SLS": RobustSLS(
            inst.model, inst.safe_set, inst.Q, inst.R, args.horizon, sigma_eta=inst.sigma_eta
        ),
        "certainty-equivalent MPC": NominalMPC(
            inst.model, inst.safe_set, inst.Q, inst.R, args.horizon
        ),
    }
    print(
        f"{'controller':<26} {'systems':>7} {'steps':>6} {'violations':>10} "
        f"{'violating systems':>17} {'wall s':>7}  statuses"
    )
    for name, problem in problems.items():
        start = time.perf_counter()
        r = closed_loop_campaign(problem, inst.sigma_eta, args.systems, args.steps, X0, X_REF)
        wall = time.perf_counter() - start
        print(
            f"{name:<26} {r.systems:>7} {r.steps:>6} {r.violations:>10} "
            f"{r.violating_systems:>17} {wall:>7.0f}  {r.statuses}"
        )


if __name__ == "__main__":
    main()
