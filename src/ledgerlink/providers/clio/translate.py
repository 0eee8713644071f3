"""Clio wire records → provider-neutral domain records. Pure: no I/O, no clock.

A Clio bill becomes an :class:`~ledgerlink.domain.Invoice` whose lines add up to the bill total
to the cent: one line per Clio line item, then the bill's primary tax, secondary tax and interest
as lines of their own (QBO US and Xero get sales tax as an ordinary line, as the products this
replaces do). Tax and interest lines appear only when their amount is not zero. Each line also
carries Clio's tax flags and amounts, and the invoice Clio's tax sums, for ledgers that compute
tax themselves.

Payments and credit notes come from allocations (Clio has no payments list, reference §3.9):
the allocations of one parent Payment (or CreditMemo) make one Payment (CreditNote). Contact
edits made in the ledger become a PATCH body (:func:`contact_edit_body`). Trust bank accounts
and their transactions become TrustAccount / TrustTransaction; which kind of movement a
transaction is comes from :mod:`.trust_kinds`, the one home of those assumptions.

Assumptions (the reference is silent on them):

- A payment came from trust when an allocation's ``source_bank_account`` is a Trust account;
  the reference marks this reading of the two bank-account links UNVERIFIED.
- Allocations do not carry the payment's reference, so a Payment's ``reference`` is None.
- An allocation to a trust request (see :mod:`.trust_kinds`) is money paid into trust, not a
  revenue payment: it is left out of payments and credit notes (the trust ledger has it).
- A payment (credit note) is voided when every allocation of it is; it then lists the
  allocations voided last (with it), which is what it applied before it was deleted. An
  allocation with no bill (interest whose bill was deleted) applies to no invoice and is left out.
- An e-mail address, phone number or address created by a write-back is named "Work",
  "Work" and "Billing" (Clio's own choices); a new e-mail or phone is made the primary one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol, TypeVar

from ledgerlink.domain import (
    Address,
    Application,
    BillState,
    Contact,
    ContactEdit,
    CreditNote,
    Invoice,
    InvoiceLine,
    LineKind,
    Payment,
    TaxSettings,
    TrustAccount,
    TrustTransaction,
    money,
)
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.trust_kinds import classify, is_trust_request
from ledgerlink.providers.clio.wire import (
    ClioActivityCategory,
    ClioAddress,
    ClioAllocation,
    ClioBankAccount,
    ClioBankTransaction,
    ClioBill,
    ClioBillingSettings,
    ClioContact,
    ClioLineItem,
)

PAYMENT = "Payment"
CREDIT_MEMO = "CreditMemo"

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
    activities: Mapping[int, ClioActivityCategory],
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
        tax=money(bill.tax_sum),
        secondary_tax=money(bill.secondary_tax_sum),
    )


def _line(line: ClioLineItem, activities: Mapping[int, ClioActivityCategory]) -> InvoiceLine:
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
        taxable=line.taxable,
        secondary_taxable=line.secondary_taxable,
        tax=money(line.tax),
        secondary_tax=money(line.secondary_tax),
    )


def tax_settings_from_clio(settings: ClioBillingSettings) -> TaxSettings:
    """The firm's primary and secondary tax as Clio's billing settings hold them (rates in percent)."""
    return TaxSettings(
        primary_name=settings.tax_name or "Tax",
        primary_rate=settings.tax_rate,
        secondary_name=settings.secondary_tax_name,
        secondary_rate=settings.secondary_tax_rate,
        secondary_enabled=settings.use_secondary_tax,
    )


# -- payments and credit notes (allocations) ---------------------------------------------------


def allocations_by_parent(
    allocations: Iterable[ClioAllocation], parent_type: str
) -> dict[int, list[ClioAllocation]]:
    """The allocations of each parent of ``parent_type`` ("Payment" or "CreditMemo"), by parent id.

    An allocation read twice (by overlapping requests) counts once, as its latest version. An
    allocation to a trust request is money into trust, not a payment of a bill: left out.
    """
    latest: dict[int, ClioAllocation] = {}
    for allocation in allocations:
        if allocation.parent is None or allocation.parent.type != parent_type:
            continue
        if allocation.bill is not None and is_trust_request(allocation.bill.kind):
            continue
        seen = latest.get(allocation.id)
        if seen is None or _moment(allocation.updated_at) >= _moment(seen.updated_at):
            latest[allocation.id] = allocation
    groups: dict[int, list[ClioAllocation]] = {}
    for allocation in sorted(latest.values(), key=lambda a: a.id):
        assert allocation.parent is not None
        groups.setdefault(allocation.parent.id, []).append(allocation)
    return dict(sorted(groups.items()))


def payment_from_allocations(payment_id: int, allocations: Sequence[ClioAllocation]) -> Payment:
    """One Clio payment from all its allocations (valid and voided); LedgerlinkError if it has no client."""
    applied, voided = _applied(allocations)
    return Payment(
        source_id=str(payment_id),
        contact_id=_contact_id(PAYMENT, payment_id, allocations),
        date=max(a.date for a in applied),
        applications=tuple(_application(a) for a in applied if a.bill is not None),
        reference=None,
        from_trust=any(
            a.source_bank_account is not None and a.source_bank_account.type == "Trust" for a in applied
        ),
        voided=voided,
        updated_at=_latest_update(allocations),
    )


def credit_note_from_allocations(credit_memo_id: int, allocations: Sequence[ClioAllocation]) -> CreditNote:
    """One Clio credit memo from all its allocations; its description is the memo's (on each allocation)."""
    applied, voided = _applied(allocations)
    return CreditNote(
        source_id=str(credit_memo_id),
        contact_id=_contact_id(CREDIT_MEMO, credit_memo_id, allocations),
        date=max(a.date for a in applied),
        applications=tuple(_application(a) for a in applied if a.bill is not None),
        description=next((a.description for a in applied if a.description), None),
        voided=voided,
        updated_at=_latest_update(allocations),
    )


