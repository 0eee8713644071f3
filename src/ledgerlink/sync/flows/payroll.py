"""Payroll: approved Clio time entries become ledger time records (QBO TimeActivity), Firm360-style.

Pure planning over what was read; the hook in :mod:`ledgerlink.sync.payroll` reads and applies.

- In scope: a time entry that is approved (on a bill awaiting payment or paid) and dated on or
  after the payroll start date. One that leaves scope (bill voided or back to draft, entry
  deleted) has its time record deleted; one that never entered it is skipped.
- The employee is the ledger employee whose name *and* e-mail match the Clio user's (folded:
  case and spacing ignored), as Firm360 requires. A user with none (or several) is ONE error
  about the user (kind ``payroll_user``); that user's entries are blocked by it, not each an error.
- The customer is the client's linked ledger customer (contact links); a client not linked yet
  blocks the entry ("waiting for the client") until a sync pass links it.
- Hours and minutes come from the entry's seconds, rounded half up to the minute; the rate is
  Clio's. A rate that differs from the employee's rate in the ledger is posted as Clio has it
  and reported as a notice.
- An edit to an approved entry updates its time record; an unchanged one is skipped (same content
  hash), so a re-run writes nothing. A create whose write may have landed before a crash is
  adopted (``landed``) instead of created twice.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from ledgerlink.errors import RecordError
from ledgerlink.sync.flows import contacts as contact_flow
from ledgerlink.sync.payroll_ports import FirmUser, LedgerEmployee, TimeActivityDraft, TimeEntry
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import LinkView, Written, fold

KIND = "time_activity"  # link kind: Clio time entry id → QBO TimeActivity id
USER_KIND = "payroll_user"  # error kind: a Clio user with no matching ledger employee
KINDS = (USER_KIND, KIND)


@dataclass(frozen=True)
class PayrollWorld:
    """What planning needs besides the entries: users, employees, links and the settings."""

    users: Mapping[str, FirmUser]
    employees: Sequence[LedgerEmployee]
    contact_links: Mapping[str, LinkView]
    links: Mapping[str, LinkView]
    item: str
    start_date: date
    landed: Mapping[str, Written] = field(default_factory=dict)  # entry id → what a lost create made
    ledger_title: str = "QuickBooks Online"


def hours_and_minutes(seconds: int) -> tuple[int, int]:
    """A duration in seconds as whole hours and minutes, rounded half up to the minute."""
    minutes = int((Decimal(seconds) / 60).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return divmod(minutes, 60)


def _names_of(employee: LedgerEmployee) -> set[str]:
    names = {fold(employee.display_name)}
    parts = " ".join(p for p in (employee.given_name, employee.family_name) if p)
    if parts:
        names.add(fold(parts))
    return names


def match_employee(user: FirmUser, employees: Sequence[LedgerEmployee]) -> LedgerEmployee | None:
    """The one active employee with the user's name and e-mail; None when there is none or several."""
    found = [
        e
        for e in employees
        if e.active and fold(user.name) in _names_of(e) and contact_flow.same_email(user.email, e.email)
    ]
    return found[0] if len(found) == 1 else None


def entry_label(entry: TimeEntry) -> str:
    when = entry.date.isoformat() if entry.date else "undated"
    matter = f", matter {entry.matter}" if entry.matter else ""
    return f"Time entry {entry.source_id} ({entry.user_name or 'no user'}, {when}{matter})"


def user_label(user: FirmUser) -> str:
    return f"Clio user {user.name}" + (f" <{user.email}>" if user.email else "")


def in_scope(entry: TimeEntry, start_date: date) -> bool:
    return entry.approved and entry.date is not None and entry.date >= start_date


def draft_hash(draft: TimeActivityDraft) -> str:
    """What the time record holds: equal hash, nothing to send."""
    return content_hash(
        {
            "date": draft.entry.date,
            "employee": draft.employee_id,
            "customer": draft.customer_id,
            "item": draft.item,
            "hours": draft.hours,
            "minutes": draft.minutes,
            "rate": draft.rate,
            "description": draft.description,
        }
    )


def plan_payroll(
    entries: Sequence[TimeEntry], world: PayrollWorld, *, deleted: Collection[str] = ()
) -> list[Action]:
    """One action per entry (and per user whose entries it concerns), before anything is written.

    ``deleted`` are linked entries Clio no longer has: their time records are deleted.
    """
    actions: list[Action] = []
    for source_id in sorted(deleted, key=_id_order):
        link = world.links.get(source_id)
        if link is not None:
            label = f"Time entry {source_id} (deleted in Clio)"
            actions.append(
                Action(Op.DELETE, KIND, source_id, label, "deleted in Clio", target_id=link.target_id)
            )
    wanted = [e for e in entries if in_scope(e, world.start_date)]
    employees = _employees_by_user(wanted, world)
    actions.extend(_user_actions(wanted, world, employees))
    for entry in entries:
        if entry.source_id in deleted:
            continue
        if in_scope(entry, world.start_date):
            actions.append(_plan_entry(entry, world, employees))
        else:
            actions.append(_out_of_scope(entry, world))
    return actions


def _id_order(source_id: str) -> tuple[int, str]:
    return (int(source_id), "") if source_id.isdigit() else (0, source_id)


def _employees_by_user(entries: Sequence[TimeEntry], world: PayrollWorld) -> dict[str, LedgerEmployee | None]:
    matched: dict[str, LedgerEmployee | None] = {}
    for entry in entries:
        if entry.user_id is None or entry.user_id in matched:
            continue
        user = world.users.get(entry.user_id)
        matched[entry.user_id] = match_employee(user, world.employees) if user else None
    return matched


