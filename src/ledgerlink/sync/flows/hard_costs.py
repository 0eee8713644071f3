"""Hard-cost import flow (QBO → Clio, seed 002): which QBO expenses and cheques become Clio expense entries.

Pure. Seed 002's rules: only Expense and Check transactions dated on or after the start date; only
their category lines (AccountBasedExpenseLineDetail) on the chosen account that are tagged with a
customer; the customer's Clio contact must have a matter; several lines of one cheque for the same
matter become ONE entry (amounts added, descriptions joined); "Item details" lines are not
supported (seed 000) and are reported, never imported. A customer with several open matters needs
the bookkeeper's choice (a ``matter_choice`` link); the entry's user is the configured one or the
primary subscriber.

One Clio entry per (purchase, matter): its link's source id is ``"<purchase id>/<matter id>"``.
Errors of a purchase use ids under the same ``"<purchase id>/"`` prefix, so the edge can close the
ones a new look at the purchase no longer raises. An entry already billed in Clio is never changed
or removed: that is reported (not retryable — it would fail the same way each time).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledgerlink.errors import RecordError
from ledgerlink.sync.plan import Action, Op, content_hash
from ledgerlink.sync.ports import LinkView

KIND = "hard_cost"  # store links: "<QBO purchase id>/<Clio matter id>" → Clio activity id
MATTER_CHOICE = "matter_choice"  # store links: QBO customer id → the Clio matter chosen for it
CONTACT_KIND = "contact"  # store links of the contact sync: Clio contact id → QBO customer id
MARKER = "QBO Purchase"  # "[QBO Purchase 123]" ends every imported entry's note


@dataclass(frozen=True)
class ExpenseLine:
    """One line of a QBO Purchase: a category line (``account_id``) or an "Item details" line (``item``)."""

    line_id: str
    amount: Decimal
    description: str = ""
    account_id: str | None = None
    item: str | None = None
    customer_id: str | None = None
    customer_name: str | None = None


@dataclass(frozen=True)
class Purchase:
    """A QBO Expense (PaymentType Cash/CreditCard) or Check, as the import needs it."""

    purchase_id: str
    kind: str  # "Expense" | "Check"
    txn_date: date
    lines: tuple[ExpenseLine, ...]
    doc_number: str | None = None
    memo: str | None = None
    vendor: str | None = None  # the payee, when it is a Vendor
    credit: bool = False  # a credit-card refund: money back, not a cost


@dataclass(frozen=True)
class ClioMatterChoice:
    matter_id: str
    label: str  # "00012-Whitfield (Estate planning)"


@dataclass(frozen=True)
class CustomerInClio:
    """What Clio holds for one QBO customer: its contact (if found), its open matters, the stored choice."""

    customer_id: str
    name: str
    contact_id: str | None
    matters: tuple[ClioMatterChoice, ...] = ()
    chosen: str | None = None  # a matter_choice link's Clio matter id
    problem: str | None = None  # why the contact could not be found (e.g. two contacts of that name)


@dataclass(frozen=True)
class HardCost:
    """One Clio expense entry to write: the payload of a create or update."""

    purchase_id: str
    matter_id: str
    date: date
    amount: Decimal
    description: str
    entry_type: str  # HardCostEntry | ExpenseEntry
    user_id: str
    vendor: str | None = None
    reference: str | None = None  # the cheque number

    @property
    def marker(self) -> str:
        return marker(self.purchase_id)


@dataclass(frozen=True)
class ClioEntry:
    """A linked Clio entry as Clio has it now (absent from ``HardCostWorld.entries``: deleted in Clio)."""

    activity_id: str
    billed: bool
    etag: str | None = None


@dataclass(frozen=True)
class HardCostWorld:
    account_id: str
    start_date: date
    entry_type: str
    user_id: str
    customers: Mapping[str, CustomerInClio]  # by QBO customer id
    links: Mapping[str, LinkView]  # kind KIND, by source id
    entries: Mapping[str, ClioEntry]  # by Clio activity id


def marker(purchase_id: str) -> str:
    return f"[{MARKER} {purchase_id}]"


def entry_id(purchase_id: str, matter_id: str) -> str:
    return f"{purchase_id}/{matter_id}"


def purchase_of(source_id: str) -> str:
    return source_id.partition("/")[0]


def purchase_label(purchase: Purchase) -> str:
    if purchase.kind == "Check":
        return f"QBO check {purchase.doc_number or purchase.purchase_id}"
    return f"QBO expense {purchase.purchase_id}"


def hard_cost_hash(cost: HardCost) -> str:
    return content_hash(cost)


def choose_matter(customer: CustomerInClio, label: str) -> str | RecordError:
    """The Clio matter a customer's costs go to, or the error the bookkeeper must resolve."""
    ids = {m.matter_id for m in customer.matters}
    if customer.chosen is not None and (customer.contact_id is None or customer.chosen in ids):
        return customer.chosen  # the bookkeeper's choice stands, even for a contact not found by name
    if customer.contact_id is None:
        why = customer.problem or f"no Clio contact matches the QBO customer {customer.name}"
        return RecordError(
            cause="no_clio_contact",
            message=f"{label}: {why}.",
            remedy=f"Create (or rename) the contact '{customer.name}' in Clio with a matter, or choose the "
            f"matter: `ledgerlink links set matter {customer.customer_id} <clio matter id>`; "
            "the next pass imports it.",
        )
    if not customer.matters:
        return RecordError(
            cause="no_matter",
            message=f"{label}: the Clio contact {customer.name} has no open matter to put the cost on.",
            remedy="Open a matter for this contact in Clio (seed 002: the contact must have a matter); "
            "the next pass imports the cost.",
        )
    if len(customer.matters) == 1:
        return customer.matters[0].matter_id
    listed = "; ".join(f"{m.matter_id} {m.label}" for m in customer.matters)
    return RecordError(
        cause="several_matters",
        message=f"{label}: {customer.name} has {len(customer.matters)} open matters in Clio ({listed}).",
        remedy=f"Choose one: `ledgerlink links set matter {customer.customer_id} <clio matter id>`; "
        "the next pass imports the cost onto it.",
    )