def payments_from_allocations(allocations: Iterable[ClioAllocation]) -> list[Payment]:
    """The payments these allocations belong to, by payment id (credit memo allocations are ignored)."""
    groups = allocations_by_parent(allocations, PAYMENT)
    return [payment_from_allocations(parent_id, group) for parent_id, group in groups.items()]


def credit_notes_from_allocations(allocations: Iterable[ClioAllocation]) -> list[CreditNote]:
    """The credit notes these allocations belong to, by credit memo id (payments are ignored)."""
    groups = allocations_by_parent(allocations, CREDIT_MEMO)
    return [credit_note_from_allocations(parent_id, group) for parent_id, group in groups.items()]


def _applied(allocations: Sequence[ClioAllocation]) -> tuple[list[ClioAllocation], bool]:
    """The allocations a parent applies, and whether it is voided (every allocation voided).

    A voided parent applies what was voided with it: the allocations voided last.
    """
    if not allocations:
        raise ValueError("a payment or credit note has at least one allocation")
    valid = [a for a in allocations if a.voided_at is None]
    if valid:
        return valid, False
    last = max(_moment(a.voided_at) for a in allocations)
    return [a for a in allocations if _moment(a.voided_at) == last], True


def _application(allocation: ClioAllocation) -> Application:
    assert allocation.bill is not None
    return Application(
        source_id=str(allocation.id), bill_id=str(allocation.bill.id), amount=money(allocation.amount)
    )


def _contact_id(parent_type: str, parent_id: int, allocations: Sequence[ClioAllocation]) -> str:
    contact = next((a.contact for a in allocations if a.contact is not None), None)
    if contact is None:
        raise LedgerlinkError(
            f"Clio {parent_type} {parent_id} names no client on its allocations",
            remedy="Check the payment or credit in Clio; if Clio changed how they look, upgrade ledgerlink.",
        )
    return str(contact.id)


def _latest_update(allocations: Sequence[ClioAllocation]) -> datetime | None:
    moments = [a.updated_at for a in allocations if a.updated_at is not None]
    return max(moments) if moments else None


def _moment(value: datetime | None) -> float:
    return value.timestamp() if value is not None else float("-inf")


# -- trust -------------------------------------------------------------------------------------


def trust_account_from_clio(account: ClioBankAccount) -> TrustAccount:
    return TrustAccount(
        source_id=str(account.id),
        name=account.name or f"Clio bank account {account.id}",
        balance=money(account.balance),
        currency=account.currency,
    )


def trust_transaction_from_clio(
    wire: ClioBankTransaction, *, account_id: str | None = None
) -> TrustTransaction | None:
    """The domain TrustTransaction; ``None`` for one that moves no money.

    ``account_id`` stands in when the wire record does not name its account (it was read by
    account). Its size is ``|funds_in − funds_out|``; when Clio sends neither, the signed
    ``amount``. Raises LedgerlinkError when no account is known.
    """
    funds_in, funds_out = wire.funds_in, wire.funds_out
    if funds_in is None and funds_out is None and wire.amount is not None:
        funds_in, funds_out = max(wire.amount, Decimal(0)), max(-wire.amount, Decimal(0))
    funds_in, funds_out = money(funds_in or 0), money(funds_out or 0)
    kind = classify(
        funds_in=funds_in,
        funds_out=funds_out,
        transaction_type=wire.transaction_type,
        has_bill=wire.bill is not None,
        bill_is_trust=wire.bill is not None and is_trust_request(wire.bill.kind),
        has_allocation=wire.allocation is not None,
    )
    if kind is None:
        return None
    account = str(wire.bank_account_id) if wire.bank_account_id is not None else account_id
    if account is None:
        raise LedgerlinkError(
            f"Clio bank transaction {wire.id} names no bank account",
            remedy="Report this to the ledgerlink maintainers with the log (run with --verbose).",
        )
    return TrustTransaction(
        source_id=str(wire.id),
        account_id=account,
        kind=kind,
        date=wire.date,
        amount=abs(funds_in - funds_out),
        client_id=str(wire.client.id) if wire.client is not None else None,
        client_name=wire.client.name if wire.client is not None else None,
        matter=wire.matter.display_number if wire.matter is not None else None,
        description=wire.description,
        reference=wire.confirmation,
        bill_id=str(wire.bill.id) if wire.bill is not None else None,
        updated_at=wire.updated_at,
    )