def _user_actions(
    entries: Sequence[TimeEntry], world: PayrollWorld, employees: Mapping[str, LedgerEmployee | None]
) -> list[Action]:
    """One action per user with entries to post: matched (its old error closes) or the one error."""
    actions = []
    for user_id in sorted(employees, key=_id_order):
        user = world.users.get(user_id) or FirmUser(
            user_id, next((e.user_name for e in entries if e.user_id == user_id), ""), None
        )
        label = user_label(user)
        if employees[user_id] is not None:
            actions.append(Action(Op.SKIP, USER_KIND, user_id, label, "matched to a ledger employee"))
            continue
        error = RecordError(
            cause="no_employee",
            message=f"{label} has no {world.ledger_title} employee with the same name and e-mail "
            "(or has several), so their approved time cannot go to payroll.",
            remedy=f"Add the employee in {world.ledger_title} (or correct the name or e-mail on one "
            "side) with exactly the Clio user's name and e-mail; their time entries follow on the "
            "next pass.",
            retryable=True,
        )
        actions.append(Action(Op.FAIL, USER_KIND, user_id, label, error=error))
    return actions


def _plan_entry(
    entry: TimeEntry, world: PayrollWorld, employees: Mapping[str, LedgerEmployee | None]
) -> Action:
    label = entry_label(entry)
    link = world.links.get(entry.source_id)
    if entry.user_id is None:
        return _fail(entry, label, "no_user", "The time entry has no Clio user.", "Set its user in Clio.")
    employee = employees.get(entry.user_id)
    if employee is None:
        user = world.users.get(entry.user_id)
        name = user_label(user) if user else f"Clio user {entry.user_name or entry.user_id}"
        error = RecordError(
            cause="blocked",
            message=f"Waiting for {name} to be matched to a {world.ledger_title} employee.",
            remedy="Fix the user's error (see `ledgerlink errors`); the entry follows on the next pass.",
            blocked_by=f"{USER_KIND} {entry.user_id}",
        )
        return Action(Op.BLOCKED, KIND, entry.source_id, label, error=error)
    if entry.client_id is None:
        return _fail(
            entry,
            label,
            "no_client",
            "The time entry is not on a matter with a client.",
            "Put the entry on a client's matter in Clio.",
        )
    contact_link = world.contact_links.get(entry.client_id)
    if contact_link is None:
        error = RecordError(
            cause="blocked",
            message=f"Waiting for the client (Clio contact {entry.client_id}) to be synced to "
            f"{world.ledger_title}.",
            remedy="Run `ledgerlink sync` (or fix the contact's error); the entry follows on the next pass.",
            blocked_by=f"{contact_flow.KIND} {entry.client_id}",
        )
        return Action(Op.BLOCKED, KIND, entry.source_id, label, error=error)
    if entry.seconds is None:
        return _fail(
            entry,
            label,
            "hours_hidden",
            "Clio hides this entry's hours from the connected user.",
            "Connect Clio as a user who may see every user's hours and rates.",
        )
    hours, minutes = hours_and_minutes(entry.seconds)
    if hours == 0 and minutes == 0:
        return _out_of_scope(entry, world, reason="less than half a minute of time")
    draft = TimeActivityDraft(
        entry=entry,
        employee_id=employee.id,
        customer_id=contact_link.target_id,
        item=world.item,
        hours=hours,
        minutes=minutes,
        rate=entry.rate,
        description=entry.note or f"Clio time entry {entry.source_id}",
    )
    digest = draft_hash(draft)
    notice = None
    if employee.rate is not None and employee.rate != entry.rate:
        notice = (
            f"posted at Clio's rate {entry.rate:.2f}; {employee.display_name}'s rate in "
            f"{world.ledger_title} is {employee.rate:.2f}"
        )
    if link is not None:
        if link.content_hash == digest:
            return Action(Op.SKIP, KIND, entry.source_id, label, "unchanged", target_id=link.target_id)
        return Action(
            Op.UPDATE,
            KIND,
            entry.source_id,
            label,
            "edited in Clio",
            payload=draft,
            target_id=link.target_id,
            content_hash=digest,
            notice=notice,
        )
    landed = world.landed.get(entry.source_id)
    if landed is not None:
        return Action(
            Op.LINK,
            KIND,
            entry.source_id,
            label,
            "created by an interrupted pass; adopted",
            payload=draft,
            target_id=landed.id,
            content_hash=digest,
            notice=notice,
        )
    return Action(
        Op.CREATE, KIND, entry.source_id, label, "approved", payload=draft, content_hash=digest, notice=notice
    )


def _out_of_scope(entry: TimeEntry, world: PayrollWorld, *, reason: str | None = None) -> Action:
    label = entry_label(entry)
    link = world.links.get(entry.source_id)
    if reason is None:
        reason = "not approved" if not entry.approved else "dated before the payroll start date"
    if link is not None:
        return Action(Op.DELETE, KIND, entry.source_id, label, f"{reason} any more", target_id=link.target_id)
    return Action(Op.SKIP, KIND, entry.source_id, label, reason)


def _fail(entry: TimeEntry, label: str, cause: str, message: str, remedy: str) -> Action:
    error = RecordError(cause=cause, message=message, remedy=remedy)
    return Action(Op.FAIL, KIND, entry.source_id, label, error=error)
