"""Recording topics to a rosbag2 bag with MCAP storage, as `ros2 bag record -s mcap` does.

A `Recorder` attaches to a node of the in-process runtime:
it subscribes to the given topics and writes every message, CDR-serialised, stamped
with the node's clock (simulated time in the in-process runtime), under a connection
that carries the ROS 2 message definition (`ros2msg` schema) and its RIHS01 type hash.
The bag (a directory with `metadata.yaml` and one `.mcap` file) opens with `ros2 bag` of
Humble and Jazzy, rosbags, Foxglove and the `mcap` tools.

With ROS 2 installed, record with `ros2 bag record -s mcap` instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any, Final

from rosbags.rosbag2 import StoragePlugin, Writer

from . import messages

#: rosbag2 metadata version 8: the last whose topics carry offered_qos_profiles as a YAML
#: string. Humble's rosbag2 reads the fields every version has and that string (version 9's
#: list fails its yaml-cpp conversion); Jazzy's reads versions up to 9.
BAG_VERSION: Final = 8
DEPTH = 100  # subscription history: recording should not drop messages


def message_typename(msg_type: type) -> str:
    """`pkg/msg/Type` of a message class."""
    name = getattr(msg_type, "__msgtype__", None)
    if name:
        return str(name)
    return f"{msg_type.__module__.split('.')[0]}/msg/{msg_type.__name__}"


class Recorder:
    """Record `topics` ({topic: message class}) seen by `node` into the bag directory
    `path` (which must not exist). Close it (or use it as a context manager) to finish
    the bag; messages arriving after `close()` are dropped."""

    def __init__(self, node: Any, path: str | Path, topics: Mapping[str, type]) -> None:
        store = getattr(messages, "TYPESTORE", None)
        if store is None:
            raise RuntimeError("with ROS 2 message packages installed use `ros2 bag record`")
        if not topics:
            raise ValueError("Recorder: no topics to record")
        typenames = {topic: message_typename(msg_type) for topic, msg_type in topics.items()}
        for topic, typename in typenames.items():
            if typename not in store.types:
                raise ValueError(f"Recorder: {topic}: unknown message type {typename}")
        self._node, self._store = node, store
        self.path = Path(path)
        self.counts: dict[str, int] = dict.fromkeys(topics, 0)
        self._writer: Writer | None = Writer(
            self.path, version=BAG_VERSION, storage_plugin=StoragePlugin.MCAP
        )
        self._writer.open()
        self._subscriptions = []
        for topic, msg_type in topics.items():
            typename = typenames[topic]
            connection = self._writer.add_connection(topic, typename, typestore=store)
            callback: Callable[[Any], None] = partial(self._write, topic, connection, typename)
            self._subscriptions.append(node.create_subscription(msg_type, topic, callback, DEPTH))

    def _write(self, topic: str, connection: Any, typename: str, msg: Any) -> None:
        if self._writer is None:
            return
        stamp_ns = self._node.get_clock().now().nanoseconds
        self._writer.write(connection, stamp_ns, self._store.serialize_cdr(msg, typename))
        self.counts[topic] += 1

    def close(self) -> None:
        """Finish the bag (writes the MCAP summary and metadata.yaml); idempotent."""
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def destroy(self) -> None:
        """Called by the runtimes at shutdown, like a node class's `destroy`."""
        self.close()
