"""Estimator node: online least squares with error bounds from (state, input) pairs.

Subscribes /lane_state (layouts.LANE_STATE) and /controller/input (layouts.CONTROL_INPUT,
the input applied after that state, controller coordinates). Each new state closes a
transition (x, u, x+); transitions with a state outside the safe set (the car starting,
stopping or off its operating point, where the linear model does not hold) are left
out. Every `refit_period` s it asks the learner for its model and publishes it on /model
(layouts.MODEL: A, B, eps_A, eps_B, sigma_w in controller coordinates) when it is tighter
than the last one published (the data then suffice to tighten) and passes the
controller's checks (`model_update.rejection`: stable, well-conditioned, consistent);
it reports the bounds on /diagnostics, a withheld model or a failed refit with level WARN.
Parameters: `estimator` section (EstimatorConfig) and `/**: car_model.*` (the prior).
"""

from __future__ import annotations

import numpy as np

from ..control.learning import ModelLearner
from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..sim.config import CarModelConfig
from ..sim.lane_model import controller_instance
from . import layouts, model_update
from .controller_config import EstimatorConfig
from .qos import LATCHED, RELIABLE


class EstimatorNode:
    def __init__(self, node) -> None:
        self.node = node
        self.config = declare_config(node, EstimatorConfig)
        self.car = declare_config(node, CarModelConfig)
        self.log = node.get_logger()
        prior = controller_instance(self.car).model
        self.learner = ModelLearner(
            prior,
            self.config.delta,
            self.config.bound,
            n_boot=self.config.n_boot,
            seed=self.config.seed,
        )
        self.published = prior
        self.state_scale = np.asarray(self.car.state_scale)
        self.state_max = np.array([self.car.e_y_max, self.car.e_psi_max, self.car.e_v_max])
        self.x: np.ndarray | None = None  # last state, controller coordinates
        self.u: np.ndarray | None = None  # input applied after it

        self.model_pub = node.create_publisher(msg.Float64MultiArray, "/model", LATCHED)
        self.diag_pub = node.create_publisher(msg.DiagnosticArray, "/diagnostics", RELIABLE)
        node.create_subscription(msg.Float64MultiArray, "/lane_state", self.on_lane, RELIABLE)
        node.create_subscription(
            msg.Float64MultiArray, "/controller/input", self.on_input, RELIABLE
        )
        node.create_timer(self.config.refit_period, self.on_refit)

    def on_lane(self, lane) -> None:
        values = np.asarray(lane.data, dtype=float)
        if values.shape != (len(layouts.LANE_STATE),) or not np.all(np.isfinite(values)):
            self.log.error("/lane_state: rejected (wrong size or non-finite)")
            self.x = None
            return
        if np.any(np.abs(values[1:4]) > self.state_max):
            self.x = None  # outside the safe set: no transition from or to it
            return
        x = values[1:4] / self.state_scale
        if self.x is not None and self.u is not None:
            self.learner.add(self.x, self.u, x)
        self.x, self.u = x, None

    def on_input(self, u) -> None:
        values = np.asarray(u.data, dtype=float)
        if values.shape == (2,) and np.all(np.isfinite(values)):
            self.u = values

    def on_refit(self) -> None:
        t = self.node.get_clock().now().nanoseconds * 1e-9
        values = {"samples": str(self.learner.samples)}
        try:
            model = self.learner.model()
        except (ValueError, ArithmeticError) as err:  # e.g. a singular or non-finite fit
            self.log.error(f"refit failed: {err}")
            message = f"refit failed, last model kept: {err}"
            self._diagnose(t, msg.WARN, message, values)
            return
        bounds = self.learner.last_bounds
        if bounds is not None:
            values |= {"eps_A": f"{bounds.eps_A:.4f}", "eps_B": f"{bounds.eps_B:.4f}"}
        level, message = msg.OK, "prior or last model kept"
        if model.tighter_than(self.published):
            reason = model_update.rejection(model, self.published)
            if reason:
                level, message = msg.WARN, f"model withheld: {reason}"
                self.log.warning(message)
            else:
                self.published = model
                self.model_pub.publish(msg.array(model_update.encode(model), layouts.MODEL))
                self.log.info(f"published tighter model: eps_A {model.eps_A:.4f}")
                message = "model published"
        self._diagnose(t, level, message, values)

    def _diagnose(self, t: float, level: int, message: str, values: dict[str, str]) -> None:
        status = msg.diagnostics(
            t, layouts.FIT_STATUS, level, message, values, self.car.hardware_id
        )
        self.diag_pub.publish(status)


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros estimator_node`."""
    from ..runtime.ros import spin

    spin("estimator", EstimatorNode, args)
