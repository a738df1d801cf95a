"""Shared seeded data for the control tests (the slow groups' sizes: slow_groups.py)."""

from __future__ import annotations

import numpy as np
import pytest

from safe_control_ros.control.excitation import excited_linear_policy
from safe_control_ros.control.instances import Instance
from safe_control_ros.control.lqr import lqr

try:  # test/ros runs under rclpy (`make test` runs it with the ROS 2 environment's Python)
    import rclpy  # noqa: F401
except ImportError:
    collect_ignore = ["ros"]


def _collect(inst: Instance, steps: int, seed: int, sigma_eta=(0.1, 0.5)):
    """One closed-loop trajectory of the instance's nominal model under LQR + excitation,
    uniform noise |w_i| <= sigma_w. Returns states (steps+1, n), inputs (steps, m), policy."""
    A, B, sw = inst.model.A, inst.model.B, inst.model.sigma_w
    policy = excited_linear_policy(-lqr(A, B, inst.Q, inst.R).K, np.array(sigma_eta))
    rng = np.random.default_rng(seed)
    x = np.zeros((1, A.shape[0]))
    states, inputs = [x[0]], []
    for _ in range(steps):
        u = policy(x, rng)
        x = x @ A.T + u @ B.T + rng.uniform(-sw, sw, size=x.shape)
        states.append(x[0])
        inputs.append(u[0])
    return np.array(states), np.array(inputs), policy


@pytest.fixture
def collect():
    """The trajectory generator `_collect`."""
    return _collect


@pytest.fixture(scope="module")
def collect_once():
    """`_collect`, for module-scoped fixtures."""
    return _collect
