"""The lane-edge task (edge_task) on the simulated car: from the physics prior the learning
controller keeps the lane with a plan at every step, at the offset its bounds certify (the
centre, then off it once a learned model is in use); the certainty-equivalent controller,
on a model learned from the car's data, drives at the edge and leaves the lane in 30 s."""

import numpy as np
import pytest
from test_trusted_stop import LEARNED

from safe_control_ros import edge_task
from safe_control_ros.control.model import UncertainModel
from safe_control_ros.edge_task import (
    TaskRun,
    graph_params,
    run_certainty_equivalent,
    run_graph,
)
from safe_control_ros.launcher import CONFIG
from safe_control_ros.sim.config import CarModelConfig

OFFSET = 0.24  # m, 1 cm inside the lane's e_y_max
CAR = CarModelConfig.from_yaml(CONFIG / "car.yaml")


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_learning_from_the_physics_prior_moves_the_car_towards_the_edge_safely():
    """The prior certifies only the centre; the first learned model (at 40 s) certifies an
    offset, and the car drives there; a plan at every step, no violation."""
    run = run_graph(graph_params(OFFSET, "physics", 60.0), 60.0, OFFSET)
    assert run.violations == 0
    assert run.steps_without_plan == 0
    assert run.offset[0] == 0.0  # the prior certifies no offset: the centre
    assert run.cost[0] == pytest.approx(OFFSET, abs=0.02)
    assert run.offset[1] > 0.0  # measured: 0.048 m
    assert run.cost[1] < run.cost[0] - 0.03  # measured: 0.196 against 0.239


def test_certainty_equivalent_on_the_learned_model_leaves_the_lane():
    centre = UncertainModel(A=LEARNED.A, B=LEARNED.B, sigma_w=LEARNED.sigma_w)
    run = run_certainty_equivalent(centre, 30.0, OFFSET)
    assert run.cost[0] < 0.03  # it does drive at the edge
    assert run.violations > 0


def test_the_table_lists_every_controller(monkeypatch, capsys):
    run = TaskRun(np.array([0.2, 0.1]), np.array([1.5, 1.4]), np.array([0.0, 0.1]), 3, 7, None)
    monkeypatch.setattr(edge_task, "run_task", lambda *args: {"learning": run, "other": run})
    edge_task.main(["--duration", "60"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[1:] == ["30s", "60s", "violations", "without", "plan"]
    assert lines[1].split() == ["learning", "|e_y-ref|", "m", "0.200", "0.100", "3", "7"]
    assert lines[2].split() == ["learning", "speed", "m/s", "1.500", "1.400"]
    assert lines[6].split() == ["other", "offset", "m", "0.000", "0.100"]
