import numpy as np
import pytest

from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.control.sysid import OnlineLeastSquares, least_squares


def test_online_matches_batch_at_every_step(collect):
    X, U, _ = collect(lane_keeping(), 120, seed=3)
    prior = np.hstack([np.eye(3), np.ones((3, 2))])
    ols = OnlineLeastSquares(3, 2, ridge=0.5, prior=prior)
    for t in range(U.shape[0]):
        ols.update(X[t], U[t], X[t + 1])
        if t % 30 == 29:
            batch = least_squares(X[: t + 2], U[: t + 1], ridge=0.5, prior=prior)
            online = ols.estimate()
            np.testing.assert_allclose(online.A, batch.A, atol=1e-9)
            np.testing.assert_allclose(online.B, batch.B, atol=1e-9)
            np.testing.assert_allclose(online.gram, batch.gram, atol=1e-9)
            assert online.samples == batch.samples == t + 1


def test_noise_free_data_recovers_the_system():
    model = lane_keeping().model
    rng = np.random.default_rng(0)
    U = rng.uniform(-1, 1, size=(40, 2))
    X = [rng.normal(size=3)]
    for u in U:
        X.append(model.A @ X[-1] + model.B @ u)
    est = least_squares(np.array(X), U, ridge=1e-9)
    np.testing.assert_allclose(est.A, model.A, atol=1e-6)
    np.testing.assert_allclose(est.B, model.B, atol=1e-6)


def test_ridge_pulls_towards_the_prior():
    X, U = np.zeros((3, 2)), np.zeros((2, 1))
    prior = np.array([[0.9, 0.0, 0.5], [0.0, 0.8, 1.0]])
    est = least_squares(X, U, ridge=1.0, prior=prior)
    np.testing.assert_allclose(np.hstack([est.A, est.B]), prior)


@pytest.mark.parametrize(
    ("states", "inputs", "match"),
    [
        (np.zeros((5, 3)), np.zeros((5, 2)), "inputs"),
        (np.zeros(5), np.zeros((4, 2)), "states"),
        (np.full((5, 3), np.nan), np.zeros((4, 2)), "finite"),
        (np.zeros((1, 3)), np.zeros((0, 2)), "transition"),
    ],
)
def test_bad_data_is_rejected(states, inputs, match):
    with pytest.raises(ValueError, match=match):
        least_squares(states, inputs)


def test_online_rejects_bad_samples():
    ols = OnlineLeastSquares(3, 2)
    with pytest.raises(ValueError, match="x, u, x_next"):
        ols.update(np.zeros(3), np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        ols.update(np.zeros(3), [np.nan, 0.0], np.zeros(3))
    with pytest.raises(ValueError, match="ridge"):
        OnlineLeastSquares(3, 2, ridge=0.0)
