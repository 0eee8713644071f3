"""End to end, issue 6: trust accounting to QuickBooks Online against the sandbox.

Each test builds a small firm with a Clio trust account and the QBO trust bank / liability pair,
moves client money in Clio as a bookkeeper would, runs a pass and checks the books: one posting per
Clio transaction, the client on every liability line, per-client liabilities equal to Clio's
client balances, and the three-way report clean.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.demo import scripted_browser
from ledgerlink.domain import money
from ledgerlink.errors import MappingMissingError
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.state import FaultRule
from ledgerlink.sync.engine import SyncPass
from tests.scenarios.small_firm import (
    COURT_VENDOR,
    TRUST_BANK,
    TRUST_LIABILITY,
    SmallFirm,
    build_trust_firm,
)


@pytest.fixture
def trust(empty_sandbox: Sandbox, tmp_path: Path) -> Iterator[SmallFirm]:
    yield build_trust_firm(empty_sandbox, tmp_path)


def _account_id(firm: SmallFirm, name: str) -> str:
    return next(str(a["Id"]) for a in firm.qbo("Account") if a["Name"] == name)


def _customer_id(firm: SmallFirm, display_name: str) -> str:
    return next(str(c["Id"]) for c in firm.qbo("Customer") if c["DisplayName"] == display_name)


def ledger_liabilities(firm: SmallFirm) -> dict[str, Decimal]:
    """Per-customer trust liability, summed here from QBO's raw records (independently of ledgerlink)."""
    liability = _account_id(firm, TRUST_LIABILITY)
    by_customer: dict[str, Decimal] = defaultdict(Decimal)
    for entry in firm.qbo("JournalEntry"):
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            if detail["AccountRef"]["value"] != liability:
                continue
            customer = detail.get("Entity", {}).get("EntityRef", {}).get("value", "")
            sign = 1 if detail["PostingType"] == "Credit" else -1
            by_customer[customer] += sign * money(line["Amount"])
    for cheque in firm.qbo("Purchase"):
        for line in cheque["Line"]:
            detail = line["AccountBasedExpenseLineDetail"]
            if detail["AccountRef"]["value"] == liability:
                by_customer[detail.get("CustomerRef", {}).get("value", "")] -= money(line["Amount"])
    return {c: v for c, v in by_customer.items() if v}


def clio_balances(firm: SmallFirm) -> dict[int, Decimal]:
    """Per-client trust balance as Clio holds it."""
    balances: dict[int, Decimal] = defaultdict(Decimal)
    for txn in firm.sandbox.clio.records("bank_transaction"):
        if txn.get("client"):
            balances[int(txn["client"])] += money(txn["amount"])
    return {c: v for c, v in balances.items() if v}


def test_trust_activity_is_posted_once_and_ties_out_three_ways(trust: SmallFirm) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield", "dana@example.com")
    omar = trust.client("Omar", "Haddad", "omar@example.com")
    clio.trust_deposit(dana, Decimal("5000.00"), description="Retainer")
    clio.trust_deposit(omar, Decimal("1200.00"))
    request = clio.add_trust_request(omar, Decimal("800.00"))
    clio.pay_trust_request(request["id"])
    clio.trust_disbursement(dana, Decimal("250.00"), description="Expert report")
    clio.trust_transfer(dana, omar, Decimal("300.00"), description="Joint matter costs")
    bill = trust.bill(dana, hours=("2.0",))  # 500.00
    clio.record_payment(bill["id"], from_trust=True)
    clio.trust_disbursement(
        dana, Decimal("150.00"), reference="QBO CHECK 1001", description=f"Pay to: {COURT_VENDOR}\nFiling fee"
    )
    clio.trust_disbursement(omar, Decimal("100.00"), reference="QBO CHECK 1002", description="Refund")

    result = trust.sync()

    assert result.problems == []
    assert (
        result.tally.get("trust_posting", "created") == 7
    )  # 2 deposits, request, disbursement, 2 legs, bill
    assert result.tally.get("trust_cheque", "created") == 2
    cheques = {c["EntityRef"]["type"]: c for c in trust.qbo("Purchase")}
    assert set(cheques) == {"Vendor", "Customer"}
    assert all(c["PaymentType"] == "Check" and c["PrintStatus"] == "NeedToPrint" for c in cheques.values())
    assert cheques["Customer"]["EntityRef"]["value"] == _customer_id(trust, "Omar Haddad")
    assert all(c["AccountRef"]["value"] == _account_id(trust, TRUST_BANK) for c in cheques.values())
    # The bill paid from trust is settled by one payment, and its trust side is one journal entry.
    invoice = trust.invoice(bill["number"])
    assert money(invoice["Balance"]) == Decimal("0.00")
    assert len([p for p in trust.qbo("Payment") if money(p["TotalAmt"])]) == 1
    # Every posting names the Clio transaction, the client and the matter where QBO can search it.
    notes = [e["PrivateNote"] for e in trust.qbo("JournalEntry")]
    assert all("Clio trust" in n for n in notes)
    assert any("Dana Whitfield" in n and "00001-Whitfield" in n for n in notes)

    clio_side = clio_balances(trust)
    assert clio_side == {dana: Decimal("3800.00"), omar: Decimal("2200.00")}
    assert ledger_liabilities(trust) == {
        _customer_id(trust, "Dana Whitfield"): Decimal("3800.00"),
        _customer_id(trust, "Omar Haddad"): Decimal("2200.00"),
    }
    report = trust.cli("report", "trust", "--json")
    assert report.returncode == 0, report.stdout + report.stderr
    [check] = json.loads(report.stdout)["accounts"]
    assert check["clean"] is True
    assert money(check["clio_bank"]) == money(check["ledger_bank"]) == Decimal("6000.00")

    assert trust.sync().tally.writes == 0


