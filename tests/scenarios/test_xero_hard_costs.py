"""Clio hard costs → Xero "Spend Money" (issue 5, seed 004 "Syncing Hard Costs") against the sandbox.

The Workspace does not wire Xero yet, so these drive :func:`run_spend_money` directly: a ClioClient and
a XeroClient on the sandbox over real HTTP, a real SQLite store. The Xero emulator judges every body
against Xero's spec and refuses what Xero would, so a pass without problems is a pass Xero accepts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink import failpoints
from ledgerlink.config import Config
from ledgerlink.errors import MappingMissingError
from ledgerlink.providers.clio import ClioClient
from ledgerlink.providers.xero import XeroBankTransaction, XeroClient, XeroLimiter
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import XERO_ORG_TENANT_ID
from ledgerlink.sandbox.state import FaultRule
from ledgerlink.sandbox.xero_identity import seed_xero_organisations
from ledgerlink.store import Store
from ledgerlink.sync import spend_money
from ledgerlink.sync.apply import PassResult
from ledgerlink.sync.spend_money import run_spend_money
from tests.conftest import StaticToken, sandbox_clio_client

TENANT = XERO_ORG_TENANT_ID
START = date(2026, 1, 1)
BANK = "090"  # the sandbox chart's bank account
EXPENSE = "400"  # an EXPENSE account of the sandbox chart
SEED_TEXT = "the vendor is required on hard costs while Sync Hard Costs is on"


class Books:
    """A Clio firm with one client and matter, its Xero organisation, a store, and run_spend_money."""

    def __init__(self, box: Sandbox, tmp_path: Path) -> None:
        self.box = box
        seed_xero_organisations(box.state)
        clock = box.state.clock
        limiter = XeroLimiter(tenant_id=TENANT, sleep=clock.advance, monotonic=clock.now, wall=clock.now)
        self.xero = XeroClient.connect(
            box.urls.xero_api, TENANT, StaticToken(box.xero.access_token()), limiter=limiter
        )
        self.clio: ClioClient = sandbox_clio_client(box)
        self.store = Store.open(f"sqlite:///{tmp_path / 'ledgerlink.db'}")
        self.connection = self.store.upsert_connection("xero", TENANT, "Hartwell & Osei LLP (Xero)").id
        self.config = Config.model_validate(
            {
                "target": "xero",
                "xero": {
                    "hard_costs": {
                        "enabled": True,
                        "start_date": START.isoformat(),
                        "bank_account": BANK,
                        "expense_account": EXPENSE,
                    }
                },
            }
        )
        emu = box.clio
        client = emu.add_contact(type="Person", first_name="Dana", last_name="Whitfield", is_client=True)
        self.matter = int(
            emu.add_matter(
                client=client["id"], number=1, display_number="00001-Whitfield", description="Estate"
            )["id"]
        )
        self.vendor = int(emu.add_contact(type="Company", name="Metro Courier")["id"])

    def close(self) -> None:
        self.xero.close()
        self.clio.close()
        self.store.close()

    # -- Clio side -----------------------------------------------------------------------------

    def cost(
        self,
        price: str,
        *,
        day: date = date(2026, 3, 5),
        note: str = "Courier to court",
        vendor: bool = True,
        reference: str | None = None,
    ) -> str:
        body: dict[str, Any] = {
            "type": "HardCostEntry",
            "date": day.isoformat(),
            "price": price,
            "note": note,
            "matter": {"id": self.matter},
        }
        if vendor:
            body["vendor"] = {"id": self.vendor}
        if reference:
            body["reference"] = reference
        return str(self.clio.create_activity(body).id)

    def edit(self, activity_id: str, **changes: Any) -> None:
        self.clio.update_activity(int(activity_id), changes, etag=None)

    # -- runs and what they left ---------------------------------------------------------------

    def run(self, *, dry_run: bool = False) -> PassResult:
        result = PassResult(run_id=self.store.start_run(dry_run=dry_run), dry_run=dry_run)
        run_spend_money(self.clio, self.xero, self.store, self.connection, self.config, result)
        return result

    def transactions(self) -> list[dict[str, Any]]:
        return self.box.xero.records(TENANT, "BankTransactions")

    def transaction(self, activity_id: str) -> dict[str, Any]:
        link = self.store.link(self.connection, "spend_money", activity_id)
        assert link is not None, f"hard cost {activity_id} is not linked"
        return self.box.xero.get(TENANT, "BankTransactions", link.target_id)

    def xero_writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p in self.box.state.writes_received() if "/xero/" in p]

    def errors(self) -> dict[str, tuple[str, str]]:
        return {e.source_id: (e.cause, e.message) for e in self.store.open_errors(kind="spend_money")}


@pytest.fixture
def books(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[Books]:
    opened = Books(empty_sandbox, tmp_path)
    yield opened
    opened.close()


def test_hard_costs_dated_from_the_start_date_become_spend_money(books: Books) -> None:
    sent = books.cost("52.50", reference="CHK-1043")
    books.cost("19.00", day=date(2025, 12, 31))  # before the start date: not synced

    result = books.run()

    assert not result.problems
    assert result.tally.as_dict() == {"spend_money": {"created": 1}}
    [only] = books.transactions()
    assert only == books.transaction(sent)
    assert (only["Type"], only["Status"], only["IsReconciled"]) == ("SPEND", "AUTHORISED", False)
    assert only["BankAccount"]["Code"] == BANK
    assert only["Contact"]["Name"] == "Metro Courier"
    assert only["DateString"].startswith("2026-03-05")
    assert only["Reference"] == f"CHK-1043 [Clio hard cost {sent}]"
    assert only["LineAmountTypes"] == "NoTax" and only["Total"] == Decimal("52.50")
    [line] = only["LineItems"]
    assert line["AccountCode"] == EXPENSE and line["UnitAmount"] == Decimal("52.50")
    assert line["Description"] == "Courier to court · Matter 00001-Whitfield (Dana Whitfield)"


def test_second_run_writes_nothing(books: Books) -> None:
    books.cost("52.50")
    books.cost("10.00", note="Filing fee")
    books.run()
    before = len(books.xero_writes())

    again = books.run()

    assert again.tally.writes == 0 and not again.problems
    assert len(books.xero_writes()) == before
    assert len(books.transactions()) == 2


def test_vendor_is_found_by_name_in_xero_not_created_again(books: Books) -> None:
    existing = books.box.xero.add_contact(TENANT, Name="Metro Courier")["ContactID"]
    first, second = books.cost("52.50"), books.cost("8.00")

    books.run()

    assert books.transaction(first)["Contact"]["ContactID"] == existing
    assert books.transaction(second)["Contact"]["ContactID"] == existing
    assert [c["Name"] for c in books.box.xero.records(TENANT, "Contacts")] == ["Metro Courier"]


def test_edit_in_clio_updates_the_transaction(books: Books) -> None:
    cost = books.cost("52.50")
    books.run()
    before = books.transaction(cost)

    books.edit(cost, price="60.00", note="Courier, two trips")
    result = books.run()

    assert result.tally.as_dict() == {"spend_money": {"updated": 1}}
    after = books.transaction(cost)
    assert after["BankTransactionID"] == before["BankTransactionID"]
    assert after["Total"] == Decimal("60.00")
    assert after["LineItems"][0]["Description"].startswith("Courier, two trips")
    assert len(books.transactions()) == 1


def test_cost_without_vendor_is_an_error_with_the_seed_text_and_others_still_go(books: Books) -> None:
    lonely = books.cost("30.00", vendor=False)
    fine = books.cost("52.50")

    result = books.run()

    assert result.tally.as_dict() == {"spend_money": {"created": 1, "failed": 1}}
    [(action, error)] = result.problems
    assert action.source_id == lonely and SEED_TEXT in error.message
    assert books.errors() == {lonely: ("no_vendor", error.message)}
    assert books.transaction(fine)["Total"] == Decimal("52.50")

    books.edit(lonely, vendor={"id": books.vendor})
    fixed = books.run()

    assert fixed.tally.as_dict() == {"spend_money": {"created": 1, "skipped": 1}}
    assert books.errors() == {}
    assert len(books.transactions()) == 2


def test_reconciled_transaction_is_reported_once_and_never_rewritten(books: Books) -> None:
    cost = books.cost("52.50")
    books.run()
    reconciled = books.transaction(cost)
    books.box.xero.reconcile(reconciled["BankTransactionID"], TENANT)
    writes = len(books.xero_writes())

    books.edit(cost, price="99.00")
    result = books.run()

    [(_, error)] = result.problems
    assert error.cause == "reconciled_in_xero" and not error.retryable
    assert "reconciled" in error.message and "Remove & Redo" in error.remedy
    assert len(books.xero_writes()) == writes  # looked at, never sent
    assert books.transaction(cost)["Total"] == Decimal("52.50")

    quiet = books.run()  # still reconciled, still edited: not news

    assert not quiet.problems and quiet.tally.as_dict() == {"spend_money": {"skipped": 1}}
    assert books.errors()[cost][0] == "reconciled_in_xero"
    assert len(books.xero_writes()) == writes


def test_deleted_in_clio_is_deleted_in_xero_unless_reconciled(books: Books) -> None:
    gone, kept = books.cost("52.50"), books.cost("12.00")
    books.run()
    kept_id = books.transaction(kept)["BankTransactionID"]
    gone_id = books.transaction(gone)["BankTransactionID"]
    books.box.xero.reconcile(kept_id, TENANT)

    books.clio.delete_activity(int(gone))
    books.clio.delete_activity(int(kept))
    result = books.run()

    assert result.tally.as_dict() == {"spend_money": {"deleted": 1, "failed": 1}}
    assert books.box.xero.get(TENANT, "BankTransactions", gone_id)["Status"] == "DELETED"
    assert books.store.link(books.connection, "spend_money", gone) is None
    assert books.box.xero.get(TENANT, "BankTransactions", kept_id)["Status"] == "AUTHORISED"
    assert books.errors() == {kept: ("reconciled_in_xero", result.problems[0][1].message)}


def test_lost_answer_is_adopted_by_the_next_run_not_sent_twice(books: Books) -> None:
    cost = books.cost("52.50")
    books.box.state.faults.add(
        FaultRule("drop_after_commit", method="PUT", path="/BankTransactions$", times=-1)
    )

    lost = books.run()

    assert lost.tally.as_dict() == {"spend_money": {"failed": 1}}
    assert lost.problems[0][1].cause == "network"
    assert len(books.transactions()) == 1  # Xero has it; ledgerlink does not know
    books.box.state.faults.clear()
    puts = len([w for w in books.xero_writes() if w[0] == "PUT" and w[1].endswith("/BankTransactions")])

    adopted = books.run()

    assert not adopted.problems and adopted.tally.writes == 0
    assert len(books.transactions()) == 1
    assert books.transaction(cost)["Total"] == Decimal("52.50")
    assert (
        len([w for w in books.xero_writes() if w[0] == "PUT" and w[1].endswith("/BankTransactions")]) == puts
    )
    assert books.errors() == {}


class Crash(BaseException):
    """The process dying at a failpoint (in-process: the store keeps what was committed)."""


def test_crash_between_xero_write_and_link_is_adopted(books: Books, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = books.cost("52.50"), books.cost("7.25")

    def die(name: str) -> None:
        if name == "after_ledger_write":
            raise Crash(name)

    monkeypatch.setattr(failpoints, "hit", die)
    with pytest.raises(Crash):
        books.run()
    monkeypatch.undo()
    assert len(books.transactions()) == 2
    assert books.store.links(books.connection, "spend_money") == {}

    result = books.run()

    assert result.tally.writes == 0 and not result.problems
    assert len(books.transactions()) == 2
    assert set(books.store.links(books.connection, "spend_money")) == {first, second}


def test_dry_run_writes_nothing_but_shows_the_plan(books: Books) -> None:
    books.cost("52.50")
    books.cost("1.00", vendor=False)
    writes = len(books.box.state.writes_received())

    result = books.run(dry_run=True)

    assert result.tally.as_dict() == {"spend_money": {"created": 1, "failed": 1}}
    assert len(books.box.state.writes_received()) == writes
    assert books.transactions() == []
    assert books.store.links(books.connection, "spend_money") == {}
    assert books.store.cursor(books.connection, "spend_money") is None
    assert books.errors() == {}
    assert books.store.open_intents(books.connection) == []


def test_archived_expense_account_stops_the_run_before_any_write(books: Books) -> None:
    books.cost("52.50")
    books.box.xero.archive_account(TENANT, EXPENSE)
    writes = len(books.box.state.writes_received())

    with pytest.raises(MappingMissingError, match="'400'"):
        books.run()

    assert len(books.box.state.writes_received()) == writes
    assert books.transactions() == []


def test_reconciled_between_look_and_write_is_xeros_refusal_reported_as_reconciled(
    books: Books, monkeypatch: pytest.MonkeyPatch
) -> None:
    cost = books.cost("52.50")
    books.run()
    transaction_id = books.transaction(cost)["BankTransactionID"]
    look = spend_money.linked_transactions

    def look_then_reconcile(xero: XeroClient, ids: set[str]) -> dict[str, XeroBankTransaction]:
        seen = look(xero, ids)  # not reconciled yet when looked at ...
        books.box.xero.reconcile(transaction_id, TENANT)  # ... but by the time the update arrives
        return seen

    monkeypatch.setattr(spend_money, "linked_transactions", look_then_reconcile)
    books.edit(cost, price="99.00")
    result = books.run()

    [(_, error)] = result.problems
    assert error.cause == "reconciled_in_xero" and not error.retryable
    assert books.transaction(cost)["Total"] == Decimal("52.50")
    assert books.store.open_intents(books.connection) == []


def test_bank_account_code_that_is_not_a_bank_account_stops_the_run(books: Books) -> None:
    books.cost("52.50")
    books.config = books.config.model_copy(
        update={
            "xero": books.config.xero.model_copy(
                update={"hard_costs": books.config.xero.hard_costs.model_copy(update={"bank_account": "400"})}
            )
        }
    )

    with pytest.raises(MappingMissingError, match="no active BANK account"):
        books.run()

    assert books.xero_writes() == []
