"""Invoices flow: approved Clio bills become ledger invoices, once, and follow Clio's edits.

A bill is planned only when its contact is linked. Every line must map to a Product/Service and
the lines must add up to the bill total to the cent; otherwise the bill is an error with a remedy
and the pass goes on. An unlinked bill whose number already exists in the ledger for the same
customer and amount is adopted (linked), never duplicated.

Clio owns its bills: a synced bill voided in Clio is voided in the ledger, a deleted one deleted,
and one taken back to draft is an error until it is approved again (the ledger keeps the last
approved version meanwhile). An invoice edited in the ledger gets Clio's version back, and one
deleted there is created again. Tax reaches the ledger as lines (US) or as tax codes (non-US);
see :mod:`ledgerlink.sync.tax`.

Assumptions:

- A synced bill issued before the start date is left alone whatever happens to it in Clio: the
  start date says which bills ledgerlink may touch.
- Voiding or deleting needs only the linked invoice (``Action.target_id``); those actions carry
  no payload.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.config import MappingConfig
from ledgerlink.domain import BillState, Invoice, InvoiceLine
from ledgerlink.errors import RecordError
from ledgerlink.sync import tax as sales_tax
from ledgerlink.sync.flows.payments import linked_action
from ledgerlink.sync.mapping import PLACEHOLDER, Unmapped, item_for
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import InvoiceDraft, LedgerInvoice, LedgerSettings, LinkView, MappedLine
from ledgerlink.sync.tax import TaxTreatment

KIND = "invoice"
LEDGER_TITLE = "QuickBooks Online"
MAPPING_NOUN = "Product/Service"
US_TAX = TaxTreatment()
# What a link to a voided invoice holds as its hash: a voided bill is voided once, not every pass.
VOIDED_HASH = content_hash({"state": BillState.VOID})
# The fields of a line that draft_hash covers: all of them, as content_hash would.
_LINE_FIELDS = tuple(f.name for f in fields(InvoiceLine))
CUSTOM_NUMBERS_REMEDY = (
    "In QuickBooks: Settings → Account and settings → Sales → Sales form content → turn on Custom "
    "transaction numbers, then run sync again."
)


@dataclass(frozen=True)
class InvoiceScope:
    """Which bills are synced: the configured states, issued on or after the start date."""

    states: frozenset[str]
    start_date: date | None = None

    def includes(self, invoice: Invoice) -> bool:
        if invoice.state.value not in self.states:
            return False
        return self.start_date is None or invoice.issued_at >= self.start_date


def invoice_label(invoice: Invoice, contact_name: str | None = None) -> str:
    who = f" ({contact_name})" if contact_name else ""
    return f"Bill {invoice.number}{who}"


def draft_invoice(
    invoice: Invoice,
    customer_id: str,
    mapping: MappingConfig,
    *,
    max_number: int,
    tax: TaxTreatment = US_TAX,
    ledger_title: str = LEDGER_TITLE,
    mapping_noun: str = MAPPING_NOUN,
) -> InvoiceDraft | RecordError:
    """Map every line of a bill, check its number and total; a draft ready to write, or why not."""
    if len(invoice.number) > max_number:
        return RecordError(
            cause="number_too_long",
            message=f"Bill number “{invoice.number}” has {len(invoice.number)} characters; the ledger "
            f"accepts at most {max_number}.",
            remedy=f"Renumber the bill in Clio with at most {max_number} characters.",
            retryable=False,
        )
    if tax.computes_tax:
        return _draft_with_tax_codes(invoice, customer_id, mapping, tax, ledger_title)
    lines = sales_tax.us_tax_lines(invoice, aggregate=tax.aggregate_line_item_taxes)
    mapped = _map_lines(lines, mapping, mapping_noun)
    if isinstance(mapped, RecordError):
        return mapped
    problem = _ties_out(invoice, _sum(m.line.amount for m in mapped))
    return problem or InvoiceDraft(invoice, customer_id, tuple(mapped))


def _draft_with_tax_codes(
    invoice: Invoice, customer_id: str, mapping: MappingConfig, tax: TaxTreatment, ledger_title: str
) -> InvoiceDraft | RecordError:
    """Non-US: Clio's tax lines dropped, each line coded for the tax the ledger will compute."""
    charges = sales_tax.charges(invoice)
    mapped = _map_lines(charges, mapping)
    if isinstance(mapped, RecordError):
        return mapped
    slots = {line.source_id: sales_tax.slot_of(line) for line in charges}
    codes = sales_tax.codes_for(set(slots.values()), mapping.tax_codes, tax.codes, ledger_title=ledger_title)
    if isinstance(codes, RecordError):
        return codes
    problem = _ties_out(invoice, _sum(m.line.amount for m in mapped), invoice.total_tax)
    if problem is not None:
        return problem
    coded = tuple(MappedLine(m.line, m.item, codes[slots[m.line.source_id]].id) for m in mapped)
    return InvoiceDraft(invoice, customer_id, coded, expected_tax=invoice.total_tax)