def test_an_edit_in_clio_updates_the_same_journal_entry_and_reports_before_and_after(
    trust: SmallFirm,
) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    deposit = clio.trust_deposit(dana, Decimal("500.00"))
    trust.sync()
    [entry] = trust.qbo("JournalEntry")

    clio.edit_bank_transaction(deposit["id"], amount=Decimal("450.00"))
    result = trust.sync()

    [edited] = trust.qbo("JournalEntry")
    assert edited["Id"] == entry["Id"] and edited["SyncToken"] != entry["SyncToken"]
    assert {money(line["Amount"]) for line in edited["Line"]} == {Decimal("450.00")}
    [(_action, notice)] = result.notices
    assert "500.00" in notice and "450.00" in notice


def test_a_transaction_deleted_in_clio_is_removed_from_quickbooks(trust: SmallFirm) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    clio.trust_deposit(dana, Decimal("900.00"))
    mistake = clio.trust_deposit(dana, Decimal("90.00"))
    trust.sync()
    assert len(trust.qbo("JournalEntry")) == 2

    clio.delete_bank_transaction(mistake["id"])
    result = trust.sync()

    assert result.tally.get("trust_posting", "deleted") == 1
    assert ledger_liabilities(trust) == {_customer_id(trust, "Dana Whitfield"): Decimal("900.00")}


def test_a_journal_entry_edited_in_quickbooks_is_put_back_to_clios_amount(trust: SmallFirm) -> None:
    dana = trust.client("Dana", "Whitfield")
    trust.sandbox.clio.trust_deposit(dana, Decimal("700.00"))
    trust.sync()
    [entry] = trust.qbo("JournalEntry")
    lines = [{**line, "Amount": 70.0} for line in entry["Line"]]
    trust.sandbox.qbo.edit(trust.realm, "JournalEntry", entry["Id"], Line=lines)

    result = trust.sync()

    assert result.tally.get("trust_posting", "updated") == 1
    assert ledger_liabilities(trust) == {_customer_id(trust, "Dana Whitfield"): Decimal("700.00")}


