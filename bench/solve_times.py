"""Re-solve times of robust SLS and of certainty-equivalent MPC, per horizon.

Instance: the normalised lane-keeping model (n = 3, m = 2), eps = 0.02, sigma_w = 0.01,
excitation on, reference at the lane edge. Each sample is one solve from a seeded random
state in 60% of the safe box, so x0 changes between solves as it does in operation.

    python bench/solve_times.py [--horizons 5 10 20] [--steps 40]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from safe_control_ros.control.instances import lane_edge
from safe_control_ros.control.mpc import NominalMPC
from safe_control_ros.control.sls import RobustSLS

SCENARIO = lane_edge()
X_REF = SCENARIO.x_ref


def states(inst, count: int, seed: int = 0) -> np.ndarray:
    """`count` seeded random states (count, n) inside 60% of the normalised safe box."""
    rng = np.random.default_rng(seed)
    return rng.uniform(-0.6, 0.6, size=(count, inst.model.n))


def measure(problem, xs: np.ndarray) -> tuple[np.ndarray, int]:
    """Solve times (ms) after one warm-up solve, and how many solves were not optimal."""
    problem.solve(xs[0], X_REF)
    times, bad = [], 0
    for x in xs:
        start = time.perf_counter()
        sol = problem.solve(x, X_REF)
        times.append(1e3 * (time.perf_counter() - start))
        bad += sol.status != "optimal"
    return np.array(times), bad


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--steps", type=int, default=40)
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    inst = SCENARIO.instance
    xs = states(inst, args.steps)
    print(f"{'T':>3} {'solver':<22} {'median ms':>10} {'p95 ms':>8} {'not optimal':>12}")
    for T in args.horizons:
        rows = {
            "robust SLS, Clarabel": RobustSLS(
                inst.model, inst.safe_set, inst.Q, inst.R, T, sigma_eta=inst.sigma_eta
            ),
            "nominal MPC, Clarabel": NominalMPC(inst.model, inst.safe_set, inst.Q, inst.R, T),
            "nominal MPC, OSQP": NominalMPC(
                inst.model, inst.safe_set, inst.Q, inst.R, T, solver="OSQP"
            ),
        }
        for name, problem in rows.items():
            ms, bad = measure(problem, xs)
            print(
                f"{T:>3} {name:<22} {np.median(ms):>10.2f} {np.percentile(ms, 95):>8.2f} {bad:>12}"
            )


if __name__ == "__main__":
    main()