def _description(purchase: Purchase, lines: Sequence[ExpenseLine]) -> str:
    texts = list(dict.fromkeys(line.description.strip() for line in lines if line.description.strip()))
    if texts:
        return "; ".join(texts)
    if purchase.memo and purchase.memo.strip():
        return purchase.memo.strip()
    return purchase.vendor or purchase_label(purchase)


def _fail(source_id: str, label: str, error: RecordError) -> Action:
    return Action(Op.FAIL, KIND, source_id, label, reason=error.message, error=error)


def _billed(source_id: str, label: str, activity_id: str, what: str) -> Action:
    error = RecordError(
        cause="billed_in_clio",
        message=f"{label}: {what} in QuickBooks, but its Clio entry {activity_id} is already billed; "
        "ledgerlink leaves billed entries alone.",
        remedy="Correct the bill in Clio by hand (e.g. a credit note), then `ledgerlink skip` this error.",
        retryable=False,
    )
    return _fail(source_id, label, error)


def wanted_entries(purchase: Purchase, world: HardCostWorld) -> tuple[dict[str, HardCost], list[Action]]:
    """The entries a purchase should have in Clio (by source id) and the errors it raises."""
    label = purchase_label(purchase)
    failures: list[Action] = []
    if purchase.txn_date < world.start_date or purchase.credit:
        return {}, failures
    items = [line for line in purchase.lines if line.item is not None and line.customer_id]
    if items:
        names = ", ".join(sorted({line.item or "" for line in items}))
        failures.append(
            _fail(
                f"{purchase.purchase_id}/items",
                label,
                RecordError(
                    cause="item_details",
                    message=f"{label} has 'Item details' lines ({names}); the hard-cost import supports only "
                    "'Category details' lines, so those lines were not imported.",
                    remedy="Edit the transaction in QuickBooks: enter the cost under Category details on the "
                    "hard-cost account, tagged with the customer; the next pass imports it.",
                ),
            )
        )
    by_matter: dict[str, list[ExpenseLine]] = {}
    for line in purchase.lines:
        if line.item is not None or line.account_id != world.account_id or not line.customer_id:
            continue
        customer = world.customers.get(line.customer_id) or CustomerInClio(
            line.customer_id, line.customer_name or line.customer_id, None
        )
        matter = choose_matter(customer, f"{label} for {customer.name}")
        if isinstance(matter, RecordError):
            failures.append(_fail(f"{purchase.purchase_id}/customer/{line.customer_id}", label, matter))
            continue
        by_matter.setdefault(matter, []).append(line)
    wanted = {
        entry_id(purchase.purchase_id, matter): HardCost(
            purchase_id=purchase.purchase_id,
            matter_id=matter,
            date=purchase.txn_date,
            amount=sum((line.amount for line in lines), Decimal("0")),
            description=_description(purchase, lines),
            entry_type=world.entry_type,
            user_id=world.user_id,
            vendor=purchase.vendor,
            reference=purchase.doc_number if purchase.kind == "Check" else None,
        )
        for matter, lines in by_matter.items()
    }
    return wanted, failures