def _map_lines(
    lines: Sequence[InvoiceLine], mapping: MappingConfig, noun: str = MAPPING_NOUN
) -> list[MappedLine] | RecordError:
    mapped: list[MappedLine] = []
    unmapped: list[Unmapped] = []
    for line in lines:
        item = item_for(line, mapping)
        if isinstance(item, Unmapped):
            if item not in unmapped:
                unmapped.append(item)
        else:
            mapped.append(MappedLine(line, item))
    if unmapped:
        whats = ", ".join(u.what for u in unmapped)
        return RecordError(
            cause="unmapped_category",
            message=f"No {noun} is mapped for {whats}.",
            remedy="Add to the config: "
            + "; ".join(u.example.replace(PLACEHOLDER, f"<{noun}>") for u in unmapped)
            + " — then run sync again.",
            retryable=False,
        )
    return mapped


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, Decimal("0.00"))


def _ties_out(invoice: Invoice, lines_total: Decimal, tax: Decimal | None = None) -> RecordError | None:
    """Why the lines (plus the tax the ledger adds, if it computes it) miss the bill total, if they do."""
    if lines_total + (tax or 0) != invoice.total:
        added = f"The lines add up to {lines_total}"
        if tax is not None:
            added += f" and Clio's tax to {tax}"
        return RecordError(
            cause="total_mismatch",
            message=f"{added} but Clio's bill total is {invoice.total}; "
            "ledgerlink never posts an invoice that does not tie out.",
            remedy="Check the bill's discounts and adjustments in Clio; report this bill if it looks right.",
            retryable=False,
        )
    if invoice.total < 0:
        return RecordError(
            cause="negative_total",
            message=f"The bill total is {invoice.total}; an invoice cannot be negative.",
            remedy="Record the refund as a credit note in Clio instead.",
            retryable=False,
        )
    return None


def draft_hash(draft: InvoiceDraft) -> str:
    """The hash an invoice's link keeps: equal drafts, equal hashes, in every process and release.

    A new value for the same draft would make the next pass rewrite every synced invoice, so this
    stays :func:`~ledgerlink.sync.plan.content_hash` of the mapping below (a test holds the two
    equal). It is written out as JSON values here because content_hash's generic walk over the
    lines (``asdict`` and its deep copies) was 8 % of a first sync's CPU.
    """
    invoice = draft.invoice
    content: dict[str, Any] = {
        "number": invoice.number,
        "issued_at": _json_value(invoice.issued_at),
        "due_at": _json_value(invoice.due_at),
        "customer": draft.customer_id,
        "total": _json_value(invoice.total),
        "memo": invoice.memo,
        "matter": invoice.matter,
        # Tax codes and the expected tax exist only for non-US companies; leaving them out
        # otherwise keeps the hashes of US invoices what they always were.
        "lines": [_mapped_line_json(m) for m in draft.lines],
    }
    if draft.expected_tax is not None:
        content["expected_tax"] = _json_value(draft.expected_tax)
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def _mapped_line_json(mapped: MappedLine) -> list[Any]:
    line = {name: _json_value(getattr(mapped.line, name)) for name in _LINE_FIELDS}
    return [mapped.item, line] if mapped.tax_code is None else [mapped.item, line, mapped.tax_code]


