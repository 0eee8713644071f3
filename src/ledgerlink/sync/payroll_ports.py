"""What payroll (Clio time entries → QBO TimeActivity) reads and writes, as provider-neutral values.

Declared apart from :mod:`ledgerlink.sync.ports` so the payroll feature stays in its own files;
the Clio source produces :class:`FirmUser` and :class:`TimeEntry`, the QBO ledger reads
:class:`LedgerEmployee` and writes a :class:`TimeActivityDraft`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

# Clio bill states in which the time on the bill is approved (reference §3.6: ``billed``).
APPROVED_BILL_STATES = frozenset({"awaiting_payment", "paid"})


@dataclass(frozen=True)
class FirmUser:
    """A user of the practice-management system: the person whose time a time entry records."""

    source_id: str
    name: str
    email: str | None
    enabled: bool = True


@dataclass(frozen=True)
class TimeEntry:
    """One time entry of the firm, with what decides whether (and where) payroll posts it.

    ``seconds`` is None when the source hid the duration from the connected user (Clio's
    ``quantity_redacted``). ``approved``: on a bill awaiting payment or paid.
    """

    source_id: str
    date: date | None
    seconds: int | None
    rate: Decimal
    note: str
    user_id: str | None
    user_name: str
    client_id: str | None
    matter: str | None  # the matter's display number
    bill_id: str | None
    approved: bool


@dataclass(frozen=True)
class LedgerEmployee:
    """An employee in the ledger, as matching a firm user needs it; ``rate`` is the billing rate."""

    id: str
    display_name: str
    given_name: str | None
    family_name: str | None
    email: str | None
    rate: Decimal | None
    active: bool = True


@dataclass(frozen=True)
class TimeActivityDraft:
    """A time entry ready to write as a ledger time record (QBO TimeActivity, NameOf Employee)."""

    entry: TimeEntry
    employee_id: str
    customer_id: str
    item: str  # Product/Service name (a service item)
    hours: int
    minutes: int
    rate: Decimal
    description: str
