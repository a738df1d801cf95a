"""Estimator node: online least squares with error bounds from (state, input) pairs.

Subscribes /lane_state (safe_control_interfaces/LaneState) and /controller/input
(ControlInput: the input applied after the lane state whose stamp it carries, controller
coordinates). States and inputs are paired by stamp into transitions (x, u, x+) one
sample time apart (`transitions`); transitions with a state outside the safe set (the car
starting, stopping or off its operating point, where the linear model does not hold) are
left out. Every `refit_period` s it asks the learner for its model and publishes it on
/model (UncertainModel: A, B, eps_A, eps_B, sigma_w in controller coordinates, transient
local) when it is tighter
than the last one published (the data then suffice to tighten) and passes the
controller's checks (`model_update.rejection`: stable, well-conditioned, consistent);
it reports the bounds on /diagnostics, a withheld model or a failed refit with level WARN.
Parameters: `estimator` section (EstimatorConfig) and `/**: car_model.*` (the prior).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..control.learning import ModelLearner
from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..sim.config import CarModelConfig
from ..sim.lane_model import controller_instance
from . import model_update, statuses
from .controller_config import EstimatorConfig
from .qos import LATCHED, RELIABLE
from .transitions import Transitions

if TYPE_CHECKING:  # the node handle: rclpy's Node, or a standalone runtime's
    from rclpy.node import Node


class EstimatorNode:
    def __init__(self, node: Node) -> None:
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
            disturbance=self.config.disturbance,
            folds=self.config.validation_folds,
            block=self.config.block,
            row_wise=self.config.row_wise,
            min_samples=self.config.min_samples,
        )
        self.published = prior
        self.state_scale = np.asarray(self.car.state_scale)
        self.state_max = np.array([self.car.e_y_max, self.car.e_psi_max, self.car.e_v_max])
        self.transitions = Transitions(self.car.sample_time)

        self.model_pub = node.create_publisher(msg.UncertainModel, "/model", LATCHED)
        self.diag_pub = node.create_publisher(msg.DiagnosticArray, "/diagnostics", RELIABLE)
        node.create_subscription(msg.LaneState, "/lane_state", self.on_lane, RELIABLE)
        node.create_subscription(msg.ControlInput, "/controller/input", self.on_input, RELIABLE)
        node.create_timer(self.config.refit_period, self.on_refit)

    def on_lane(self, lane) -> None:
        values = msg.lane_values(lane)[1:4]
        x: np.ndarray | None = values / self.state_scale
        if not np.all(np.isfinite(values)):
            self.log.error("/lane_state: rejected (non-finite)")
            x = None
        elif np.any(np.abs(values) > self.state_max):
            x = None  # outside the safe set: no transition from or to it
        self._learn(self.transitions.add_state(msg.seconds(lane.header.stamp), x))

    def on_input(self, u) -> None:
        values = np.array([u.steering, u.acceleration])
        if np.all(np.isfinite(values)):
            self._learn(self.transitions.add_input(msg.seconds(u.header.stamp), values))

    def _learn(self, transitions) -> None:
        for x, u, x_next in transitions:
            self.learner.add(x, u, x_next)

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
        learned, factor = self.learner.last_learned, self.learner.last_held_out
        if learned is not None:
            values |= {k: v for k, v in model_update.bound_values(learned).items() if "rows" in k}
            values["sigma_w"] = np.array2string(np.asarray(learned.sigma_w), precision=4)
        if factor is not None:
            values["held_out_factor"] = np.array2string(factor, precision=3)
        level, message = msg.OK, "prior or last model kept"
        if model.tighter_than(self.published):
            reason = model_update.rejection(model, self.published)
            if reason:
                level, message = msg.WARN, f"model withheld: {reason}"
                self.log.warning(message)
            else:
                self.published = model
                self.model_pub.publish(model_update.encode(t, model))
                self.log.info(f"published tighter model: eps_A {model.eps_A:.4f}")
                message = "model published"
        self._diagnose(t, level, message, values)

    def _diagnose(self, t: float, level: int, message: str, values: dict[str, str]) -> None:
        status = msg.diagnostics(
            t, statuses.FIT_STATUS, level, message, values, self.car.hardware_id
        )
        self.diag_pub.publish(status)


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros estimator_node`."""
    from ..runtime.ros import spin

    spin("estimator", EstimatorNode, args)
