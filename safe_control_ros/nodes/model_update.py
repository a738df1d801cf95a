"""The /model message (safe_control_interfaces/UncertainModel, controller coordinates) and
when to trust an update.

An update replaces a trusted model (the prior, or the last accepted update) only if it is
tighter and plausible. `rejection(new, trusted)` names the first rule it breaks:

- it is not tighter (`UncertainModel.tighter_than`): a row's eps_A, eps_B or sigma_w is
  larger than the trusted one's, or their total is not smaller;
- unstable: spectral radius of A above max(1, the trusted A's) + the trusted eps_A;
- ill-conditioned: the condition number of the controllability matrix [B, AB, A^2 B, ...]
  more than `CONDITION_GROWTH` times the trusted one's;
- inconsistent: no system lies in both sets, a row of A - A_trusted has a 1-norm above the
  sum of the two bounds on that row (or the same for B), so one of the two is wrong.

The estimator applies the same rules before it publishes, the controller when it receives.
"""

from __future__ import annotations

import numpy as np

from ..control.model import UncertainModel
from ..runtime import messages as msg

# entries of the message's arrays (3 states, 2 inputs)
SIZES = {"a": 9, "b": 6, "sigma_w": 3, "eps_a_rows": 3, "eps_b_rows": 3}
CONDITION_GROWTH = 10.0


def encode(t: float, model: UncertainModel) -> msg.UncertainModel:
    """The /model message of a 3-state, 2-input model, stamped t (s)."""
    return msg.UncertainModel(
        header=msg.header(t, ""),
        a=np.asarray(model.A, dtype=float).ravel(),
        b=np.asarray(model.B, dtype=float).ravel(),
        eps_a=float(model.eps_A),
        eps_b=float(model.eps_B),
        sigma_w=np.asarray(model.sigma_w, dtype=float),
        eps_a_rows=np.asarray(model.row_errors[0], dtype=float),
        eps_b_rows=np.asarray(model.row_errors[1], dtype=float),
        row_wise=model.eps_A_rows is not None,
    )


def decode(message: msg.UncertainModel) -> UncertainModel:
    """The model in a /model message; ValueError if an array has the wrong size, a value
    is not finite or a bound is negative."""
    arrays = {name: np.asarray(getattr(message, name), dtype=float) for name in SIZES}
    for name, size in SIZES.items():
        if arrays[name].shape != (size,):
            raise ValueError(f"{name}: expected {size} values, got {arrays[name].size}")
    A, B = arrays["a"].reshape(3, 3), arrays["b"].reshape(3, 2)
    if not message.row_wise:
        return UncertainModel(A, B, message.eps_a, message.eps_b, arrays["sigma_w"])
    rows = (arrays["eps_a_rows"], arrays["eps_b_rows"])
    return UncertainModel(A, B, message.eps_a, message.eps_b, arrays["sigma_w"], *rows)


def rejection(new: UncertainModel, trusted: UncertainModel) -> str:
    """Why `new` must not replace `trusted` ("" if it may)."""
    if not new.tighter_than(trusted):
        return f"bounds grow: {_bounds(new)}; trusted {_bounds(trusted)}"
    radius, trusted_radius = _spectral_radius(new.A), _spectral_radius(trusted.A)
    limit = max(1.0, trusted_radius) + trusted.eps_A
    if radius > limit:
        return (
            f"unstable: spectral radius of A = {radius:.4g} > {limit:.4g} (trusted "
            f"{trusted_radius:.4g} + its eps_A)"
        )
    condition = _controllability_condition(new)
    trusted_condition = _controllability_condition(trusted)
    if condition > CONDITION_GROWTH * trusted_condition:
        return (
            f"ill-conditioned: controllability condition number {condition:.4g} > "
            f"{CONDITION_GROWTH:g} x trusted {trusted_condition:.4g}"
        )
    for name, mine, theirs, eps, trusted_eps in (
        ("A", new.A, trusted.A, new.row_errors[0], trusted.row_errors[0]),
        ("B", new.B, trusted.B, new.row_errors[1], trusted.row_errors[1]),
    ):
        distance = np.abs(mine - theirs).sum(axis=1)  # per row, 1-norm
        if np.any(distance > eps + trusted_eps):
            i = int(np.argmax(distance - eps - trusted_eps))
            return (
                f"inconsistent with the trusted model: row {i} of {name} - {name}_trusted has "
                f"1-norm {distance[i]:.4g} > eps_{name} + trusted eps_{name} on that row = "
                f"{eps[i] + trusted_eps[i]:.4g}"
            )
    return ""


def bound_values(model: UncertainModel) -> dict[str, str]:
    """The model's bounds as /diagnostics values: eps_A, eps_B and their rows (e_y, e_psi,
    e_v), space-separated."""
    rows_A, rows_B = model.row_errors
    return {
        "eps_A": f"{model.eps_A:.4f}",
        "eps_B": f"{model.eps_B:.4f}",
        "eps_A_rows": " ".join(f"{v:.4f}" for v in rows_A),
        "eps_B_rows": " ".join(f"{v:.4f}" for v in rows_B),
    }


def parse_rows(text: str) -> np.ndarray:
    """The rows of a `bound_values` entry as an array (n,)."""
    return np.array([float(v) for v in text.split()])


def _spectral_radius(A: np.ndarray) -> float:
    return float(np.abs(np.linalg.eigvals(A)).max())


def _controllability_condition(model: UncertainModel) -> float:
    blocks, block = [], model.B
    for _ in range(model.n):
        blocks.append(block)
        block = model.A @ block
    return float(np.linalg.cond(np.hstack(blocks)))


def _bounds(model: UncertainModel) -> str:
    rows_A, rows_B = model.row_errors
    rows = ", ".join(f"({a:.4g}, {b:.4g})" for a, b in zip(rows_A, rows_B, strict=True))
    return f"(eps_A, eps_B) per row {rows}, sigma_w {np.round(model.sigma_w, 4)}"
