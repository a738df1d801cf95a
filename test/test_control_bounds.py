"""Monte Carlo checks of the error bounds on closed-loop data with excitation."""

import numpy as np
import pytest

from safe_control_ros.control.bounds import bootstrap_bounds, data_dependent_bounds, inf_norm
from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.sysid import least_squares

DELTA = 0.1
TRIALS = 200
# Coverage is a binomial proportion: with p = 0.9 and 200 trials its standard deviation is
# 0.021, so 0.05 below 1 - delta is a 2.4-sigma Monte Carlo tolerance.
MC_TOL = 0.05
PRIOR_RADIUS = 5.0  # every row of [A B] has Euclidean norm below this


def _trial(collect, inst, steps, seed):
    X, U, policy = collect(inst, steps, seed)
    est = least_squares(X, U, ridge=1e-3)
    err = (inf_norm(est.A - inst.model.A), inf_norm(est.B - inst.model.B))
    return X, U, policy, est, err


def _covers(bounds, err) -> bool:
    return err[0] <= bounds.eps_A and err[1] <= bounds.eps_B


@pytest.fixture(scope="module")
def inst():
    return lane_keeping(sigma_w=0.005)


def test_data_dependent_bound_covers(collect, inst):
    hits = 0
    for seed in range(TRIALS):
        *_, est, err = _trial(collect, inst, 200, seed)
        bounds = data_dependent_bounds(est, inst.model.sigma_w.max(), DELTA, PRIOR_RADIUS)
        hits += _covers(bounds, err)
    assert hits / TRIALS >= 1 - DELTA - MC_TOL


@pytest.mark.parametrize("resimulate", [True, False], ids=["policy", "fitted-policy"])
def test_bootstrap_bound_covers(collect, inst, resimulate):
    hits = 0
    for seed in range(TRIALS):
        X, U, policy, est, err = _trial(collect, inst, 300, seed)
        bounds = bootstrap_bounds(
            est, X[:-1], U, X[1:], DELTA, policy if resimulate else None, n_boot=100, seed=seed
        )
        hits += _covers(bounds, err)
    assert hits / TRIALS >= 1 - DELTA - MC_TOL


def _slope(steps, values) -> float:
    return float(np.polyfit(np.log(steps), np.log(values), 1)[0])


def test_bounds_and_errors_shrink_like_one_over_sqrt_T(collect, inst):
    steps = np.array([800, 1600, 3200, 6400])  # past the pre-asymptotic regime
    med = {"error": [], "data-dependent": [], "bootstrap": []}
    for T in steps:
        rows = []
        for seed in range(20):
            X, U, policy, est, err = _trial(collect, inst, int(T), 1000 + seed)
            dd = data_dependent_bounds(est, inst.model.sigma_w.max(), DELTA, PRIOR_RADIUS)
            bb = bootstrap_bounds(est, X[:-1], U, X[1:], DELTA, policy, n_boot=50, seed=seed)
            rows.append((max(err), max(dd.eps_A, dd.eps_B), max(bb.eps_A, bb.eps_B)))
        for key, col in zip(med, np.median(rows, axis=0), strict=True):
            med[key].append(col)
    for key, values in med.items():
        assert _slope(steps, values) == pytest.approx(-0.5, abs=0.15), key
    assert all(np.array(med["data-dependent"]) > np.array(med["error"]))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"noise_scale": 0.0}, "noise_scale"),
        ({"delta": 1.5}, "delta"),
        ({"delta": 0.0}, "delta"),
        ({"prior_radius": -1.0}, "prior_radius"),
    ],
)
def test_bad_bound_arguments_are_rejected(collect, inst, kwargs, match):
    *_, est, _ = _trial(collect, inst, 20, 0)
    args = {"noise_scale": 0.005, "delta": 0.1, "prior_radius": 1.0} | kwargs
    with pytest.raises(ValueError, match=match):
        data_dependent_bounds(est, **args)
