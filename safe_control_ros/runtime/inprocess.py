"""A deterministic in-process runtime: every node in one process, lockstep with a
simulated clock. Offers the subset of `rclpy.node.Node` the nodes use.

Timers fire in order of due time (ties: order of scheduling); the clock jumps from one due
time to the next, so a run is reproducible bit for bit and as fast as the callbacks.
Published messages are queued and delivered (reliably, in order) after the callback that
published them returns, as an executor would. A transient-local publisher's last message
is delivered to a transient-local subscription created later, as DDS does.
"""

from __future__ import annotations

import heapq
import itertools
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..paramfile import node_parameters
from .node_base import NodeBase, TimePoint, Timer, transient_local


class Clock:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def now(self) -> TimePoint:
        return TimePoint(self._runtime.now_ns)


class Publisher:
    def __init__(self, runtime: Runtime, topic: str, latched: bool) -> None:
        self._runtime, self.topic, self.latched = runtime, topic, latched

    def publish(self, msg) -> None:
        self._runtime._enqueue(self.topic, msg)
        if self.latched:
            self._runtime._latched[self.topic] = msg

    def get_subscription_count(self) -> int:
        return len(self._runtime._subscribers.get(self.topic, ()))


@dataclass(frozen=True)
class Subscription:
    runtime: Runtime
    topic: str
    callback: Callable

    def get_publisher_count(self) -> int:
        return self.runtime._publishers[self.topic]


class Node(NodeBase):
    """One node of the in-process graph (the subset of rclpy.node.Node we use)."""

    LOCKSTEP = True  # simulated time stands still while a callback runs
    MESSAGE_INFO = False  # subscription callbacks get the message only (rclpy's: and its info)

    def __init__(self, runtime: Runtime, name: str, overrides: dict[str, Any]) -> None:
        super().__init__(name, overrides)
        self._runtime = runtime
        self._subscriptions: list[Subscription] = []
        self._timers: list[Timer] = []

    def get_clock(self) -> Clock:
        return Clock(self._runtime)

    def create_publisher(self, msg_type: type, topic: str, qos: Any = None) -> Publisher:
        self._runtime._publishers[topic] += 1
        return Publisher(self._runtime, topic, transient_local(qos))

    def create_subscription(
        self, msg_type: type, topic: str, callback: Callable, qos: Any = None
    ) -> Subscription:
        entry = Subscription(self._runtime, topic, callback)
        self._subscriptions.append(entry)
        self._runtime._subscribers.setdefault(topic, []).append(callback)
        if transient_local(qos) and topic in self._runtime._latched:
            self._runtime._queue.append((callback, self._runtime._latched[topic]))
        return entry

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        timer = self._make_timer(period_s, callback)
        self._timers.append(timer)
        self._runtime._schedule(timer, self._runtime.now_ns + timer.period_ns)
        return timer

    def destroy_node(self) -> None:
        for timer in self._timers:
            timer.cancel()
        for entry in self._subscriptions:
            self._runtime._subscribers[entry.topic].remove(entry.callback)
        self._subscriptions.clear()


class Runtime:
    """The graph, the executor and the simulated clock of one in-process run.

    `parameters` maps node name -> {parameter: value}, as `paramfile.load_parameter_file`
    returns; the `/**` section applies to every node."""

    def __init__(self, parameters: dict[str, dict[str, Any]] | None = None) -> None:
        self.now_ns = 0
        self._parameters = parameters or {}
        self._subscribers: dict[str, list[Callable]] = {}
        self._publishers: Counter[str] = Counter()  # topic: publishers created
        self._queue: deque[tuple[Callable, Any]] = deque()  # (subscription callback, msg)
        self._latched: dict[str, Any] = {}  # topic: last message of a transient-local publisher
        self._timers: list[tuple[int, int, Timer]] = []
        self._order = itertools.count()
        self._nodes: list[Node] = []

    def create_node(self, name: str) -> Node:
        node = Node(self, name, node_parameters(self._parameters, name))
        self._nodes.append(node)
        return node

    def check_parameters(self) -> None:
        """Raise ValueError for parameters of a node's own section that it did not declare
        (typos), once all nodes are built; rclpy would silently ignore them."""
        for node in self._nodes:
            node._check_parameters(self._parameters.get(node.get_name(), {}))

    @property
    def now(self) -> float:
        """Simulated time, s."""
        return self.now_ns * 1e-9

    def spin_until(self, t_end: float) -> None:
        """Fire every timer due up to t_end (s), delivering messages after each callback."""
        end_ns = round(t_end * 1e9)
        while self._timers and self._timers[0][0] <= end_ns:
            due, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.now_ns = due
            self._schedule(timer, due + timer.period_ns)
            timer.callback()
            self._deliver()
        self.now_ns = max(self.now_ns, end_ns)

    def _schedule(self, timer: Timer, due_ns: int) -> None:
        heapq.heappush(self._timers, (due_ns, next(self._order), timer))

    def _enqueue(self, topic: str, msg: Any) -> None:
        """Queue `msg` for the subscriptions `topic` has now (later ones do not get it)."""
        for callback in self._subscribers.get(topic, ()):
            self._queue.append((callback, msg))

    def _deliver(self) -> None:
        while self._queue:
            callback, msg = self._queue.popleft()
            callback(msg)
