"""Falsification: true systems on the boundary of the error set, worst-case disturbances,
and simulation of plans and controllers against them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .excitation import Excitation
from .lqr import stage_costs
from .model import SafeSet, UncertainModel
from .plan import Plan
from .receding import Planner, RecedingHorizon


def boundary_errors(rng: np.random.Generator, count: int, rows: int, cols: int, eps: float):
    """`count` matrices (count, rows, cols) whose every row has l1-norm exactly eps, so each
    has induced inf-norm eps: random signs times random Dirichlet weights."""
    weights = rng.dirichlet(np.ones(cols), size=(count, rows))
    return eps * weights * rng.choice([-1.0, 1.0], size=(count, rows, cols))


def sample_true_systems(model: UncertainModel, count: int, rng: np.random.Generator):
    """`count` true systems (As (count,n,n), Bs (count,n,m)) on the boundary of the set."""
    n, m = model.n, model.m
    As = model.A + boundary_errors(rng, count, n, n, model.eps_A)
    Bs = model.B + boundary_errors(rng, count, n, m, model.eps_B)
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
) -> Episode:
    """Run `controller` on x+ = A_true x + B_true u + w, w random vertices of sigma_w; it
    sees x + e with e random vertices of eps_e (n,) if given, else x."""
    x = np.asarray(x0, dtype=float)
    states, inputs, statuses, times = [x], [], [], []
    for _ in range(steps):
        e = 0.0 if eps_e is None else vertices(rng, eps_e, x.shape)
        step = controller.step(x + e, x_ref)
        w = vertices(rng, np.full(x.size, sigma_w), x.shape)
        x = A_true @ x + B_true @ step.u + w
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
