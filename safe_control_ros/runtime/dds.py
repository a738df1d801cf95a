"""A standalone runtime over Cyclone DDS that speaks ROS 2 on the wire.

Offers the same subset of `rclpy.node.Node` as the in-process runtime, so a node class
runs unchanged as its own process, and ROS 2 tools and nodes (rmw_cyclonedds_cpp) on the
same domain see its topics:

- topic `/foo` is the DDS topic `rt/foo`; the type `pkg/msg/Type` is the DDS type
  `pkg::msg::dds_::Type_` (structs of `dds_types`, XCDR1 as ROS 2 sends it);
- every reader and writer carries `typehash=RIHS01_<sha256>;` in its USER_DATA and the
  participant `enclave=/;`, as rmw_cyclonedds_cpp (Iron and later) does; the RIHS01 hash
  is rosbags' `Typestore.hash_rihs01`, which follows rosidl's type description hash;
- the domain is ROS_DOMAIN_ID (default 0); CYCLONEDDS_URI configures Cyclone as usual.

Timers run on the wall clock, or on the latest /clock message when the node's parameter
`use_sim_time` is true (a timer then first fires one period after the first /clock).
Callbacks run one at a time on the thread that spins (a single-threaded executor).

Run one node per process with `run_node(node_class, name, parameters)` or
`python -m safe_control_ros.runtime.dds package.module:Class --name N --params-file F`;
SIGINT or SIGTERM ends the spin, then the node's `destroy()` (if any) and
`destroy_node()` run and the participant is deleted. A `Tap` reads topics of a running
graph with each sample's source time (the writer's wall clock), for measurements.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from cyclonedds.core import InstanceState, Policy, Qos, ReadCondition, SampleState, ViewState
from cyclonedds.core import WaitSet as _WaitSet
from cyclonedds.domain import DomainParticipant
from cyclonedds.idl import IdlStruct
from cyclonedds.pub import DataWriter
from cyclonedds.sub import DataReader
from cyclonedds.topic import Topic
from cyclonedds.util import duration

from ..paramfile import load_parameter_file, node_parameters
from . import dds_types, messages
from .node_base import NodeBase, TimePoint, Timer, transient_local

ROS_TOPIC_PREFIX = "rt"
DEFAULT_DEPTH = 10
MAX_WAIT_S = 0.05  # longest blocking wait: bounds the latency of a shutdown request
TAKE_BATCH = 64

_ANY_SAMPLE = SampleState.Any | ViewState.Any | InstanceState.Any


def dds_topic(topic: str) -> str:
    """ROS 2 topic name -> DDS topic name: `/foo/bar` -> `rt/foo/bar` (no namespaces:
    a relative name is taken as absolute)."""
    name = topic if topic.startswith("/") else "/" + topic
    if "//" in name or (name.endswith("/") and name != "/"):
        raise ValueError(f"invalid topic name {topic!r}")
    return ROS_TOPIC_PREFIX + name


def type_hash(ros_type: str) -> str:
    """`RIHS01_<hex sha256>` of a ROS 2 message type (rosidl type description hash)."""
    return _typestore().hash_rihs01(ros_type)


def endpoint_user_data(ros_type: str) -> bytes:
    """USER_DATA of a reader/writer as rmw_dds_common encodes it: `typehash=<hash>;`."""
    return f"typehash={type_hash(ros_type)};".encode()


def _typestore():
    store = getattr(messages, "TYPESTORE", None)
    if store is None:  # ROS 2 message packages in use: build rosbags' store for hashing
        from rosbags.typesys import Stores, get_types_from_msg, get_typestore

        store = get_typestore(Stores.ROS2_HUMBLE)
        for cls in (dds_types.AckermannDrive, dds_types.AckermannDriveStamped):
            text = _msg_text(cls)
            store.register(get_types_from_msg(text, dds_types.ros_typename(cls.__idl_typename__)))
        messages.TYPESTORE = store
    return store


def _msg_text(cls: type[IdlStruct]) -> str:
    """.msg text of a flat-or-nested IDL struct of `dds_types` (for types rosbags lacks)."""
    lines = []
    for name, annotation in dds_types._fields(cls):
        if isinstance(annotation, type) and issubclass(annotation, IdlStruct):
            lines.append(f"{dds_types.ros_typename(annotation.__idl_typename__)} {name}")
        else:
            lines.append(f"{annotation.__metadata__[0]} {name}")
    return "\n".join(lines) + "\n"


def qos_policies(qos: Any, ros_type: str) -> Qos:
    """Cyclone QoS of a ROS 2 history depth (int: reliable, keep last, volatile) or of an
    rclpy QoSProfile-like object (depth, reliability, durability)."""
    depth, best_effort, latched = DEFAULT_DEPTH, False, False
    if isinstance(qos, int) and not isinstance(qos, bool):
        depth = qos
    elif qos is not None:
        depth = int(getattr(qos, "depth", DEFAULT_DEPTH)) or DEFAULT_DEPTH
        best_effort = "BEST_EFFORT" in str(getattr(qos, "reliability", "")).upper()
        latched = transient_local(qos)
    if depth < 1:
        raise ValueError(f"QoS history depth must be >= 1, got {depth}")
    return Qos(
        Policy.Reliability.BestEffort
        if best_effort
        else Policy.Reliability.Reliable(max_blocking_time=duration(milliseconds=100)),
        Policy.History.KeepLast(depth),
        Policy.Durability.TransientLocal if latched else Policy.Durability.Volatile,
        Policy.DataRepresentation(use_cdrv0_representation=True),
        Policy.Userdata(data=endpoint_user_data(ros_type)),
    )


class Clock:
    """`Node.get_clock()`: ROS time (system time, or the latest /clock with sim time)."""

    def __init__(self, node: Node) -> None:
        self._node = node

    def now(self) -> TimePoint:
        return TimePoint(self._node._ros_time_ns())


class Publisher:
    def __init__(self, writer: DataWriter, idl: type[IdlStruct], topic: str) -> None:
        self._writer, self._idl, self.topic = writer, idl, topic

    def publish(self, msg: Any) -> None:
        self._writer.write(dds_types.to_idl(msg, self._idl))


class Subscription:
    def __init__(self, reader: DataReader, condition: ReadCondition, callback: Callable, topic):
        self.reader, self.condition, self.callback, self.topic = reader, condition, callback, topic


class Node(NodeBase):
    """One node on a `Context` (the subset of rclpy.node.Node the project's nodes use)."""

    def __init__(self, context: Context, name: str, overrides: dict[str, Any]) -> None:
        super().__init__(name, overrides)
        self._context = context
        self._publishers: list[Publisher] = []
        self._subscriptions: list[Subscription] = []
        self._timers: list[Timer] = []
        self._sim_time_ns: int | None = None
        self._destroyed = False
        self.use_sim_time = bool(self.declare_parameter("use_sim_time", False).value)
        if self.use_sim_time:
            self.create_subscription(messages.Clock, "/clock", self._on_clock, DEFAULT_DEPTH)

    # rclpy.node.Node subset ----------------------------------------------------------
    def get_clock(self) -> Clock:
        return Clock(self)

    def create_publisher(self, msg_type: type, topic: str, qos: Any = None) -> Publisher:
        idl = dds_types.idl_class(msg_type)
        name = dds_types.message_typename(msg_type)
        writer = DataWriter(
            self._context.participant, self._context.topic(topic, idl), qos_policies(qos, name)
        )
        publisher = Publisher(writer, idl, topic)
        self._publishers.append(publisher)
        return publisher

    def create_subscription(
        self, msg_type: type, topic: str, callback: Callable, qos: Any = None
    ) -> Subscription:
        idl = dds_types.idl_class(msg_type)
        name = dds_types.message_typename(msg_type)
        reader = DataReader(
            self._context.participant, self._context.topic(topic, idl), qos_policies(qos, name)
        )
        condition = ReadCondition(reader, _ANY_SAMPLE)
        subscription = Subscription(reader, condition, callback, topic)
        self._subscriptions.append(subscription)
        self._context._attach(condition)
        return subscription

    def create_timer(self, period_s: float, callback: Callable[[], None]) -> Timer:
        timer = self._make_timer(period_s, callback)
        now = self._timer_clock_ns()
        if now is not None:
            timer.due_ns = now + timer.period_ns
        self._timers.append(timer)
        return timer

    def destroy_node(self) -> None:
        if self._destroyed:
            return
        self._destroyed = True
        for timer in self._timers:
            timer.cancel()
        for subscription in self._subscriptions:
            self._context._detach(subscription.condition)
        self._timers.clear()
        self._subscriptions.clear()
        self._publishers.clear()
        self._context._nodes.remove(self)

    # runtime side --------------------------------------------------------------------
    def check_parameters(self) -> None:
        """ValueError for parameters of the node's own file section it did not declare."""
        self._check_parameters(self._context.parameters.get(self._name, {}))

    def _on_clock(self, msg: Any) -> None:
        ns = msg.clock.sec * 1_000_000_000 + msg.clock.nanosec
        self._sim_time_ns = ns if self._sim_time_ns is None else max(self._sim_time_ns, ns)
        for timer in self._timers:
            if timer.due_ns is None:
                timer.due_ns = ns + timer.period_ns

    def _ros_time_ns(self) -> int:
        if self.use_sim_time:
            return self._sim_time_ns or 0
        return time.time_ns()

    def _timer_clock_ns(self) -> int | None:
        """Sim time (None before the first /clock) or the monotonic clock."""
        return self._sim_time_ns if self.use_sim_time else time.monotonic_ns()

    def _fire_due_timers(self) -> None:
        for timer in list(self._timers):
            now = self._timer_clock_ns()
            if timer.cancelled or timer.due_ns is None or now is None or now < timer.due_ns:
                continue
            timer.due_ns += timer.period_ns
            if timer.due_ns <= now:  # missed periods are skipped, not fired in a burst
                missed = (now - timer.due_ns) // timer.period_ns + 1
                timer.due_ns += missed * timer.period_ns
            timer.callback()

    def _wall_wait_ns(self) -> int | None:
        """Nanoseconds until the next wall-clock timer is due (None: no such timer)."""
        if self.use_sim_time:
            return None
        dues = [t.due_ns for t in self._timers if not t.cancelled and t.due_ns is not None]
        return max(0, min(dues) - time.monotonic_ns()) if dues else None


class Context:
    """One DDS participant, the nodes on it and the executor that spins them."""

    def __init__(
        self,
        parameters: dict[str, dict[str, Any]] | None = None,
        domain_id: int | None = None,
    ) -> None:
        if domain_id is None:
            domain_id = int(os.environ.get("ROS_DOMAIN_ID", "0") or 0)
        self.parameters = parameters or {}
        self.domain_id = domain_id
        participant = DomainParticipant(domain_id, Qos(Policy.Userdata(data=b"enclave=/;")))
        self._participant: DomainParticipant | None = participant
        self._waitset: _WaitSet | None = _WaitSet(participant)
        self._topics: dict[str, Topic] = {}
        self._nodes: list[Node] = []
        self._shutdown = threading.Event()

    @property
    def participant(self) -> DomainParticipant:
        if self._participant is None:
            raise RuntimeError("DDS context closed")
        return self._participant

    def _wait(self, timeout_ns: int) -> None:
        if self._waitset is not None:
            self._waitset.wait(timeout_ns)

    def create_node(self, name: str) -> Node:
        node = Node(self, name, node_parameters(self.parameters, name))
        self._nodes.append(node)
        return node

    def topic(self, ros_topic: str, idl: type[IdlStruct]) -> Topic:
        name = dds_topic(ros_topic)
        topic = self._topics.get(name)
        if topic is None:
            topic = self._topics[name] = Topic(self.participant, name, idl)
        elif topic.data_type is not idl:
            raise ValueError(
                f"{ros_topic}: type {dds_types.ros_typename(idl.__idl_typename__)} but the topic "
                f"already has {dds_types.ros_typename(topic.data_type.__idl_typename__)}"
            )
        return topic

    def spin_once(self, timeout_s: float = MAX_WAIT_S) -> None:
        """Wait up to timeout_s (less if a timer is due sooner) for data, then deliver every
        received message and fire every due timer."""
        waits = [w for w in (node._wall_wait_ns() for node in self._nodes) if w is not None]
        wait_ns = min([round(min(timeout_s, MAX_WAIT_S) * 1e9), *waits])
        if wait_ns > 0:
            self._wait(wait_ns)
        for node in list(self._nodes):
            for subscription in list(node._subscriptions):
                for sample in subscription.reader.take(TAKE_BATCH):
                    if isinstance(sample, IdlStruct):  # not a dispose/unregister notice
                        subscription.callback(dds_types.from_idl(sample))
        for node in list(self._nodes):
            node._fire_due_timers()

    def spin(self, until: Callable[[], bool] | None = None) -> None:
        """Spin until `shutdown()` (or a signal through `run_node`), or until `until()`."""
        while not self._shutdown.is_set() and not (until and until()):
            self.spin_once()

    def shutdown(self) -> None:
        """Ask `spin` to return (safe from signal handlers and other threads)."""
        self._shutdown.set()

    def close(self) -> None:
        """Destroy every node and delete the participant with its readers and writers."""
        for node in list(self._nodes):
            node.destroy_node()
        self._topics.clear()
        self._waitset = None
        self._participant = None  # deleting the participant deletes its readers and writers

    def _attach(self, condition: ReadCondition) -> None:
        if self._waitset is None:
            raise RuntimeError("DDS context closed")
        self._waitset.attach(condition)

    def _detach(self, condition: ReadCondition) -> None:
        if self._waitset is not None:
            self._waitset.detach(condition)


@dataclass(frozen=True)
class TapSample:
    """A message read by a `Tap`."""

    topic: str
    msg: Any
    source_time: float  # s since the epoch: when the writer wrote it (its wall clock)
    receive_time: float  # s since the epoch: when the tap took it


class Tap:
    """Reads topics of a running graph without a node: {topic: message class}, a
    history of `depth` samples per topic between calls to `take`, reliable."""

    def __init__(
        self, topics: dict[str, type], domain_id: int | None = None, depth: int = 1000
    ) -> None:
        self.context = Context(domain_id=domain_id)
        self._readers = {}
        for topic, msg_type in topics.items():
            idl = dds_types.idl_class(msg_type)
            qos = qos_policies(depth, dds_types.message_typename(msg_type))
            reader = DataReader(self.context.participant, self.context.topic(topic, idl), qos)
            self._readers[topic] = reader

    def take(self) -> list[TapSample]:
        """Every sample received since the last call."""
        out = []
        now = time.time()
        for topic, reader in self._readers.items():
            batch = reader.take(TAKE_BATCH)
            while batch:
                for sample in batch:
                    if isinstance(sample, IdlStruct):  # not a dispose/unregister notice
                        info = sample.sample_info  # type: ignore[attr-defined]  # set by take
                        source = info.source_timestamp * 1e-9
                        out.append(TapSample(topic, dds_types.from_idl(sample), source, now))
                batch = reader.take(TAKE_BATCH) if len(batch) == TAKE_BATCH else []
        return out

    def writers(self, topic: str) -> int:
        """Number of writers of `topic` matched so far."""
        return len(self._readers[topic].get_matched_publications())

    def close(self) -> None:
        self._readers.clear()
        self.context.close()


def run_node(
    node_class: Callable[[Any], Any],
    name: str,
    parameters: dict[str, dict[str, Any]] | None = None,
    domain_id: int | None = None,
) -> None:
    """Build `node_class(node)` on a DDS node `name` and spin until SIGINT or SIGTERM,
    then destroy it cleanly. `parameters` as `paramfile.load_parameter_file` returns."""
    context = Context(parameters, domain_id)
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: context.shutdown())
    node = context.create_node(name)
    job = None
    try:
        job = node_class(node)
        node.check_parameters()
        node.get_logger().info(f"running on DDS domain {context.domain_id}")
        context.spin()
        node.get_logger().info("shutting down")
    finally:
        if job is not None and hasattr(job, "destroy"):
            job.destroy()
        context.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def load_class(spec: str) -> Callable[[Any], Any]:
    """`package.module:Class` -> the class."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ValueError(f"expected package.module:Class, got {spec!r}")
    return getattr(importlib.import_module(module_name), attribute)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m safe_control_ros.runtime.dds",
        description="Run one node class over Cyclone DDS, speaking ROS 2 on the wire.",
    )
    parser.add_argument("node_class", help="package.module:Class taking the node handle")
    parser.add_argument("--name", required=True, help="node name (selects the file section)")
    parser.add_argument("--params-file", help="ROS 2 parameter file (node: ros__parameters:)")
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME:=VALUE",
        help="parameter override for this node (YAML value), may repeat",
    )
    parser.add_argument("--domain-id", type=int, help="DDS domain (default ROS_DOMAIN_ID or 0)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="[%(levelname)s] [%(name)s]: %(message)s")
    try:
        parameters = load_parameter_file(args.params_file) if args.params_file else {}
        own = parameters.setdefault(args.name, {})
        for item in args.param:
            key, sep, value = item.partition(":=")
            if not sep or not key:
                raise ValueError(f"--param: expected NAME:=VALUE, got {item!r}")
            own[key] = yaml.safe_load(value)
        try:
            node_class = load_class(args.node_class)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"cannot load {args.node_class}: {err}") from None
        run_node(node_class, args.name, parameters, args.domain_id)
    except ValueError as err:
        logging.getLogger("safe_control_ros.runtime.dds").error(str(err))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
