"""Reading the next window of bills while the current one is written.

Clio's reads and the ledger's writes have separate rate limits; a pass that waits for one while the
other is idle takes their sum instead of the longer of the two. :func:`read_ahead` runs an iterator
(of windows of bills) in a thread of its own, at most ``depth`` items ahead of the consumer — so
no more than that many windows are held at once — and hands out its items, in order, in the
consumer's thread. An error in the reading thread is raised in the consumer's, where the item would
have come. Closing the consumer's generator (the pass stopped early) stops the reader at its next item.

The reader shares the Clio client with the consumer: its transport, rate limiter and token refresh
are thread-safe, and the reader touches nothing else (not the store).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator, Iterator
from typing import TypeVar

T = TypeVar("T")

_DONE = object()
_POLL_SECONDS = 0.1  # how often a blocked reader checks that the consumer still wants its items
_JOIN_SECONDS = 5.0  # a reader in the middle of a request is left to finish it on its own (daemon)


def read_ahead(items: Iterator[T], *, depth: int = 1, name: str = "read-ahead") -> Generator[T, None, None]:
    """``items``, produced in another thread up to ``depth`` ahead of the caller."""
    handoff: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def hand(item: object) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not hand(item):
                    return
        except BaseException as exc:  # handed to the consumer, raised there
            hand(_Failure(exc))
            return
        hand(_DONE)

    reader = threading.Thread(target=produce, name=name, daemon=True)
    reader.start()
    try:
        while True:
            item = handoff.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        reader.join(timeout=_JOIN_SECONDS)


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error
