"""End to end: the seeded demo firm synced into the QBO emulator, over loopback, through the CLI's parts."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from ledgerlink.domain import money
from ledgerlink.sandbox import FaultRule, demo_firm
from ledgerlink.sync.plan import Op
from tests.scenarios.conftest import Firm

REALM = demo_firm.QBO_REALM_ID
START = date(2026, 1, 1)


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def in_scope_bills(firm: Firm) -> list[dict[str, Any]]:
    return [
        bill
        for bill in firm.sandbox.clio.records("bill")
        if bill["state"] in ("awaiting_payment", "paid")
        and _day(bill["issued_at"]) >= START
        and bill.get("kind") != "trust_kind"  # trust requests are trust money, never invoices
    ]


def qbo(firm: Firm, entity: str) -> list[dict[str, Any]]:
    return firm.sandbox.qbo.records(REALM, entity)


def test_first_pass_posts_every_approved_bill_with_a_total_equal_to_the_cent(firm: Firm) -> None:
    with firm.workspace() as workspace:
        result = workspace.sync_once()
        open_errors = {(e.kind, e.source_id): e for e in workspace.store.open_errors()}

    invoices = {inv["DocNumber"]: inv for inv in qbo(firm, "Invoice")}
    posted = refused = 0
    for bill in in_scope_bills(firm):
        if ("invoice", str(bill["id"])) in open_errors:
            assert bill["number"] not in invoices
            refused += 1
            continue
        if money(bill["total"]) == 0 and bill["number"] not in invoices:
            continue  # the empty bill: nothing to post
        assert money(invoices[bill["number"]]["TotalAmt"]) == money(bill["total"]), bill["number"]
        posted += 1
    assert posted >= 100
    assert refused >= 3
    causes = {error.cause for error in open_errors.values()}
    assert {"unmapped_category", "duplicate_name", "blocked", "number_too_long"} <= causes
    assert result.exit_code == 1
    # Every failure says what to do.
    assert all(e.remedy for e in open_errors.values())


def test_nothing_is_lost_every_in_scope_bill_is_in_the_books_or_in_the_error_list(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        failed = {e.source_id for e in workspace.store.open_errors(kind="invoice")}
    numbers = {inv["DocNumber"] for inv in qbo(firm, "Invoice")}
    for bill in in_scope_bills(firm):
        empty = money(bill["total"]) == 0
        assert bill["number"] in numbers or str(bill["id"]) in failed or empty, bill["number"]


def test_second_pass_writes_nothing(firm: Firm) -> None:
    with firm.workspace() as workspace:
        first = workspace.sync_once()
        before = (len(qbo(firm, "Customer")), [i["SyncToken"] for i in qbo(firm, "Invoice")])
        second = workspace.sync_once()
    after = (len(qbo(firm, "Customer")), [i["SyncToken"] for i in qbo(firm, "Invoice")])
    assert first.tally.writes > 100
    assert second.tally.writes == 0
    assert before == after
    assert second.tally.total("failed") + second.tally.total("blocked") == len(second.problems)


def test_existing_inactive_qbo_customer_is_reactivated_and_linked_not_duplicated(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
    named = [
        c for c in qbo(firm, "Customer") if c["DisplayName"].startswith(demo_firm.EXISTING_CUSTOMER_NAME)
    ]
    assert len(named) == 1
    assert named[0]["Active"] is True and named[0]["DisplayName"] == demo_firm.EXISTING_CUSTOMER_NAME


def test_customer_names_are_unique_and_special_characters_survive(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
    names = [c["DisplayName"] for c in qbo(firm, "Customer")]
    assert len(names) == len(set(names))
    for special in ("Zoë Åkesson-Nuñez", "Patrick O'Brien", "Back\\Slash Holdings"):
        assert special in names


def test_a_bill_edited_in_clio_updates_the_same_invoice(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        invoices = {inv["DocNumber"]: inv for inv in qbo(firm, "Invoice")}
        bill = next(
            b for b in in_scope_bills(firm) if b["number"] in invoices and b["state"] == "awaiting_payment"
        )
        line = next(li for li in firm.sandbox.clio.records("line_item") if li["bill"] == bill["id"])
        firm.sandbox.clio.update_line_item(line["id"], price=Decimal(line["price"]) + Decimal("10.00"))
        result = workspace.sync_once()
    edited = firm.sandbox.clio.get("bill", bill["id"])
    after = {inv["DocNumber"]: inv for inv in qbo(firm, "Invoice")}
    assert result.tally.get("invoice", "updated") == 1
    assert after[bill["number"]]["Id"] == invoices[bill["number"]]["Id"]
    assert money(after[bill["number"]]["TotalAmt"]) == money(edited["total"]) != money(bill["total"])
    assert len(after) == len(invoices)


def test_a_contact_edited_in_clio_updates_the_linked_customer(firm: Firm) -> None:
    with firm.workspace() as workspace:
        workspace.sync_once()
        link = next(iter(workspace.store.links(workspace.connection("qbo").id, "contact").values()))
        firm.sandbox.clio.update_contact(
            int(link.source_id), first_name="Renamed", last_name="Person", name="Renamed Person"
        )
        result = workspace.sync_once()
    customer = next(c for c in qbo(firm, "Customer") if c["Id"] == link.target_id)
    assert result.tally.get("contact", "updated") == 1
    assert customer["DisplayName"] == "Renamed Person"


def test_dry_run_plans_but_writes_nothing(firm: Firm) -> None:
    before = (len(qbo(firm, "Customer")), len(qbo(firm, "Invoice")))
    with firm.workspace() as workspace:
        plan = workspace.sync_once(dry_run=True)
        assert workspace.store.links(workspace.connection("qbo").id, "invoice") == {}
    assert (len(qbo(firm, "Customer")), len(qbo(firm, "Invoice"))) == before
    assert plan.tally.get("invoice", "created") > 100
    assert any(a.op is Op.CREATE and a.kind == "contact" for a in plan.actions)


def test_contacts_the_ledger_refuses_block_only_their_own_bills_and_heal_next_pass(firm: Firm) -> None:
    # QBO fails the first batch of customer creates on every retry; every other record goes through.
    firm.sandbox.state.faults.add(FaultRule("500", method="POST", path=r"/batch$", times=4))
    with firm.workspace() as workspace:
        first = workspace.sync_once()
        refused = [a for a, e in first.problems if a.kind == "contact" and e.cause == "network"]
        blocked = [e for a, e in first.problems if e.cause == "blocked" and a.kind == "invoice"]
        assert 0 < len(refused) <= 30
        refused_ids = {f"contact {a.source_id}" for a in refused}
        waiting = [e for e in blocked if e.blocked_by in refused_ids]
        assert waiting and all(any(a.label in e.message for a in refused) for e in waiting)
        assert first.tally.get("invoice", "created") > 5  # the pass went on
        second = workspace.sync_once()
    assert second.tally.get("contact", "created") + second.tally.get("contact", "linked") == len(refused)
    # Every waiting bill is now posted, or refused for a reason of its own (the demo's provoked errors).
    own = [e for a, e in second.problems if a.kind == "invoice" and e.cause != "blocked"]
    assert second.tally.get("invoice", "created") + len(own) == len(waiting)


def test_the_demo_firms_trust_activity_ties_out_three_ways(firm: Firm) -> None:
    with firm.workspace() as workspace:
        result = workspace.sync_once()
        today = datetime.now(UTC).date()
        [check] = workspace.trust_checks(today, today=today)
    assert not [a for a, _e in result.problems if a.kind.startswith("trust")]
    assert check.clean, check.problems
    assert check.clio_bank == check.ledger_bank == check.ledger_liability > 0
    # Every kind of trust movement the seed made is in the books, each once.
    kinds = {t["transaction_type"] for t in firm.sandbox.clio.records("bank_transaction")}
    assert {"Deposit", "Withdrawal", "Transfer", "Payment"} <= kinds
    transactions = len(firm.sandbox.clio.records("bank_transaction"))
    cheques = qbo(firm, "Purchase")
    assert {c["EntityRef"]["type"] for c in cheques} == {"Vendor", "Customer"}
    assert all(c["PrintStatus"] == "NeedToPrint" for c in cheques)
    assert len(qbo(firm, "JournalEntry")) + len(cheques) == transactions
    assert (
        result.tally.get("trust_posting", "created") + result.tally.get("trust_cheque", "created")
        == transactions
    )
