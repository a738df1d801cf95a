"""Argument checks that fail with a message naming the argument and what was expected."""

from __future__ import annotations

import numpy as np


def as_matrix(name: str, value, shape: tuple[int | None, int | None]) -> np.ndarray:
    """Return `value` as a finite float matrix of `shape` (None = any size)."""
    arr = np.asarray(value, dtype=float)
    wrong = arr.ndim != 2 or any(s not in (None, a) for s, a in zip(shape, arr.shape, strict=True))
    if wrong:
        want = "x".join("?" if s is None else str(s) for s in shape)
        raise ValueError(f"{name}: expected a {want} matrix, got shape {arr.shape}")
    return _finite(name, arr)


def as_vector(name: str, value, size: int | None = None) -> np.ndarray:
    """Return `value` as a finite float vector of length `size` (None = any length)."""
    arr = np.asarray(value, dtype=float)
    if arr.ndim != 1 or (size is not None and arr.shape[0] != size):
        raise ValueError(
            f"{name}: expected a vector of length {size or '?'}, got shape {arr.shape}"
        )
    return _finite(name, arr)


def bound_vector(name: str, value, size: int) -> np.ndarray:
    """Return `value` (None = 0, a scalar = the same for all) as a (size,) vector >= 0."""
    arr = np.asarray(0.0 if value is None else value, dtype=float)
    arr = as_vector(name, np.full(size, arr) if arr.ndim == 0 else arr, size)
    if np.any(arr < 0):
        raise ValueError(f"{name}: expected values >= 0, got {arr}")
    return arr


def in_range(
    name: str, value: float, low: float, high: float = np.inf, *, open_low: bool = False
) -> float:
    """Return `value` as a float after checking low <= value <= high (or low < value)."""
    v = float(value)
    ok = (v > low if open_low else v >= low) and v <= high
    if not np.isfinite(v) or not ok:
        bracket = "(" if open_low else "["
        raise ValueError(f"{name}: expected a value in {bracket}{low}, {high}], got {value!r}")
    return v


def positive_int(name: str, value: int, low: int = 1) -> int:
    """Return `value` as an int >= `low`."""
    if int(value) != value or value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def _finite(name: str, arr: np.ndarray) -> np.ndarray:
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: expected finite numbers, got NaN or inf")
    return arr
