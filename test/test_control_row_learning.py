"""Row-wise learned bounds: each row of [dA dB] bounded by the bootstraps (Monte Carlo
coverage), the learned rows taking the place of the prior's where they are tighter, and
the /model message carrying them."""

import numpy as np
import pytest

from safe_control_ros.control.bounds import bootstrap_bounds, quantile_bounds
from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.learning import ModelLearner, tighter_rows
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.control.sysid import least_squares
from safe_control_ros.nodes import model_update

DELTA = 0.1
TRIALS = 150
MC_TOL = 0.06  # 2.4 standard deviations of a proportion 0.9 over 150 trials
INST = lane_keeping(sigma_w=0.005)


def test_row_bounds_hold_every_row_jointly(collect):
    """The estimator's default bound (the wild bootstrap's rows come from the same
    `quantile_bounds`; its coverage: test_control_misspecified)."""
    hits = 0
    for seed in range(TRIALS):
        X, U, policy = collect(INST, 600, seed)
        est = least_squares(X, U, ridge=1e-3)
        b = bootstrap_bounds(est, X[:-1], U, X[1:], DELTA, policy, n_boot=50, seed=seed)
        rows_A = np.abs(est.A - INST.model.A).sum(axis=1)
        rows_B = np.abs(est.B - INST.model.B).sum(axis=1)
        hits += bool(np.all(rows_A <= b.eps_A_rows) and np.all(rows_B <= b.eps_B_rows))
    assert hits / TRIALS >= 1 - DELTA - MC_TOL


def test_row_bounds_are_the_rows_quantiles_at_the_union_level():
    errors = np.random.default_rng(0).normal(size=(400, 3, 5))
    b = quantile_bounds(errors, 3, 0.3, "test")
    rows_A = np.abs(errors[:, :, :3]).sum(axis=2)
    np.testing.assert_allclose(b.eps_A_rows, np.quantile(rows_A, 1 - 0.3 / 6, axis=0))
    assert b.eps_A == pytest.approx(np.quantile(rows_A.max(axis=1), 1 - 0.15))
    assert np.all(b.eps_A_rows <= b.eps_A * 1.5)  # each row's level is only a bit higher


def _prior(row_scale) -> UncertainModel:
    m = INST.model
    scale = np.asarray(row_scale, dtype=float)
    return UncertainModel.row_wise(m.A, m.B, 0.05 * scale, 0.02 * scale, m.sigma_w)


def test_tighter_rows_take_the_learned_rows_only_where_every_bound_is_smaller():
    prior = _prior([1.0, 1.0, 10.0])
    learned = UncertainModel.row_wise(
        prior.A + 0.01, prior.B - 0.01, [0.04, 0.2, 0.1], [0.03, 0.01, 0.1], prior.sigma_w
    )
    merged = tighter_rows(prior, learned)
    np.testing.assert_allclose(merged.eps_A_rows, [0.05, 0.05, 0.1])  # row 0: B grew
    np.testing.assert_allclose(merged.eps_B_rows, [0.02, 0.02, 0.1])
    np.testing.assert_allclose(merged.A[2], learned.A[2])
    np.testing.assert_allclose(merged.A[:2], prior.A[:2])
    np.testing.assert_allclose(merged.B[2], learned.B[2])
    assert merged.tighter_than(prior)


def test_learner_tightens_the_row_the_prior_leaves_wide(collect):
    """A prior ten times wider on the speed row than on the others: 600 transitions bound
    the speed row well below it while the lateral rows keep the prior's, so the model
    returned is the merged one, tighter than the prior."""
    prior = _prior([1.0, 1.0, 10.0])
    X, U, _ = collect(INST, 600, seed=2)
    learner = ModelLearner(prior, DELTA, "wild-bootstrap", block=1, row_wise=True)
    for x, u, x_next in zip(X[:-1], U, X[1:], strict=True):
        learner.add(x, u, x_next)
    model = learner.model()
    assert model.tighter_than(prior)
    rows_A, rows_B = model.row_errors
    assert rows_A[2] < 0.5 and rows_B[2] < 0.2
    np.testing.assert_allclose(model.A[2], learner.last_learned.A[2])
    truth_rows = np.abs(model.A - INST.model.A).sum(axis=1)
    assert np.all(truth_rows <= rows_A)


def test_row_wise_learning_needs_a_bootstrap():
    with pytest.raises(ValueError, match="row_wise"):
        ModelLearner(INST.model, bound="data-dependent", row_wise=True)


def test_model_message_carries_the_row_bounds():
    prior = _prior([1.0, 2.0, 10.0])
    decoded = model_update.decode(model_update.encode(1.0, prior))
    np.testing.assert_allclose(decoded.eps_A_rows, prior.eps_A_rows)
    np.testing.assert_allclose(decoded.eps_B_rows, prior.eps_B_rows)
    scalar = model_update.decode(model_update.encode(1.0, INST.model))
    assert scalar.eps_A_rows is None and scalar.eps_A == INST.model.eps_A
    bad = model_update.encode(1.0, prior)
    bad.eps_a_rows = np.zeros(2)
    with pytest.raises(ValueError, match="eps_a_rows: expected 3 values, got 2"):
        model_update.decode(bad)


def test_a_merged_model_is_consistent_with_its_row_wise_prior():
    """Rows kept from the prior are at distance 0; the consistency rule of model updates
    compares row by row, so a learned row far inside a wide prior row passes, while the
    same distance on a narrow row does not."""
    prior = _prior([1.0, 1.0, 10.0])
    learned_row = UncertainModel.row_wise(
        prior.A + np.eye(3)[[2]].T @ [[0.3, 0, 0]], prior.B, [0.05, 0.05, 0.1],
        [0.02, 0.02, 0.05], prior.sigma_w,
    )  # fmt: skip
    assert model_update.rejection(learned_row, prior) == ""
    narrow = UncertainModel.row_wise(
        prior.A + np.eye(3)[[0]].T @ [[0.3, 0, 0]], prior.B, [0.04, 0.05, 0.1],
        [0.02, 0.02, 0.05], prior.sigma_w,
    )  # fmt: skip
    assert "row 0 of A" in model_update.rejection(narrow, prior)
