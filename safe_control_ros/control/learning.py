"""Step 2 of the loop: online least squares whose error bounds replace the prior model's
once the data makes them tighter."""

from __future__ import annotations

import dataclasses

import numpy as np

from .bounds import ErrorBounds, bootstrap_bounds, data_dependent_bounds, wild_bootstrap_bounds
from .checks import in_range, positive_int
from .consistency import consistency
from .model import UncertainModel
from .sysid import Estimate, OnlineLeastSquares

BOUNDS = ("data-dependent", "bootstrap", "wild-bootstrap")
DISTURBANCES = ("prior", "in-sample", "held-out")


class ModelLearner:
    """Learns (A, B), (eps_A, eps_B) and, if asked, sigma_w from transitions, starting from
    a prior model.

    The ridge pulls towards the prior, so each row of [A B] - prior has Euclidean norm at
    most hypot(eps_A0, eps_B0): that is the radius the data-dependent bound needs. Either
    set (prior or learned) contains the truth with probability >= 1 - delta, so `model()`
    may return whichever is smaller (`UncertainModel.tighter_than`). The data-dependent bound
    holds uniformly over time; the bootstrap (re-simulating a linear surrogate of the
    data's controller, see `bootstrap_bounds`) is approximate and much sharper; the wild
    bootstrap (`wild_bootstrap_bounds`) keeps the residuals where the data put them, for a
    plant that is not linear with i.i.d. noise.

    disturbance (sigma_w): "prior"; "in-sample": per row, the largest |residual| of the fit;
    "held-out": that, checked on held-out data: the model learned from the first 1/folds,
    2/folds, ... of the transitions (its least squares and largest residuals, the full
    ball) must explain all that follow, and sigma_w grows by the largest factor that needed
    (`held_out`).

    Below `min_samples` transitions (at least folds * (n + m + 1)) the prior is kept: a
    bootstrap needs enough data for the fit to resemble the plant.

    row_wise: the learned ball bounds each row of [dA dB] (`ErrorBounds.eps_A_rows`), and
    each row of the model is the prior's or the learned one, whichever is tighter
    (`tighter_rows`): the data can tighten the rows they inform while the others keep the
    prior's. On the simulated car neither explains the future as a bound would
    (sim.bound_coverage): the largest residual seen is rarely the largest to come.
    """

    def __init__(
        self,
        prior: UncertainModel,
        delta: float = 0.05,
        bound: str = "bootstrap",
        ridge: float = 1e-3,
        n_boot: int = 200,
        seed: int = 0,
        disturbance: str = "prior",
        folds: int = 5,
        block: int = 10,
        row_wise: bool = False,
        min_samples: int = 0,
    ) -> None:
        if bound not in BOUNDS:
            raise ValueError(f"bound: expected one of {BOUNDS}, got {bound!r}")
        if disturbance not in DISTURBANCES:
            raise ValueError(f"disturbance: expected one of {DISTURBANCES}, got {disturbance!r}")
        self.prior = prior
        self.delta = in_range("delta", delta, 0.0, 1.0, open_low=True)
        self.bound = bound
        self.ridge = ridge
        self.n_boot = positive_int("n_boot", n_boot, 10)
        self.seed = seed
        self.disturbance = disturbance
        self.folds = positive_int("folds", folds, 2)
        self.block = positive_int("block", block, 1)
        if row_wise and bound == "data-dependent":
            raise ValueError("row_wise: expected a bootstrap bound, got data-dependent")
        self.row_wise = row_wise
        self.min_samples = max(
            positive_int("min_samples", min_samples, 0), folds * (prior.n + prior.m + 1)
        )
        self._data: list[np.ndarray] = []  # rows [x, u, x_next]
        self.last_bounds: ErrorBounds | None = None
        self.last_held_out: np.ndarray | None = None  # (n,) the factor sigma_w grew by
        self.last_learned: UncertainModel | None = None

    @property
    def samples(self) -> int:
        return len(self._data)

    def add(self, x, u, x_next) -> None:
        """Record one transition: x (n,), applied input u (m,), x_next (n,), finite."""
        row = np.concatenate([x, u, x_next]).astype(float)
        if row.shape != (2 * self.prior.n + self.prior.m,) or not np.all(np.isfinite(row)):
            raise ValueError(
                f"x, u, x_next: expected finite vectors of sizes {self.prior.n}, "
                f"{self.prior.m}, {self.prior.n}; got {np.shape(x)}, {np.shape(u)}, "
                f"{np.shape(x_next)}"
            )
        self._data.append(row)

    def model(self) -> UncertainModel:
        """The tighter of the prior and the learned uncertain model."""
        n, m = self.prior.n, self.prior.m
        if self.samples < self.min_samples:
            return self.prior
        data = np.array(self._data)
        est, residual = self._least_squares(data)
        x, u, x_next = data[:, :n], data[:, n : n + m], data[:, n + m :]
        self.last_bounds = bounds = self._bounds(est, x, u, x_next)
        sigma_w = self.prior.sigma_w if self.disturbance == "prior" else residual
        learned = UncertainModel(est.A, est.B, bounds.eps_A, bounds.eps_B, sigma_w)
        if self.row_wise:
            rows = (bounds.eps_A_rows, bounds.eps_B_rows)
            learned = UncertainModel.row_wise(est.A, est.B, *rows, sigma_w)
        if self.disturbance == "held-out":
            self.last_held_out = self.held_out(data, learned)
            learned = dataclasses.replace(learned, sigma_w=sigma_w * self.last_held_out)
        self.last_learned = learned
        if self.row_wise:
            learned = tighter_rows(self.prior, learned)
        return learned if learned.tighter_than(self.prior) else self.prior

    def held_out(self, data: np.ndarray, learned: UncertainModel) -> np.ndarray:
        """(n,) per row, the largest scale of sigma_w (at least 1) that the data after each
        inner fold boundary needed to be explained by the model learned from the data
        before it (its least squares and largest residual, `learned`'s ball); `data` rows
        [x, u, x_next]. The first fold extrapolates from 1/folds of the data to the rest."""
        n, m = self.prior.n, self.prior.m
        factor = np.ones(n)
        for start in np.linspace(0, len(data), self.folds + 1).astype(int)[1:-1]:
            est, residual = self._least_squares(data[:start])
            model = dataclasses.replace(learned, A=est.A, B=est.B, sigma_w=residual)
            rest = data[start:]
            ratio = consistency(model, rest[:, :n], rest[:, n : n + m], rest[:, n + m :]).ratio
            factor = np.maximum(factor, ratio)
        return factor

    def _least_squares(self, data: np.ndarray) -> tuple[Estimate, np.ndarray]:
        """The ridge fit to `data` (rows [x, u, x_next]) and its largest |residual| (n,)."""
        n, m = self.prior.n, self.prior.m
        x, u, x_next = data[:, :n], data[:, n : n + m], data[:, n + m :]
        ols = OnlineLeastSquares(n, m, self.ridge, np.hstack([self.prior.A, self.prior.B]))
        ols.update(x, u, x_next)
        est = ols.estimate()
        return est, np.abs(x_next - x @ est.A.T - u @ est.B.T).max(axis=0)

    def _bounds(self, est: Estimate, x, u, x_next) -> ErrorBounds:
        """The configured bound on the error of `est`, fitted on x, u, x_next."""
        if self.bound == "bootstrap":
            return bootstrap_bounds(
                est, x, u, x_next, self.delta, n_boot=self.n_boot, seed=self.seed
            )
        if self.bound == "wild-bootstrap":
            return wild_bootstrap_bounds(
                est, x, u, x_next, self.delta, self.block, self.n_boot, self.seed
            )
        radius = float(np.hypot(self.prior.eps_A, self.prior.eps_B))
        noise = float(self.prior.sigma_w.max())
        return data_dependent_bounds(est, noise, self.delta, radius)


def tighter_rows(prior: UncertainModel, learned: UncertainModel) -> UncertainModel:
    """The row-wise model whose row i is `learned`'s (A_i, B_i, its bounds and sigma_w_i)
    where none of its bounds is larger than `prior`'s, and the prior's otherwise. Each row
    of the truth lies in both rows' balls (each with its own probability), so in the
    chosen one."""
    (prior_A, prior_B), (mine_A, mine_B) = prior.row_errors, learned.row_errors
    take = (mine_A <= prior_A) & (mine_B <= prior_B) & (learned.sigma_w <= prior.sigma_w)
    pick = take[:, None]
    return UncertainModel.row_wise(
        np.where(pick, learned.A, prior.A),
        np.where(pick, learned.B, prior.B),
        np.where(take, mine_A, prior_A),
        np.where(take, mine_B, prior_B),
        np.where(take, learned.sigma_w, prior.sigma_w),
    )
