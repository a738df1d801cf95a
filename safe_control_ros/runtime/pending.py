"""Messages a subscription has received but its executor has not handed out yet.

rclpy's executors run ready timers before ready subscriptions, so when a busy host wakes a
node that has both a due timer and a received message, the timer's callback runs first
and does not see the message. A callback that must act on every message received before
it (the sim's physics step on the last /drive command) takes them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def take_pending(subscription: Any, callback: Callable[[Any], None]) -> int:
    """Hand every message that `subscription` (rclpy's) has received and not yet delivered to
    `callback`, in order, now; the number handed. 0 for a subscription of a lockstep
    runtime (no `handle`): it delivers every message before the next timer."""
    handle = getattr(subscription, "handle", None)
    if handle is None:
        return 0
    count = 0
    while True:
        with handle:
            taken = handle.take_message(subscription.msg_type, subscription.raw)
        if taken is None:
            return count
        callback(taken[0])
        count += 1
