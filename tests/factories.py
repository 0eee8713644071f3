"""Small factories for neutral records: tests build firms from these."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.domain import (
    Address,
    Application,
    BillState,
    Contact,
    CreditNote,
    Invoice,
    InvoiceLine,
    LineKind,
    Payment,
)
from ledgerlink.sandbox.clio_records import bill_totals, line_totals
from ledgerlink.sync.ports import LedgerCustomer, TaxCode


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
    snapshot: dict[str, object] | None = None


def taxed_line(
    source_id: str = "10",
    amount: str = "100.00",
    *,
    taxable: bool = True,
    secondary_taxable: bool = False,
    kind: LineKind = LineKind.TIME,
    category: str | None = "Research",
    rates: tuple[str, str] = ("5", "7"),
) -> InvoiceLine:
    """A charge with Clio's taxable flags and the per-line taxes Clio shows for it."""
    taxes = line_totals(
        {"quantity": 1, "price": Decimal(amount), "taxable": taxable, "secondary_taxable": secondary_taxable},
        Decimal(rates[0]),
        Decimal(rates[1]),
    )
    return InvoiceLine(
        source_id=source_id,
        kind=kind,
        description=f"{kind.value} line {source_id}",
        amount=Decimal(amount),
        unit_price=Decimal(amount),
        category=category,
        taxable=taxable,
        secondary_taxable=secondary_taxable,
        tax=taxes["tax"],
        secondary_tax=taxes["secondary_tax"],
    )


def clio_bill(
    charges: Sequence[InvoiceLine],
    *,
    source_id: str = "100",
    number: str = "1001",
    contact_id: str = "1",
    rates: tuple[str, str] = ("5", "7"),
    names: tuple[str, str] = ("GST", "PST"),
    interest: str = "0.00",
    state: BillState = BillState.AWAITING_PAYMENT,
) -> Invoice:
    """A taxed bill as Clio computes it (the emulator's arithmetic) and as translate hands it over:
    the charges, then a line per tax and one for interest, each only when not zero."""
    totals = bill_totals(
        {
            "state": state.value,
            "tax_rate": rates[0],
            "secondary_tax_rate": rates[1],
            "interest": {"total": interest},
        },
        [
            {
                "kind": "Service",
                "total": c.amount,
                "taxable": c.taxable,
                "secondary_taxable": c.secondary_taxable,
            }
            for c in charges
        ],
    )
    extras = [
        (LineKind.TAX, "tax", totals["tax_sum"], names[0]),
        (LineKind.TAX, "secondary_tax", totals["secondary_tax_sum"], names[1]),
        (LineKind.INTEREST, "interest", Decimal(interest), "Interest"),
    ]
    lines = list(charges) + [
        InvoiceLine(f"{source_id}:{suffix}", kind, description, amount, unit_price=amount)
        for kind, suffix, amount, description in extras
        if amount != 0
    ]
    return Invoice(
        source_id=source_id,
        number=number,
        state=state,
        contact_id=contact_id,
        issued_at=date(2026, 3, 1),
        total=totals["total"],
        lines=tuple(lines),
        tax=totals["tax_sum"],
        secondary_tax=totals["secondary_tax_sum"],
    )


def tax_codes() -> tuple[TaxCode, ...]:
    """A Canadian-style company: GST 5%, PST 7%, both 12%, exempt 0%."""
    return (
        TaxCode("3", "GST", Decimal("5")),
        TaxCode("4", "PST", Decimal("7")),
        TaxCode("5", "GST/PST", Decimal("12")),
        TaxCode("6", "Exempt", Decimal("0")),
    )


def applications(parts: Mapping[str, str], prefix: str = "a") -> tuple[Application, ...]:
    """Allocations to bills: bill id -> amount."""
    return tuple(
        Application(f"{prefix}{n}", bill, Decimal(amount)) for n, (bill, amount) in enumerate(parts.items())
    )


def payment(
    source_id: str = "500",
    parts: Mapping[str, str] | None = None,
    contact_id: str = "1",
    *,
    voided: bool = False,
    from_trust: bool = False,
    reference: str | None = "CHK 2211",
    on: date = date(2026, 3, 10),
) -> Payment:
    return Payment(
        source_id=source_id,
        contact_id=contact_id,
        date=on,
        applications=applications(parts if parts is not None else {"100": "250.00"}),
        reference=reference,
        from_trust=from_trust,
        voided=voided,
    )


def credit_note(
    source_id: str = "700",
    parts: Mapping[str, str] | None = None,
    contact_id: str = "1",
    *,
    voided: bool = False,
    description: str | None = "Courtesy discount",
    on: date = date(2026, 3, 12),
) -> CreditNote:
    return CreditNote(
        source_id=source_id,
        contact_id=contact_id,
        date=on,
        applications=applications(parts if parts is not None else {"100": "50.00"}, prefix="c"),
        description=description,
        voided=voided,
    )


def ledger_customer(
    customer_id: str = "C1",
    name: str = "Dana Whitfield",
    email: str | None = "dana@example.com",
    *,
    phone: str | None = None,
    address: Address | None = None,
    active: bool = True,
    version: str | None = "1",
    person: bool = True,
) -> LedgerCustomer:
    """A ledger customer; a person's given and family names are split from the display name."""
    given, _, family = name.rpartition(" ") if person else ("", "", "")
    return LedgerCustomer(
        customer_id,
        name,
        email,
        active,
        version,
        phone=phone,
        address=address,
        given_name=given or None,
        family_name=family or None,
    )
