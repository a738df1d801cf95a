"""Reference problem instances shared by the tests, the benchmarks and the examples."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .model import SafeSet, UncertainModel
from .polytope import Polytope


@dataclass(frozen=True)
class Instance:
    """An uncertain model with its safe set, weights and excitation bound."""

    model: UncertainModel
    safe_set: SafeSet
    Q: np.ndarray  # (n, n)
    R: np.ndarray  # (m, m)
    sigma_eta: np.ndarray  # (m,), input units


def lane_keeping(
    eps: float = 0.002,
    sigma_w: float = 0.005,
    dt: float = 0.1,
    speed: float = 1.0,
    wheelbase: float = 0.325,
) -> Instance:
    """Kinematic bicycle in the lane frame, linearised on a straight lane at `speed` (m/s).

    x = [e_y (m), e_psi (rad), e_v (m/s)], u = [steering (rad), acceleration (m/s^2)]:
    e_y+ = e_y + dt v e_psi, e_psi+ = e_psi + dt v / L delta, e_v+ = e_v + dt a.
    Safe set |e_y| <= 0.2, |e_psi| <= 0.5, |e_v| <= 0.5, |delta| <= 0.4, |a| <= 2.
    """
    A = np.array([[1.0, dt * speed, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    B = np.array([[0.0, 0.0], [dt * speed / wheelbase, 0.0], [0.0, dt]])
    return Instance(
        model=UncertainModel(A, B, eps_A=eps, eps_B=eps, sigma_w=sigma_w),
        safe_set=SafeSet(Polytope.box([0.2, 0.5, 0.5]), Polytope.box([0.4, 2.0])),
        Q=np.diag([10.0, 1.0, 1.0]),
        R=np.diag([1.0, 0.1]),
        sigma_eta=np.array([0.02, 0.1]),
    )


def normalized(inst: Instance, state_scale=None, input_scale=None) -> Instance:
    """The same problem in scaled coordinates x = Dx xn, u = Du un; by default Dx, Du are
    the half-widths of the safe set's bounding box, which becomes [-1, 1]^n x [-1, 1]^m.
    Model errors and disturbances keep their values but are now measured in the scaled
    coordinates (the inf-norm then weighs every coordinate alike)."""
    Dx = _half_width(inst.safe_set.state) if state_scale is None else np.asarray(state_scale)
    Du = _half_width(inst.safe_set.inputs) if input_scale is None else np.asarray(input_scale)
    m = inst.model
    return Instance(
        model=replace(m, A=m.A * Dx / Dx[:, None], B=m.B * Du / Dx[:, None]),
        safe_set=SafeSet(
            Polytope(inst.safe_set.state.H * Dx, inst.safe_set.state.h),
            Polytope(inst.safe_set.inputs.H * Du, inst.safe_set.inputs.h),
        ),
        Q=inst.Q * np.outer(Dx, Dx),
        R=inst.R * np.outer(Du, Du),
        sigma_eta=inst.sigma_eta / Du,
    )


def _half_width(p: Polytope) -> np.ndarray:
    lower, upper = p.bounding_box
    return (upper - lower) / 2


@dataclass(frozen=True)
class Scenario:
    """An instance with a start state and a reference, in its own coordinates."""

    instance: Instance
    x0: np.ndarray  # (n,)
    x_ref: np.ndarray  # (n,)


def lane_edge(eps: float = 0.02, sigma_w: float = 0.01) -> Scenario:
    """Normalised lane keeping that starts off-centre and is asked to hug the left lane
    edge, where the constraints are active: the falsification scenario of the tests and
    benchmarks (a certainty-equivalent controller violates here)."""
    return Scenario(
        instance=normalized(lane_keeping(eps=eps, sigma_w=sigma_w)),
        x0=np.array([0.5, 0.2, 0.3]),
        x_ref=np.array([1.0, 0.0, 0.0]),
    )
