"""The lane-edge task: keep the simulated car at a lateral offset towards the lane edge
(x_ref = [offset, 0, 0]) at the configured speed, as close as each controller can
certify, on the oval. Measured per 30 s: the mean distance |e_y - offset| (m), the mean
speed (m/s: stops cost speed), the offset in use (m); over the run, lane violations and
steps without a new plan. Controllers (the robust ones in the in-process launch graph):

- "learning": from the physics prior (config/prior_physics.yaml) with excitation; the
  estimator's models are adopted as they come and, for each, the controller takes the
  first fraction of x_ref (`fractions`) with a certified plan and stop (controller node);
- "calibrated": car.yaml's prior, the configured plant's own fit with eps its spread;
- "local model known": that fit with no model error (eps 0, car.yaml's sigma_w);
- "certainty-equivalent": nominal MPC on the last learned model's centre towards the
  offset itself, on the same car and gusts, without a certificate or a stop.

    python -m safe_control_ros.edge_task [--duration 300] [--offset 0.24]
"""

from __future__ import annotations

import argparse
import warnings
from dataclasses import dataclass, replace

import numpy as np

from .control.lqr import lqr
from .control.measurement import certainty_equivalent
from .control.model import UncertainModel
from .launcher import CONFIG, build, parameters
from .runtime import messages as msg
from .sim.config import CarModelConfig, SimConfig
from .sim.lane_model import controller_instance, input_scale
from .sim.lane_plant import LanePlant
from .sim.world import CarWorld

FRACTIONS = tuple(np.round(np.linspace(1.0, 0.0, 11), 1))  # x_ref in steps of 10%
WINDOW = 30.0  # s per cost window


@dataclass(frozen=True)
class TaskRun:
    """One controller on the task: per WINDOW s the mean |e_y - offset| (m), the mean speed
    (m/s) and the offset in use at its end (m); lane violations (|e_y| > e_y_max or
    |e_psi| > e_psi_max) and steps without a new plan (stops, fallbacks) over the run; the
    last model in use."""

    cost: np.ndarray
    speed: np.ndarray
    offset: np.ndarray
    violations: int
    steps_without_plan: int
    model: UncertainModel | None


def task_controller(offset: float, learning: float) -> dict:
    """Controller parameters of the task: x_ref [offset (m), 0, 0] tried at FRACTIONS and
    `learning` s of excitation."""
    return {
        "x_ref": [offset, 0.0, 0.0],
        "reference_fractions": list(FRACTIONS),
        "learning_duration": learning,
    }


def graph_params(offset: float, prior: str, learning: float, model: dict | None = None):
    """Launch-graph parameters for the task (`task_controller`) with `prior` layered on
    car.yaml, car_model values `model` replacing the prior's (and no consistency test: a
    model without error explains no data exactly)."""
    params = parameters(CONFIG / "car.yaml", "oval", prior)
    params["controller"] |= task_controller(offset, learning)
    if model is not None:
        params["/**"] |= {f"car_model.{k}": v for k, v in model.items()}
        params["controller"]["consistency_window"] = 0.0
    return params


def run_graph(params: dict, duration: float, offset: float) -> TaskRun:
    """The graph with `params` for `duration` s (a multiple of WINDOW)."""
    runtime, jobs = build(params)
    lanes: list[np.ndarray] = []
    plans: list[str] = []
    probe = runtime.create_node("probe")
    probe.create_subscription(msg.LaneState, "/lane_state", lambda m: lanes.append(m))
    probe.create_subscription(msg.DiagnosticArray, "/diagnostics", lambda d: plans.extend(
        s.message for s in d.status if s.name.endswith("planner")))  # fmt: skip
    controller, windows, offsets = jobs["controller"], [], []
    car = controller.car
    try:
        for k in range(1, round(duration / WINDOW) + 1):
            start = len(lanes)
            runtime.spin_until(k * WINDOW)
            windows.append(np.array([msg.lane_values(m)[1:4] for m in lanes[start:]]))
            offsets.append(float(controller.x_ref[0] * car.state_scale[0]))
    finally:
        jobs["sim"].destroy()
    without = sum(p != "optimal" for p in plans)
    return _task_run(windows, offsets, offset, car, without, controller.model)


