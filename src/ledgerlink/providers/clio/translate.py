"""Clio wire records → provider-neutral domain records. Pure: no I/O, no clock.

A Clio bill becomes an :class:`~ledgerlink.domain.Invoice` whose lines add up to the bill total
to the cent: one line per Clio line item, then the bill's primary tax, secondary tax and interest
as lines of their own (QBO US and Xero get sales tax as an ordinary line, as the products this
replaces do). Tax and interest lines appear only when their amount is not zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, TypeVar

from ledgerlink.domain import Address, BillState, Contact, Invoice, InvoiceLine, LineKind, money
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.wire import (
    ClioActivity,
    ClioAddress,
    ClioBill,
    ClioBillingSettings,
    ClioContact,
    ClioLineItem,
)

_STATES = {state.value: state for state in BillState}


class _MaybePrimary(Protocol):
    @property
    def primary(self) -> bool: ...


_Listed = TypeVar("_Listed", bound=_MaybePrimary)
_UNTRANSLATABLE_REMEDY = "Check the bill in Clio; if Clio changed how bills look, upgrade ledgerlink."


def contact_from_clio(contact: ClioContact) -> Contact:
    """The domain Contact: primary email, phone and address (else the first one listed)."""
    is_company = contact.type == "Company"
    name = contact.name or " ".join(part for part in (contact.first_name, contact.last_name) if part)
    email = _primary(contact.email_addresses)
    phone = _primary(contact.phone_numbers)
    address = _primary(contact.addresses)
    return Contact(
        source_id=str(contact.id),
        name=name,
        is_company=is_company,
        first_name=None if is_company else contact.first_name,
        last_name=None if is_company else contact.last_name,
        email=email.address if email else contact.primary_email_address,
        phone=phone.number if phone else contact.primary_phone_number,
        address=_address(address) if address else None,
        updated_at=contact.updated_at,
    )


def invoice_from_clio(
    bill: ClioBill,
    lines: Sequence[ClioLineItem],
    activities: Mapping[int, ClioActivity],
    settings: ClioBillingSettings,
) -> Invoice:
    """The domain Invoice for a bill, its line items and the activities behind them.

    ``activities`` supplies each line's category (activity category or expense category); a line
    whose activity is missing gets no category. Raises LedgerlinkError for a bill that cannot be
    an invoice (unknown state, no client, no issue date).
    """
    state = _STATES.get(bill.state)
    if state is None:
        raise _untranslatable(bill, f"has a state ledgerlink does not know: {bill.state!r}")
    if bill.client is None:
        raise _untranslatable(bill, "has no client")
    if bill.issued_at is None:
        raise _untranslatable(bill, "has no issue date")
    charges = [_line(line, activities) for line in lines]
    extras = [
        (LineKind.TAX, "tax", bill.tax_sum, settings.tax_name or "Tax"),
        (
            LineKind.TAX,
            "secondary_tax",
            bill.secondary_tax_sum,
            settings.secondary_tax_name or "Secondary tax",
        ),
        (LineKind.INTEREST, "interest", bill.interest.total if bill.interest else 0, "Interest"),
    ]
    for kind, suffix, amount, description in extras:
        if money(amount) != 0:
            charges.append(
                InvoiceLine(
                    source_id=f"{bill.id}:{suffix}",
                    kind=kind,
                    description=description,
                    amount=money(amount),
                    unit_price=money(amount),
                    date=bill.issued_at,
                )
            )
    return Invoice(
        source_id=str(bill.id),
        number=bill.number,
        state=state,
        contact_id=str(bill.client.id),
        issued_at=bill.issued_at,
        total=money(bill.total),
        lines=tuple(charges),
        due_at=bill.due_at,
        balance=money(bill.balance),
        memo=bill.memo,
        matter=bill.matters[0].display_number if bill.matters else None,
        updated_at=bill.updated_at,
    )


def _line(line: ClioLineItem, activities: Mapping[int, ClioActivity]) -> InvoiceLine:
    # Clio's other kinds ("Product", and any added later) are charges that are not time.
    kind = LineKind.TIME if line.kind == "Service" else LineKind.EXPENSE
    activity = activities.get(line.activity.id) if line.activity else None
    category = None
    if activity is not None:
        source = activity.activity_description if kind is LineKind.TIME else activity.expense_category
        category = source.name if source else None
    return InvoiceLine(
        source_id=str(line.id),
        kind=kind,
        description=line.description or line.note or "",
        amount=money(line.total),
        quantity=line.quantity,
        unit_price=line.price,
        category=category,
        date=line.date,
    )


def _primary(items: Sequence[_Listed]) -> _Listed | None:
    """The item marked primary, else the first one, else None."""
    return next((item for item in items if item.primary), items[0] if items else None)


def _address(address: ClioAddress) -> Address:
    return Address(
        street=address.street,
        city=address.city,
        province=address.province,
        postal_code=address.postal_code,
        country=address.country,
    )


def _untranslatable(bill: ClioBill, why: str) -> LedgerlinkError:
    return LedgerlinkError(f"Clio bill {bill.number} (id {bill.id}) {why}", remedy=_UNTRANSLATABLE_REMEDY)
