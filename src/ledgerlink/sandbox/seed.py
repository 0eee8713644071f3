"""The seeded demo firm: both halves, Clio and QBO, see demo_firm.py for the shared names."""

from __future__ import annotations

from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.qbo import QboEmulator


def seed_demo_firm(clio: ClioEmulator, qbo: QboEmulator) -> None:
    """Fill both emulators with the demo firm (idempotent only on fresh emulators)."""
    try:
        from ledgerlink.sandbox.clio_seed import seed_clio_demo
    except ImportError:  # pragma: no cover - while being written
        pass
    else:
        seed_clio_demo(clio)
    try:
        from ledgerlink.sandbox.qbo_seed import seed_qbo_demo
    except ImportError:  # pragma: no cover - while being written
        pass
    else:
        seed_qbo_demo(qbo)
