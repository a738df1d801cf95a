"""A certified way to stop: straight-on braking whose lane keeping holds for the uncertain model.

Lane-keeping models only: the state is [lateral coordinates..., speed error] (speed last,
controller units; speed = reference + speed_scale * x[-1] m/s), the model (A, B) and its
error bounds (eps_A, eps_B, sigma_w) hold at the model's speed `speed` over one sample time
dt. The stop applies a fixed input u_stop (m,) (steering feedback 0, full braking) and uses
no measurement, so it is the way out of every fault: no plan, no measurement, a bad one.

Model of a braking step. The lateral motion of a car is a function of the distance it
travels (a kinematic bicycle's heading and offset change per metre, not per second), so a
step that covers the fraction r of the model's distance speed * dt is the model's step
shortened to that fraction:
    x_lat+ = x_lat + r (A_ll x_lat + B_l u + w' - x_lat),
with the lateral rows of the model and their mismatch w' bounded as in the model,
|w'_i| <= sigma_w_i + eps_A ||x_lat||_inf + eps_B ||u||_inf (row i's bounds), scaled by
r. The speed is not a state of this model: it sets r. While braking at a deceleration in
[a_weak, a_strong] (after the car's own lag), from a speed in [v_low, v_high], the step k
covers a fraction in [r_lo_k, r_hi_k]; with r_mid and the half-width dr,
    x_lat+ = (I + r_mid (A_ll - I)) x_lat + r_mid B_l u + d_k,
    |d_k| <= dr (|A_ll - I| X_k + |B_l u|) + r_hi (sigma_w + eps_A max X_k + eps_B ||u||),
where X_k >= |x_lat,k| is the bound the certificate itself propagates (an induction over the
steps, as in the SLS module). From a start set |x - c| <= rho the lateral state stays in
z_k +- (|Phi_k| rho + sum_j |Phi_{k,j}| d_j) (Phi: products of the step matrices), and
after the last step (v_high braked to rest) it no longer moves. The stop is certified if
that tube is inside every lateral constraint at every step, start included. The model of a
braking step is an assumption about the car, checked against the simulated car in the tests
(`test_control_stop.py`): the lateral states of real stops lie inside their tubes.

`next_set` bounds the state after one step of the model from a set (measurement error,
prediction), so a controller can check, before applying an input, that the stop is still
certified from wherever that input can take the car.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .checks import as_vector, bound_vector, in_range
from .model import SafeSet, UncertainModel


@dataclass(frozen=True)
class Braking:
    """How the car decelerates when braking: at least `decel_weak`, at most `decel_strong`
    (m/s^2, > 0, after the drive's lag), sampled every `sample_time` s; the model's own
    distance per step is `speed` (m/s) * sample_time."""

    speed: float
    sample_time: float
    decel_weak: float
    decel_strong: float

    def __post_init__(self) -> None:
        in_range("speed", self.speed, 0.0, open_low=True)
        in_range("sample_time", self.sample_time, 0.0, open_low=True)
        in_range("decel_weak", self.decel_weak, 0.0, open_low=True)
        in_range("decel_strong", self.decel_strong, self.decel_weak)

    def fractions(self, v_low: float, v_high: float) -> tuple[np.ndarray, np.ndarray]:
        """(r_lo, r_hi), each (K,): the fraction of the model's step distance that each step
        of a stop from a speed in [v_low, v_high] m/s covers at least and at most; K steps
        until the slowest stop from v_high is at rest (0 when standing)."""
        dt = self.sample_time
        steps = math.ceil(max(v_high, 0.0) / (self.decel_weak * dt) - 1e-12)
        edges = dt * np.arange(steps + 1)
        high = np.diff(_travelled(max(v_high, 0.0), self.decel_weak, edges))
        low = np.diff(_travelled(max(v_low, 0.0), self.decel_strong, edges))
        unit = self.speed * dt
        return low / unit, high / unit


def _travelled(v0: float, decel: float, t: np.ndarray) -> np.ndarray:
    """Distance (m) covered by time t (s) braking at `decel` from v0 to rest."""
    t = np.minimum(t, v0 / decel)
    return v0 * t - 0.5 * decel * t**2


@dataclass(frozen=True)
class StopCertificate:
    """margin: the smallest slack of any lateral constraint over the stop's tube (controller
    units; >= 0: certified); steps: braking steps to rest; tube (steps+1, n-1): the largest
    |x_lat| at each step."""

    margin: float
    steps: int
    tube: np.ndarray

    @property
    def certified(self) -> bool:
        return self.margin >= 0.0


class BlindStop:
    """Braking with the fixed input `u_stop` (m,) on a lane-keeping `model` (module), certified
    against the lateral constraints of `safe_set` (rows without a speed coefficient; a row
    that mixes speed and lateral coordinates is refused)."""

    def __init__(
        self, model: UncertainModel, safe_set: SafeSet, braking: Braking, u_stop, speed_scale
    ) -> None:
        n = model.n
        self.model, self.braking = model, braking
        self.u_stop = as_vector("u_stop", u_stop, model.m)
        self.speed_scale = in_range("speed_scale", speed_scale, 0.0, open_low=True)
        F, b = safe_set.check(n, model.m).state.H, safe_set.state.h
        mixed = (F[:, -1] != 0) & np.any(F[:, :-1] != 0, axis=1)
        if mixed.any():
            raise ValueError(
                "safe_set: expected state constraints on the speed or on the lateral "
                f"coordinates, not both (rows {np.flatnonzero(mixed).tolist()})"
            )
        lateral = np.any(F[:, :-1] != 0, axis=1)
        self.F, self.b = F[lateral, :-1], b[lateral]
        self._step_A = model.A[:-1, :-1] - np.eye(n - 1)  # A_ll - I
        self._drift = model.B[:-1] @ self.u_stop  # B_l u
        rows_A, rows_B = model.row_errors
        self._rows_A = rows_A[:-1]
        self._spread = model.sigma_w[:-1] + rows_B[:-1] * float(np.max(np.abs(self.u_stop)))

    def certify(self, center, radius, speed_reference: float) -> StopCertificate:
        """The stop from any state in |x - center| <= radius (n,) while the speed reference
        is `speed_reference` m/s (module)."""
        n = self.model.n
        center = as_vector("center", center, n)
        radius = bound_vector("radius", radius, n)
        speeds = speed_reference + self.speed_scale * (center[-1] + np.array([-1, 1]) * radius[-1])
        r_lo, r_hi = self.braking.fractions(*speeds)
        z, rho0 = center[:-1], radius[:-1]
        from_start = np.eye(n - 1)  # Phi_k
        responses: list[np.ndarray] = []  # Phi_{k,j} for the mismatches so far
        bounds: list[np.ndarray] = []  # their bounds d_j
        worst = [np.abs(z) + rho0]
        margins = [self._slack(z, rho0)]
        for lo, hi in zip(r_lo, r_hi, strict=True):
            mid, half = (lo + hi) / 2, (hi - lo) / 2
            X = worst[-1]
            bounds.append(
                half * (np.abs(self._step_A) @ X + np.abs(self._drift))
                + hi * (self._spread + self._rows_A * float(X.max()))
            )
            step = np.eye(n - 1) + mid * self._step_A
            z = step @ z + mid * self._drift
            from_start = step @ from_start
            responses = [step @ R for R in responses] + [np.eye(n - 1)]
            rho = np.abs(from_start) @ rho0 + sum(
                np.abs(R) @ d for R, d in zip(responses, bounds, strict=True)
            )
            worst.append(np.abs(z) + rho)
            margins.append(self._slack(z, rho))
        return StopCertificate(float(min(margins)), len(r_hi), np.array(worst))

    def _slack(self, z: np.ndarray, rho: np.ndarray) -> float:
        """min over the lateral rows of b - F z - |F| rho (inf without rows)."""
        return float(np.min(self.b - self.F @ z - np.abs(self.F) @ rho, initial=np.inf))


class TrustedStops:
    """The same stop certified under each of several models that are all trusted to hold
    (the prior and a learned model consistent with it): the truth lies in every ball, so
    the stop is as safe as its best certificate. A learned centre fitted near the lane
    centre can extrapolate badly to full braking; the prior's ball still certifies it."""

    def __init__(self, stops: list[BlindStop]) -> None:
        if not stops or any(s.braking != stops[0].braking for s in stops):
            raise ValueError("stops: expected at least one stop, all with the same braking")
        if any(not np.array_equal(s.u_stop, stops[0].u_stop) for s in stops):
            raise ValueError("stops: expected the same u_stop for every stop")
        self.stops = stops
        self.u_stop, self.braking = stops[0].u_stop, stops[0].braking

    def certify(self, center, radius, speed_reference: float) -> StopCertificate:
        """The certificate with the largest margin (BlindStop.certify's arguments)."""
        certificates = (s.certify(center, radius, speed_reference) for s in self.stops)
        return max(certificates, key=lambda c: c.margin)


def next_set(model: UncertainModel, center, radius, u) -> tuple[np.ndarray, np.ndarray]:
    """Center and radius (n,) of a box holding x+ = (A + dA) x + (B + dB) u + w for every x
    with |x - center| <= radius (n,), input u (m,) and every model error and disturbance."""
    center, radius = np.asarray(center, float), np.asarray(radius, float)
    u = np.asarray(u, float)
    x_norm = float(np.max(np.abs(center) + radius))
    rows_A, rows_B = model.row_errors
    mismatch = model.sigma_w + rows_A * x_norm + rows_B * float(np.max(np.abs(u)))
    return model.A @ center + model.B @ u, np.abs(model.A) @ radius + mismatch
