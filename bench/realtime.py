"""Per-step time of the real-time robust SLS against the generic one, per horizon, on the
car's own configuration and on the bench instance.

car: config/car.yaml's prior, bounds, safe set, weights and tau, x0 = x_ref = 0, no
excitation; the truth is the corner A0 + eps_A I, B0 - eps_B [0 1; 0 1; 0 1] with vertex
disturbances. bench: the normalised lane-keeping model (n = 3, m = 2), eps = 0.02,
sigma_w = 0.01, excitation on, reference at the lane edge, a true system on the boundary.
The fast controller runs in closed loop (receding horizon); its per-step times include
building and certifying the plan, and "slow path s" is the response library's build (per
model update). The generic RobustSLS (cvxpy + Clarabel) is timed on the first states of
the same run (few at long horizons). "eps max" is the largest scale of the model error
(car: of eps_A0, eps_B0; bench: eps_A = eps_B) with an optimal solve from x0, by
bisection; each fast evaluation rebuilds the library, so only for --eps-horizons.
"ladder" is controller.budget_scales [1.0, 0.5] (eta chosen per solve,
control.sls.BudgetLadder; config/car.yaml recommends it at horizons 10-20): its per-step
time in the same closed loop, its libraries' build time, and its eps max.

    python bench/realtime.py [--cases car bench] [--horizons 5 10 20 30] [--steps 100]
"""

from __future__ import annotations

import argparse
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from safe_control_ros.control.falsify import closed_loop, corner_systems, sample_true_systems
from safe_control_ros.control.fast_sls import FastRobustSLS
from safe_control_ros.control.instances import Instance, lane_edge, lane_keeping, normalized
from safe_control_ros.control.receding import RecedingHorizon
from safe_control_ros.control.sls import BudgetLadder, RobustSLS
from safe_control_ros.nodes.controller_config import ControllerConfig
from safe_control_ros.sim.config import CarModelConfig
from safe_control_ros.sim.lane_model import controller_instance

CONFIG = Path(__file__).resolve().parents[1] / "config" / "car.yaml"
GENERIC_SOLVES = {5: 40, 10: 40, 15: 20, 20: 15, 30: 3}


@dataclass(frozen=True)
class Case:
    """A problem instance with its start, reference, schedule and model-error scaling."""

    instance: Instance
    x0: np.ndarray
    x_ref: np.ndarray
    tau: float
    truth: tuple[np.ndarray, np.ndarray]  # (A, B) of the simulated true system
    scaled: Callable[[float], Instance]  # the instance with its model error scaled
    eps_high: float  # bisection's upper end of the scale
    budget_scales: tuple[float, ...] = (1.0,)  # the ladder (one rung: none)


def car() -> Case:
    inst = controller_instance(CarModelConfig.from_yaml(CONFIG))
    config = ControllerConfig.from_yaml(CONFIG)
    model = inst.model

    def scaled(k: float) -> Instance:
        return replace(inst, model=replace(model, eps_A=k * model.eps_A, eps_B=k * model.eps_B))

    As, Bs = corner_systems(model, 1, np.random.default_rng(0))
    zero = np.zeros(3)
    truth = (As[0], Bs[0])
    return Case(inst, zero, zero, config.tau, truth, scaled, 8.0, (1.0, 0.5))


def bench() -> Case:
    scenario = lane_edge()
    inst = scenario.instance
    As, Bs = sample_true_systems(inst.model, 1, np.random.default_rng(3))

    def scaled(eps: float) -> Instance:
        return normalized(lane_keeping(eps=eps, sigma_w=0.01))

    return Case(inst, scenario.x0, scenario.x_ref, 0.0, (As[0], Bs[0]), scaled, 0.1)


def fast(case: Case, inst: Instance, T: int, budget_scale: float = 1.0) -> FastRobustSLS:
    return FastRobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, T, sigma_eta=inst.sigma_eta,
        tau=case.tau, design_ref=case.x_ref, budget_scale=budget_scale,
    )  # fmt: skip


def generic(case: Case, inst: Instance, T: int, budget_scale: float = 1.0) -> RobustSLS:
    return RobustSLS(
        inst.model, inst.safe_set, inst.Q, inst.R, T, sigma_eta=inst.sigma_eta, tau=case.tau,
        budget_scale=budget_scale,
    )  # fmt: skip


def ladder(build) -> Callable[[Case, Instance, int], BudgetLadder]:
    """A builder of the case's ladder of `build` problems."""
    return lambda case, inst, T: BudgetLadder([build(case, inst, T, s) for s in case.budget_scales])


