"""Parameters of the controller and estimator nodes (section `controller`, `estimator`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..sim.config import _param, _Parameters


@dataclass(frozen=True)
class ControllerConfig(_Parameters):
    """Robust SLS receding horizon on the lane-frame state. SI units."""

    SECTION: ClassVar[str] = "controller"
    NODE: ClassVar[str] = "controller"

    control_period: float = _param(0.1, 0.0, 1.0, open_low=True)  # s
    horizon: int = _param(5, 1, 50)  # steps
    formulation: str = _param("fast", choices=("fast", "generic"))  # robust SLS solver
    tau: float = _param(0.3, 0.0, 1.0, open_low=True)  # growth of the mismatch budget
    state_timeout: float = _param(0.3, 0.0, open_low=True)  # s, older state: no command
    learning_duration: float = _param(0.0, 0.0)  # s of excitation after start-up
    sigma_eta: tuple[float, ...] = _param((0.02, 0.05), 0.0, size=2)  # rad, m/s^2
    x_ref: tuple[float, ...] = _param((0.0, 0.0, 0.0), -10.0, 10.0, size=3)  # m, rad, m/s
    seed: int = _param(0, 0)  # excitation


@dataclass(frozen=True)
class EstimatorConfig(_Parameters):
    """Online least squares with error bounds on (state, input) pairs."""

    SECTION: ClassVar[str] = "estimator"
    NODE: ClassVar[str] = "estimator"

    refit_period: float = _param(10.0, 0.0, open_low=True)  # s between bound updates
    delta: float = _param(0.05, 0.0, 1.0, open_low=True)  # failure probability
    bound: str = _param("bootstrap", choices=("bootstrap", "data-dependent"))
    n_boot: int = _param(100, 10, 10000)
    seed: int = _param(0, 0)
