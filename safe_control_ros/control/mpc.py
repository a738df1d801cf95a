"""Certainty-equivalent (nominal) MPC baseline: the plan trusts the model and ignores
disturbances, model error and excitation."""

from __future__ import annotations

import cvxpy as cp
import numpy as np

from .horizon import MARGIN, HorizonProblem
from .plan import Certificate, Plan


class NominalMPC(HorizonProblem):
    """min nominal cost s.t. x+ = A x + B u, F z_t <= b (t = 1..T), G v_t <= g (t < T)."""

    def _formulate(self):
        cons, cost = self._nominal()
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
        T = self.T
        cons += [
            cp.vec(self._z[1:] @ F.T, order="C") <= np.tile(b - MARGIN, T),
            cp.vec(self._v @ G.T, order="C") <= np.tile(g - MARGIN, T),
        ]
        return cons, cost

    def _extract(self) -> tuple[Plan, Certificate | None]:
        T, n, m = self.T, self.model.n, self.model.m
        return self._plan(np.zeros((T, T + 1, m, n)), np.zeros(T + 1)), None