def test_a_trust_bank_that_is_not_a_trust_account_is_refused_before_any_write(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_trust_firm(empty_sandbox, tmp_path, bank_detail="Checking")
    dana = firm.client("Dana", "Whitfield")
    firm.bill(dana)
    firm.sandbox.clio.trust_deposit(dana, Decimal("500.00"))

    with pytest.raises(MappingMissingError) as refused:
        firm.sync()

    assert f"“{TRUST_BANK}” is a Bank account of detail type Checking" in str(refused.value)
    assert firm.qbo("Customer") == [] and firm.qbo("Invoice") == [] and firm.qbo("JournalEntry") == []
    ran = firm.cli("sync", "--once")
    assert ran.returncode == 3
    assert "trust.accounts[0].qbo_bank_account" in ran.stderr


def test_a_printed_cheque_is_not_changed_and_the_edit_is_reported(trust: SmallFirm) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    clio.trust_deposit(dana, Decimal("1000.00"))
    cheque = clio.trust_disbursement(dana, Decimal("200.00"), reference="QBO CHECK", description="Refund")
    trust.sync()
    [purchase] = trust.qbo("Purchase")
    trust.sandbox.qbo.print_cheques(trust.realm, [purchase["Id"]])

    clio.edit_bank_transaction(cheque["id"], amount=Decimal("250.00"))
    result = trust.sync()

    [(_action, error)] = result.problems
    assert error.cause == "cheque_printed"
    assert money(trust.qbo("Purchase")[0]["TotalAmt"]) == Decimal("200.00")


def _pass_without_backoff(firm: SmallFirm) -> Any:
    """One pass whose HTTP clients do not sleep between retries (the fault below exhausts them)."""
    with firm.workspace() as workspace:
        _clio, conn = workspace.require_connections()
        no_sleep = lambda seconds: None  # noqa: E731
        with (
            workspace.clio_client(sleep=no_sleep) as clio,
            workspace.qbo_client(conn.external_id, sleep=no_sleep) as qbo,
        ):
            return SyncPass(
                source=ClioSource(clio),
                ledger=QboLedger(qbo),
                store=workspace.store,
                connection_id=conn.id,
                config=workspace.config,
            ).run()


def test_a_withdrawal_never_overdraws_a_client_in_quickbooks_when_the_deposit_did_not_post(
    trust: SmallFirm,
) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    clio.trust_deposit(dana, Decimal("1000.00"))
    trust.sync()
    clio.trust_deposit(dana, Decimal("500.00"))
    clio.trust_disbursement(dana, Decimal("1300.00"))
    # The deposit's batch fails every attempt: QuickBooks never sees it this pass.
    trust.sandbox.state.faults.add(FaultRule("500", method="POST", path="/batch$", times=4))

    result = _pass_without_backoff(trust)

    causes = sorted(error.cause for _action, error in result.problems)
    assert causes == ["network", "trust_negative_balance"]
    negative = next(e for _a, e in result.problems if e.cause == "trust_negative_balance")
    assert "Dana Whitfield" in negative.message and "-300.00" in negative.message.replace("−", "-")
    assert ledger_liabilities(trust) == {_customer_id(trust, "Dana Whitfield"): Decimal("1000.00")}

    healed = trust.sync()
    assert healed.problems == []
    assert ledger_liabilities(trust) == {_customer_id(trust, "Dana Whitfield"): Decimal("200.00")}


def test_the_trust_report_names_every_difference_and_exits_1(trust: SmallFirm, tmp_path: Path) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    omar = trust.client("Omar", "Haddad")
    clio.trust_deposit(dana, Decimal("800.00"))
    clio.trust_deposit(omar, Decimal("300.00"))
    trust.sync()
    # Someone deletes Omar's deposit in QuickBooks by hand; no pass has run since.
    omar_id = _customer_id(trust, "Omar Haddad")
    [entry] = [
        e
        for e in trust.qbo("JournalEntry")
        if any(
            line["JournalEntryLineDetail"].get("Entity", {}).get("EntityRef", {}).get("value") == omar_id
            for line in e["Line"]
        )
    ]
    trust.sandbox.qbo.delete(trust.realm, "JournalEntry", entry["Id"])

    shown = trust.cli("report", "trust", "--csv", str(tmp_path / "trust.csv"))

    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "Omar Haddad" in shown.stdout and "300.00" in shown.stdout
    assert "difference(s)" in shown.stdout
    rows = (tmp_path / "trust.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("account,")
    assert any("Omar Haddad" in row and "-300.00" in row for row in rows)
    assert trust.cli("report", "trust", "--as-of", "2025-12-31").returncode == 0  # before any money moved


def test_against_xero_the_trust_report_checks_clios_side_alone(firm: Any) -> None:
    # A Xero target names only the Clio trust account (Xero cannot receive trust postings).
    text = firm.config_path.read_text(encoding="utf-8")
    text = re.sub(r"^qbo_(bank|liability)_account = .*\n", "", text, flags=re.M)
    firm.config_path.write_text(text.replace('target = "qbo"', 'target = "xero"'), encoding="utf-8")
    with firm.workspace() as workspace:
        workspace.connect(
            "xero",
            open_url=scripted_browser,
            confirm=lambda q: True,
            choose_tenant=lambda tenants: tenants[0],
        )
    shown = firm.cli("report", "trust", "--json")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    [check] = json.loads(shown.stdout)["accounts"]
    assert check["ledger_bank"] is None and check["clean"] is True
    assert money(check["clio_bank"]) > 0


def test_doctor_checks_the_trust_accounts_and_shows_the_bank_feed_warning(trust: SmallFirm) -> None:
    shown = trust.cli("doctor")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"✓ trust: IOLTA Trust Account → {TRUST_BANK} / {TRUST_LIABILITY}" in shown.stdout
    assert "! trust: IOLTA Trust Account: if a bank feed brings" in shown.stdout
    checks = json.loads(trust.cli("doctor", "--json").stdout)["checks"]
    assert {c["status"] for c in checks} == {"ok", "warn"}


def test_doctor_fails_on_a_trust_bank_of_the_wrong_detail_type(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_trust_firm(empty_sandbox, tmp_path, bank_detail="Checking")
    shown = firm.cli("doctor")
    assert shown.returncode == 1
    assert f"✗ trust: IOLTA Trust Account → {TRUST_BANK}" in shown.stdout
    assert "detail type Checking" in shown.stdout and "trust.accounts[0].qbo_bank_account" in shown.stdout


def test_an_error_about_a_transaction_deleted_in_clio_is_closed(trust: SmallFirm) -> None:
    clio = trust.sandbox.clio
    dana = trust.client("Dana", "Whitfield")
    clio.trust_deposit(dana, Decimal("400.00"))
    wrong = clio.trust_disbursement(
        dana, Decimal("40.00"), reference="QBO CHECK", description="Pay to: Nobody We Know"
    )
    first = trust.sync()
    [(_action, error)] = first.problems
    assert error.cause == "unknown_payee" and "Nobody We Know" in error.message

    clio.delete_bank_transaction(wrong["id"])
    trust.sync()

    with trust.workspace() as workspace:
        assert [e for e in workspace.store.open_errors() if e.kind.startswith("trust")] == []
