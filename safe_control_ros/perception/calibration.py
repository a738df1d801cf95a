"""Calibrated error bounds of a perception map: |e_i| <= eps_i inside R, growing outside.

`calibrate` takes held-out data the map was not trained on: eps_i = safety * max |e_i|
over the held-out samples inside R (per coordinate, e = predicted - true). Outside R the
bound grows linearly with the scaled distance d to R (`Region.distance`):
eps_i(d) = eps_i + slope_i d, slope_i = safety * max over held-out samples outside R of
(|e_i| - eps_i) / d (0 if never exceeded). `check` measures the coverage of a bound on
fresh data that neither training nor calibration saw.

`predict` is a map's `predict` (it then gets each sample's track preview, see
`maps.PerceptionMap.predict`) or any callable images (N, H, W, 3) -> (N, 2).
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import numpy as np

from .dataset import Dataset, Region


@dataclass(frozen=True)
class ErrorBound:
    """|e_i| <= eps_i + slope_i * distance(x, R); eps, slope (2,) in [m, rad]."""

    eps: np.ndarray
    slope: np.ndarray
    region: Region
    safety: float
    samples: int  # held-out samples inside R behind eps

    def at(self, distance) -> np.ndarray:
        """(N, 2) bounds at scaled distances (N,) from R."""
        return self.eps + np.multiply.outer(np.asarray(distance, dtype=float), self.slope)


@dataclass(frozen=True)
class Coverage:
    """How a bound fares on fresh data inside R."""

    samples: int
    coverage: np.ndarray  # (2,) fraction of samples with |e_i| <= eps_i
    joint: float  # fraction with both coordinates covered
    max_ratio: np.ndarray  # (2,) max |e_i| / eps_i
    mean_abs: np.ndarray  # (2,) mean |e_i|
    outside_samples: int = 0
    outside_joint: float = float("nan")  # coverage of the grown bound outside R


def errors(predict, data: Dataset) -> np.ndarray:
    """(N, 2) prediction errors predicted - true of `predict` on `data` (with the samples'
    track previews if `predict` takes a `preview` argument)."""
    if _takes_preview(predict):
        return predict(data.images, preview=data.preview) - data.states
    return predict(data.images) - data.states


def _takes_preview(predict) -> bool:
    try:
        return "preview" in inspect.signature(predict).parameters
    except (TypeError, ValueError):  # no signature (some builtins)
        return False


def calibrate(predict, heldout: Dataset, region: Region, safety: float = 1.2) -> ErrorBound:
    """Bound from held-out data (see module); `predict` maps images to (N, 2) states."""
    if safety < 1.0:
        raise ValueError(f"safety: expected a number >= 1, got {safety!r}")
    err = np.abs(errors(predict, heldout))
    d = region.distance(heldout.states)
    inside = d <= 0.0
    if inside.sum() < 10:
        raise ValueError(f"heldout: expected at least 10 samples inside R, got {inside.sum()}")
    eps = safety * err[inside].max(axis=0)
    slope = np.zeros(2)
    if (~inside).any():
        excess = (err[~inside] - eps) / d[~inside, None]
        slope = safety * np.maximum(excess.max(axis=0), 0.0)
    return ErrorBound(eps, slope, region, safety, int(inside.sum()))


def check(predict, bound: ErrorBound, fresh: Dataset) -> Coverage:
    """Coverage of `bound` on fresh data (inside R; outside R with the grown bound)."""
    err = np.abs(errors(predict, fresh))
    d = bound.region.distance(fresh.states)
    inside = d <= 0.0
    covered = err[inside] <= bound.eps
    out = ~inside
    outside_joint = (
        float(np.all(err[out] <= bound.at(d[out]), axis=1).mean()) if out.any() else float("nan")
    )
    return Coverage(
        samples=int(inside.sum()),
        coverage=covered.mean(axis=0),
        joint=float(np.all(covered, axis=1).mean()),
        max_ratio=err[inside].max(axis=0) / bound.eps,
        mean_abs=err[inside].mean(axis=0),
        outside_samples=int(out.sum()),
        outside_joint=outside_joint,
    )


def attach(perception_map, bound: ErrorBound, coverage: Coverage | None = None) -> None:
    """Store `bound` (and its fresh-data coverage) in the map's metadata, saved with it."""
    entry = {
        "eps": bound.eps.tolist(),
        "slope": bound.slope.tolist(),
        "region": {"e_y_max": bound.region.e_y_max, "e_psi_max": bound.region.e_psi_max},
        "safety": bound.safety,
        "samples": bound.samples,
    }
    if coverage is not None:
        entry["coverage"] = coverage.coverage.tolist()
        entry["coverage_samples"] = coverage.samples
    perception_map.metadata["error_bound"] = entry


def bound_of(perception_map) -> ErrorBound:
    """The ErrorBound stored in a map's metadata (ValueError if it has none)."""
    entry = perception_map.error_bound
    if entry is None:
        raise ValueError("perception map: expected a calibrated error bound, got none")
    return ErrorBound(
        np.array(entry["eps"]),
        np.array(entry["slope"]),
        Region(**entry["region"]),
        entry["safety"],
        entry["samples"],
    )
