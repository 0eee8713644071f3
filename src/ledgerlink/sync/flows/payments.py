"""Payments flow: money a client paid on Clio bills becomes a ledger payment against the same invoices.

Clio owns payments (the seed: "edits or deletions made in QuickBooks Online will not sync to
Clio"). So a synced payment edited in the ledger is put back to Clio's version, and one deleted
in the ledger is created again; the actions carry a notice the engine reports. A payment is posted
only when its contact and every bill it pays are in the ledger: otherwise it waits, naming what
it waits for.

Payments made from a client's trust funds are posted here like any other payment, against the
invoices they pay: that settles the invoice. The trust side of the same payment (money leaving
the trust bank, the client's trust liability going down) is the trust flow's journal entry, so
nothing is posted twice.

The rules for the bills a payment or credit note settles (:func:`gate`) are shared with the
credit notes flow; the rule for edits made in the ledger (:func:`linked_action`) with every flow
whose records Clio owns.

Assumptions:

- A payment that pays a bill ledgerlink never syncs (out of scope) is not posted at all, not
  even the part paying in-scope bills: a partial payment would leave the books disagreeing with
  Clio about what the client paid.
- A voided payment whose ledger payment was already deleted in the ledger needs nothing.
- Parts of a payment applied to one bill are posted as one amount on that invoice; parts that
  add up to zero are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ledgerlink.domain import Application, Payment
from ledgerlink.errors import RecordError
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import LinkView, PaymentDraft, Settlement, compound_target, target_parts

KIND = "payment"
LEDGER_TITLE = "QuickBooks Online"
_UNCHANGED = object()  # a ledger record the change feed did not mention


@dataclass(frozen=True, kw_only=True)
class SettlingWorld:
    """What deciding whether a payment or credit can be posted needs to know about its parents."""

    invoice_links: Mapping[str, LinkView]  # bill id -> its ledger invoice
    contact_links: Mapping[str, LinkView]
    unsynced_bills: Mapping[str, str] = field(default_factory=dict)  # bill id -> label: failed or open errors
    out_of_scope_bills: Mapping[str, str] = field(default_factory=dict)  # bill id -> why it is never synced
    bill_labels: Mapping[str, str] = field(default_factory=dict)  # bill id -> "Bill 1043 (Dana Whitfield)"
    failed_contacts: Mapping[str, str] = field(default_factory=dict)  # contact id -> label
    contact_names: Mapping[str, str] = field(default_factory=dict)
    # The ledger's change feed (LedgerChanges.versions): link kind -> ledger id -> version now, None
    # when deleted; a record absent is unchanged.
    versions: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    ledger_title: str = LEDGER_TITLE

    def versions_of(self, kind: str) -> Mapping[str, str | None]:
        return self.versions.get(kind, {})


@dataclass(frozen=True, kw_only=True)
class PaymentWorld(SettlingWorld):
    """What planning a payment needs besides the payment."""

    links: Mapping[str, LinkView]  # payments already in the ledger
    deposit_account: str | None = None  # mapping.payment_account; None: the ledger's Undeposited Funds


def payment_label(payment: Payment, contact_name: str | None = None) -> str:
    who = f" ({contact_name})" if contact_name else ""
    source = "Trust payment" if payment.from_trust else "Payment"
    return f"{source} of {payment.total} on {payment.date}{who}"


def settlements(
    applications: Sequence[Application], invoice_links: Mapping[str, LinkView]
) -> tuple[Settlement, ...]:
    """One amount per invoice (a bill's parts summed), in the order the bills first appear."""
    per_bill: dict[str, Decimal] = {}
    for application in applications:
        per_bill[application.bill_id] = (
            per_bill.get(application.bill_id, Decimal("0.00")) + application.amount
        )
    return tuple(
        Settlement(invoice_links[bill].target_id, amount) for bill, amount in per_bill.items() if amount != 0
    )


def payment_hash(draft: PaymentDraft) -> str:
    """Hash of what the ledger shows of a payment (not Clio's allocation ids or timestamps)."""
    payment = draft.payment
    return content_hash(
        {
            "date": payment.date,
            "reference": payment.reference,
            "customer": draft.customer_id,
            "lines": draft.lines,
            "deposit_account": draft.deposit_account,
        }
    )


def plan_payments(payments: Sequence[Payment], world: PaymentWorld) -> list[Action]:
    """Decide, for each changed payment, create / update / delete / skip / blocked."""
    return [_plan_one(payment, world) for payment in payments]


def _plan_one(payment: Payment, world: PaymentWorld) -> Action:
    label = payment_label(payment, world.contact_names.get(payment.contact_id))
    link = world.links.get(payment.source_id)
    if payment.voided:
        return voided_action(
            KIND, payment.source_id, label, link, world.versions_of(KIND), world.ledger_title
        )
    waiting = gate(KIND, payment.source_id, label, payment.contact_id, payment.bill_ids, world)
    if waiting is not None:
        return waiting
    lines = settlements(payment.applications, world.invoice_links)
    if not lines:
        return Action(Op.SKIP, KIND, payment.source_id, label, "nothing to post: the payment applies 0.00")
    draft = PaymentDraft(
        payment,
        world.contact_links[payment.contact_id].target_id,
        lines,
        deposit_account=world.deposit_account or None,
    )
    digest = payment_hash(draft)
    if link is None:
        reason = "recorded in Clio" + (" (paid from trust)" if payment.from_trust else "")
        return Action(Op.CREATE, KIND, payment.source_id, label, reason, payload=draft, content_hash=digest)
    return linked_action(
        KIND,
        payment.source_id,
        label,
        link,
        draft,
        digest,
        world.versions_of(KIND),
        ledger_title=world.ledger_title,
        noun="payment",
    )


# -- shared with the credit notes flow -----------------------------------------------------------


def voided_action(
    kind: str,
    source_id: str,
    label: str,
    link: LinkView | None,
    versions: Mapping[str, str | None],
    ledger_title: str,
) -> Action:
    """A record voided in Clio: delete its ledger record, if there is one left."""
    if link is None:
        return Action(Op.SKIP, kind, source_id, label, "voided in Clio before it was synced")
    if version_of(versions, link, _UNCHANGED) is None:
        return Action(
            Op.SKIP,
            kind,
            source_id,
            label,
            f"voided in Clio; already deleted in {ledger_title}",
            target_id=link.target_id,
        )
    return Action(Op.DELETE, kind, source_id, label, "deleted in Clio", target_id=link.target_id)


def gate(
    kind: str, source_id: str, label: str, contact_id: str, bill_ids: Sequence[str], parents: SettlingWorld
) -> Action | None:
    """Why a payment or credit cannot be posted yet (or ever), or None when its parents are in the ledger."""
    never = [bill for bill in bill_ids if bill in parents.out_of_scope_bills]
    if never:
        bill = never[0]
        return Action(
            Op.SKIP,
            kind,
            source_id,
            label,
            f"not synced: it applies to {_bill_name(bill, parents)}, which is not synced "
            f"({parents.out_of_scope_bills[bill].removeprefix('not synced: ')})",
        )
    if contact_id not in parents.contact_links:
        parent = parents.failed_contacts.get(contact_id)
        why = "could not be synced" if parent else f"is not in {parents.ledger_title} yet"
        return _blocked(
            kind,
            source_id,
            label,
            f"Waiting for {parent or f'Clio contact {contact_id}'}, which {why}.",
            "Fix the contact (see `ledgerlink errors`); this follows on the next pass.",
            f"contact {contact_id}",
        )
    for bill in bill_ids:
        if bill in parents.invoice_links:
            continue
        name = _bill_name(bill, parents)
        why = (
            "could not be synced"
            if bill in parents.unsynced_bills
            else f"is not in {parents.ledger_title} yet"
        )
        return _blocked(
            kind,
            source_id,
            label,
            f"Waiting for {name}, which {why}.",
            "Fix the bill first (see `ledgerlink errors`); this follows on the next pass.",
            f"bill {bill}",
        )
    return None


def _bill_name(bill: str, parents: SettlingWorld) -> str:
    return parents.unsynced_bills.get(bill) or parents.bill_labels.get(bill) or f"Clio bill {bill}"


def _blocked(kind: str, source_id: str, label: str, message: str, remedy: str, parent: str) -> Action:
    error = RecordError(cause="blocked", message=message, remedy=remedy, blocked_by=parent)
    return Action(Op.BLOCKED, kind, source_id, label, error=error)


def linked_action(
    kind: str,
    source_id: str,
    label: str,
    link: LinkView,
    draft: Any,
    digest: str,
    versions: Mapping[str, str | None],
    *,
    ledger_title: str,
    noun: str,
) -> Action:
    """A record already in the ledger: restore Clio's version over ledger edits, re-create if deleted."""
    version = version_of(versions, link, _UNCHANGED)
    if version is None:
        return Action(
            Op.CREATE,
            kind,
            source_id,
            label,
            f"deleted in {ledger_title}; re-created from Clio",
            payload=draft,
            content_hash=digest,
            notice=f"was deleted in {ledger_title}; re-created from Clio",
        )
    if link.content_hash != digest:
        return Action(
            Op.UPDATE,
            kind,
            source_id,
            label,
            "changed in Clio",
            payload=draft,
            target_id=link.target_id,
            content_hash=digest,
        )
    if version is not _UNCHANGED and version != link.version_token:
        return Action(
            Op.UPDATE,
            kind,
            source_id,
            label,
            f"changed in {ledger_title}; Clio's {noun} is restored",
            payload=draft,
            target_id=link.target_id,
            content_hash=digest,
            notice=f"was edited in {ledger_title}; overwritten with Clio's {noun}",
        )
    return Action(Op.SKIP, kind, source_id, label, "unchanged", target_id=link.target_id, content_hash=digest)


def version_of(versions: Mapping[str, str | None], link: LinkView, unchanged: Any) -> Any:
    """The linked record's version in the change feed: ``unchanged`` when the feed does not mention it.

    A compound target (several ledger records, see :func:`ledgerlink.sync.ports.target_parts`) is
    deleted when every part is; otherwise its version is the parts' versions joined, the stored
    token's part standing in for each part the feed does not mention and "-" for a deleted part,
    so a change to any part (its deletion included) makes it differ: an update then replaces the
    parts left, where a re-creation would post them twice.
    """
    parts = target_parts(link.target_id)
    if len(parts) <= 1:
        return versions.get(link.target_id, unchanged)
    if not any(part in versions for part in parts):
        return unchanged
    if all(part in versions and versions[part] is None for part in parts):
        return None
    stored = target_parts(link.version_token or "")
    if len(stored) != len(parts):
        stored = [""] * len(parts)
    now = [versions[part] if part in versions else stored[i] for i, part in enumerate(parts)]
    return compound_target([version if version is not None else "-" for version in now])
