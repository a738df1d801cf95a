"""Parameters of the controller and estimator nodes (section `controller`, `estimator`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ..schema import Parameters, param


@dataclass(frozen=True)
class ControllerConfig(Parameters):
    """Robust SLS receding horizon on the lane-frame state. SI units."""

    SECTION: ClassVar[str] = "controller"
    NODE: ClassVar[str] = "controller"

    control_period: float = param(0.1, 0.0, 1.0, open_low=True)  # s, = car_model.sample_time
    # s, a solve that takes longer is dropped for the fallback; at most control_period
    deadline: float = param(0.1, 0.0, 1.0, open_low=True)
    horizon: int = param(5, 1, 50)  # steps
    formulation: str = param("fast", choices=("fast", "generic"))  # robust SLS solver
    # growth of the mismatch budget along the plan; 0: constant (the least conservative)
    tau: float = param(0.0, 0.0, 1.0)
    # steps of the stationary response every plan ends in (recursive feasibility: a plan now
    # means a certified plan for all later steps); 0: none, plans are certified for their
    # horizon only. Needs tau = 0, state_source lane_state and horizon >= terminal_length
    terminal_length: int = param(0, 0, 50)
    # eta chosen per solve: fractions of the most model error one step adds from the safe
    # set, one planner each, tried in this order; the first plan found is used. A fraction
    # below 1 confines the plan to where that budget suffices (control.sls). 1 alone: the
    # classic constant budget; with terminal_length > 0 only 1
    budget_scales: tuple[float, ...] = param((1.0,), 0.0, 1.0, open_low=True)
    state_timeout: float = param(0.3, 0.0, open_low=True)  # s, older state: no command
    learning_duration: float = param(0.0, 0.0)  # s of excitation after start-up
    sigma_eta: tuple[float, ...] = param((0.02, 0.05), 0.0, size=2)  # rad, m/s^2
    # Excitation samples: uniform in the box or its vertices (sign), each input's held this
    # many control periods (control.excitation: held samples move the state, which teaches A)
    excitation: str = param("sign", choices=("uniform", "sign"))
    excitation_hold: tuple[float, ...] = param((10.0, 1.0), 1.0, 1000.0, size=2)  # periods
    # Where the excitation would leave the certified stop's margin below this, the one of
    # eta, 0 and -eta with the largest margin is applied instead (control.receding)
    excitation_margin: float = param(0.0, 0.0, 1.0)
    x_ref: tuple[float, ...] = param((0.0, 0.0, 0.0), -10.0, 10.0, size=3)  # m, rad, m/s
    # The reference is the first fraction f of x_ref (towards the lane centre) from which a
    # plan is certified, for each model the controller builds: the bounds decide how close
    # to x_ref the car drives. [1.0]: x_ref or no planner
    reference_fractions: tuple[float, ...] = param((1.0,), 0.0, 1.0)
    seed: int = param(0, 0)  # excitation
    # m/s^2, rate of the speed reference when the car is slower than the safe set allows
    # (at start-up from rest or after a watchdog stop)
    resume_accel: float = param(0.5, 0.0, 5.0, open_low=True)
    # Where e_y, e_psi come from: /lane_state (the sim's truth or the car's own estimate)
    # or /perception/measurement (camera and learned map; s, e_v and the curvature still
    # from /lane_state: odometry and the track map)
    state_source: str = param("lane_state", choices=("lane_state", "perception"))
    # m, rad: perception error bound the plans are robust to; a measurement published with
    # a larger bound is not used
    measurement_bound: tuple[float, ...] = param((0.0102, 0.0125), 0.0, 1.0, size=2)
    # m, rad: half-widths of the region R the perception bound holds in; plans keep the
    # true state inside it
    measurement_region: tuple[float, ...] = param((0.12, 0.12), 0.0, 1.0, open_low=True, size=2)
    # s: without a usable measurement the last plan runs this long, then the car brakes
    hold_time: float = param(0.3, 0.0, 10.0)
    # m, rad, m/s: a /lane_state with |e_y|, |e_psi| or |e_v| beyond these is physically
    # impossible for the car on its lane and is not used (as if none had come)
    plausible_state: tuple[float, ...] = param((1.0, 1.6, 3.0), 0.0, 100.0, open_low=True, size=3)
    # s: the transitions of the last consistency_window s must be explained by the trusted
    # model's ball (control.consistency); if not, the car stops until a model that explains
    # them is adopted. 0: no test
    consistency_window: float = param(5.0, 0.0, 600.0)
    consistency_period: float = param(1.0, 0.0, 60.0, open_low=True)  # s between the tests

    def _check_consistency(self) -> None:
        if self.deadline > self.control_period:
            raise ValueError(
                f"{self.SECTION}.deadline: expected at most control_period = "
                f"{self.control_period} s, got {self.deadline}"
            )
        if self.terminal_length > self.horizon:
            raise ValueError(
                f"{self.SECTION}.terminal_length: expected at most horizon = {self.horizon}, "
                f"got {self.terminal_length}"
            )
        if self.terminal_length and set(self.budget_scales) != {1.0}:
            raise ValueError(
                f"{self.SECTION}.budget_scales: expected [1.0] with terminal_length > 0, got "
                f"{list(self.budget_scales)}"
            )
        if self.terminal_length and (self.tau != 0.0 or self.state_source != "lane_state"):
            raise ValueError(
                f"{self.SECTION}.terminal_length: expected 0 unless tau = 0 and state_source "
                f"= lane_state, got {self.terminal_length}"
            )


@dataclass(frozen=True)
class EstimatorConfig(Parameters):
    """Online least squares with error bounds on (state, input) pairs."""

    SECTION: ClassVar[str] = "estimator"
    NODE: ClassVar[str] = "estimator"

    refit_period: float = param(10.0, 0.0, open_low=True)  # s between bound updates
    delta: float = param(0.05, 0.0, 1.0, open_low=True)  # failure probability
    bound: str = param("wild-bootstrap", choices=("bootstrap", "wild-bootstrap", "data-dependent"))
    n_boot: int = param(100, 10, 10000)
    block: int = param(10, 1, 1000)  # transitions per sign of the wild bootstrap
    disturbance: str = param("prior", choices=("prior", "held-out", "in-sample"))  # sigma_w
    validation_folds: int = param(5, 2, 100)  # windows of the held-out check of sigma_w
    # bounds per row of the model; each row the prior's or the learned one, the tighter
    row_wise: bool = param(False)
    min_samples: int = param(300, 0, 10**6)  # transitions before a learned model may be used
    seed: int = param(0, 0)
