"""Falsification: true systems on the boundary of the error set, worst-case disturbances,
and simulation of plans and controllers against them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .excitation import Excitation
from .lqr import stage_costs
from .model import SafeSet, UncertainModel
from .plan import Plan
from .receding import ControlStep, Planner, RecedingHorizon


def boundary_errors(rng: np.random.Generator, count: int, rows: int, cols: int, eps):
    """`count` matrices (count, rows, cols) whose row i has l1-norm exactly eps_i (eps: a
    number or (rows,)), so each has induced inf-norm max eps: random signs times random
    Dirichlet weights."""
    weights = rng.dirichlet(np.ones(cols), size=(count, rows))
    scale = np.broadcast_to(np.asarray(eps, dtype=float), rows)[:, None]
    return scale * weights * rng.choice([-1.0, 1.0], size=(count, rows, cols))


def sample_true_systems(model: UncertainModel, count: int, rng: np.random.Generator):
    """`count` true systems (As (count,n,n), Bs (count,n,m)) on the boundary of the set."""
    n, m = model.n, model.m
    rows_A, rows_B = model.row_errors
    As = model.A + boundary_errors(rng, count, n, n, rows_A)
    Bs = model.B + boundary_errors(rng, count, n, m, rows_B)
    return As, Bs


def vertices(rng: np.random.Generator, bound, shape) -> np.ndarray:
    """Random vertices of the box |x_j| <= bound_j, shape (..., len(bound))."""
    return np.asarray(bound) * rng.choice([-1.0, 1.0], size=shape)


def rollout_plan(
    plan: Plan, As, Bs, sigma_w: float, sigma_eta, rng: np.random.Generator, eps_e=None
) -> tuple[np.ndarray, np.ndarray]:
    """Follow `plan` (its causal feedback) on each true system for the whole horizon with
    vertex disturbances and excitation, and with eps_e (n,) vertex measurement errors: the
    plan starts from the measurement z_0 = x_0 + e_0 and feeds back the mismatches of the
    measurements. Returns true states (N, T+1, n), applied inputs (N, T, m)."""
    N, n = As.shape[0], As.shape[1]
    T, m = plan.horizon, Bs.shape[2]

    def error() -> np.ndarray:
        return 0.0 if eps_e is None else vertices(rng, eps_e, (N, n))

    y = np.broadcast_to(plan.z[0], (N, n)).copy()
    x = y - error()
    states, inputs, deltas = [x], [], np.zeros((N, T, n))
    for t in range(T):
        u_cmd = plan.v[t] + np.einsum("kij,nkj->ni", plan.Phi_u[t, 1 : t + 1], deltas[:, :t])
        u = u_cmd + vertices(rng, sigma_eta, (N, m))
        x = np.einsum("nij,nj->ni", As, x) + np.einsum("nij,nj->ni", Bs, u)
        x += vertices(rng, np.full(n, sigma_w), (N, n))
        y_next = x + error()
        deltas[:, t] = y_next - y @ plan.A.T - u_cmd @ plan.B.T
        states.append(x)
        inputs.append(u)
        y = y_next
    return np.stack(states, axis=1), np.stack(inputs, axis=1)


def plan_violations(
    plan: Plan,
    model: UncertainModel,
    safe_set: SafeSet,
    sigma_eta,
    count: int,
    seed: int,
    eps_e=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Follow `plan` on `count` true systems sampled on the boundary of `model`'s error set
    (vertex disturbances, excitation and measurement errors eps_e (n,)). Returns violating
    steps per system (count,) and the true states (count, T+1, n)."""
    rng = np.random.default_rng(seed)
    As, Bs = sample_true_systems(model, count, rng)
    states, inputs = rollout_plan(plan, As, Bs, model.sigma_w, sigma_eta, rng, eps_e)
    bad_x = (~safe_set.state.contains(states[:, 1:])).sum(axis=1)
    return bad_x + (~safe_set.inputs.contains(inputs)).sum(axis=1), states


@dataclass(frozen=True)
class Episode:
    """A closed-loop run: states (steps+1, n), applied inputs (steps, m), per-step records."""

    states: np.ndarray
    inputs: np.ndarray
    statuses: list[str]
    solve_times: np.ndarray  # s, (steps,)

    def violations(self, safe_set: SafeSet, tol: float = 0.0) -> int:
        return safe_set.violations(self.states[1:], self.inputs, tol)

    def cost(self, Q: np.ndarray, R: np.ndarray, x_ref=None) -> float:
        """sum_t |x_t - x_ref|_Q^2 + |u_t|_R^2 over the run."""
        e = self.states[:-1] - (0.0 if x_ref is None else x_ref)
        return float(np.sum(stage_costs(e, self.inputs, Q, R)))


Disturbance = Callable[[np.ndarray, ControlStep], np.ndarray]
"""w (n,) for the next step, given the next state without it (n,) and the step taken."""


def closed_loop(
    controller: RecedingHorizon,
    A_true: np.ndarray,
    B_true: np.ndarray,
    x0,
    steps: int,
    sigma_w: float,
    rng: np.random.Generator,
    x_ref=None,
    eps_e=None,
    disturbance: Disturbance | None = None,
) -> Episode:
    """Run `controller` on x+ = A_true x + B_true u + w, w from `disturbance` (default
    random vertices of sigma_w); it sees x + e with e random vertices of eps_e (n,) if
    given, else x."""
    x = np.asarray(x0, dtype=float)
    states, inputs, statuses, times = [x], [], [], []
    for _ in range(steps):
        e = 0.0 if eps_e is None else vertices(rng, eps_e, x.shape)
        step = controller.step(x + e, x_ref)
        x = A_true @ x + B_true @ step.u
        if disturbance is None:
            x = x + vertices(rng, np.full(x.size, sigma_w), x.shape)
        else:
            x = x + disturbance(x, step)
        states.append(x)
        inputs.append(step.u)
        statuses.append(step.status)
        times.append(step.solve_time)
    return Episode(np.array(states), np.array(inputs), statuses, np.array(times))


