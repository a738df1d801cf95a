"""A node that records what the demo reports: lane state, applied input, controller and
estimator diagnostics, as a `LoopLog` in physical units."""

from __future__ import annotations

import numpy as np

from .control.loop import LoopLog
from .nodes import statuses
from .nodes.model_update import parse_rows
from .runtime import messages as msg
from .sim.config import CarModelConfig
from .sim.lane_model import input_scale


class Monitor:
    def __init__(self, node, car: CarModelConfig) -> None:
        self.input_scale = input_scale(car)
        self.log = LoopLog()
        node.create_subscription(msg.LaneState, "/lane_state", self.on_lane)
        node.create_subscription(msg.ControlInput, "/controller/input", self.on_input)
        node.create_subscription(msg.DiagnosticArray, "/diagnostics", self.on_diagnostics)

    def on_lane(self, lane) -> None:
        self.log.states.append(np.array([lane.e_y, lane.e_psi, lane.e_v]))

    def on_input(self, u) -> None:
        self.log.inputs.append(np.array([u.steering, u.acceleration]) * self.input_scale)

    def on_diagnostics(self, diag) -> None:
        for status in diag.status:
            values = {kv.key: kv.value for kv in status.values}
            if status.name == statuses.PLANNER_STATUS and "solve_time_ms" in values:
                self.log.statuses.append(status.message)
                self.log.solve_times.append(float(values["solve_time_ms"]) * 1e-3)
                self.log.learning.append(values["learning"] == "True")
                self.log.references.append(parse_rows(values["x_ref"]))
            elif status.name == statuses.FIT_STATUS and "eps_A" in values:
                entry = (int(values["samples"]), float(values["eps_A"]), float(values["eps_B"]))
                self.log.eps.append(entry)
            elif status.name == statuses.MODEL_STATUS and status.message == "model accepted":
                rows = (parse_rows(values["eps_A_rows"]), parse_rows(values["eps_B_rows"]))
                self.log.models.append((msg.seconds(diag.header.stamp), *rows))

    def aligned(self) -> LoopLog:
        """The log trimmed so that states (k+1), inputs and records (k) line up."""
        k = min(len(self.log.inputs), len(self.log.statuses), len(self.log.states) - 1)
        log = self.log
        return LoopLog(
            states=log.states[: k + 1],
            inputs=log.inputs[:k],
            statuses=log.statuses[:k],
            solve_times=log.solve_times[:k],
            learning=log.learning[:k],
            eps=log.eps,
            models=log.models,
            references=log.references[:k],
        )
