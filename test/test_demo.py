"""The README's demo, shortened: it runs end to end and reports zero violations."""

import numpy as np

from safe_control_ros.control.loop import LoopLog
from safe_control_ros.control.model import SafeSet
from safe_control_ros.control.polytope import Polytope
from safe_control_ros.demo import main
from safe_control_ros.report import _reference_line, usage


def test_demo_runs_and_reports_zero_violations(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--duration", "8", "--learning", "4"]) == 0
    report = (tmp_path / "report.md").read_text()
    rows = [line.split("|") for line in report.splitlines() if line.startswith("| ")]
    header, learning, operation = rows[0], rows[1], rows[2]
    column = [c.strip() for c in header].index("violations")
    assert learning[column].strip() == operation[column].strip() == "0"
    assert int(learning[[c.strip() for c in header].index("steps")]) > 30
    use = [c.strip() for c in header].index("safe-set use")
    assert 0 < float(learning[use]) < 1 and 0 < float(operation[use]) < 1
    for plot in ("trajectory", "margins", "eps", "task", "solve_times"):
        assert (tmp_path / f"{plot}.png").stat().st_size > 1000
    assert any((tmp_path / "log").glob("*.mcap"))
    assert "report:" in capsys.readouterr().out
    assert (  # the demo starts from the physics prior (config/prior_physics.yaml)
        "Model-error bounds per row (e_y, e_psi, e_v): prior eps_A (0.0314, 0.122, 0.183), "
        "eps_B (0.00921, 0.0382, 0.144); no learned model tighter yet." in report
    )
    # asked for the lane-edge task (0.24 m), the physics prior certifies only the centre
    assert "Lateral reference in use (chosen from what the bounds certify): 0 m from 0 s." in report


def test_safe_set_use_is_the_largest_share_of_a_constraint():
    box = SafeSet(state=Polytope.box([0.25, 0.35, 0.5]), inputs=Polytope.box([0.2, 2.0]))
    states = np.array([[0.0, 0.0, 0.0], [0.25, 0.0, 0.0], [0.1, -0.175, 0.05], [0, 0, -0.6]])
    np.testing.assert_allclose(usage(box, states), [0.0, 1.0, 0.5, 1.2])


def test_the_reference_line_lists_each_change_with_its_time():
    refs = [np.array([v, 0.0, 0.0]) for v in (0.0, 0.0, 0.048, 0.048, 0.12)]
    line = _reference_line(LoopLog(references=refs), period=10.0)
    assert line.endswith(": 0 m from 0 s, 0.048 m from 20 s, 0.12 m from 40 s.")