def eps_max(build, case: Case, T: int, high: float, tol: float = 1e-3) -> float:
    """Largest model-error scale in [0, high] (to tol relative to high) with an optimal
    solve from the case's x0, by bisection."""
    low, tol = 0.0, tol * high
    while high - low > tol:
        mid = (low + high) / 2
        ok = build(case, case.scaled(mid), T).solve(case.x0, case.x_ref)
        low, high = (mid, high) if ok.status == "optimal" else (low, mid)
    return low


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", default=["car", "bench"], choices=["car", "bench"])
    parser.add_argument("--horizons", type=int, nargs="+", default=[5, 10, 15, 20, 30])
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--eps-horizons", type=int, nargs="*", default=[5, 10, 20])
    args = parser.parse_args()
    warnings.simplefilter("ignore", UserWarning)
    for name in args.cases:
        case = {"car": car, "bench": bench}[name]()
        print(f"\n{name} (tau {case.tau})", flush=True)
        print(
            f"{'T':>3} {'K':>3} {'slow path s':>11} {'fast med/p95 ms':>16} {'max ms':>7} "
            f"{'generic med/p95 ms':>19} {'n gen':>5} {'ratio':>6} {'cost gap':>8} "
            f"{'statuses':<40} {'eps max fast/generic':>20}",
            flush=True,
        )
        for T in args.horizons:
            row(case, T, args.steps, T in args.eps_horizons)
        if len(case.budget_scales) > 1:
            print(f"ladder {list(case.budget_scales)}", flush=True)
            print(
                f"{'T':>3} {'slow path s':>11} {'med/p95 ms':>16} {'max ms':>7} "
                f"{'statuses':<40} {'eps max fast/generic':>20}",
                flush=True,
            )
            for T in args.horizons:
                ladder_row(case, T, args.steps, T in args.eps_horizons)


def row(case: Case, T: int, steps: int, with_eps: bool) -> None:
    """One table row: the fast controller in closed loop, the generic one on its states."""
    inst, rng = case.instance, np.random.default_rng(3)
    problem = fast(case, inst, T)
    eps = "-"
    if with_eps:
        e_gen = eps_max(generic, case, T, case.eps_high)
        e_fast = eps_max(fast, case, T, e_gen * 1.01 + 1e-6)
        eps = f"{e_fast:.3f} / {e_gen:.3f}"
    if problem.library.size == 0:
        build = problem.library.build_time
        print(f"{T:>3} {0:>3} {build:>11.1f} {'no design point is feasible':<60} {eps:>67}")
        return
    A, B = case.truth
    controller = RecedingHorizon(problem)
    sigma_w = inst.model.sigma_w
    ep = closed_loop(controller, A, B, case.x0, steps, sigma_w, rng, case.x_ref)
    ms = 1e3 * ep.solve_times
    counts = {s: ep.statuses.count(s) for s in sorted(set(ep.statuses))}
    reference = generic(case, inst, T)
    reference.solve(case.x0, case.x_ref)  # warm-up (compilation)
    gen_ms, gaps = [], []
    for x in ep.states[: GENERIC_SOLVES.get(T, 3)]:
        sol = reference.solve(x, case.x_ref)
        gen_ms.append(1e3 * sol.solve_time)
        mine = problem.solve(x, case.x_ref)
        if sol.plan is not None and mine.plan is not None:
            gaps.append(mine.plan.cost / sol.plan.cost - 1)
    gen_ms = np.array(gen_ms)
    gap = f"{100 * np.mean(gaps):.1f}%" if gaps else "-"
    print(
        f"{T:>3} {problem.library.size:>3} {problem.library.build_time:>11.1f} "
        f"{np.median(ms):>7.2f}/{np.percentile(ms, 95):<8.2f} {ms.max():>7.2f} "
        f"{np.median(gen_ms):>9.1f}/{np.percentile(gen_ms, 95):<9.1f} {gen_ms.size:>5} "
        f"{np.median(gen_ms) / np.median(ms):>6.0f} {gap:>8} {counts!s:<40} {eps:>20}",
        flush=True,
    )


def ladder_row(case: Case, T: int, steps: int, with_eps: bool) -> None:
    """One row of the ladder: the fast ladder in the same closed loop, its eps max."""
    inst, rng = case.instance, np.random.default_rng(3)
    problem = ladder(fast)(case, inst, T)
    build = sum(p.library.build_time for p in problem.problems)
    A, B = case.truth
    sigma_w = inst.model.sigma_w
    ep = closed_loop(RecedingHorizon(problem), A, B, case.x0, steps, sigma_w, rng, case.x_ref)
    ms = 1e3 * ep.solve_times
    counts = {s: ep.statuses.count(s) for s in sorted(set(ep.statuses))}
    eps = "-"
    if with_eps:
        e_gen = eps_max(ladder(generic), case, T, case.eps_high)
        e_fast = eps_max(ladder(fast), case, T, case.eps_high)
        eps = f"{e_fast:.3f} / {e_gen:.3f}"
    print(
        f"{T:>3} {build:>11.1f} {np.median(ms):>7.2f}/{np.percentile(ms, 95):<8.2f} "
        f"{ms.max():>7.2f} {counts!s:<40} {eps:>20}",
        flush=True,
    )


if __name__ == "__main__":
    main()
