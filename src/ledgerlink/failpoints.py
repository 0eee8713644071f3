"""Named crash points for the crash tests (invariant 1: exactly-once effect).

``LEDGERLINK_FAILPOINTS="after_ledger_write:3"`` makes the process die abruptly the 3rd time the
pass reaches ``after_ledger_write``: the ledger has the record, the store does not yet have the
link. Several points may be armed at once, comma-separated; the count is per process. Unset (the
normal case), a hit costs one environment lookup.

The points:

- ``after_ledger_write`` (sync), ``after_clio_write`` (hard-cost import), ``during_migration``
  (after each schema step of ``store.database.migrate``, before the migration's one transaction
  commits): the process leaves with ``os._exit(CRASH_EXIT_CODE)`` — no cleanup, no commit.
- ``http_request`` (before the Nth HTTP request of the process leaves, retries and every API
  counted alike) and ``http_response`` (the Nth response has arrived, ledgerlink has not seen it
  yet — "the remote committed, the answer was lost"): the process sends itself SIGKILL, as the
  kernel's OOM killer or ``kill -9`` would, so the parent sees ``-SIGKILL``.
"""

from __future__ import annotations

import functools
import os
import signal
import threading
from collections.abc import Mapping

ENV = "LEDGERLINK_FAILPOINTS"
CRASH_EXIT_CODE = 86
HTTP_REQUEST = "http_request"
HTTP_RESPONSE = "http_response"
KILLED = frozenset({HTTP_REQUEST, HTTP_RESPONSE})  # points that die by SIGKILL, not os._exit

_hits: dict[str, int] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=8)
def armed(spec: str) -> Mapping[str, int]:
    """The points a ``LEDGERLINK_FAILPOINTS`` value arms, each with the hit count that kills."""
    points: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, nth = part.partition(":")
        points[name] = int(nth or "1")
    return points


def hit(name: str) -> None:
    """Count a pass through ``name``; die here if the environment armed it for this count."""
    spec = os.environ.get(ENV)
    if not spec:
        return
    points = armed(spec)
    if name not in points:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        count = _hits[name]
    if count == points[name]:
        if name in KILLED:
            os.kill(os.getpid(), signal.SIGKILL)
        os._exit(CRASH_EXIT_CODE)
