"""QBO Employees and TimeActivity records as payroll reads and writes them (reference §2.3, §2.14).

Assumptions:

- The employee's rate to compare with Clio's is ``BillRate`` (§2.3 lists BillRate and CostRate; the
  hourly rate a TimeActivity carries is the billing one).
- TimeActivity has no PrivateNote (§2.14), so the marker of the write that created one goes at the
  end of its ``Description`` (≤ 4000), never cut off; an update sends the description without it.
- Time goes in as ``Hours``/``Minutes`` (a whole number of minutes, rounded half up from seconds by
  the flow) and ``NameOf: Employee``; ``BillableStatus`` is NotBillable: the time is already
  billed in Clio, and billing it again from QBO would charge the client twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from ledgerlink.providers.qbo.translate import marker
from ledgerlink.providers.qbo.wire import bare_name
from ledgerlink.sync.payroll_ports import LedgerEmployee, TimeActivityDraft
from ledgerlink.sync.ports import Written

ENTITY = "TimeActivity"
MAX_DESCRIPTION = 4000


def ledger_employee(row: Mapping[str, Any]) -> LedgerEmployee:
    email = row.get("PrimaryEmailAddr")
    address = email.get("Address") if isinstance(email, Mapping) else None
    return LedgerEmployee(
        id=str(row["Id"]),
        display_name=bare_name(str(row.get("DisplayName") or "")),
        given_name=_text(row.get("GivenName")),
        family_name=_text(row.get("FamilyName")),
        email=_text(address),
        rate=_rate(row.get("BillRate")),
        active=row.get("Active", True) is True,
    )


def time_activity_fields(draft: TimeActivityDraft, item_id: str) -> dict[str, Any]:
    """The body of a sparse update: everything ledgerlink sets, description without the marker."""
    return {
        "sparse": True,
        "TxnDate": draft.entry.date.isoformat() if draft.entry.date else None,
        "NameOf": "Employee",
        "EmployeeRef": {"value": draft.employee_id},
        "CustomerRef": {"value": draft.customer_id},
        "ItemRef": {"value": item_id},
        "Hours": draft.hours,
        "Minutes": draft.minutes,
        "HourlyRate": draft.rate,
        "BillableStatus": "NotBillable",
        "Description": draft.description[:MAX_DESCRIPTION],
    }


def time_activity_create_body(draft: TimeActivityDraft, item_id: str, *, key: str) -> dict[str, Any]:
    """A new TimeActivity carrying the write's marker at the end of its description."""
    body = time_activity_fields(draft, item_id)
    del body["sparse"]
    tag = marker(key)
    text = draft.description[: MAX_DESCRIPTION - len(tag) - 1]
    body["Description"] = f"{text} {tag}" if text else tag
    return body


def marked_time_activities(rows: Sequence[Mapping[str, Any]], keys: Collection[str]) -> dict[str, Written]:
    """Intent key → the TimeActivity whose description carries that key's marker (the first, by Id)."""
    found: dict[str, Written] = {}
    for row in sorted(rows, key=lambda r: int(str(r["Id"]))):
        text = str(row.get("Description") or "")
        for key in keys:
            if key not in found and marker(key) in text:
                found[key] = Written(id=str(row["Id"]), version=str(row.get("SyncToken", "")) or None)
    return found


def _text(value: Any) -> str | None:
    return (value.strip() or None) if isinstance(value, str) else None


def _rate(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        return None
    return rate if rate > 0 else None
