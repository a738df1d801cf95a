"""The coverage study of the learner's bounds (sim.bound_coverage)."""

import numpy as np
import pytest

from safe_control_ros.control.instances import lane_keeping
from safe_control_ros.sim import bound_coverage
from safe_control_ros.sim.bound_coverage import run_coverage


@pytest.fixture(scope="module")
def linear_run(collect_once):
    """6,000 steps of a linear plant with bounded i.i.d. noise, where the long-run fit is
    the truth and the bounds' assumptions hold."""
    inst = lane_keeping(sigma_w=0.005)
    X, U, _ = collect_once(inst, 6000, seed=11)
    return inst, X, U


@pytest.mark.parametrize("row_wise", [False, True])
@pytest.mark.parametrize("bound", ["bootstrap", "wild-bootstrap"])
def test_bounds_cover_the_long_run_fit_of_a_linear_plant(linear_run, bound, row_wise):
    inst, X, U = linear_run
    c = run_coverage(
        inst.model, X, U, 600, delta=0.05, bound=bound, disturbance="held-out", row_wise=row_wise
    )
    assert c.windows == 10
    assert c.long_run >= 0.8  # 10 windows at 1 - delta = 0.95: 0.8 is 2.3 sd below
    assert c.sigma_w == pytest.approx(np.full(3, 0.005), rel=0.25)


def test_learned_models_explain_the_next_windows_of_a_linear_plant(linear_run):
    """Where the assumptions hold, the model learned from one window explains the five
    after it (the car's own data do not: see the README)."""
    inst, X, U = linear_run
    held = run_coverage(inst.model, X, U, 600, disturbance="held-out")
    in_sample = run_coverage(inst.model, X, U, 600, disturbance="in-sample")
    assert held.future == 1.0
    assert np.all(held.sigma_w >= in_sample.sigma_w)


def test_command_line_prints_a_row_per_learner(capsys):
    bound_coverage.main(["--duration", "40", "--window", "100"])
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 1 + len(bound_coverage.LEARNERS)
    assert all(row.startswith("as configured") for row in rows[1:])
