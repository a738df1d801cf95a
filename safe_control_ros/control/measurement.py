"""Robust control from a measured state with a bounded error: y = x + e, |e_i| <= eps_e_i.

All quantities in controller coordinates. A perception map measures part of the state
(coordinates it does not measure have eps_e_i = 0: measured exactly, e.g. the speed from
odometry). The controller plans on the estimate xhat = y. With the true system
x+ = (A + dA) x + (B + dB) u + w and x = xhat - e:

    xhat+ = x+ + e+ = (A + dA) xhat + (B + dB) u + d,   d = w + e+ - A e - dA e.

So xhat follows the same uncertain model (the model error now acts on xhat, which the robust
SLS already accounts for through its nominal trajectory and responses) with the disturbance
d in place of w. Since e and e+ are independent and |e_j| <= eps_e_j,

    |d_i| <= sigma_w + eps_e_i + sum_j |A_ij| eps_e_j + eps_A ||eps_e||_inf,

and the robust SLS runs with sigma_w' = max_i of the right side (`inflated_model`).
Constraints hold for the TRUE state: f^T x = f^T xhat - f^T e <= f^T xhat + |f|^T eps_e,
so every state row f^T x <= b becomes f^T xhat <= b - |f|^T eps_e (`tighten`). The map's
bound holds only inside its region R, so the state must also stay in R: R's rows are
stacked onto the safe set and tightened the same way (`measurement_safe_set`). Input
constraints are unchanged (the input is known exactly). If RobustSLS certifies that xhat_t
stays in the tightened set for every admissible (dA, dB, w, e) sequence, the true state
stays in the safe set and in R, where |e| <= eps_e keeps holding: the argument closes
(by induction over time, given that the initial true state is in R).

Scale: for the car (controller coordinates x / state_scale) the problem stays feasible up
to about eps_e = 0.015 on e_y and e_psi (3.75 mm, 0.0105 rad) with sigma_w = 0.052; every
eps_e_j enters sigma_w' about twice (e+ and A e), and the tightening once more.

With eps_e = 0 and no region, the problem is exactly the state-feedback RobustSLS.

The certainty-equivalent baseline (`certainty_equivalent`) plans a nominal MPC on xhat as
if it were the state, with neither the inflated disturbance nor the tightening.
"""

from __future__ import annotations

import numpy as np

from .checks import as_vector
from .model import SafeSet, UncertainModel
from .mpc import NominalMPC
from .polytope import Polytope
from .sls import RobustSLS


def check_eps_e(eps_e, n: int) -> np.ndarray:
    """eps_e as a non-negative finite (n,) vector (ValueError otherwise)."""
    eps = as_vector("eps_e", eps_e, n)
    if not np.all(np.isfinite(eps)) or np.any(eps < 0):
        raise ValueError(f"eps_e: expected finite values >= 0, got {eps}")
    return eps


def measurement_disturbance(model: UncertainModel, eps_e) -> float:
    """Bound on ||w + e+ - A e - dA e||_inf (see module)."""
    eps = check_eps_e(eps_e, model.n)
    rows = eps + np.abs(model.A) @ eps
    return float(model.sigma_w + rows.max() + model.eps_A * eps.max())


def inflated_model(model: UncertainModel, eps_e) -> UncertainModel:
    """The model of the estimate xhat = y: same (A, B, eps_A, eps_B), inflated sigma_w."""
    return UncertainModel(
        model.A, model.B, model.eps_A, model.eps_B, measurement_disturbance(model, eps_e)
    )


def region_rows(half_widths) -> tuple[np.ndarray, np.ndarray]:
    """(H, h) of the box |x_i| <= half_widths_i over the finite entries (inf: no limit)."""
    half = np.asarray(half_widths, dtype=float)
    if half.ndim != 1 or np.any(~(half > 0)):
        raise ValueError(f"region: expected a vector of half-widths > 0, got {half}")
    idx = np.flatnonzero(np.isfinite(half))
    eye = np.eye(half.size)[idx]
    return np.vstack([eye, -eye]), np.concatenate([half[idx], half[idx]])


def tighten(H: np.ndarray, h: np.ndarray, eps_e) -> Polytope:
    """{xhat : H xhat <= h - |H| eps_e}: every xhat in it has x = xhat - e in {H x <= h}."""
    eps = check_eps_e(eps_e, H.shape[1])
    h_tight = h - np.abs(H) @ eps
    try:
        return Polytope(H, h_tight)
    except ValueError as err:
        raise ValueError(
            f"eps_e = {eps}: the safe set tightened by the perception error bound is empty ({err})"
        ) from err


def measurement_safe_set(safe_set: SafeSet, eps_e, region=None) -> SafeSet:
    """Safe set for xhat: state rows (and those of the region box, half-widths (n,), inf
    where unconstrained) tightened by |H| eps_e; inputs unchanged."""
    H, h = safe_set.state.H, safe_set.state.h
    if region is not None:
        HR, hR = region_rows(_region(region, H.shape[1]))
        H, h = np.vstack([H, HR]), np.concatenate([h, hR])
    return SafeSet(tighten(H, h, eps_e), safe_set.inputs)


class MeasurementRobustSLS(RobustSLS):
    """RobustSLS on the estimate xhat = y for measurement errors |e_i| <= eps_e_i.

    model, safe_set: the true system's (controller coordinates). eps_e (n,): per-coordinate
    measurement error bound. region (n,) or None: half-widths of the box R the error bound
    is valid in (inf for unconstrained coordinates). Other arguments as RobustSLS.
    `true_model`, `true_safe_set` keep what was given; `model`, `safe_set` are what the
    problem plans with.
    """

    def __init__(
        self,
        model: UncertainModel,
        safe_set: SafeSet,
        Q,
        R,
        horizon: int,
        eps_e,
        region=None,
        **options,
    ) -> None:
        self.eps_e = check_eps_e(eps_e, model.n)
        self.region = None if region is None else _region(region, model.n)
        self.true_model, self.true_safe_set = model, safe_set
        super().__init__(
            inflated_model(model, self.eps_e),
            measurement_safe_set(safe_set, self.eps_e, self.region),
            Q,
            R,
            horizon,
            **options,
        )


def certainty_equivalent(
    model: UncertainModel, safe_set: SafeSet, Q, R, horizon: int, region=None, **options
) -> NominalMPC:
    """Nominal MPC that treats xhat = y as the state (no error bound, no tightening); the
    region, if given, is imposed untightened like the safe set."""
    if region is not None:
        safe_set = measurement_safe_set(safe_set, np.zeros(model.n), region)
    return NominalMPC(model, safe_set, Q, R, horizon, **options)


def _region(region, n: int) -> np.ndarray:
    half = np.asarray(region, dtype=float)
    if half.shape != (n,):
        raise ValueError(f"region: expected {n} half-widths, got shape {half.shape}")
    return half
