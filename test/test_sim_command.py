"""The command input stage: saturation, rejection of non-finite values, watchdog."""

import logging
import math

import pytest

from safe_control_ros.sim.command import CommandGate


@pytest.fixture
def gate() -> CommandGate:
    return CommandGate(steering_limit=0.35, accel_max=2.0, decel_max=3.0, watchdog_timeout=0.5)


def test_in_range_command_applied_unchanged(gate):
    assert gate.submit(0.1, -1.0, time=0.0) == ""
    assert gate.in_force(0.1) == (0.1, -1.0)
    assert (gate.stats.accepted, gate.stats.saturated, gate.stats.rejected) == (1, 0, 0)


def test_out_of_range_command_saturated_and_counted(gate):
    reason = gate.submit(0.8, -7.0, time=0.0)
    assert "steering 0.8 saturated to 0.35" in reason
    assert "accel -7.0 saturated to -3.0" in reason
    assert gate.in_force(0.0) == (0.35, -3.0)
    gate.submit(-1.0, 0.0, time=0.1)
    gate.submit(0.0, 0.0, time=0.2)
    assert (gate.stats.accepted, gate.stats.saturated) == (3, 2)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_command_rejected_and_logged(gate, bad, caplog):
    gate.submit(0.1, 0.5, time=0.0)
    with caplog.at_level(logging.WARNING, logger="safe_control_ros.sim.command"):
        reason = gate.submit(bad, 0.0, time=0.1)
    assert reason.startswith("rejected") and f"steering={bad}" in reason
    assert reason in caplog.text
    assert gate.in_force(0.1) == (0.1, 0.5)  # previous command kept
    assert (gate.stats.accepted, gate.stats.rejected) == (1, 1)


def test_watchdog_brakes_after_timeout_and_rearms(gate):
    gate.submit(0.2, 1.0, time=1.0)
    assert not gate.watchdog_tripped(1.5)
    gate.submit(math.nan, 1.0, time=1.4)  # a rejected command does not feed the watchdog
    assert gate.watchdog_tripped(1.51)
    assert gate.in_force(1.51) == (0.2, -3.0)  # steering kept, full braking
    gate.submit(0.0, 0.5, time=2.0)
    assert not gate.watchdog_tripped(2.0)
    assert gate.in_force(2.0) == (0.0, 0.5)