# -- contact write-back -------------------------------------------------------------------------


def contact_edit_body(contact: ClioContact, edit: ContactEdit) -> dict[str, Any]:
    """The PATCH ``data`` that makes ``contact`` say what ``edit`` says; empty when it already does.

    A Person's name is written as first and last name (Clio refuses a name it cannot split), a
    Company's as ``name``. The primary e-mail, phone and address are updated by id, created
    (as the primary one) when there is none, and deleted when the edit clears them.
    """
    body: dict[str, Any] = {}
    if contact.type == "Company":
        if edit.name is not None and edit.name != contact.name:
            body["name"] = edit.name
    else:
        first, last = edit.first_name, edit.last_name
        if edit.name is not None and first is None and last is None:
            first, last = _split_name(edit.name)
        for key, value, current in (
            ("first_name", first, contact.first_name),
            ("last_name", last, contact.last_name),
        ):
            if value is not None and (value or None) != current:
                body[key] = value or None
    email = _primary(contact.email_addresses)
    phone = _primary(contact.phone_numbers)
    changes = (
        ("email_addresses", edit.email, email, "address", email.address if email else None, "default_email"),
        ("phone_numbers", edit.phone, phone, "number", phone.number if phone else None, "default_number"),
    )
    for plural, wanted, item, key, current, flag in changes:
        change = _item_change(wanted, item.id if item else None, current, key, flag)
        if change is not None:
            body[plural] = [change]
    if edit.address is not None:
        address = _primary(contact.addresses)
        change = _address_change(edit.address, address)
        if change is not None:
            body["addresses"] = [change]
    return body


def contact_create_body(contact: Contact) -> dict[str, Any]:
    """The POST ``data`` for a new Clio contact (reference §3.2): a Person by first and last name
    (Clio refuses a lone name it cannot split), a Company by name; the e-mail, phone and address
    as the primary (default) ones."""
    body: dict[str, Any] = {"type": "Company" if contact.is_company else "Person", "name": contact.name}
    if not contact.is_company:
        first, last = contact.first_name, contact.last_name
        if not first and not last:
            first, last = _split_name(contact.name)
        body.update(first_name=first or None, last_name=last or None)
    if contact.email:
        body["email_addresses"] = [{"name": "Work", "address": contact.email, "default_email": True}]
    if contact.phone:
        body["phone_numbers"] = [{"name": "Work", "number": contact.phone, "default_number": True}]
    if contact.address is not None:
        parts = {
            key: getattr(contact.address, key) for key in _ADDRESS_PARTS if getattr(contact.address, key)
        }
        if parts:
            body["addresses"] = [{"name": "Billing", **parts}]
    return body


def _split_name(name: str) -> tuple[str, str]:
    """A person's full name as (first, last): the last word is the last name; one word is a first name."""
    first, _, last = name.strip().rpartition(" ")
    return (first.strip(), last) if first.strip() else (last, "")


def _item_change(
    wanted: str | None, item_id: int | None, current: str | None, key: str, primary_flag: str
) -> dict[str, Any] | None:
    """One e-mail or phone change: update by id, create as primary, or destroy (``wanted`` empty).

    None when there is nothing to do.
    """
    if wanted is None or wanted == (current or ""):
        return None
    if not wanted:
        return {"id": item_id, "_destroy": True} if item_id is not None else None
    if item_id is None:
        return {"name": "Work", key: wanted, primary_flag: True}
    return {"id": item_id, key: wanted}


_ADDRESS_PARTS = ("street", "city", "province", "postal_code", "country")


def _address_change(wanted: Address, current: ClioAddress | None) -> dict[str, Any] | None:
    parts = {key: getattr(wanted, key) or None for key in _ADDRESS_PARTS}
    if not any(parts.values()):
        return (
            {"id": current.id, "_destroy": True} if current is not None and current.id is not None else None
        )
    if current is None or current.id is None:
        return {"name": "Billing", **parts}
    changed = {key: value for key, value in parts.items() if value != getattr(current, key)}
    return {"id": current.id, **changed} if changed else None


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