def _json_value(value: Any) -> Any:
    """A field as content_hash writes it: amounts in plain digits, dates in ISO form (enums are str)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    return value


@dataclass(frozen=True)
class InvoiceWorld:
    """What planning a bill needs to know besides the bill: links, the ledger's view, the mapping."""

    scope: InvoiceScope
    links: Mapping[str, LinkView]  # bills already in the ledger
    contact_links: Mapping[str, LinkView]  # contacts already in the ledger
    failed_contacts: Mapping[str, str]  # contact id -> label of a contact that could not be synced
    existing: Mapping[str, LedgerInvoice]  # ledger invoices by number, for unlinked bills
    mapping: MappingConfig
    contact_names: Mapping[str, str]
    max_number: int
    ours: Mapping[str, str] = field(default_factory=dict)  # bill id -> key of an unfinished create
    custom_numbers: bool = True  # the ledger keeps the numbers we send (QBO "Custom transaction numbers")
    settings: LedgerSettings | None = None  # None: a US company (tax as lines)
    aggregate_taxes: bool = True  # sync.aggregate_line_item_taxes
    # The ledger's change feed for invoices: ledger id -> version now, None when deleted; absent = unchanged.
    versions: Mapping[str, str | None] = field(default_factory=dict)
    ledger_title: str = LEDGER_TITLE
    mapping_noun: str = MAPPING_NOUN  # what a [mapping] value names in the ledger

    @property
    def tax(self) -> TaxTreatment:
        if self.settings is None:
            return TaxTreatment(aggregate_line_item_taxes=self.aggregate_taxes)
        return TaxTreatment.of(self.settings, aggregate_line_item_taxes=self.aggregate_taxes)


def plan_invoices(invoices: Sequence[Invoice], world: InvoiceWorld) -> list[Action]:
    """Decide, for each changed bill, create / update / link / void / delete / skip / fail / blocked."""
    return [_plan_one(invoice, world) for invoice in invoices]


def out_of_scope_reason(invoice: Invoice, scope: InvoiceScope) -> str | None:
    """Why a bill is never synced (its state or its issue date), or None when it is in scope."""
    if scope.start_date and invoice.issued_at < scope.start_date:
        return f"not synced: issued {invoice.issued_at}, before the start date {scope.start_date}"
    if invoice.state.value not in scope.states:
        return f"not synced: bill is {_state_words(invoice.state)}"
    return None


def _state_words(state: BillState) -> str:
    return state.value.replace("_", " ")


def _out_of_scope(invoice: Invoice, scope: InvoiceScope, label: str, link: LinkView | None) -> Action:
    reason = out_of_scope_reason(invoice, scope) or f"not synced: bill is {_state_words(invoice.state)}"
    if link is not None:
        reason += "; the ledger invoice synced earlier is left as it is"
    return Action(Op.SKIP, KIND, invoice.source_id, label, reason, target_id=link.target_id if link else None)


def _blocked(invoice: Invoice, label: str, parent: str) -> Action:
    error = RecordError(
        cause="blocked",
        message=f"Waiting for {parent}, which could not be synced.",
        remedy="Fix the contact (see `ledgerlink errors`); the bill follows on the next pass.",
        blocked_by=f"contact {invoice.contact_id}",
    )
    return Action(Op.BLOCKED, KIND, invoice.source_id, label, error=error)


def _after_sync(
    invoice: Invoice, label: str, link: LinkView, title: str, versions: Mapping[str, str | None]
) -> Action | None:
    """A synced bill that left the synced states in Clio: voided, deleted or unapproved again."""
    target = link.target_id
    gone = target in versions and versions[target] is None
    if gone and invoice.state in (BillState.VOID, BillState.DELETED):
        return Action(
            Op.SKIP,
            KIND,
            invoice.source_id,
            label,
            f"{_state_words(invoice.state)} in Clio; the invoice was already deleted in {title}",
            target_id=target,
        )
    if invoice.state is BillState.VOID:
        if link.content_hash == VOIDED_HASH:
            return Action(
                Op.SKIP,
                KIND,
                invoice.source_id,
                label,
                f"voided in Clio; the {title} invoice is already voided",
                target_id=target,
                content_hash=VOIDED_HASH,
            )
        return Action(
            Op.VOID,
            KIND,
            invoice.source_id,
            label,
            "voided in Clio",
            target_id=target,
            content_hash=VOIDED_HASH,
        )
    if invoice.state is BillState.DELETED:
        return Action(Op.DELETE, KIND, invoice.source_id, label, "deleted in Clio", target_id=target)
    if invoice.state in (BillState.DRAFT, BillState.AWAITING_APPROVAL):
        return Action(
            Op.FAIL,
            KIND,
            invoice.source_id,
            label,
            target_id=target,
            error=RecordError(
                cause="unapproved",
                message=f"Bill {invoice.number} was synced when approved and is now "
                f"{_state_words(invoice.state)} in Clio; the {title} invoice still shows the last approved "
                "version.",
                remedy=f"Re-approve it in Clio (it syncs again) or void it in Clio (the {title} invoice is "
                "voided).",
                retryable=True,
            ),
        )
    return None


