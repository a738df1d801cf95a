"""Planner builds off the control path: a new model's planner is built in a worker thread
and handed to the control tick, which swaps it in between two steps."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class Builds:
    """`submit(what, build)` starts `build()` (what: any label the caller wants back) and
    returns at once; `finished()` returns the (what, result or the exception it raised) of
    builds that are done, in submission order, each once. Without `background` a build runs
    inside `submit` (a lockstep runtime, where simulated time stands still meanwhile)."""

    def __init__(self, background: bool) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="planner") if background else None
        self._pending: deque[tuple[Any, Future]] = deque()

    def submit(self, what: Any, build: Callable[[], Any]) -> None:
        if self._pool is not None:
            self._pending.append((what, self._pool.submit(build)))
            return
        done: Future = Future()
        try:
            done.set_result(build())
        except Exception as err:  # handed to the caller with the result
            done.set_exception(err)
        self._pending.append((what, done))

    def finished(self) -> list[tuple[Any, Any]]:
        out = []
        while self._pending and self._pending[0][1].done():
            what, future = self._pending.popleft()
            err = future.exception()
            out.append((what, err if err is not None else future.result()))
        return out

    @property
    def busy(self) -> bool:
        """True while a submitted build has not been collected by `finished`."""
        return bool(self._pending)

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
