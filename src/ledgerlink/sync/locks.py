"""The store's named locks as a process takes them: owned by "host:pid", a dead holder's taken over.

A lock expires by itself (its TTL) so a crashed holder never blocks for ever; on the same machine
ledgerlink need not wait for that: a holder whose process no longer exists is taken over at once.
Two locks exist: ``sync`` for one pass, ``sync-loop`` for the lifetime of a looping ``ledgerlink
sync`` (so a second loop exits 3, while ``sync --once`` still runs between the loop's passes).
"""

from __future__ import annotations

import logging
import os
import socket

from ledgerlink.errors import LockHeldError
from ledgerlink.store import Store

log = logging.getLogger("ledgerlink.sync")

PASS_LOCK = "sync"
LOOP_LOCK = "sync-loop"
WHAT = {PASS_LOCK: "pass", LOOP_LOCK: "sync loop"}  # how the log names each lock


def this_process() -> str:
    """The owner name of this process: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def take(store: Store, name: str, owner: str, ttl_seconds: float) -> None:
    """Take lock ``name``; raise LockHeldError when a live process (or another machine) holds it."""
    try:
        store.acquire_lock(name, owner, ttl_seconds)
    except LockHeldError:
        holder = store.lock_owner(name)
        if holder is None or not dead_here(holder):
            raise
        log.warning(
            "taking over the %s lock of %s: that process no longer runs", WHAT.get(name, name), holder
        )
        store.release_lock(name, holder)
        store.acquire_lock(name, owner, ttl_seconds)


def dead_here(owner: str) -> bool:
    """Whether a lock owner "host:pid" names this machine and a process that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
