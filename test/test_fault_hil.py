"""Hardware-in-the-loop, short: the sim in real time in its own process, the stack in
others over DDS, a busy process competing for the CPU (`bench/hil.py` has the long run
and the definitions). The car must stay in its safe set and the latency and deadline
figures must be recorded."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
from test_runtime_dds import LOOPBACK, _domain

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("hil", ROOT / "bench" / "hil.py")
hil = sys.modules["hil"] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(hil)


def test_realtime_graph_under_cpu_load_stays_safe_and_reports_latency(tmp_path, monkeypatch):
    monkeypatch.setenv("CYCLONEDDS_URI", LOOPBACK)
    monkeypatch.setenv("ROS_DOMAIN_ID", str(_domain(1)))
    result = hil.run(duration=40.0, load=1, log_dir=tmp_path)
    print("\n" + result.table())
    assert result.violations == 0
    assert result.duration > 35.0 and result.load_cpu > 0.3  # the load competed
    assert result.periods >= 350 and result.commands >= 0.9 * result.periods
    assert len(result.latency) >= 0.9 * result.commands
    assert np.all(result.latency > 0.0) and np.median(result.latency) < 0.25
    assert 0 <= result.missed < result.periods and len(result.tick_delay) == result.commands
