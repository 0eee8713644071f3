"""Small factories for neutral records: tests build firms from these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.domain import BillState, Contact, Invoice, InvoiceLine, LineKind


def contact(
    source_id: str = "1", name: str = "Dana Whitfield", email: str | None = "dana@example.com", **kw: object
) -> Contact:
    first, _, last = name.partition(" ")
    return Contact(
        source_id=source_id, name=name, first_name=first or None, last_name=last or None, email=email, **kw
    )  # type: ignore[arg-type]


def line(
    source_id: str = "10",
    kind: LineKind = LineKind.TIME,
    amount: str = "250.00",
    category: str | None = "Research",
    quantity: str = "1",
    price: str | None = None,
) -> InvoiceLine:
    return InvoiceLine(
        source_id=source_id,
        kind=kind,
        description=f"{kind.value} line {source_id}",
        amount=Decimal(amount),
        quantity=Decimal(quantity),
        unit_price=Decimal(price if price is not None else amount),
        category=category,
    )


def invoice(
    source_id: str = "100",
    number: str = "1001",
    contact_id: str = "1",
    lines: tuple[InvoiceLine, ...] | None = None,
    state: BillState = BillState.AWAITING_PAYMENT,
    issued_at: date = date(2026, 3, 1),
    total: str | None = None,
) -> Invoice:
    lines = lines if lines is not None else (line(),)
    computed = sum((ln.amount for ln in lines), Decimal("0.00"))
    return Invoice(
        source_id=source_id,
        number=number,
        state=state,
        contact_id=contact_id,
        issued_at=issued_at,
        total=Decimal(total) if total is not None else computed,
        lines=lines,
    )


@dataclass(frozen=True)
class FakeLink:
    """A stored link as flows see it."""

    target_id: str
    content_hash: str = ""
    version_token: str | None = "0"