def plan_hard_costs(
    changed: Sequence[Purchase], deleted: Collection[str], world: HardCostWorld
) -> list[Action]:
    """Create / update / delete / skip / fail, for every entry the changed and deleted purchases touch."""
    linked: dict[str, list[str]] = {}
    for source_id in world.links:
        linked.setdefault(purchase_of(source_id), []).append(source_id)
    actions: list[Action] = []
    for purchase in changed:
        label = purchase_label(purchase)
        wanted, failures = wanted_entries(purchase, world)
        actions.extend(failures)
        for source_id, cost in wanted.items():
            actions.append(_upsert(source_id, cost, f"{label} for matter {cost.matter_id}", world))
        unresolved = any(a.source_id.startswith(f"{purchase.purchase_id}/customer/") for a in failures)
        for source_id in linked.get(purchase.purchase_id, []):
            if source_id not in wanted and not unresolved:
                actions.append(_removal(source_id, f"{label}: no longer a hard cost", "changed", world))
    for purchase_id in sorted(set(deleted) - {p.purchase_id for p in changed}):
        for source_id in linked.get(purchase_id, []):
            actions.append(_removal(source_id, f"QBO purchase {purchase_id}", "deleted", world))
    return actions


def _upsert(source_id: str, cost: HardCost, label: str, world: HardCostWorld) -> Action:
    digest = hard_cost_hash(cost)
    link = world.links.get(source_id)
    if link is None:
        return Action(Op.CREATE, KIND, source_id, label, "new in QuickBooks", cost, content_hash=digest)
    entry = world.entries.get(link.target_id)
    if link.content_hash == digest:
        return Action(Op.SKIP, KIND, source_id, label, "unchanged", target_id=link.target_id)
    if entry is None:
        return Action(
            Op.SKIP,
            KIND,
            source_id,
            label,
            "deleted in Clio",
            target_id=link.target_id,
            notice=f"edited in QuickBooks, but its Clio entry {link.target_id} was deleted in Clio; "
            "not imported again",
        )
    if entry.billed:
        return _billed(source_id, label, link.target_id, "edited")
    return Action(
        Op.UPDATE, KIND, source_id, label, "edited in QuickBooks", cost, link.target_id, content_hash=digest
    )


def _removal(source_id: str, label: str, what: str, world: HardCostWorld) -> Action:
    link = world.links[source_id]
    entry = world.entries.get(link.target_id)
    if entry is not None and entry.billed:
        return _billed(source_id, label, link.target_id, what)
    return Action(Op.DELETE, KIND, source_id, label, f"{what} in QuickBooks", target_id=link.target_id)