def _plan_one(invoice: Invoice, world: InvoiceWorld) -> Action:
    label = invoice_label(invoice, world.contact_names.get(invoice.contact_id))
    scope = world.scope
    link = world.links.get(invoice.source_id)
    before_start = scope.start_date is not None and invoice.issued_at < scope.start_date
    if link is not None and not before_start and invoice.state.value not in scope.states:
        lifecycle = _after_sync(invoice, label, link, world.ledger_title, world.versions)
        if lifecycle is not None:
            return lifecycle
    if not scope.includes(invoice):
        return _out_of_scope(invoice, scope, label, link)
    if not invoice.lines and invoice.total == 0:
        return Action(
            Op.SKIP, KIND, invoice.source_id, label, "nothing to post: no lines and a total of 0.00"
        )
    contact_link = world.contact_links.get(invoice.contact_id)
    if contact_link is None:
        return _blocked(
            invoice,
            label,
            world.failed_contacts.get(invoice.contact_id, f"Clio contact {invoice.contact_id}"),
        )
    draft = draft_invoice(
        invoice,
        contact_link.target_id,
        world.mapping,
        max_number=world.max_number,
        tax=world.tax,
        ledger_title=world.ledger_title,
        mapping_noun=world.mapping_noun,
    )
    if isinstance(draft, RecordError):
        return Action(Op.FAIL, KIND, invoice.source_id, label, error=draft)
    digest = draft_hash(draft)
    if link is None:
        return _create_or_adopt(invoice, label, draft, digest, world)
    if (
        link.target_id in world.versions
        and world.versions[link.target_id] is None
        and not world.custom_numbers
    ):
        return _renumbered(invoice, label, world.ledger_title)
    action = linked_action(
        KIND,
        invoice.source_id,
        label,
        link,
        draft,
        digest,
        world.versions,
        ledger_title=world.ledger_title,
        noun="bill",
    )
    if action.op is Op.UPDATE and action.notice is None:
        # Clio cannot lock a synced bill (Firm360 marks its invoices "Processed Externally"): say so.
        return replace(action, notice=f"was edited in Clio after it was synced; {world.ledger_title} updated")
    return action


def _renumbered(invoice: Invoice, label: str, title: str) -> Action:
    """A bill that cannot be created because the ledger would give it a number of its own."""
    return Action(
        Op.FAIL,
        KIND,
        invoice.source_id,
        label,
        error=RecordError(
            cause="custom_numbers_off",
            message=f"{title} numbers new invoices itself (Custom transaction numbers is off), so "
            f"Bill {invoice.number} would get another number there and the books would not match.",
            remedy=CUSTOM_NUMBERS_REMEDY,
            retryable=True,
        ),
    )


def _create_or_adopt(
    invoice: Invoice, label: str, draft: InvoiceDraft, digest: str, world: InvoiceWorld
) -> Action:
    """Create, unless the ledger already has this bill: ours from an interrupted pass, or a match."""
    found = world.existing.get(invoice.number)
    intent_key = world.ours.get(invoice.source_id)
    title = world.ledger_title
    if found is None:
        if not world.custom_numbers:
            return _renumbered(invoice, label, title)
        return Action(
            Op.CREATE, KIND, invoice.source_id, label, "approved in Clio", payload=draft, content_hash=digest
        )
    if intent_key and intent_key in found.note:
        return Action(
            Op.LINK,
            KIND,
            invoice.source_id,
            label,
            f"ledgerlink created invoice {found.number} in a pass that was cut off; linking it now",
            payload=draft,
            target_id=found.id,
            content_hash=digest,
        )
    if found.customer_id == draft.customer_id and found.total == invoice.total:
        return Action(
            Op.LINK,
            KIND,
            invoice.source_id,
            label,
            f"the ledger already has invoice {found.number} for this client and amount",
            payload=draft,
            target_id=found.id,
            content_hash=digest,
        )
    return Action(
        Op.FAIL,
        KIND,
        invoice.source_id,
        label,
        error=RecordError(
            cause="duplicate_number",
            message=f"{title} already has an invoice numbered {found.number} (id {found.id}) for another "
            f"customer or amount ({found.total}); both books number invoices from 1, so numbers collide when "
            f"{title} was used before Clio.",
            remedy="In Clio, renumber this bill and set the next invoice number above the last invoice "
            f"number in {title}, then run sync again.",
        ),
    )


def unlinked_numbers(invoices: Collection[Invoice], links: Mapping[str, LinkView]) -> list[str]:
    return sorted({i.number for i in invoices if i.source_id not in links})
