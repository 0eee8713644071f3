"""Invoices flow: approved Clio bills become ledger invoices, once, and follow Clio's edits.

A bill is planned only when its contact is linked. Every line must map to a Product/Service and
the lines must add up to the bill total to the cent; otherwise the bill is an error with a remedy
and the pass goes on. An unlinked bill whose number already exists in the ledger for the same
customer and amount is adopted (linked), never duplicated.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from ledgerlink.config import MappingConfig
from ledgerlink.domain import Invoice
from ledgerlink.errors import RecordError
from ledgerlink.sync.mapping import Unmapped, item_for
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import InvoiceDraft, LedgerInvoice, LinkView, MappedLine

KIND = "invoice"


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
    invoice: Invoice, customer_id: str, mapping: MappingConfig, *, max_number: int
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
    mapped: list[MappedLine] = []
    unmapped: list[Unmapped] = []
    for line in invoice.lines:
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
            message=f"No Product/Service is mapped for {whats}.",
            remedy="Add to the config: " + "; ".join(u.example for u in unmapped) + " — then run sync again.",
            retryable=False,
        )
    lines_total = sum((m.line.amount for m in mapped), start=invoice.total * 0)
    if lines_total != invoice.total:
        return RecordError(
            cause="total_mismatch",
            message=f"The lines add up to {lines_total} but Clio's bill total is {invoice.total}; "
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
    return InvoiceDraft(invoice, customer_id, tuple(mapped))


def draft_hash(draft: InvoiceDraft) -> str:
    invoice = draft.invoice
    return content_hash(
        {
            "number": invoice.number,
            "issued_at": invoice.issued_at,
            "due_at": invoice.due_at,
            "customer": draft.customer_id,
            "total": invoice.total,
            "memo": invoice.memo,
            "matter": invoice.matter,
            "lines": [(m.item, m.line) for m in draft.lines],
        }
    )


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


def plan_invoices(invoices: Sequence[Invoice], world: InvoiceWorld) -> list[Action]:
    """Decide, for each changed bill, create / update / link / skip / fail / blocked."""
    return [_plan_one(invoice, world) for invoice in invoices]


def _out_of_scope(invoice: Invoice, scope: InvoiceScope, label: str, link: LinkView | None) -> Action:
    reason = f"not synced: bill is {invoice.state.value.replace('_', ' ')}"
    if scope.start_date and invoice.issued_at < scope.start_date:
        reason = f"not synced: issued {invoice.issued_at}, before the start date {scope.start_date}"
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


def _plan_one(invoice: Invoice, world: InvoiceWorld) -> Action:
    label = invoice_label(invoice, world.contact_names.get(invoice.contact_id))
    scope = world.scope
    link = world.links.get(invoice.source_id)
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
    draft = draft_invoice(invoice, contact_link.target_id, world.mapping, max_number=world.max_number)
    if isinstance(draft, RecordError):
        return Action(Op.FAIL, KIND, invoice.source_id, label, error=draft)
    digest = draft_hash(draft)
    if link is None:
        return _create_or_adopt(
            invoice,
            label,
            draft,
            digest,
            world.existing.get(invoice.number),
            world.ours.get(invoice.source_id),
        )
    if link.content_hash == digest:
        return Action(
            Op.SKIP,
            KIND,
            invoice.source_id,
            label,
            "unchanged",
            target_id=link.target_id,
            content_hash=digest,
        )
    return Action(
        Op.UPDATE,
        KIND,
        invoice.source_id,
        label,
        "changed in Clio",
        payload=draft,
        target_id=link.target_id,
        content_hash=digest,
    )


def _create_or_adopt(
    invoice: Invoice,
    label: str,
    draft: InvoiceDraft,
    digest: str,
    found: LedgerInvoice | None,
    intent_key: str | None,
) -> Action:
    """Create, unless the ledger already has this bill: ours from an interrupted pass, or a match."""
    if found is None:
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
            message=f"The ledger already has an invoice numbered {found.number} (id {found.id}) for another "
            f"customer or amount ({found.total}).",
            remedy="Renumber the bill in Clio (set Clio's next invoice number above the ledger's last), or "
            "renumber the ledger's invoice.",
        ),
    )


def unlinked_numbers(invoices: Collection[Invoice], links: Mapping[str, LinkView]) -> list[str]:
    return sorted({i.number for i in invoices if i.source_id not in links})
