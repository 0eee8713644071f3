"""Credit notes flow: a Clio credit memo becomes a ledger credit note, then is applied to the invoices.

Two records in the ledger per Clio credit memo, planned in two steps:

1. the credit note itself (kind ``credit_note``, a QBO CreditMemo with one line on
   ``mapping.credit_notes``) — :func:`plan_credit_notes`;
2. its application to the invoices it was applied to in Clio (kind ``credit_application``, in QBO
   a zero-total Payment linking the credit memo and the invoices) — :func:`plan_credit_applications`,
   planned after the credit notes are written because it needs the credit note's ledger id.

A credit voided in Clio is taken out in the reverse order: the engine applies the application's
DELETE (from :func:`plan_credit_applications`, which needs nothing written first) before the
credit note's DELETE, so a ledger credit note is never removed while still applied to invoices.

As for payments, Clio owns credit notes: edits made in the ledger are overwritten with Clio's
version, deletions there are re-created, and a credit waits for its contact and bills.

Assumptions:

- A credit that applies to a bill ledgerlink never syncs is not posted (see the payments flow).
- The credit note is posted for the total applied in Clio (the sum of its allocations).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ledgerlink.domain import CreditNote
from ledgerlink.errors import RecordError
from ledgerlink.sync.flows.payments import SettlingWorld, gate, linked_action, settlements, voided_action
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import CreditApplicationDraft, CreditNoteDraft, LinkView

KIND = "credit_note"
APPLICATION_KIND = "credit_application"


@dataclass(frozen=True, kw_only=True)
class CreditWorld(SettlingWorld):
    """What planning a credit note needs besides the credit."""

    links: Mapping[str, LinkView]  # credit notes already in the ledger
    item: str  # mapping.credit_notes: the Product/Service (Xero: account code) credit notes are posted to
    mapping_noun: str = "Product/Service"


@dataclass(frozen=True, kw_only=True)
class ApplicationWorld(SettlingWorld):
    """What planning a credit's application needs: read after the credit notes were written."""

    links: Mapping[str, LinkView]  # applications already in the ledger
    credit_links: Mapping[str, LinkView]  # credit notes in the ledger, this pass's included


def credit_label(credit: CreditNote, contact_name: str | None = None) -> str:
    who = f" ({contact_name})" if contact_name else ""
    return f"Credit note of {credit.total} on {credit.date}{who}"


def credit_note_hash(draft: CreditNoteDraft) -> str:
    credit = draft.credit
    return content_hash(
        {
            "date": credit.date,
            "description": credit.description,
            "total": credit.total,
            "customer": draft.customer_id,
            "item": draft.item,
        }
    )


def application_hash(draft: CreditApplicationDraft) -> str:
    return content_hash(
        {
            "date": draft.credit.date,
            "customer": draft.customer_id,
            "credit": draft.credit_target_id,
            "lines": draft.lines,
        }
    )


def plan_credit_notes(credits: Sequence[CreditNote], world: CreditWorld) -> list[Action]:
    """Decide, for each changed credit, what happens to its ledger credit note."""
    return [_plan_credit(credit, world) for credit in credits]


def plan_credit_applications(credits: Sequence[CreditNote], world: ApplicationWorld) -> list[Action]:
    """Decide, for each changed credit, what happens to its application to the ledger invoices.

    Call it with links read after the credit notes were written: a credit note created in this
    pass must be linked for its application to be planned.
    """
    return [_plan_application(credit, world) for credit in credits]


def _plan_credit(credit: CreditNote, world: CreditWorld) -> Action:
    label = credit_label(credit, world.contact_names.get(credit.contact_id))
    link = world.links.get(credit.source_id)
    if credit.voided:
        return voided_action(KIND, credit.source_id, label, link, world.versions_of(KIND), world.ledger_title)
    waiting = gate(KIND, credit.source_id, label, credit.contact_id, credit.bill_ids, world)
    if waiting is not None:
        return waiting
    if not world.item:
        return Action(
            Op.FAIL,
            KIND,
            credit.source_id,
            label,
            error=RecordError(
                cause="unmapped",
                message=f"No {world.mapping_noun} is mapped for credit notes (mapping.credit_notes).",
                remedy=f'Add to the config: credit_notes = "<{world.mapping_noun}>" in the [mapping] section '
                "— then run sync again.",
                retryable=False,
            ),
        )
    if credit.total == 0:
        return Action(Op.SKIP, KIND, credit.source_id, label, "nothing to post: the credit applies 0.00")
    draft = CreditNoteDraft(credit, world.contact_links[credit.contact_id].target_id, world.item)
    digest = credit_note_hash(draft)
    if link is None:
        return Action(
            Op.CREATE, KIND, credit.source_id, label, "credited in Clio", payload=draft, content_hash=digest
        )
    return linked_action(
        KIND,
        credit.source_id,
        label,
        link,
        draft,
        digest,
        world.versions_of(KIND),
        ledger_title=world.ledger_title,
        noun="credit note",
    )


def _plan_application(credit: CreditNote, world: ApplicationWorld) -> Action:
    label = credit_label(credit, world.contact_names.get(credit.contact_id))
    link = world.links.get(credit.source_id)
    kind = APPLICATION_KIND
    if credit.voided:
        return voided_action(kind, credit.source_id, label, link, world.versions_of(kind), world.ledger_title)
    waiting = gate(kind, credit.source_id, label, credit.contact_id, credit.bill_ids, world)
    if waiting is not None:
        return waiting
    credit_link = world.credit_links.get(credit.source_id)
    if credit_link is None or world.versions_of(KIND).get(credit_link.target_id, "") is None:
        return Action(
            Op.BLOCKED,
            kind,
            credit.source_id,
            label,
            error=RecordError(
                cause="blocked",
                message=f"Waiting for the credit note itself, which is not in {world.ledger_title} yet.",
                remedy="Fix the credit note first (see `ledgerlink errors`); it is applied on the next pass.",
                blocked_by=f"{KIND} {credit.source_id}",
            ),
        )
    lines = settlements(credit.applications, world.invoice_links)
    if not lines:
        return Action(Op.SKIP, kind, credit.source_id, label, "nothing to apply: the credit applies 0.00")
    draft = CreditApplicationDraft(
        credit, world.contact_links[credit.contact_id].target_id, credit_link.target_id, lines
    )
    digest = application_hash(draft)
    if link is None:
        return Action(
            Op.CREATE,
            kind,
            credit.source_id,
            label,
            "applied to bills in Clio",
            payload=draft,
            target_id=None,
            content_hash=digest,
        )
    return linked_action(
        kind,
        credit.source_id,
        label,
        link,
        draft,
        digest,
        world.versions_of(kind),
        ledger_title=world.ledger_title,
        noun="credit application",
    )
