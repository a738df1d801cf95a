"""Step 2 of the loop: online least squares whose error bounds replace the prior model's
once the data makes them tighter."""

from __future__ import annotations

import numpy as np

from .bounds import ErrorBounds, bootstrap_bounds, data_dependent_bounds
from .checks import in_range, positive_int
from .model import UncertainModel
from .sysid import OnlineLeastSquares

BOUNDS = ("data-dependent", "bootstrap")


class ModelLearner:
    """Learns (A, B) and (eps_A, eps_B) from transitions, starting from a prior model.

    The ridge pulls towards the prior, so each row of [A B] - prior has Euclidean norm at
    most hypot(eps_A0, eps_B0): that is the radius the data-dependent bound needs. Either
    set (prior or learned) contains the truth with probability >= 1 - delta, so `model()`
    may return whichever is smaller (`UncertainModel.tighter_than`). The data-dependent bound
    holds uniformly over time; the bootstrap (re-simulating a linear surrogate of the
    data's controller, see `bootstrap_bounds`) is approximate and much sharper.
    """

    def __init__(
        self,
        prior: UncertainModel,
        delta: float = 0.05,
        bound: str = "bootstrap",
        ridge: float = 1e-3,
        n_boot: int = 200,
        seed: int = 0,
    ) -> None:
        if bound not in BOUNDS:
            raise ValueError(f"bound: expected one of {BOUNDS}, got {bound!r}")
        self.prior = prior
        self.delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
        self.bound = bound
        self.n_boot = positive_int("n_boot", n_boot, 10)
        self.seed = seed
        self._ols = OnlineLeastSquares(prior.n, prior.m, ridge, np.hstack([prior.A, prior.B]))
        self._data: list[np.ndarray] = []  # rows [x, u, x_next]
        self.last_bounds: ErrorBounds | None = None

    @property
    def samples(self) -> int:
        return self._ols.samples

    def add(self, x, u, x_next) -> None:
        """Record one transition: x (n,), applied input u (m,), x_next (n,)."""
        self._ols.update(x, u, x_next)
        self._data.append(np.concatenate([x, u, x_next]).astype(float))

    def model(self) -> UncertainModel:
        """The tighter of the prior and the learned uncertain model."""
        n, m = self.prior.n, self.prior.m
        if self.samples < n + m + 1:
            return self.prior
        est = self._ols.estimate()
        if self.bound == "bootstrap":
            data = np.array(self._data)
            x, u, x_next = data[:, :n], data[:, n : n + m], data[:, n + m :]
            bounds = bootstrap_bounds(
                est, x, u, x_next, self.delta, n_boot=self.n_boot, seed=self.seed
            )
        else:
            radius = float(np.hypot(self.prior.eps_A, self.prior.eps_B))
            noise = float(self.prior.sigma_w.max())
            bounds = data_dependent_bounds(est, noise, self.delta, radius)
        self.last_bounds = bounds
        learned = UncertainModel(est.A, est.B, bounds.eps_A, bounds.eps_B, self.prior.sigma_w)
        return learned if learned.tighter_than(self.prior) else self.prior
