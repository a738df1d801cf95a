"""Transitions for the estimator, paired by stamp: whatever order the lane states and the
inputs arrive in, a transition joins a state, the input that answered it and the next
state one sample time later, each once; lost or late messages never join states that are
not one step apart."""

import numpy as np

from safe_control_ros.nodes.transitions import Transitions

DT = 0.1


def _x(k: int) -> np.ndarray:
    return np.full(3, float(k))


def _u(k: int) -> np.ndarray:
    return np.full(2, 10.0 + k)


def _pairs(found) -> list[tuple[float, float, float]]:
    return [(x[0], u[0], x_next[0]) for x, u, x_next in found]


def test_in_order_each_state_closes_the_previous_transition():
    pairing, found = Transitions(DT), []
    for k in range(4):
        found += pairing.add_state(k * DT, _x(k))
        found += pairing.add_input(k * DT, _u(k))
    assert _pairs(found) == [(0, 10, 1), (1, 11, 2), (2, 12, 3)]


def test_inputs_that_arrive_after_the_next_state_still_pair():
    pairing, found = Transitions(DT), []
    for k in range(4):  # the input of step k arrives after the state of step k + 1
        found += pairing.add_state(k * DT, _x(k))
        if k:
            found += pairing.add_input((k - 1) * DT, _u(k - 1))
    assert _pairs(found) == [(0, 10, 1), (1, 11, 2), (2, 12, 3)]


def test_a_state_arriving_after_its_successor_pairs_both_ways():
    pairing = Transitions(DT)
    pairing.add_input(0.0, _u(0))
    pairing.add_input(DT, _u(1))
    assert pairing.add_state(DT, _x(1)) == []
    assert pairing.add_state(2 * DT, _x(2)) != []  # 1 -> 2
    assert _pairs(pairing.add_state(0.0, _x(0))) == [(0, 10, 1)]  # late: 0 -> 1


def test_a_lost_state_joins_nothing_across_the_gap():
    pairing, found = Transitions(DT), []
    for k in (0, 1, 3, 4):  # the state of step 2 is lost
        found += pairing.add_state(k * DT, _x(k))
        found += pairing.add_input(k * DT, _u(k))
    assert _pairs(found) == [(0, 10, 1), (3, 13, 4)]


def test_unusable_states_duplicates_and_second_inputs_are_left_out():
    pairing, found = Transitions(DT), []
    found += pairing.add_state(0.0, _x(0))
    found += pairing.add_input(0.0, _u(0))
    found += pairing.add_input(0.0, _u(7))  # a second input for the same state: ignored
    found += pairing.add_state(DT, None)  # outside the model's region
    found += pairing.add_input(DT, _u(1))
    found += pairing.add_state(2 * DT, _x(2))
    found += pairing.add_state(2 * DT, _x(9))  # the same stamp again: ignored
    found += pairing.add_input(2 * DT, _u(2))
    found += pairing.add_state(3 * DT, _x(3))
    assert _pairs(found) == [(2, 12, 3)]


def test_memory_is_bounded():
    pairing = Transitions(DT, keep=8)
    for k in range(100):
        pairing.add_state(k * DT, _x(k))
        pairing.add_input(k * DT, _u(k))
    assert len(pairing.states) <= 8 and len(pairing.inputs) <= 8
