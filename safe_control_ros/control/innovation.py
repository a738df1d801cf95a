"""Which measurements a controller may use: the innovation test and the guard around it.

Innovation test: is a measurement y = x + e consistent with the model and the last one?

Controller coordinates. Between the last accepted measurement y_0 and a new one y_k, k
steps later with the applied inputs u_0..u_{k-1}, the true state follows
x+ = (A + dA) x + (B + dB) u + w. While the state stays in the safe set (what every plan
certifies), each step's mismatch against the nominal model is at most
    zeta_bar = sigma_w + eps_A max||x|| + eps_B max||u||   (max over the safe set),
so the prediction yhat_k = A^k y_0 + sum_j A^(k-1-j) B u_j misses x_k by at most r_k per
coordinate, r_0 = eps_e, r_{j+1} = |A| r_j + zeta_bar, and
    |y_k - yhat_k| <= r_k + eps_e.
A measurement outside this box cannot come from the model with a perception error within
its bound: it is an outlier (or the model is wrong) and must not be used as valid.

`MeasurementGuard` uses a measurement only if it is finite and passes the test; without a
usable one (also: none came, or perception flagged it) the controller holds its last plan
(`RecedingHorizon.hold`) for at most `hold_steps` steps, then its stop
(`RecedingHorizon.stop`: certified with a `control.stop.BlindStop`) until a usable
measurement comes back. While the controller stops, the prediction (at the model's speed)
does not hold: the test starts again from the next measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .checks import as_vector, bound_vector
from .model import SafeSet, UncertainModel, first_step_error
from .receding import ControlStep, RecedingHorizon


class InnovationTest:
    """Checks each new measurement against the prediction from the last accepted one.

    model, safe_set: the controller's (controller coordinates); eps_e (n,): the
    measurement error bound. `check(y)` -> (accepted, excess): excess is the largest
    |y - yhat| / bound over the coordinates (<= 1 when accepted). `accept(y)` makes y the
    reference for the next check; `applied(u)` records each applied input (m,).
    """

    def __init__(self, model: UncertainModel, safe_set: SafeSet, eps_e) -> None:
        self.model = model
        self.eps_e = bound_vector("eps_e", eps_e, model.n)
        self.zeta_bar = model.sigma_w + first_step_error(model, safe_set)
        self._prediction: np.ndarray | None = None  # yhat_k (n,)
        self._radius = self.eps_e.copy()  # r_k (n,)

    def check(self, y) -> tuple[bool, float]:
        """Whether y (n,) is consistent with the prediction (always, without a reference)."""
        y = as_vector("y", y, self.model.n)
        if self._prediction is None:
            return True, 0.0
        excess = float(np.max(np.abs(y - self._prediction) / (self._radius + self.eps_e)))
        return excess <= 1.0, excess

    def accept(self, y) -> None:
        """Make y (n,) the last accepted measurement."""
        self._prediction = as_vector("y", y, self.model.n).copy()
        self._radius = self.eps_e.copy()

    def applied(self, u) -> None:
        """Advance the prediction by one step under the applied input u (m,)."""
        if self._prediction is None:
            return
        u = as_vector("u", u, self.model.m)
        self._prediction = self.model.A @ self._prediction + self.model.B @ u
        self._radius = np.abs(self.model.A) @ self._radius + self.zeta_bar

    def shift(self, dx) -> None:
        """Move the prediction by dx (n,): the coordinates moved (e.g. a new reference)."""
        if self._prediction is not None:
            self._prediction = self._prediction + as_vector("dx", dx, self.model.n)

    def reset(self) -> None:
        """Forget the reference (e.g. after a stop): the next measurement is accepted."""
        self._prediction, self._radius = None, self.eps_e.copy()


@dataclass
class MeasurementGuard:
    """Gates the measurements of a receding-horizon controller (see module): `step` for
    each control period, then `applied` with the input actually applied (m,)."""

    innovation: InnovationTest
    hold_steps: int
    missed: int = field(default=0, init=False)  # control periods since a usable measurement

    def step(self, controller: RecedingHorizon, y: np.ndarray | None, x_ref=None) -> ControlStep:
        """One control step on measurement y (n,), or None if there is no usable one,
        towards x_ref (n,). Status as RecedingHorizon's; past `hold_steps` without a usable
        measurement, the controller's stop."""
        usable = y is not None and bool(np.all(np.isfinite(y)))
        if usable and self.innovation.check(y)[0]:
            self.missed = 0
            self.innovation.accept(y)
            step = controller.step(y, x_ref)
            if step.status in ("stop", "emergency"):  # braking: the model's speed no longer
                self.innovation.reset()  # holds, nor does its prediction
            return step
        self.missed += 1
        if self.missed <= self.hold_steps:
            return controller.hold()
        self.innovation.reset()
        return controller.stop(f"no usable measurement for {self.missed} steps")

    def applied(self, u) -> None:
        """Advance the innovation test's prediction by the applied input u (m,)."""
        self.innovation.applied(u)