def _task_run(windows, offsets, offset: float, car: CarModelConfig, without: int, model):
    """TaskRun from the lane states [e_y, e_psi, e_v] (T, 3) of each window."""
    states = np.concatenate(windows)
    bad = np.any(np.abs(states[:, :2]) > [car.e_y_max, car.e_psi_max], axis=1)
    cost = [np.mean(np.abs(w[:, 0] - offset)) for w in windows]
    speed = [car.speed + np.mean(w[:, 2]) for w in windows]
    return TaskRun(
        np.array(cost), np.array(speed), np.array(offsets), int(bad.sum()), without, model
    )


def run_certainty_equivalent(model: UncertainModel, duration: float, offset: float) -> TaskRun:
    """Nominal MPC (controller's horizon, car.yaml's weights and safe set) on `model`
    (controller coordinates) towards [offset, 0, 0] on the simulated car; where the nominal
    problem is infeasible (the car beyond a constraint), the LQR of `model` towards it."""
    car = CarModelConfig.from_yaml(CONFIG / "car.yaml")
    sim = replace(SimConfig.from_yaml(CONFIG / "car.yaml"), camera_period=0.0)
    inst = controller_instance(car)
    mpc = certainty_equivalent(model, inst.safe_set, inst.Q, inst.R, horizon=5)
    fallback = lqr(model.A, model.B, inst.Q, inst.R)
    x_ref = np.array([offset, 0.0, 0.0]) / np.asarray(car.state_scale)
    steps = round(WINDOW / sim.control_period)
    windows, failed = [], 0
    with CarWorld(sim) as world:
        world.reset(sim.seed)
        plant = LanePlant(world, car.state_scale, input_scale(car))
        for _ in range(round(duration / WINDOW)):
            states = []
            for _ in range(steps):
                x = plant.state()
                sol = mpc.solve(x, x_ref)
                failed += sol.plan is None
                u = sol.plan.v[0] if sol.plan is not None else fallback(x - x_ref)
                states.append(plant.apply(u) * car.state_scale)
            windows.append(np.array(states))
    return _task_run(windows, [offset] * len(windows), offset, car, failed, model)


def local_model(car: CarModelConfig) -> dict:
    """car_model values of the configured plant's own fit (car.yaml's prior) without model
    error."""
    return {"prior_A": list(car.prior_A), "prior_B": list(car.prior_B), "eps_A0": 0.0,
            "eps_B0": 0.0, "sigma_w": list(car.sigma_w)}  # fmt: skip


def run_task(duration: float, offset: float, learning: float) -> dict[str, TaskRun]:
    """Every controller of the module on the task for `duration` s."""
    car = CarModelConfig.from_yaml(CONFIG / "car.yaml")
    runs = {
        "learning": run_graph(graph_params(offset, "physics", learning), duration, offset),
        "calibrated": run_graph(graph_params(offset, "", 0.0), duration, offset),
        "local model known": run_graph(
            graph_params(offset, "", 0.0, local_model(car)), duration, offset
        ),
    }
    learned = runs["learning"].model
    assert learned is not None
    centre = UncertainModel(A=learned.A, B=learned.B, sigma_w=learned.sigma_w)
    runs["certainty-equivalent"] = run_certainty_equivalent(centre, duration, offset)
    return runs


def main(argv: list[str] | None = None) -> None:
    """Print per controller the cost and offset per window, violations and stops."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="s, multiple of 30")
    parser.add_argument("--offset", type=float, default=0.24, help="m, target e_y")
    parser.add_argument("--learning", type=float, default=300.0, help="s with excitation")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore", UserWarning)  # cvxpy's solver-accuracy notes
    runs = run_task(args.duration, args.offset, args.learning)
    ends = "  ".join(f"{WINDOW * (k + 1):>5.0f}s" for k in range(round(args.duration / WINDOW)))
    print(f"{'controller':<22} {'':<14} {ends}  violations  without plan")
    for name, run in runs.items():
        tail = f"  {run.violations:>10}  {run.steps_without_plan:>12}"
        rows = (("|e_y-ref| m", run.cost), ("speed m/s", run.speed), ("offset m", run.offset))
        for label, values in rows:
            cells = "  ".join(f"{v:>6.3f}" for v in values)
            print(f"{name:<22} {label:<14} {cells}{tail}")
            tail = ""


if __name__ == "__main__":
    main()
