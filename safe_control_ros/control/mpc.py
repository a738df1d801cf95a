"""Certainty-equivalent (nominal) MPC baseline: the plan trusts the model and ignores
disturbances, model error and excitation."""

from __future__ import annotations

import numpy as np

from .horizon import MARGIN, HorizonProblem
from .plan import Certificate, Plan


class NominalMPC(HorizonProblem):
    """min nominal cost s.t. x+ = A x + B u, F z_t <= b (t = 1..T), G v_t <= g (t < T)."""

    def _formulate(self):
        cons, cost = self._nominal()
        F, b = self.safe_set.state.H, self.safe_set.state.h
        G, g = self.safe_set.inputs.H, self.safe_set.inputs.h
        cons += [self._z[1:] @ F.T <= b - MARGIN, self._v @ G.T <= g - MARGIN]
        return cons, cost

    def _extract(self) -> tuple[Plan, Certificate | None]:
        T, n, m = self.T, self.model.n, self.model.m
        return self._plan(np.zeros((T, T + 1, m, n)), np.zeros(T + 1)), None
