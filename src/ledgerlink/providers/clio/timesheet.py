"""Clio users and time entries as payroll sees them (reference §3.1, §3.6).

Assumptions:

- A time entry is approved when its bill is awaiting payment or paid (the reference's meaning of
  ``billed``); the bill's own state is read with the entry and wins over the entry's ``billed``
  flag, which the reference does not say is refreshed when the bill's state changes later.
- ``quantity`` is in seconds (API ≥ 4.0.4, pinned by the client); a redacted quantity is unknown.
"""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.providers.clio.wire import ClioTimeEntry, ClioUser
from ledgerlink.sync.payroll_ports import APPROVED_BILL_STATES, FirmUser, TimeEntry


def firm_user(user: ClioUser) -> FirmUser:
    return FirmUser(
        source_id=str(user.id), name=(user.name or "").strip(), email=user.email, enabled=user.enabled
    )


def time_entry_from_clio(entry: ClioTimeEntry) -> TimeEntry:
    """A Clio TimeEntry activity as a neutral time entry (duration in whole seconds)."""
    if entry.bill is not None and entry.bill.state is not None:
        approved = entry.bill.state in APPROVED_BILL_STATES
    else:
        approved = entry.billed
    seconds = None
    if entry.quantity is not None and not entry.quantity_redacted:
        seconds = int(entry.quantity.to_integral_value())
    matter = entry.matter
    client = matter.client if matter is not None else None
    return TimeEntry(
        source_id=str(entry.id),
        date=entry.date,
        seconds=seconds,
        rate=entry.price if entry.price is not None else Decimal(0),
        note=(entry.note or "").strip(),
        user_id=str(entry.user.id) if entry.user is not None else None,
        user_name=(entry.user.name or "").strip() if entry.user is not None else "",
        client_id=str(client.id) if client is not None else None,
        matter=matter.display_number if matter is not None else None,
        bill_id=str(entry.bill.id) if entry.bill is not None else None,
        approved=approved,
    )
