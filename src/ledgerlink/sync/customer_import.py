"""Customer import, the I/O around :mod:`ledgerlink.sync.flows.customer_import`: read, propose, apply.

`ledgerlink import customers` reads every QBO customer and every Clio contact, proposes an action
per customer, writes the proposal to a CSV file the bookkeeper reviews (they turn "ask" rows into
link / create / skip), and applies the reviewed file. Applying saves contact links exactly as the
contacts flow does (hash, QBO SyncToken, two-way snapshot), so imported clients sync both ways
afterwards.

A Clio contact is created under an intent row (kind ``contact_import``, source = QBO customer id).
Clio takes no idempotency key, so the marker of a created contact is what it is made of: the
customer's name and e-mail. A run that dies between Clio's answer and the link leaves the intent
open; the next apply finds the contact by that name and e-mail (the plan proposes linking it),
links it and closes the intent, instead of creating it twice.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ledgerlink.domain import Contact
from ledgerlink.errors import ApiError, LedgerlinkError, TransportError, UserError
from ledgerlink.store import Store
from ledgerlink.store.records import LinkWrite
from ledgerlink.sync.flows import contact_merge
from ledgerlink.sync.flows.contacts import contact_hash
from ledgerlink.sync.flows.customer_import import (
    INACTIVE_REASON,
    INTENT_KIND,
    KIND,
    SKIPPED_KIND,
    BookCustomer,
    Candidate,
    ImportRow,
    Proposal,
    Step,
    contact_for,
    propose,
    resolve,
)
from ledgerlink.sync.ports import LedgerCustomer

COLUMNS = ("action", "qbo_id", "qbo_name", "clio_id", "clio_name", "reason", "candidates")


class ContactBook(Protocol):
    """The Clio side of an import: every contact, and creating one."""

    def changed_contacts(self, since: datetime | None) -> list[Contact]: ...

    def create_contact(self, contact: Contact) -> Contact: ...


class CustomerBook(Protocol):
    """The ledger side of an import: every customer with its company name, and the names vendors hold."""

    def customers_with_company(self) -> list[tuple[LedgerCustomer, str | None, bool]]: ...

    def name_holders(self) -> dict[str, str]: ...


@dataclass(frozen=True)
class ImportPlan:
    rows: list[ImportRow]
    customers: dict[str, BookCustomer]
    contacts: dict[str, Contact]


def plan_import(
    clio: ContactBook, books: CustomerBook, store: Store, connection_id: int, *, include_inactive: bool
) -> ImportPlan:
    """Read both sides and the stored links; propose an action per QBO customer. Writes nothing."""
    customers = [BookCustomer(c, company, job) for c, company, job in books.customers_with_company()]
    contacts = clio.changed_contacts(None)
    linked = {link.target_id: source for source, link in store.links(connection_id, KIND).items()}
    skipped = set(store.links(connection_id, SKIPPED_KIND))
    rows = propose(
        customers,
        contacts,
        linked,
        books.name_holders(),
        include_inactive=include_inactive,
        skipped=skipped,
    )
    return ImportPlan(rows, {c.id: c for c in customers}, {c.source_id: c for c in contacts})


def pending(rows: Sequence[ImportRow]) -> list[ImportRow]:
    """Rows that would change something (or need a decision)."""
    return [r for r in rows if r.action in (Proposal.LINK, Proposal.CREATE, Proposal.ASK)]


# -- the proposal file ----------------------------------------------------------------------------


def write_proposal(rows: Sequence[ImportRow], path: Path) -> None:
    """Write the proposal as CSV (readable only by the user: it holds clients' names and e-mails)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in rows:
            writer.writerow(
                [
                    r.action.value,
                    r.qbo_id,
                    r.qbo_name,
                    r.clio_id or "",
                    r.clio_name or "",
                    r.reason,
                    "; ".join(_candidate_text(c) for c in r.candidates),
                ]
            )


def _candidate_text(candidate: Candidate) -> str:
    email = f" <{candidate.email}>" if candidate.email else ""
    return f"{candidate.contact_id}: {candidate.name}{email}"


def read_proposal(path: Path) -> list[ImportRow]:
    """The reviewed proposal; a file ledgerlink cannot read is a UserError naming the row."""
    remedy = "Write a fresh proposal with `ledgerlink import customers` and edit only its action and clio_id."
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            records = list(csv.DictReader(handle))
    except OSError as exc:
        raise UserError(f"Cannot read the proposal file {path}: {exc.strerror}.", remedy=remedy) from None
    rows: list[ImportRow] = []
    for number, record in enumerate(records, start=2):
        missing = [c for c in ("action", "qbo_id") if c not in record]
        if missing:
            raise UserError(f"{path} has no {missing[0]} column.", remedy=remedy)
        action = (record.get("action") or "").strip().casefold()
        try:
            chosen = Proposal(action)
        except ValueError:
            allowed = ", ".join(p.value for p in Proposal)
            raise UserError(
                f"{path}, line {number}: “{action}” is not an action (use one of {allowed}).", remedy=remedy
            ) from None
        qbo_id = (record.get("qbo_id") or "").strip()
        if not qbo_id:
            raise UserError(f"{path}, line {number}: the qbo_id is empty.", remedy=remedy)
        rows.append(
            ImportRow(
                chosen,
                qbo_id,
                (record.get("qbo_name") or "").strip(),
                (record.get("reason") or "").strip(),
                (record.get("clio_id") or "").strip() or None,
                (record.get("clio_name") or "").strip() or None,
            )
        )
    return rows


# -- applying -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Applied:
    """What applying one row did: ``outcome`` linked / created / unchanged / failed."""

    row: ImportRow
    outcome: str
    message: str
    contact_id: str | None = None


def apply_proposal(
    clio: ContactBook, books: CustomerBook, store: Store, connection_id: int, reviewed: Sequence[ImportRow]
) -> list[Applied]:
    """Apply a reviewed proposal: link and create as it says, never twice (see the module docstring)."""
    plan = plan_import(clio, books, store, connection_id, include_inactive=True)
    leftovers = {i.source_id: i.key for i in store.open_intents(connection_id) if i.kind == INTENT_KIND}
    done: list[Applied] = []
    for step in resolve(reviewed, plan.rows, plan.contacts):
        if step.op == "error":
            done.append(Applied(step.row, "failed", step.message))
            continue
        if step.op == "none":
            if step.row.action is Proposal.SKIP and step.row.reason != INACTIVE_REASON:
                # Remembered, so the next proposal does not ask about this customer again.
                store.save_link(
                    connection_id, SKIPPED_KIND, step.row.qbo_id, step.row.qbo_id, content_hash=""
                )
            done.append(Applied(step.row, "unchanged", step.message, step.contact_id))
            continue
        customer = plan.customers[step.row.qbo_id].customer
        leftover = leftovers.pop(customer.id, None)
        try:
            if step.op == "link" and step.contact_id is not None:
                link = _link(connection_id, plan.contacts[step.contact_id], customer)
                if leftover is not None:  # the contact a lost answer created: close its intent with it
                    store.complete_intent(leftover, link.source_id, link=link)
                else:
                    store.save_link(
                        connection_id,
                        link.kind,
                        link.source_id,
                        link.target_id,
                        content_hash=link.content_hash,
                        version_token=link.version_token,
                        snapshot=link.snapshot,
                    )
                done.append(Applied(step.row, "linked", step.message, link.source_id))
            else:
                if leftover is not None:
                    store.fail_intent(
                        leftover, "superseded: no contact found by name and e-mail; created anew"
                    )
                created = _create(clio, store, connection_id, plan.customers[customer.id])
                done.append(Applied(step.row, "created", "new Clio contact", created.source_id))
        except LedgerlinkError as exc:
            done.append(Applied(step.row, "failed", exc.message))
    return done


def _link(connection_id: int, contact: Contact, customer: LedgerCustomer) -> LinkWrite:
    """The contact link the contacts flow would have written after syncing this pair."""
    return LinkWrite(
        connection_id,
        KIND,
        contact.source_id,
        customer.id,
        contact_hash(contact),
        customer.version,
        contact_merge.snapshot(contact, customer),
    )


def _create(clio: ContactBook, store: Store, connection_id: int, customer: BookCustomer) -> Contact:
    wanted = contact_for(customer)
    intent = store.begin_intent(connection_id, "create", INTENT_KIND, customer.id, contact_hash(wanted))
    store.mark_intent_sent(intent.key)
    try:
        created = clio.create_contact(wanted)
    except (TransportError, ApiError) as exc:
        # A refusal (4xx) created nothing; a dropped answer or a server error may have.
        refused = isinstance(exc, ApiError) and exc.status < 500
        (store.fail_intent if refused else store.mark_intent_uncertain)(intent.key, exc.message)
        raise
    store.complete_intent(
        intent.key, created.source_id, link=_link(connection_id, created, customer.customer)
    )
    return created


__all__ = [
    "Applied",
    "ImportPlan",
    "Step",
    "apply_proposal",
    "pending",
    "plan_import",
    "read_proposal",
    "write_proposal",
]
