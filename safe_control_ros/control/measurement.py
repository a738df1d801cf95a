"""Control from a measured state with a bounded error: y = x + e, |e_i| <= eps_e_i.

All quantities in controller coordinates. A perception map measures part of the state
(coordinates it does not measure have eps_e_i = 0: measured exactly, e.g. the speed from
odometry). The robust controller is the output-feedback robust SLS (`RobustSLS` or
`FastRobustSLS` with `eps_e`; derivation in `sls.py`): it plans on y, feeds back the
mismatches between successive measurements, and certifies the TRUE state's constraints
against every model error, disturbance and measurement error sequence within the bounds.

A map's bound holds only inside the region R it was calibrated on, so the true state must
also stay in R: R's rows are stacked onto the safe set (`with_region`). If every plan keeps
the true state in the safe set and in R, |e| <= eps_e keeps holding at the next image and
the argument closes by induction over time (given that the initial true state is in R).
With eps_e = 0 and no region, the problem is exactly the state-feedback one.

The certainty-equivalent baseline (`certainty_equivalent`) plans a nominal MPC on y as if
it were the state.
"""

from __future__ import annotations

import numpy as np

from .fast_sls import FastRobustSLS
from .model import SafeSet, UncertainModel
from .mpc import NominalMPC
from .polytope import Polytope
from .sls import RobustSLS


def region_rows(half_widths) -> tuple[np.ndarray, np.ndarray]:
    """(H, h) of the box |x_i| <= half_widths_i over the finite entries (inf: no limit)."""
    half = np.asarray(half_widths, dtype=float)
    if half.ndim != 1 or np.any(~(half > 0)):
        raise ValueError(f"region: expected a vector of half-widths > 0, got {half}")
    idx = np.flatnonzero(np.isfinite(half))
    eye = np.eye(half.size)[idx]
    return np.vstack([eye, -eye]), np.concatenate([half[idx], half[idx]])


def with_region(safe_set: SafeSet, region=None) -> SafeSet:
    """The safe set intersected with the box R of half-widths `region` (n,) (inf where a
    coordinate is unconstrained; None: the safe set itself)."""
    if region is None:
        return safe_set
    H, h = safe_set.state.H, safe_set.state.h
    half = np.asarray(region, dtype=float)
    if half.shape != (H.shape[1],):
        raise ValueError(f"region: expected {H.shape[1]} half-widths, got shape {half.shape}")
    HR, hR = region_rows(half)
    return SafeSet(Polytope(np.vstack([H, HR]), np.concatenate([h, hR])), safe_set.inputs)


def robust_output_feedback(
    model: UncertainModel,
    safe_set: SafeSet,
    Q,
    R,
    horizon: int,
    eps_e,
    region=None,
    fast: bool = False,
    **options,
) -> RobustSLS | FastRobustSLS:
    """Output-feedback robust SLS for errors |e_i| <= eps_e_i (n,) valid in the box
    `region` (n,) (see module): the real-time formulation if `fast`, else the generic one.
    Other arguments as RobustSLS / FastRobustSLS."""
    problem = FastRobustSLS if fast else RobustSLS
    return problem(model, with_region(safe_set, region), Q, R, horizon, eps_e=eps_e, **options)


def certainty_equivalent(
    model: UncertainModel, safe_set: SafeSet, Q, R, horizon: int, region=None, **options
) -> NominalMPC:
    """Nominal MPC that treats y as the state (no error bound); the region, if given, is
    imposed like the safe set."""
    return NominalMPC(model, with_region(safe_set, region), Q, R, horizon, **options)
