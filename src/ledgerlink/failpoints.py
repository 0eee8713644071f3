"""Named crash points for the crash tests (invariant 1: exactly-once effect).

``LEDGERLINK_FAILPOINTS="after_ledger_write:3"`` makes the process die abruptly (``os._exit``,
no cleanup, no commit) the 3rd time the pass reaches ``after_ledger_write``: the ledger has the
record, the store does not yet have the link. Unset, every call is a dictionary lookup.

The points: ``after_ledger_write`` (sync), ``during_migration`` (after each schema step of
``store.database.migrate``, before the migration's one transaction commits).
"""

from __future__ import annotations

import os
import threading

ENV = "LEDGERLINK_FAILPOINTS"
CRASH_EXIT_CODE = 86

_hits: dict[str, int] = {}
_lock = threading.Lock()


def _armed() -> dict[str, int]:
    spec = os.environ.get(ENV, "")
    armed: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, nth = part.partition(":")
        armed[name] = int(nth or "1")
    return armed


def hit(name: str) -> None:
    """Count a pass through ``name``; die here if the environment armed it for this count."""
    armed = _armed()
    if name not in armed:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        count = _hits[name]
    if count == armed[name]:
        os._exit(CRASH_EXIT_CODE)
