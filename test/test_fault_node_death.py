"""Node death: the controller dies, the sim's command watchdog brakes the car to a stop
inside the safe set, and a restarted controller drives on from standstill.

In process (lockstep, deterministic) the controller is destroyed where a stop is hardest
on the oval (test/ros/test_ros_node_death.py kills its ROS 2 process in real time).
While the car stops and speeds up again the lower speed bound of the safe set is a
standing car (`violations(..., speed_floor)`); every other bound holds throughout.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_fault_solver import CAR, Probe, violations

from safe_control_ros.launcher import CONFIG, parameters
from safe_control_ros.nodes.controller_node import ControllerNode
from safe_control_ros.nodes.sim_node import SimNode
from safe_control_ros.nodes.statuses import PLANNER_STATUS
from safe_control_ros.runtime.inprocess import Runtime
from safe_control_ros.sim.config import SimConfig

SIM = SimConfig.from_yaml(CONFIG / "car.yaml")
STOPPED = 0.05  # m/s: a standing car
# s: braking from the reference speed at decel_max, plus the drive's lag
BRAKING = SIM.reference_speed / SIM.decel_max + 0.1


def _back_in_band(lanes: np.ndarray, start: int) -> int:
    """Index of the first row from `start` with the speed back within the safe set."""
    inside = np.flatnonzero(lanes[start:, 3] >= -CAR.e_v_max)
    assert inside.size, "the car never got back to speed"
    return start + int(inside[0])


@pytest.mark.parametrize(
    ("kill", "resume"),
    [(7.0, "drives"), (10.0, "stands"), (20.5, None)],
    ids=["mid-arc", "0.44 m before an arc ends", "0.13 m before an arc ends"],
)
def test_watchdog_stops_the_car_and_a_new_controller_resumes(kill, resume):
    """The controller stops after its command at `kill` s; a new one starts 2 s later.
    The stop holds the arc's steering past its end: 0.44 m before the end it leaves the car
    at e_psi = 0.23 rad, from where no robust plan exists: the new controller keeps it
    standing in the lane (the certified stop, at rest) and says why; 0.13 m before the end
    it leaves the car at |e_psi| = 0.334 rad, |e_y| = 0.161 m heading out (`resume` None:
    the stop only)."""
    params = parameters(CONFIG / "car.yaml", "oval")
    runtime = Runtime(params)
    sim = SimNode(runtime.create_node("sim"))
    node = runtime.create_node("controller")
    ControllerNode(node)
    probe = Probe(runtime.create_node("probe"))
    braking: list[float] = []  # sim times of ticks with the watchdog tripped
    watch = runtime.create_node("watch")
    watch.create_timer(
        SIM.control_period, lambda: sim.world.watchdog_tripped and braking.append(sim.world.time)
    )
    try:
        runtime.spin_until(kill)
        node.destroy_node()  # the controller dies after its command at `kill`
        killed = len(probe.lanes)
        runtime.spin_until(kill + 2.0)
        restarted = len(probe.lanes)
        if resume:
            ControllerNode(runtime.create_node("controller"))
            runtime.spin_until(kill + 8.0)
    finally:
        sim.destroy()
    lanes = np.array(probe.lanes)
    speed = SIM.reference_speed + lanes[:, 3]
    stop = killed + int(np.argmax(speed[killed:] < STOPPED))
    onset = braking[0] - kill  # from the last command, to the end of the sim tick
    assert SIM.watchdog_timeout < onset <= SIM.watchdog_timeout + SIM.control_period + 1e-9
    standstill = (stop + 1) * SIM.control_period - kill
    assert standstill <= onset + BRAKING
    assert np.all(speed[stop:restarted] < STOPPED)  # it stays stopped while no controller runs
    floor = np.zeros(len(lanes), bool)
    floor[killed:] = True
    if resume == "drives":
        back = _back_in_band(lanes, restarted)
        assert (back - restarted) * SIM.control_period <= 2.5  # ramp at resume_accel 0.5 m/s^2
        floor[back:] = False
        statuses = [m for t, _, m, _ in probe.diags[PLANNER_STATUS] if t >= (back + 1) / 10]
        assert statuses and set(statuses) == {"optimal"}
    if resume == "stands":
        after = [(m, v) for t, _, m, v in probe.diags[PLANNER_STATUS] if t > kill + 2.0]
        assert after and {m for m, _ in after} == {"stop"}
        assert all(float(v["stop_margin"]) >= 0.0 for _, v in after)
        assert after[-1][1]["reason"] == "no plan: infeasible"
        assert np.all(speed[restarted:] < STOPPED)
    assert violations(lanes, speed_floor=floor) == 0
    print(f"\nkill at {kill} s: brake onset {onset:.2f} s, standstill {standstill:.2f} s")
