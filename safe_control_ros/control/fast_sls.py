"""Real-time robust SLS: feedback responses on a slow path, a small QP on each control step.

`sls.RobustSLS` is jointly convex in the nominal trajectory (z, v) and the feedback
responses Phi = (Phi_x, Phi_u) on the mismatches delta_k, k >= 1. Its size grows like
T^2 n^2; one generic conic solve takes about 0.5 s at T = 20 and several seconds at T = 30
on one core. The responses' dynamics do not depend on x0 (only which constraints they
should relieve does), so the work is split.

Slow path (`prepare`, whenever the model changes): solve the full robust problem at a few
design points and keep their responses Phi^1..Phi^K as a library. The design points are
  * extreme points: maximise d^T x0 - w * cost over x0 in the safe set (and all robust
    plans from it), for directions d (default +-e_i and the sign diagonals);
  * trajectory extremes: the same with the mean of z_1..z_T in place of x0 (default
    +-e_i): responses that let the nominal trajectory press against each constraint;
  * the resting point (d = 0: the cheapest x0 for the design reference) and any given
    design states (full problem at that x0).
Directions are in units of the safe set's half widths; w = `extreme_weight`.

Fast path (`solve`, every control step): the nominal (z, v) and mixture weights lambda
in the simplex, Phi = sum_i lambda_i Phi^i:
    min  nominal cost + h2_weight * lambda^T Gram lambda
    s.t. z_0 = x0, z_{t+1} = A z_t + B v_t,
         F z_t + sum_i lambda_i tight_x^i_t <= b,   G v_t + sum_i lambda_i tight_u^i_t <= g',
         s + eps_A (||z_t|| + rho_t) + eps_B (||v_t|| + pi_t) <= c_{t+1},
         rho_t >= sum_i lambda_i spread_x^i_t row-wise,   pi_t likewise,
with the inf-norms split into linear constraints; tight^i and spread^i are candidate i's
tightenings and row spreads for the fixed schedule c. Phi is affine in lambda and the
tightenings and spreads are convex in Phi, so the mixture's true values are at most the
lambda-weighted ones: every solution is a feasible point of the full robust problem (same
schedule) and carries the same guarantee. `certify` recomputes it for every returned plan.

Consequences of convexity: at a design point the fast problem contains the full
problem's solution, so it is exact there, and every x0 in the convex hull of the design
points is feasible. Elsewhere its cost bounds the full problem's from above.

The QP has T (n + m + 4) + K variables. It is handed to Clarabel directly (sparse data
built once per library, `update(q, b)` per step: initial state and reference only). OSQP
was tried first: on this QP (an LP in lambda and the norm bounds) ADMM needed thousands
of iterations (60-900 ms at T = 10-20) and its residuals broke the certificate at loose
tolerances; the interior-point method takes about 12 iterations.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, replace

import clarabel
import cvxpy as cp
import numpy as np
import scipy.sparse as sp

from .checks import as_matrix, as_vector, bound_vector, in_range, positive_int
from .excitation import check_sigma_eta
from .horizon import MARGIN, psd_sqrt, terminal_cost_matrix
from .model import SafeSet, UncertainModel
from .plan import Certificate, Plan, Solution, Tail, rollout_responses
from .sls import (
    RobustSLS,
    certify,
    check_budget_scale,
    check_terminal,
    response_rows,
    row_pairs,
)
from .terminal import StationaryResponse

# Iterative refinement of the KKT solves is off: it doubled the solve time on the car's QP,
# and every plan's certificate is recomputed in numpy (`certify`) with `backoff` to spare.
SOLVER_DEFAULTS = {
    "verbose": False,
    "max_threads": 1,
    "direct_solve_method": "faer",
    "iterative_refinement_enable": False,
}


@dataclass(frozen=True)
class ResponseLibrary:
    """Feedback responses of full robust solutions at K design points, for one model and
    one schedule c. The x0 columns (k = 0) are zero: the nominal part is re-planned."""

    model: UncertainModel
    tau: float
    eta: np.ndarray  # first-step model-error budget per coordinate (n,)
    c: np.ndarray  # delta bound schedule (T+1, n), c_0 = 0
    Phi_x: np.ndarray  # (K, T+1, T+1, n, n)
    Phi_u: np.ndarray  # (K, T, T+1, m, n)
    states: np.ndarray  # design states x0 (K, n)
    build_time: float  # s, wall clock of the slow path
    terminal: StationaryResponse | None  # what every candidate ends in (terminal module)

    @property
    def size(self) -> int:
        return self.Phi_u.shape[0]


@dataclass(frozen=True)
class FastCore:
    """What the fast path needs for one model: the library, the QP and its solver."""

    model: UncertainModel
    P: np.ndarray  # terminal cost (n, n)
    s: np.ndarray  # disturbance part of the schedule (n,)
    h2_weight: float
    library: ResponseLibrary
    solver: clarabel.DefaultSolver | None  # None when no design point was feasible
    variables: dict[str, slice]
    rows: dict[str, slice]
    rhs: np.ndarray  # right-hand side as set up; copied and updated per step
    q: np.ndarray  # linear cost as set up
    gram: np.ndarray  # (K, K): H2 cost of the mixture is lam^T gram lam


class FastRobustSLS:
    """Robust SLS with the contract of `RobustSLS.solve`, fast enough for the control loop.

    Arguments as for `RobustSLS` (the schedule is fixed per model), plus the
    slow path's design: `directions` (d, n) for extreme points (default +-e_i and the 2^n
    sign diagonals), `trajectory_directions` (d, n) for trajectory extremes (default
    +-e_i), `design_states` (p, n) for fixed design states (default none), `design_ref`
    (n,), the reference the design problems track (default the origin; use the reference
    the controller will mostly track), `extreme_weight` (cost against extent).
    `backoff` tightens every fast-path constraint so that the solver's residual cannot
    break the certificate; `solver_settings` (Clarabel) override `SOLVER_DEFAULTS`.

    `update_model(model)` rebuilds library and QP for a new model. To keep that off the
    control loop, run `prepare(model)` elsewhere (it does not change this object) and
    `install(core)` between steps (one assignment).
    """

    def __init__(
        self,
        model: UncertainModel,
        safe_set: SafeSet,
        Q,
        R,
        horizon: int,
        sigma_eta=0.0,
        tau: float = 0.5,
        h2_weight: float | None = None,
        eps_e=None,
        terminal_length: int = 0,
        budget_scale: float = 1.0,
        terminal_cost: np.ndarray | str = "lqr",
        directions=None,
        trajectory_directions=None,
        design_states=None,
        design_ref=None,
        extreme_weight: float = 1e-2,
        backoff: float = 1e-5,
        solver_settings: dict | None = None,
        design_solver: str = "CLARABEL",
    ) -> None:
        n, m = model.n, model.m
        self.safe_set = safe_set.check(n, m)
        self.Q = as_matrix("Q", Q, (n, n))
        self.R = as_matrix("R", R, (m, m))
        self.T = positive_int("horizon", horizon)
        self.sqrt_Q, self.sqrt_R = psd_sqrt("Q", self.Q), psd_sqrt("R", self.R)
        self.sigma_eta = check_sigma_eta(sigma_eta, m)
        self.eps_e = bound_vector("eps_e", eps_e, n)
        self.tau = in_range("tau", tau, 0.0, 1.0)
        self.terminal_length = check_terminal(terminal_length, tau, self.eps_e, self.T)
        self.budget_scale = check_budget_scale(budget_scale, terminal_length)
        self._h2_weight = None if h2_weight is None else in_range("h2_weight", h2_weight, 0.0)
        self._terminal_spec = terminal_cost
        axes = np.vstack([np.eye(n), -np.eye(n)])
        if directions is None:
            signs = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
            directions = np.vstack([axes, signs / np.sqrt(n)])
        half = np.diff(np.array(self.safe_set.state.bounding_box), axis=0)[0] / 2
        self.directions = as_matrix("directions", directions, (None, n)) / half
        traj = axes if trajectory_directions is None else trajectory_directions
        self.trajectory_directions = as_matrix("trajectory_directions", traj, (None, n)) / half
        states = np.zeros((0, n)) if design_states is None else design_states
        self.design_states = as_matrix("design_states", states, (None, n))
        ref = np.zeros(n) if design_ref is None else design_ref
        self.design_ref = as_vector("design_ref", ref, n)
        self.extreme_weight = in_range("extreme_weight", extreme_weight, 0.0, open_low=True)
        self.backoff = in_range("backoff", backoff, 0.0)
        self.solver_settings = {**SOLVER_DEFAULTS, **(solver_settings or {})}
        self.design_solver = design_solver
        self._core = self.prepare(model)

    @property
    def core(self) -> FastCore:
        return self._core

    @property
    def model(self) -> UncertainModel:
        return self._core.model

    @property
    def library(self) -> ResponseLibrary:
        return self._core.library

    @property
    def eta(self) -> float:
        return self._core.library.eta

    @property
    def c(self) -> np.ndarray:
        return self._core.library.c

    @property
    def P(self) -> np.ndarray:
        return self._core.P

    @property
    def h2_weight(self) -> float:
        return self._core.h2_weight

    # -- slow path ------------------------------------------------------------------------

    def update_model(self, model: UncertainModel, states=None) -> float:
        """Rebuild for `model` (blocking) and return the slow path's time in s. `states`
        (p, n) are extra design states for this build, e.g. the current state."""
        self.install(self.prepare(model, states))
        return self._core.library.build_time

    def install(self, core: FastCore) -> None:
        """Make `core` (from `prepare`) the one the next `solve` uses."""
        if (core.model.n, core.model.m) != (self.model.n, self.model.m):
            raise ValueError("core: expected the same state and input dimensions")
        self._core = core

    def prepare(self, model: UncertainModel, states=None) -> FastCore:
        """Design solves, library and QP set-up for `model`; does not change this object."""
        start = time.perf_counter()
        n, m = self.safe_set.state.dim, self.safe_set.inputs.dim
        if (model.n, model.m) != (n, m):
            raise ValueError("model: expected the same state and input dimensions")
        P = terminal_cost_matrix(self._terminal_spec, model, self.Q, self.R)
        args = (model, self.safe_set, self.Q, self.R, self.T)
        kwargs = dict(
            sigma_eta=self.sigma_eta,
            tau=self.tau,
            h2_weight=self._h2_weight,
            eps_e=self.eps_e,
            terminal_length=self.terminal_length,
            budget_scale=self.budget_scale,
            terminal_cost=P,
            solver=self.design_solver,
        )
        design = _DesignSLS(*args, weight=self.extreme_weight, **kwargs)
        zero = np.zeros((1, n))
        found = [design.extreme(d, self.design_ref) for d in np.vstack([zero, self.directions])]
        found += [design.extreme(d, self.design_ref, True) for d in self.trajectory_directions]
        extra = self.design_states if states is None else np.vstack([self.design_states, states])
        if len(extra):
            fixed = RobustSLS(*args, **kwargs)
            for x in extra:
                sol = fixed.solve(x, self.design_ref)
                found.append(None if sol.plan is None else (np.asarray(x, float), sol.plan))
        library = _library(model, design, [f for f in found if f is not None])
        core = self._setup(model, P, design.s, design.h2_weight, library)
        library = replace(library, build_time=time.perf_counter() - start)
        return replace(core, library=library)

    def _setup(
        self, model: UncertainModel, P: np.ndarray, s: np.ndarray, h2_weight: float, lib
    ) -> FastCore:
        T, n, m, K = self.T, model.n, model.m, lib.size
        if K == 0:
            none = np.zeros(0)
            return FastCore(model, P, s, h2_weight, lib, None, {}, {}, none, none, none)
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
        # With a constant budget (tau = 0) of the full eta the induction follows from the
        # constraints (sls module): no rows for it, only the check of x0 in `solve`.
        robust = (model.eps_A > 0 or model.eps_B > 0) and (lib.tau > 0 or self.budget_scale < 1)
        c = lib.c
        # Candidate i's tightenings (t, rows, i) and row spreads for the schedule c.
        rows = response_rows(lib.Phi_x, lib.Phi_u, model.A, c, self.eps_e)

        def candidates(H: np.ndarray, which: str) -> np.ndarray:
            return np.moveaxis(rows(H, which), 0, -1)

        tight_x, tight_u = candidates(F, "x"), candidates(G, "u")
        spread_x, spread_u = candidates(np.eye(n), "x"), candidates(np.eye(m), "u")

        sizes = {"z": T * n, "v": T * m, "lam": K}
        if lib.terminal is not None:
            sizes["veq"] = m
        if robust:
            sizes |= {"a": T - 1, "b": T, "rho": T - 1, "pi": T - 1}
        variables, offset = {}, 0
        for name, size in sizes.items():
            variables[name] = slice(offset, offset + size)
            offset += size
        con = _Constraints(variables, offset)
        # Equalities first: dynamics (first block = A x0, set per step) and the simplex.
        dyn = sp.eye(T * n) - sp.kron(sp.eye(T, k=-1), model.A)
        con.add("dyn", {"z": dyn, "v": -sp.kron(sp.eye(T), model.B)}, 0.0)
        con.add("simplex", {"lam": np.ones((1, K))}, 1.0)
        last = sp.eye(1, T, T - 1)  # picks z_T out of z_1..z_T
        if lib.terminal is not None:  # z_T = A z_T + B v_eq
            con.add("equilibrium", {"z": sp.kron(last, np.eye(n) - model.A), "veq": -model.B}, 0.0)
        equalities = con.count
        # Inequalities M x <= h: tightened constraints with the mixture's tightening.
        back = MARGIN + self.backoff
        state = {"z": sp.kron(sp.eye(T), F), "lam": tight_x[1:].reshape(-1, K)}
        con.add("state", state, np.tile(b - back, T))
        exc = np.abs(G) @ self.sigma_eta
        inputs = {"v": sp.kron(sp.eye(T), G), "lam": tight_u.reshape(-1, K)}
        con.add("input", inputs, np.tile(g - exc - back, T))
        con.add("lam", {"lam": -sp.eye(K)}, 0.0)
        if lib.terminal is not None:  # the stationary tube around (z_T, v_eq)
            tube_x, tube_u = lib.terminal.tubes(self.safe_set, lib.terminal.bound(c[1]))
            con.add("terminal_state", {"z": sp.kron(last, F)}, b - tube_x - back)
            con.add("terminal_input", {"veq": G}, g - exc - tube_u - back)
        if robust:
            # |z_t| <= a_t for t = 1..T-1 and |v_t| <= b_t for t = 0..T-1, elementwise.
            pick = sp.kron(sp.eye(T - 1, T), sp.eye(n))
            ones_x = sp.kron(sp.eye(T - 1), np.ones((n, 1)))
            ones_u = sp.kron(sp.eye(T), np.ones((m, 1)))
            con.add("z_up", {"z": pick, "a": -ones_x}, 0.0)
            con.add("z_low", {"z": -pick, "a": -ones_x}, 0.0)
            con.add("v_up", {"v": sp.eye(T * m), "b": -ones_u}, 0.0)
            con.add("v_low", {"v": -sp.eye(T * m), "b": -ones_u}, 0.0)
            # Row spreads of the mixture at t = 1..T-1 (zero at t = 0).
            ones_ru = sp.kron(sp.eye(T - 1), np.ones((m, 1)))
            con.add("rho", {"lam": spread_x[1:T].reshape(-1, K), "rho": -ones_x}, 0.0)
            con.add("pi", {"lam": spread_u[1:T].reshape(-1, K), "pi": -ones_ru}, 0.0)
            # Induction, t = 0..T-1: eps_A (a_t + rho_t) + eps_B (b_t + pi_t) <= c_{t+1} - s;
            # at t = 0 eps_A ||x0|| moves to the right-hand side (per step), with
            # eps_A ||eps_e|| for x_0 = y_0 - e_0 and eps_B |Psi_u[0]| = 0.
            # One block per distinct pair of row-wise bounds (sls module).
            later = sp.eye(T, T - 1, k=-1)
            budget = c[1:] - s  # the model-error part e_k per coordinate (sls module)
            for j, ((eA, eB), i) in enumerate(row_pairs(model).items()):
                induction = {
                    "a": eA * later,
                    "rho": eA * later,
                    "b": eB * sp.eye(T),
                    "pi": eB * later,
                }
                first = np.eye(1, T).ravel() * eA * self.eps_e.max()
                con.add(f"induction{j}", induction, budget[:, i] - back - first)
        A_qp, rhs = con.stacked()
        h2 = _h2_vectors(lib, self.sqrt_Q, self.sqrt_R, psd_sqrt("terminal_cost", P))
        gram = h2 @ h2.T
        cost = {
            "z": sp.block_diag([self.Q] * (T - 1) + [P]),
            "v": sp.kron(sp.eye(T), self.R),
            "lam": sp.csr_matrix(h2_weight * gram),
        }
        P_qp = sp.lil_matrix((offset, offset))
        for name, M in cost.items():
            P_qp[variables[name], variables[name]] = M
        P_qp = sp.triu(2.0 * P_qp.tocsc(), format="csc")
        cones = [
            clarabel.ZeroConeT(equalities),
            clarabel.NonnegativeConeT(A_qp.shape[0] - equalities),
        ]
        settings = clarabel.DefaultSettings()
        for key, value in self.solver_settings.items():
            setattr(settings, key, value)
        q = np.zeros(offset)
        solver = clarabel.DefaultSolver(P_qp, q, A_qp, rhs, cones, settings)
        return FastCore(model, P, s, h2_weight, lib, solver, variables, con.rows, rhs, q, gram)

    # -- fast path ------------------------------------------------------------------------

    def solve(self, x0, x_ref=None) -> Solution:
        """Plan from the measured state x0 (n,) towards x_ref (n,, default 0).

        Solver trouble is a status, never an exception; a plan whose certificate fails
        verification is reported as "failed"."""
        start = time.perf_counter()
        core = self._core  # one read: a concurrent `install` takes effect next step
        model, T = core.model, self.T
        x0 = as_vector("x0", x0, model.n)
        r = np.zeros(model.n) if x_ref is None else as_vector("x_ref", x_ref, model.n)
        if core.solver is None:
            message = "no design point was feasible: the robust problem is infeasible"
            return Solution("infeasible", None, None, time.perf_counter() - start, message)
        if not self._covered(core, x0):
            message = "x0 outside the safe set: the mismatch budget does not cover it"
            return Solution("infeasible", None, None, time.perf_counter() - start, message)
        var, rows = core.variables, core.rows
        rhs = core.rhs.copy()
        rhs[rows["dyn"].start : rows["dyn"].start + model.n] = model.A @ x0
        for j, (eA, _) in enumerate(row_pairs(model)):
            if f"induction{j}" in rows:
                rhs[rows[f"induction{j}"].start] -= eA * np.abs(x0).max()
        q = core.q.copy()
        q[var["z"]] = np.concatenate([np.tile(-2.0 * self.Q @ r, T - 1), -2.0 * core.P @ r])
        try:
            core.solver.update(q=q, b=rhs)
            res = core.solver.solve()
        except Exception as err:  # solver trouble is a status, never an exception
            return Solution("failed", None, None, time.perf_counter() - start, str(err))
        status = str(res.status)
        if status in ("PrimalInfeasible", "AlmostPrimalInfeasible"):
            return Solution("infeasible", None, None, time.perf_counter() - start, status)
        x = np.asarray(res.x)
        if status not in ("Solved", "AlmostSolved") or not np.all(np.isfinite(x)):
            return Solution("failed", None, None, time.perf_counter() - start, status)
        plan, cert = self._extract(core, x0, r, x)
        elapsed = time.perf_counter() - start
        if not cert.verified:
            return Solution("failed", None, cert, elapsed, "solution failed verification")
        return Solution("optimal", plan, cert, elapsed, "" if status == "Solved" else status)

    def _covered(self, core: FastCore, x0: np.ndarray) -> bool:
        """Whether the first mismatch's budget covers x0 when the QP has no induction rows
        (tau = 0): the true state's ||x_0||_inf (measured plus eps_e) within the safe set's."""
        if "induction0" in core.rows or core.model.eps_A == 0:
            return True
        return np.abs(x0).max() + self.eps_e.max() <= self.safe_set.state.max_inf_norm

    def _extract(self, core: FastCore, x0, r, x) -> tuple[Plan, Certificate]:
        """The plan for the QP solution x; z and Phi_x follow exactly from (v, Phi_u)."""
        lib, model, T = core.library, core.model, self.T
        lam = np.clip(x[core.variables["lam"]], 0.0, None)
        lam /= lam.sum()
        v = x[core.variables["v"]].reshape(T, model.m)
        Phi_u = np.tensordot(lam, lib.Phi_u, axes=1)
        z, Phi_x = rollout_responses(model.A, model.B, x0, v, Phi_u)
        e = z - r
        cost = (
            np.einsum("ti,ij,tj->", e[:T], self.Q, e[:T])
            + np.einsum("ti,ij,tj->", v, self.R, v)
            + e[T] @ core.P @ e[T]
            + core.h2_weight * lam @ core.gram @ lam
        )
        tail = None if lib.terminal is None else Tail(x[core.variables["veq"]], lib.terminal)
        plan = Plan(model.A, model.B, z, v, Phi_x, Phi_u, lib.c.copy(), float(cost), tail)
        cert = certify(plan, model, self.safe_set, self.sigma_eta, lib.tau, lib.eta, self.eps_e)
        return plan, cert


class _DesignSLS(RobustSLS):
    """The robust problem with x0 a variable in the safe set and the objective
    weight * cost - d^T x0 (or - d^T mean(z_1..z_T) for a trajectory extreme)."""

    def __init__(self, *args, weight: float, **kwargs) -> None:
        self._weight = weight
        super().__init__(*args, **kwargs)

    def _formulate(self):
        n = self.model.n
        self._x0 = cp.Variable(n, name="x0")
        self._d_start = cp.Parameter(n, name="d_start", value=np.zeros(n))
        self._d_mean = cp.Parameter(n, name="d_mean", value=np.zeros(n))
        cons, cost = super()._formulate()
        cons.append(self.safe_set.state.H @ self._x0 <= self.safe_set.state.h)
        mean = cp.sum(self._z[1:], axis=0) / self.T
        return cons, self._weight * cost - self._d_start @ self._x0 - self._d_mean @ mean

    def extreme(self, d, x_ref, trajectory: bool = False) -> tuple[np.ndarray, Plan] | None:
        """(x0, plan) of the extreme point in direction d, or None if infeasible."""
        self._d_start.value = np.zeros_like(d) if trajectory else d
        self._d_mean.value = d if trajectory else np.zeros_like(d)
        self._xref.value = x_ref
        try:
            self._problem.solve(solver=self.solver, **self.solver_options)
        except cp.error.SolverError:
            return None
        if self._problem.status != cp.OPTIMAL or self._x0.value is None:
            return None
        plan, _ = self._extract()
        return self._x0.value.copy(), plan


class _Constraints:
    """Row blocks of A x + s = b, s in a cone, each given as {variable block: matrix}."""

    def __init__(self, variables: dict[str, slice], nvar: int) -> None:
        self.variables, self.nvar = variables, nvar
        self.blocks: list[sp.csr_matrix] = []
        self.rhs: list[np.ndarray] = []
        self.rows: dict[str, slice] = {}
        self.count = 0

    def add(self, name: str, parts: dict, rhs) -> None:
        size = next(iter(parts.values())).shape[0]
        row = sp.lil_matrix((size, self.nvar))
        for var, M in parts.items():
            row[:, self.variables[var]] = sp.csr_matrix(M)
        self.blocks.append(row.tocsr())
        self.rhs.append(np.broadcast_to(np.asarray(rhs, float), size).copy())
        self.rows[name] = slice(self.count, self.count + size)
        self.count += size

    def stacked(self) -> tuple[sp.csc_matrix, np.ndarray]:
        return sp.vstack(self.blocks, format="csc"), np.concatenate(self.rhs)


def _library(model: UncertainModel, design: _DesignSLS, found: list) -> ResponseLibrary:
    """Stack the design plans' responses, dropping duplicates (e.g. all plans with eps = 0
    and no active constraint are the same LQR response)."""
    keep: list[int] = []
    for i, (_, plan) in enumerate(found):
        if all(np.abs(plan.Phi_u - found[j][1].Phi_u).max() > 1e-7 for j in keep):
            keep.append(i)
    T, n, m = design.T, model.n, model.m
    Phi_x = np.zeros((len(keep), T + 1, T + 1, n, n))
    Phi_u = np.zeros((len(keep), T, T + 1, m, n))
    for row, i in enumerate(keep):
        Phi_x[row, :, 1:] = found[i][1].Phi_x[:, 1:]
        Phi_u[row, :, 1:] = found[i][1].Phi_u[:, 1:]
    states = np.array([found[i][0] for i in keep]).reshape(-1, n)
    return ResponseLibrary(
        model, design.tau, design.eta, design.c.copy(), Phi_x, Phi_u, states, 0.0, design.terminal
    )


def _h2_vectors(lib: ResponseLibrary, sqrt_Q, sqrt_R, sqrt_P) -> np.ndarray:
    """(K, d): |h_i|^2 is the H2 cost of candidate i's feedback as `RobustSLS` weighs it
    (stage Q and R for t < T, terminal P at t = T); the cost is linear in the mixture."""
    T, K = lib.Phi_u.shape[1], lib.size
    X, U = lib.Phi_x[:, :, 1:], lib.Phi_u[:, :, 1:]
    hx = np.einsum("ab,itkac->itkbc", sqrt_Q, X[:, :T]).reshape(K, -1)
    hu = np.einsum("ab,itkac->itkbc", sqrt_R, U).reshape(K, -1)
    hp = np.einsum("ab,ikac->ikbc", sqrt_P, X[:, T]).reshape(K, -1)
    return np.concatenate([hx, hu, hp], axis=1)
