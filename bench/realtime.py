"""Per-step time of the real-time robust SLS against the generic one, per horizon.

Instance: the normalised lane-keeping model (n = 3, m = 2), eps = 0.02, sigma_w = 0.01,
excitation on, reference at the lane edge, tau = 0.5 for both. The fast controller runs
in closed loop (receding horizon) on a true system on the boundary of the error set with
vertex disturbances; its per-step times include building and certifying the plan. The
generic RobustSLS (cvxpy + Clarabel) is timed on the first states of the same run (few
at long horizons). "eps max" is the largest model error (eps_A = eps_B) for which a
solve from x0 = [0.5, 0.2, 0.3] succeeds, by bisection; each fast evaluation rebuilds
the library (slow path), so it is only run for the horizons in --eps-horizons.

    python bench/realtime.py [--horizons 5 10 20 30] [--steps 100] [--eps-horizons 5 10 20]
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from safe_control_ros.control.falsify import closed_loop, sample_true_systems
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.instances import lane_edge, lane_keeping, normalized
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import RobustSLS

SCENARIO = lane_edge()
X0, X_REF = SCENARIO.x0, SCENARIO.x_ref
GENERIC_SOLVES = {5: 40, 10: 40, 20: 15, 30: 3}


def fast(inst, T: int) -> FastRobustSLS:
    return FastRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, T, sigma_eta=inst.sigma_eta, design_ref=X_REF
    )


def generic(inst, T: int) -> RobustSLS:
    return RobustSLS(inst.model, inst.safe_set, inst.Q, inst.R, T, sigma_eta=inst.sigma_eta)


def eps_max(build, T: int, high: float, tol: float = 1e-3) -> float:
    """Largest eps in [0, high] (to tol) with an optimal solve from X0, by bisection."""
    low = 0.0
    while high - low > tol:
        mid = (low + high) / 2
        ok = build(normalized(lane_keeping(eps=mid, sigma_w=0.01)), T).solve(X0, X_REF)
        low, high = (mid, high) if ok.status == "optimal" else (low, mid)
    return low


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 20, 30])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--eps-horizons", type=int, nargs="*", default=[5, 10, 20])
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    inst = SCENARIO.instance
    rng = np.random.default_rng(3)
    As, Bs = sample_true_systems(inst.model, 1, rng)
    print(
        f"{'T':>3} {'K':>3} {'slow path s':>11} {'fast med/p95 ms':>16} {'max ms':>7} "
        f"{'generic med/p95 ms':>19} {'n gen':>5} {'ratio':>6} {'cost gap':>8} "
        f"{'statuses':<28} {'eps max fast/generic':>20}",
        flush=True,
    )
    for T in args.horizons:
        problem = fast(inst, T)
        controller = RecedingHorizon(problem)
        ep = closed_loop(controller, As[0], Bs[0], X0, args.steps, inst.model.sigma_w, rng, X_REF)
        ms = 1e3 * ep.solve_times
        counts = {s: ep.statuses.count(s) for s in sorted(set(ep.statuses))}
        reference = generic(inst, T)
        reference.solve(X0, X_REF)  # warm-up (compilation)
        gen_ms, gaps = [], []
        for x in ep.states[: GENERIC_SOLVES.get(T, 3)]:
            sol = reference.solve(x, X_REF)
            gen_ms.append(1e3 * sol.solve_time)
            mine = problem.solve(x, X_REF)
            if sol.plan is not None and mine.plan is not None:
                gaps.append(mine.plan.cost / sol.plan.cost - 1)
        gen_ms = np.array(gen_ms)
        if T in args.eps_horizons:
            e_gen = eps_max(generic, T, 0.1)
            e_fast = eps_max(fast, T, e_gen + 1e-3)
            eps = f"{e_fast:.3f} / {e_gen:.3f}"
        else:
            eps = "-"
        gap = f"{100 * np.mean(gaps):.1f}%" if gaps else "-"
        print(
            f"{T:>3} {problem.library.size:>3} {problem.library.build_time:>11.1f} "
            f"{np.median(ms):>7.2f}/{np.percentile(ms, 95):<8.2f} {ms.max():>7.2f} "
            f"{np.median(gen_ms):>9.1f}/{np.percentile(gen_ms, 95):<9.1f} {gen_ms.size:>5} "
            f"{np.median(gen_ms) / np.median(ms):>6.0f} {gap:>8} {counts!s:<28} {eps:>20}",
            flush=True,
        )


if __name__ == "__main__":
    main()