@dataclass(frozen=True)
class CampaignResult:
    systems: int
    steps: int
    violations: int  # constraint-violating steps over all systems
    violating_systems: int
    statuses: dict[str, int]  # controller statuses over all steps


def closed_loop_campaign(
    problem: Planner,
    sigma_eta,
    systems: int,
    steps: int,
    x0,
    x_ref=None,
    seed: int = 7,
) -> CampaignResult:
    """Closed loop of `problem` (receding horizon with vertex excitation sigma_eta) on
    `systems` true systems sampled on the boundary of its model's error set, with vertex
    disturbances, for `steps` steps each."""
    rng = np.random.default_rng(seed)
    model = problem.model
    As, Bs = sample_true_systems(model, systems, rng)
    violations, violating, statuses = 0, 0, []
    for i in range(systems):
        controller = RecedingHorizon(problem, excitation=Excitation(sigma_eta, seed + i, "sign"))
        episode = closed_loop(controller, As[i], Bs[i], x0, steps, model.sigma_w, rng, x_ref)
        count = episode.violations(problem.safe_set)
        violations += count
        violating += count > 0
        statuses += episode.statuses
    counts = {s: statuses.count(s) for s in sorted(set(statuses))}
    return CampaignResult(systems, steps, violations, violating, counts)


def perturbed_model(A, B, eps: float, sigma_w: float, seed: int = 0) -> UncertainModel:
    """A coarse prior whose nominal (A, B) lies on the boundary of the eps-ball around the
    given system (seeded direction), so the given system is a worst case for it."""
    rng = np.random.default_rng(seed)
    n, m = np.shape(B)
    dA = boundary_errors(rng, 1, n, n, eps)[0]
    dB = boundary_errors(rng, 1, n, m, eps)[0]
    return UncertainModel(np.asarray(A) + dA, np.asarray(B) + dB, eps, eps, sigma_w)


def corner_systems(model: UncertainModel, count: int, rng: np.random.Generator):
    """`count` true systems (As, Bs) on corners of the error ball: every row i of dA is
    +-eps_A (row i's bound) on one entry, every row of dB +-eps_B on one (the extreme
    points of the induced inf-norm ball, row-wise). The first two are the uniform corners
    A +- eps_A I with B -+ eps_B on the last input's column (the pair that makes the car
    turn less)."""
    n, m = model.n, model.m

    def corners(eps: np.ndarray, cols: int) -> np.ndarray:
        pick = rng.integers(cols, size=(count, n))
        signs = rng.choice([-1.0, 1.0], size=(count, n))
        out = np.zeros((count, n, cols))
        np.put_along_axis(out, pick[..., None], (eps * signs)[..., None], axis=2)
        return out

    rows_A, rows_B = model.row_errors
    dA, dB = corners(rows_A, n), corners(rows_B, m)
    for i, sign in enumerate([1.0, -1.0][:count]):
        dA[i] = sign * np.diag(rows_A)
        dB[i] = np.zeros((n, m))
        dB[i][:, -1] = -sign * rows_B
    return model.A + dA, model.B + dB


def constant_disturbance(w) -> Disturbance:
    """The same disturbance w (n,) every step."""
    w = np.asarray(w, dtype=float)
    return lambda x_next, step: w


def greedy_disturbance(safe_set: SafeSet, sigma_w) -> Disturbance:
    """The vertex of |w_i| <= sigma_w_i (a number or (n,)) that pushes the next state
    furthest towards, or across, the state constraint it is nearest to (relative to the
    row's norm)."""
    H, h = safe_set.state.H, safe_set.state.h
    bound = np.broadcast_to(np.asarray(sigma_w, dtype=float), H.shape[1])

    def push(x_next: np.ndarray, step: ControlStep) -> np.ndarray:
        reach = (H @ x_next + np.abs(H) @ bound - h) / np.linalg.norm(H, axis=1)
        return bound * _sign(H[np.argmax(reach)])

    return push


def plan_disturbance(safe_set: SafeSet, sigma_w) -> Disturbance:
    """The vertex that attacks the followed plan where it is weakest: for the constraint
    row and later step with the smallest margin of the plan's nominal, w = sigma_w *
    sign(f^T Phi_x[t, k]), the direction that step's response carries furthest towards
    that constraint. Greedy (`greedy_disturbance`) when no plan is followed."""
    H, h = safe_set.state.H, safe_set.state.h
    greedy = greedy_disturbance(safe_set, sigma_w)

    def attack(x_next: np.ndarray, step: ControlStep) -> np.ndarray:
        plan, k = step.plan, step.plan_step + 1
        if plan is None or k > plan.horizon:
            return greedy(x_next, step)
        margins = h - plan.z[k:] @ H.T  # (T+1-k, rows)
        t, row = np.unravel_index(np.argmin(margins), margins.shape)
        return sigma_w * _sign(H[row] @ plan.Phi_x[k + t, k])

    return attack


def _sign(v: np.ndarray) -> np.ndarray:
    """sign(v) with +1 for zeros: a vertex of the unit box."""
    return np.where(v >= 0.0, 1.0, -1.0)
