"""Controller node: robust SLS receding horizon on the lane-frame state.

Subscribes /lane_state (Float64MultiArray, layouts.LANE_STATE) and /model (layouts.MODEL,
from the estimator). Every control period it publishes /drive (AckermannDriveStamped:
steering = feed-forward atan(L kappa) + feedback, acceleration), /cmd_vel (TwistStamped,
for robots that take velocity commands), /controller/input (layouts.CONTROL_INPUT, the
feedback input in controller coordinates), /plan (nav_msgs/Path of the nominal plan in
the lane frame: x = arc length ahead, y = e_y) and /diagnostics (solve time, status, tau,
margins). During the first `learning_duration` s it adds bounded excitation and plans for
it. A state older than `state_timeout` gets no command (the car's watchdog brakes).
Parameters: `controller` section (ControllerConfig) and `/**: car_model.*`.
"""

from __future__ import annotations

import math

import numpy as np

from ..control.excitation import Excitation
from ..control.fast_sls import FastRobustSLS
from ..control.model import UncertainModel
from ..control.plan import Plan
from ..control.receding import ControlStep, Planner, RecedingHorizon
from ..control.sls import RobustSLS
from ..runtime import messages as msg
from ..runtime.parameters import declare_config
from ..sim.config import CarModelConfig
from ..sim.lane_model import controller_instance, input_scale, steering_feedforward
from . import layouts
from .controller_config import ControllerConfig
from .qos import RELIABLE, SENSOR_DATA

OK, WARN, ERROR = 0, 1, 2  # diagnostic_msgs/DiagnosticStatus levels


class ControllerNode:
    def __init__(self, node) -> None:
        self.node = node
        self.config = declare_config(node, ControllerConfig)
        self.car = declare_config(node, CarModelConfig)
        self.log = node.get_logger()
        self.instance = controller_instance(self.car, self.config.sigma_eta)
        self.state_scale = np.asarray(self.car.state_scale)
        self.input_scale = input_scale(self.car)
        self.x_ref = np.asarray(self.config.x_ref) / self.state_scale
        self.model = self.instance.model
        self.learning = self.config.learning_duration > 0
        self.excitation = Excitation(self.instance.sigma_eta, self.config.seed)
        self.controller = RecedingHorizon(
            self._problem(), excitation=self.excitation if self.learning else None
        )
        self.lane: np.ndarray | None = None  # latest /lane_state values
        self.lane_time = -math.inf  # s, when it arrived
        self.start: float | None = None  # s, time of the first control tick

        self.drive_pub = node.create_publisher(msg.AckermannDriveStamped, "/drive", RELIABLE)
        self.twist_pub = node.create_publisher(msg.TwistStamped, "/cmd_vel", RELIABLE)
        self.input_pub = node.create_publisher(msg.Float64MultiArray, "/controller/input", RELIABLE)
        self.plan_pub = node.create_publisher(msg.Path, "/plan", RELIABLE)
        self.diag_pub = node.create_publisher(msg.DiagnosticArray, "/diagnostics", RELIABLE)
        node.create_subscription(msg.Float64MultiArray, "/lane_state", self.on_lane, SENSOR_DATA)
        node.create_subscription(msg.Float64MultiArray, "/model", self.on_model, RELIABLE)
        node.create_timer(self.config.control_period, self.on_tick)

    def _problem(self) -> Planner:
        """The robust SLS problem for the current model: the fast formulation (response
        library built here, a small QP per step) or the generic reference."""
        inst = self.instance
        sigma_eta = inst.sigma_eta if self.learning else 0.0
        args = (self.model, inst.safe_set, inst.Q, inst.R, self.config.horizon, sigma_eta)
        if self.config.formulation == "fast":
            return FastRobustSLS(*args, tau=self.config.tau, design_ref=self.x_ref)
        return RobustSLS(*args, tau=self.config.tau)

    def now(self) -> float:
        return self.node.get_clock().now().nanoseconds * 1e-9

    def on_lane(self, lane) -> None:
        values = np.asarray(lane.data, dtype=float)
        if values.shape != (len(layouts.LANE_STATE),) or not np.all(np.isfinite(values)):
            self.log.error(f"/lane_state: expected {len(layouts.LANE_STATE)} finite values")
            return
        self.lane, self.lane_time = values, self.now()

    def on_model(self, model) -> None:
        """Switch to a new model estimate (A, B, eps in controller coordinates)."""
        values = np.asarray(model.data, dtype=float)
        try:
            self.model = UncertainModel(
                values[:9].reshape(3, 3), values[9:15].reshape(3, 2), *values[15:18]
            )
        except ValueError as err:
            self.log.error(f"/model rejected: {err}")
            return
        self.controller.set_problem(self._problem())
        self.log.info(f"model: eps_A {self.model.eps_A:.4f}, eps_B {self.model.eps_B:.4f}")

    def on_tick(self) -> None:
        t = self.now()
        if self.start is None:
            self.start = t  # ROS time need not start at 0
        if self.learning and t - self.start >= self.config.learning_duration:
            self.learning = False
            self.controller.excitation = None
            self.controller.set_problem(self._problem())
            self.log.info("learning phase over: excitation off")
        if self.lane is None or t - self.lane_time > self.config.state_timeout:
            self._diagnose(t, ERROR, "no recent /lane_state: no command", None)
            return
        s, e_y, e_psi, e_v, curvature = self.lane
        step = self.controller.step(np.array([e_y, e_psi, e_v]) / self.state_scale, self.x_ref)
        steering_fb, accel = step.u * self.input_scale
        steering = steering_feedforward(curvature, self.car.wheelbase) + steering_fb
        speed = self.car.speed + e_v
        self.drive_pub.publish(msg.ackermann(t, steering, accel, speed))
        yaw_rate = speed * math.tan(steering) / self.car.wheelbase
        self.twist_pub.publish(msg.twist_stamped(t, "base_link", speed, yaw_rate))
        self.input_pub.publish(msg.array(step.u, layouts.CONTROL_INPUT))
        if step.plan is not None:
            self.plan_pub.publish(self._path(t, s, step.plan, step.plan_step))
        level = OK if step.status == "optimal" else (WARN if step.status == "fallback" else ERROR)
        self._diagnose(t, level, step.status, step)

    def _path(self, t: float, s: float, plan: Plan, plan_step: int):
        """The rest of the nominal plan as a path in the lane frame (x: arc length, y: e_y)."""
        dt, v = self.config.control_period, self.car.speed
        z = plan.z[plan_step:] * self.state_scale
        poses = [
            msg.pose_stamped(t + k * dt, "lane", s + v * k * dt, zk[0], zk[1])
            for k, zk in enumerate(z)
        ]
        return msg.Path(header=msg.header(t, "lane"), poses=poses)

    def _diagnose(self, t: float, level: int, message: str, step: ControlStep | None) -> None:
        values = {"status": message}
        if step is not None:
            values |= {
                "solve_status": step.solve_status,
                "solve_time_ms": f"{1e3 * step.solve_time:.2f}",
                "plan_step": str(step.plan_step),
                "learning": str(self.learning),
            }
            if step.certificate is not None:
                c = step.certificate
                values |= {
                    "tau": f"{c.tau:.3f}",
                    "state_margin": f"{c.state_margin:.4f}",
                    "input_margin": f"{c.input_margin:.4f}",
                }
        self.diag_pub.publish(msg.diagnostics(t, "controller", level, message, values))


def main(args: list[str] | None = None) -> None:
    """Entry point for `ros2 run safe_control_ros controller_node`."""
    from ..runtime.ros import spin

    spin("controller", ControllerNode, args)
