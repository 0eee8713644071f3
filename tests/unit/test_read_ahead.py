"""read_ahead: the next window is read in another thread, in order, errors where the item would be."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ledgerlink.sync.read_ahead import read_ahead


def test_items_come_in_order_from_another_thread() -> None:
    producers: set[str] = set()

    def numbers() -> Iterator[int]:
        for n in range(50):
            producers.add(threading.current_thread().name)
            yield n

    assert list(read_ahead(numbers(), name="reader-7")) == list(range(50))
    assert producers == {"reader-7"}


def test_the_reader_stays_at_most_depth_items_ahead() -> None:
    made: list[int] = []

    def numbers() -> Iterator[int]:
        for n in range(10):
            made.append(n)
            yield n

    items = read_ahead(numbers(), depth=2)
    assert next(items) == 0
    assert len(made) <= 1 + 2 + 1  # the one taken, two waiting, one in hand blocked on the queue
    items.close()


def test_an_error_in_the_reader_is_raised_where_its_item_would_come() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise RuntimeError("Clio went away")

    items = read_ahead(failing())
    assert next(items) == 1
    with pytest.raises(RuntimeError, match="Clio went away"):
        next(items)


def test_closing_early_stops_the_reader() -> None:
    made: list[int] = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            made.append(n)
            yield n
            n += 1

    items = read_ahead(endless())
    assert next(items) == 0
    items.close()
    stopped_at = len(made)  # close() has waited for the reader to end
    assert stopped_at <= 4
    assert not any(t.name == "read-ahead" for t in threading.enumerate())
