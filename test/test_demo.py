"""The README's demo, shortened: it runs end to end and reports zero violations."""

from safe_control_ros.demo import main


def test_demo_runs_and_reports_zero_violations(tmp_path, capsys):
    assert main(["--out", str(tmp_path), "--duration", "8", "--learning", "4"]) == 0
    report = (tmp_path / "report.md").read_text()
    rows = [line.split("|") for line in report.splitlines() if line.startswith("| ")]
    header, learning, operation = rows[0], rows[1], rows[2]
    column = [c.strip() for c in header].index("violations")
    assert learning[column].strip() == operation[column].strip() == "0"
    assert int(learning[[c.strip() for c in header].index("steps")]) > 30
    for plot in ("trajectory", "margins", "eps", "solve_times"):
        assert (tmp_path / f"{plot}.png").stat().st_size > 1000
    assert any((tmp_path / "log").glob("*.mcap"))
    assert "report:" in capsys.readouterr().out
    assert (  # the demo starts from the physics prior (config/prior_physics.yaml)
        "Model-error bounds per row (e_y, e_psi, e_v): prior eps_A (0.0314, 0.122, 0.183), "
        "eps_B (0.00921, 0.0382, 0.144); no learned model tighter yet." in report
    )
