"""Transitions (x, u, x+) from stamped lane states and control inputs, paired by stamp.

A control input carries the stamp of the lane state it answers; x+ is the next lane state
by stamp, and only if it follows one sample time later (within half a sample time): a
lost or late message never joins two states that are not one model step apart, however
the messages arrive.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

import numpy as np

Transition = tuple[np.ndarray, np.ndarray, np.ndarray]


class Transitions:
    """Collects stamped states and inputs; `add_state` and `add_input` return the
    transitions each completes, every transition once."""

    def __init__(self, sample_time: float, keep: int = 64) -> None:
        self.sample_time = sample_time  # s
        self.keep = keep  # states and inputs remembered
        self.states: dict[int, np.ndarray | None] = {}  # stamp (ns): state, None if unusable
        self.inputs: dict[int, np.ndarray] = {}  # stamp of the state it answers (ns): input

    def add_state(self, stamp: float, x: np.ndarray | None) -> list[Transition]:
        """A lane state stamped `stamp` (s); None for one that must not enter a transition
        (outside the region where the model holds)."""
        ns = _ns(stamp)
        if ns in self.states:
            return []
        self.states[ns] = x
        _prune(self.states, self.keep)
        earlier = [t for t in self.states if t < ns]
        found = [self._transition(max(earlier))] if earlier else []
        later = [t for t in self.states if t > ns]  # x arrived after its successor
        found += [self._transition(ns)] if later else []
        return [t for t in found if t is not None]

    def add_input(self, stamp: float, u: np.ndarray) -> list[Transition]:
        """The input (m,) that answered the lane state stamped `stamp` (s); the first one
        for a stamp counts."""
        ns = _ns(stamp)
        if ns in self.inputs:
            return []
        self.inputs[ns] = u
        _prune(self.inputs, self.keep)
        found = self._transition(ns)
        return [] if found is None else [found]

    def _transition(self, ns: int) -> Transition | None:
        """The transition from the state stamped `ns`, if it and its input and successor
        are there and the successor is one sample time later; consumes the input."""
        x, u = self.states.get(ns), self.inputs.get(ns)
        later = [t for t in self.states if t > ns]
        if x is None or u is None or not later:
            return None
        successor = min(later)
        gap = (successor - ns) * 1e-9
        x_next = self.states[successor]
        if x_next is None or abs(gap - self.sample_time) > 0.5 * self.sample_time:
            return None
        del self.inputs[ns]
        return x, u, x_next


def _ns(stamp: float) -> int:
    return round(stamp * 1e9)


def _prune(entries: MutableMapping[int, Any], keep: int) -> None:
    """Drop the oldest entries beyond `keep`."""
    for stamp in sorted(entries)[:-keep]:
        del entries[stamp]
