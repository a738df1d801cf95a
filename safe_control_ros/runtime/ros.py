"""Running the nodes under ROS 2 (rclpy): the `ros2 run` entry points, one node per process
for the standalone launcher, and a tap that reads a running graph's topics.

    python -m safe_control_ros.runtime.ros NAME [--ros-args ...]

runs the graph's node NAME (`graph.NODE_CLASSES`) under the rclpy found on the path: a
ROS 2 installation's, or the ROS 2 wheels' environment that `make ros-env` builds.
"""

from __future__ import annotations

import contextlib
import faulthandler
import importlib
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import rclpy
from rclpy.context import Context
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.signals import SignalHandlerOptions

RELIABLE = ReliabilityPolicy.RELIABLE
TRANSIENT_LOCAL, VOLATILE = DurabilityPolicy.TRANSIENT_LOCAL, DurabilityPolicy.VOLATILE

CONFIG_ERROR = 2  # exit code of a node whose parameters are invalid
WAKE_PERIOD = 0.1  # s: the longest the spin loop waits before it looks for a stop request


def spin(name: str, node_class: Callable[[Node], Any], args: list[str] | None = None) -> None:
    """Create an rclpy node `name`, build `node_class(node)` on it and spin until SIGINT or
    SIGTERM (`_stop_requests`), then clean up and return.
    Invalid parameters (ValueError from the constructor) are logged as one line and end
    the process with exit code CONFIG_ERROR. SIGUSR1 prints every thread's stack to stderr
    (what a process that does not exit is doing)."""
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    stop = _stop_requests()
    rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
    node = rclpy.create_node(name)
    try:
        job = node_class(node)
    except ValueError as err:
        node.get_logger().fatal(str(err))
        node.destroy_node()
        rclpy.try_shutdown()
        raise SystemExit(CONFIG_ERROR) from None
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        while not stop.is_set():
            executor.spin_once(timeout_sec=WAKE_PERIOD)
    except ExternalShutdownException:
        pass
    finally:
        if hasattr(job, "destroy"):
            job.destroy()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()


def _stop_requests() -> threading.Event:
    """An event that SIGINT and SIGTERM set. The handlers raise nothing, so no
    KeyboardInterrupt can land inside rclpy's own code (half-way through a wait or a
    handle's use, which can leave `destroy_node` waiting forever); the spin loop sees the
    event within WAKE_PERIOD s. A second signal raises KeyboardInterrupt: a clean-up that
    hangs can still be interrupted."""
    stop = threading.Event()

    def request(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request)
    return stop


def load_class(spec: str) -> Callable[[Node], Any]:
    """`package.module:Class` -> the class."""
    module_name, _, attribute = spec.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


@dataclass(frozen=True)
class TapSample:
    """A message read by a `Tap`."""

    topic: str
    msg: Any
    source_time: float  # s since the epoch: when the writer wrote it (its wall clock)
    receive_time: float  # s since the epoch: when the tap took it


class Tap:
    """Reads topics of a running graph from a node of its own (its own rclpy context and
    executor thread): {topic: message class}, reliable with a history of `depth`; transient
    local for the `latched` topics (their publishers keep the last message for late
    subscribers)."""

    def __init__(
        self,
        topics: dict[str, type],
        depth: int = 1000,
        latched: tuple[str, ...] = ("/tf_static", "/model"),
    ) -> None:
        self._context = Context()
        rclpy.init(context=self._context)
        self._node = rclpy.create_node("tap", context=self._context)
        self._samples: list[TapSample] = []
        self._lock = threading.Lock()
        for topic, msg_type in topics.items():
            durability = TRANSIENT_LOCAL if topic in latched else VOLATILE
            qos = QoSProfile(depth=depth, reliability=RELIABLE, durability=durability)
            self._node.create_subscription(msg_type, topic, self._receiver(topic), qos)
        self._executor = SingleThreadedExecutor(context=self._context)
        self._executor.add_node(self._node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _receiver(self, topic: str) -> Callable[[Any, Any], None]:
        def receive(message: Any, info: Any) -> None:
            sample = TapSample(topic, message, info["source_timestamp"] * 1e-9, time.time())
            with self._lock:
                self._samples.append(sample)

        return receive

    def _spin(self) -> None:
        with contextlib.suppress(ExternalShutdownException):
            self._executor.spin()

    def take(self) -> list[TapSample]:
        """Every sample received since the last call."""
        with self._lock:
            out, self._samples = self._samples, []
        return out

    def writers(self, topic: str) -> int:
        """Number of publishers of `topic` in the graph."""
        return self._node.count_publishers(topic)

    def close(self) -> None:
        self._context.try_shutdown()
        self._thread.join(timeout=10.0)
        self._executor.shutdown()
        self._node.destroy_node()


def main(argv: list[str] | None = None) -> None:
    """`python -m safe_control_ros.runtime.ros NAME [--ros-args ...]`."""
    from ..graph import NODE_CLASSES

    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in NODE_CLASSES:
        sys.exit(f"usage: python -m safe_control_ros.runtime.ros {{{','.join(NODE_CLASSES)}}}")
    spin(args[0], load_class(NODE_CLASSES[args[0]]), [sys.argv[0], *args[1:]])


if __name__ == "__main__":
    main()
