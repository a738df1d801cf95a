"""The safe-learning loop: robust control with excitation while learning, re-fitting the
model as data arrive, then robust control without excitation on the learned model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .excitation import Excitation, check_sigma_eta
from .learning import ModelLearner
from .model import SafeSet
from .receding import ControlStep, RecedingHorizon
from .sls import RobustSLS


class Plant(Protocol):
    """A system in the controller's coordinates: `state()` (n,), `apply(u (m,))` -> next state."""

    def state(self) -> np.ndarray: ...

    def apply(self, u: np.ndarray) -> np.ndarray: ...


@dataclass
class LoopLog:
    """Per-step record of a run: states (steps+1, n), inputs (steps, m) and the rest."""

    states: list[np.ndarray] = field(default_factory=list)
    inputs: list[np.ndarray] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    solve_times: list[float] = field(default_factory=list)  # s
    learning: list[bool] = field(default_factory=list)
    eps: list[tuple[int, float, float]] = field(default_factory=list)  # (samples, eps_A, eps_B)
    # models put to use: (time s, eps_A per row (n,), eps_B per row (n,))
    models: list[tuple[float, np.ndarray, np.ndarray]] = field(default_factory=list)
    # per step, the reference in use (n,) where the controller reports one (physical units)
    references: list[np.ndarray] = field(default_factory=list)


class SafeLearningLoop:
    """Steps 1-3 of the method around one robust SLS receding-horizon controller.

    While learning, the controller is synthesised for the excitation bound and adds the
    excitation; every `refit_every` samples the learner is asked for its model, and the
    controller is rebuilt when that model is tighter than the one in use."""

    def __init__(
        self,
        learner: ModelLearner,
        safe_set: SafeSet,
        Q,
        R,
        horizon: int,
        sigma_eta,
        refit_every: int = 200,
        seed: int = 0,
    ) -> None:
        self.learner = learner
        self.safe_set = safe_set
        self.Q, self.R, self.horizon = Q, R, horizon
        self.sigma_eta = check_sigma_eta(sigma_eta, learner.prior.m)
        self.refit_every = refit_every
        self.model = learner.prior
        self.excitation = Excitation(self.sigma_eta, seed)
        self.controller = RecedingHorizon(self._problem(learning=True), excitation=self.excitation)
        self.log = LoopLog()

    def _problem(self, learning: bool) -> RobustSLS:
        sigma_eta = self.sigma_eta if learning else 0.0
        return RobustSLS(self.model, self.safe_set, self.Q, self.R, self.horizon, sigma_eta)

    def refit(self, learning: bool) -> bool:
        """Ask the learner for its model; switch to it when tighter. True if switched."""
        model = self.learner.model()
        bounds = self.learner.last_bounds
        if bounds is not None:
            self.log.eps.append((self.learner.samples, bounds.eps_A, bounds.eps_B))
        if not model.tighter_than(self.model):
            return False
        self.model = model
        self.controller.set_problem(self._problem(learning))
        return True

    def stop_learning(self) -> None:
        """Re-fit one last time and drop the excitation."""
        self.refit(learning=False)
        self.controller.set_problem(self._problem(learning=False))
        self.controller.excitation = None

    def run(self, plant: Plant, steps: int, learning: bool, x_ref=None, progress=None) -> None:
        """Run `steps` steps on `plant`, appending to `log`; `progress` is called per step."""
        x = plant.state()
        if not self.log.states:
            self.log.states.append(x)
        for _ in range(steps):
            step: ControlStep = self.controller.step(x, x_ref)
            x_next = plant.apply(step.u)
            if learning:
                self.learner.add(x, step.u, x_next)
                if self.learner.samples % self.refit_every == 0:
                    self.refit(learning=True)
            self._record(step, x_next, learning)
            x = x_next
            if progress is not None:
                progress()

    def _record(self, step: ControlStep, x_next: np.ndarray, learning: bool) -> None:
        self.log.states.append(x_next)
        self.log.inputs.append(step.u)
        self.log.statuses.append(step.status)
        self.log.solve_times.append(step.solve_time)
        self.log.learning.append(learning)


@dataclass
class LinearPlant:
    """x+ = A x + B u + w with w uniform on the box |w_i| <= sigma_w, seeded."""

    A: np.ndarray
    B: np.ndarray
    sigma_w: float
    x: np.ndarray
    seed: int = 0

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.x = np.asarray(self.x, dtype=float)

    def state(self) -> np.ndarray:
        return self.x.copy()

    def apply(self, u: np.ndarray) -> np.ndarray:
        w = self.rng.uniform(-self.sigma_w, self.sigma_w, size=self.x.shape)
        self.x = self.A @ self.x + self.B @ u + w
        return self.x.copy()
