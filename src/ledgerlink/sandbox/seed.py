"""The seeded demo firm: both halves, Clio and QBO, see demo_firm.py for the shared names."""

from __future__ import annotations

from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_seed import seed_clio_demo
from ledgerlink.sandbox.qbo import QboEmulator
from ledgerlink.sandbox.qbo_seed import seed_qbo_demo

SEED_AGE_SECONDS = 3600


def seed_demo_firm(clio: ClioEmulator, qbo: QboEmulator) -> None:
    """Fill both emulators with the demo firm (only on fresh emulators).

    The records are stamped an hour in the past, as a firm's existing data would be: a pass
    started now sees them all, and the pass after it sees only what changed since.
    """
    clock = clio.state.clock
    clock.advance(-SEED_AGE_SECONDS)
    try:
        _seed(clio, qbo)
    finally:
        clock.advance(SEED_AGE_SECONDS)


def _seed(clio: ClioEmulator, qbo: QboEmulator) -> None:
    seed_clio_demo(clio)
    seed_qbo_demo(qbo)
