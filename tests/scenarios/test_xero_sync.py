"""Syncing the demo firm into Xero (issue 5, seed 004): the CLI end to end against the Xero emulator."""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ledgerlink.config import load_config
from ledgerlink.demo import demo_config, scripted_browser
from ledgerlink.domain import money
from ledgerlink.providers.xero.connections import XeroTenant
from ledgerlink.sandbox import Sandbox, demo_firm
from ledgerlink.workspace import Workspace
from tests.scenarios.conftest import Firm

TENANT = demo_firm.XERO_ORG_TENANT_ID


def _demo_org(tenants: list[XeroTenant]) -> XeroTenant:
    return next(t for t in tenants if t.tenant_id == TENANT)


def connect_firm(box: Sandbox, workdir: Path, *, target: str, **edits: str) -> Firm:
    """The demo firm's config for ``target`` in ``workdir`` (``edits``: regex → replacement), connected."""
    workdir.mkdir(parents=True, exist_ok=True)
    text = demo_config(box, workdir, qbo_requests_per_second=1000, target=target)  # type: ignore[arg-type]
    for pattern, replacement in edits.items():
        text = re.sub(pattern, replacement, text, flags=re.M)
    config_path = workdir / "config.toml"
    config_path.write_text(text, encoding="utf-8")
    with Workspace(load_config(config_path)) as workspace:
        workspace.connect("clio", open_url=scripted_browser)
        if target == "xero":
            workspace.connect(
                "xero", open_url=scripted_browser, confirm=lambda q: True, choose_tenant=_demo_org
            )
        else:
            workspace.connect("qbo", open_url=scripted_browser)
    return Firm(box, config_path, workdir)


@pytest.fixture
def xero(sandbox: Sandbox, tmp_path: Path) -> Iterator[Firm]:
    yield connect_firm(sandbox, tmp_path / "xero", target="xero")


def records(box: Sandbox, collection: str) -> list[dict[str, Any]]:
    return box.xero.records(TENANT, collection)


def live(box: Sandbox, collection: str, status_field: str = "Status") -> list[dict[str, Any]]:
    return [r for r in records(box, collection) if r.get(status_field) not in ("DELETED", "VOIDED")]


def links(firm: Firm, kind: str) -> dict[str, str]:
    with firm.workspace() as workspace:
        conn = workspace.connection(workspace.target)
        return {s: link.target_id for s, link in workspace.store.links(conn.id, kind).items()}


def test_first_pass_posts_the_firm_and_the_second_writes_nothing(xero: Firm) -> None:
    first = xero.cli("sync", "--once")
    assert first.returncode in (0, 1), first.stdout + first.stderr
    assert "Clio → Xero" in first.stdout
    invoices = live(xero.sandbox, "Invoices")
    invoice_links = links(xero, "invoice")
    assert invoice_links and len(invoices) == len(invoice_links)
    # Each invoice equals its Clio bill to the cent, and is an ACCREC invoice numbered like the bill.
    by_id = {i["InvoiceID"]: i for i in invoices}
    for bill_id, invoice_id in invoice_links.items():
        bill = xero.sandbox.clio.get("bill", int(bill_id))
        invoice = by_id[invoice_id]
        assert invoice["Type"] == "ACCREC" and invoice["InvoiceNumber"] == bill["number"]
        assert money(invoice["Total"]) == money(bill["total"]), bill["number"]
        assert money(invoice["AmountDue"]) == money(bill["balance"]), bill["number"]
    assert links(xero, "payment") and links(xero, "credit_note")
    # Contacts carry the Clio id in ContactNumber and (by default) after their name.
    contacts = {c["ContactID"]: c for c in records(xero.sandbox, "Contacts")}
    for clio_id, contact_id in links(xero, "contact").items():
        assert contacts[contact_id]["ContactNumber"] == clio_id
        assert contacts[contact_id]["Name"].endswith(f"({clio_id})")
    before = len(xero.sandbox.state.writes_received())
    second = xero.cli("sync", "--once")
    assert second.returncode == first.returncode, second.stdout + second.stderr
    assert xero.sandbox.state.writes_received()[before:] == []


def _receivables_by_client(firm: Firm, owed: dict[str, str], bills: set[str]) -> dict[str, Decimal]:
    """Clio contact id → what the ledger says the client owes on the invoices of ``bills``."""
    contact_of = {target: clio for clio, target in links(firm, "contact").items()}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for bill, invoice_id in links(firm, "invoice").items():
        if bill not in bills:
            continue
        customer, due = owed[invoice_id].split("|")
        totals[contact_of[customer]] += Decimal(due)
    return dict(totals)


def test_the_same_firm_in_xero_and_in_quickbooks_owes_the_same_per_client(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    xero = connect_firm(sandbox, tmp_path / "xero", target="xero")
    qbo = connect_firm(sandbox, tmp_path / "qbo", target="qbo")
    for firm in (xero, qbo):
        done = firm.cli("sync", "--once")
        assert done.returncode in (0, 1), done.stdout + done.stderr
    realm = next(c.external_id for c in [qbo.workspace().connection("qbo")])
    in_qbo = {
        str(i["Id"]): f"{i['CustomerRef']['value']}|{i['Balance']}"
        for i in sandbox.qbo.records(realm, "Invoice")
    }
    in_xero = {
        i["InvoiceID"]: f"{i['Contact']['ContactID']}|{i['AmountDue']}" for i in records(sandbox, "Invoices")
    }
    # The demo's provoked QuickBooks errors (a client named like a QBO vendor, a bill number too long
    # for QuickBooks) do not happen in Xero: Xero has every bill QuickBooks has, and those too.
    in_both = set(links(qbo, "invoice"))
    assert in_both < set(links(xero, "invoice"))
    owed_qbo = _receivables_by_client(qbo, in_qbo, in_both)
    owed_xero = _receivables_by_client(xero, in_xero, in_both)
    assert owed_xero == owed_qbo and len(owed_qbo) > 20 and sum(owed_qbo.values()) > 0


def _open_bill(firm: Firm) -> dict[str, Any]:
    """A synced bill awaiting payment with nothing paid yet."""
    synced = links(firm, "invoice")
    for bill_id in sorted(synced, key=int):
        bill = firm.sandbox.clio.get("bill", int(bill_id))
        if bill["state"] == "awaiting_payment" and money(bill["balance"]) == money(bill["total"]) > 0:
            return bill
    raise AssertionError("the demo firm has no open synced bill")


def _half(bill: dict[str, Any]) -> Decimal:
    return (money(bill["total"]) / 2).quantize(Decimal("0.01"))


def _invoice(firm: Firm, bill: dict[str, Any]) -> dict[str, Any]:
    return xero_get(firm, "Invoices", links(firm, "invoice")[str(bill["id"])])


def xero_get(firm: Firm, collection: str, record_id: str) -> dict[str, Any]:
    return firm.sandbox.xero.get(TENANT, collection, record_id)


def _sync(firm: Firm) -> Any:
    done = firm.cli("sync", "--once")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done


def test_a_payment_deleted_in_clio_is_deleted_in_xero_and_the_balance_returns(xero: Firm) -> None:
    _sync(xero)
    bill = _open_bill(xero)
    part = _half(bill)
    allocation = xero.sandbox.clio.record_payment(bill["id"], amount=part)
    parent = (
        allocation["parent"]["id"] if isinstance(allocation.get("parent"), dict) else allocation["parent"]
    )
    _sync(xero)
    paid = _invoice(xero, bill)
    assert money(paid["AmountDue"]) == money(bill["total"]) - part
    [payment_id] = links(xero, "payment")[str(parent)].split(",")
    assert xero_get(xero, "Payments", payment_id)["Status"] == "AUTHORISED"

    xero.sandbox.clio.delete_payment(parent)
    _sync(xero)
    assert xero_get(xero, "Payments", payment_id)["Status"] == "DELETED"
    assert money(_invoice(xero, bill)["AmountDue"]) == money(bill["total"])
    assert str(parent) not in links(xero, "payment")


def test_a_payment_deleted_in_xero_is_put_back_by_the_next_pass(xero: Firm) -> None:
    _sync(xero)
    bill = _open_bill(xero)
    part = _half(bill)
    xero.sandbox.clio.record_payment(bill["id"], amount=part)
    _sync(xero)
    [(clio_payment, payment_id)] = [
        (p, t)
        for p, t in links(xero, "payment").items()
        if xero_get(xero, "Payments", t)["Invoice"]["InvoiceID"] == links(xero, "invoice")[str(bill["id"])]
    ]
    with xero.workspace() as workspace, workspace.xero_client(TENANT) as client:
        client.delete_payment(payment_id, key="bookkeeper-in-xero")
    assert money(_invoice(xero, bill)["AmountDue"]) == money(bill["total"])

    done = _sync(xero)
    assert "Xero" in done.stdout and "re-created" in done.stdout
    [again] = links(xero, "payment")[clio_payment].split(",")
    assert again != payment_id and xero_get(xero, "Payments", again)["Status"] == "AUTHORISED"
    assert money(_invoice(xero, bill)["AmountDue"]) == money(bill["total"]) - part


def test_no_payment_account_means_payments_are_not_synced(sandbox: Sandbox, tmp_path: Path) -> None:
    firm = connect_firm(sandbox, tmp_path / "x", target="xero", **{r"^payment_account = .*$": ""})
    done = _sync(firm)
    assert links(firm, "invoice") and not links(firm, "payment")
    assert records(sandbox, "Payments") == []
    assert "Payments" not in done.stdout
    doctor = firm.cli("doctor")
    assert "payments are not synced to Xero" in doctor.stdout


def test_drafts_and_bills_awaiting_approval_go_as_draft_and_submitted_when_asked(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    states = 'bill_states = ["awaiting_payment", "paid", "draft", "awaiting_approval"]'
    firm = connect_firm(
        sandbox,
        tmp_path / "x",
        target="xero",
        **{r"^start_date = 2026-01-01$": f"start_date = 2026-01-01\n{states}"},
    )
    _sync(firm)
    by_id = {i["InvoiceID"]: i for i in records(sandbox, "Invoices")}
    seen = set()
    for bill_id, invoice_id in links(firm, "invoice").items():
        state = sandbox.clio.get("bill", int(bill_id))["state"]
        expected = {"draft": "DRAFT", "awaiting_approval": "SUBMITTED"}.get(state)
        if expected:
            assert by_id[invoice_id]["Status"] == expected
            seen.add(expected)
    assert seen == {"DRAFT", "SUBMITTED"}


def test_without_appended_ids_a_same_name_contact_is_an_error_with_the_three_ways_out(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = connect_firm(
        sandbox, tmp_path / "x", target="xero", **{r"^\[xero\]$": "[xero]\nappend_contact_id = false"}
    )
    dana = sandbox.clio.get("contact", int(next(iter(_billed_contacts(sandbox)))))
    # Someone else of the same name is already in Xero (another e-mail): not the same person.
    sandbox.xero.add_contact(TENANT, Name=dana["name"], EmailAddress="someone.else@example.org")
    _sync(firm)
    shown = firm.cli("errors", "--json")
    errors = [e for e in json.loads(shown.stdout) if e["source_id"] == str(dana["id"])]
    assert errors, shown.stdout
    text = errors[0]["message"] + errors[0]["remedy"]
    assert dana["name"] in text and "rename" in text and "append_contact_id = true" in text
    assert "move the invoices to the original contact" in text


def _billed_contacts(box: Sandbox) -> list[str]:
    return sorted(
        {str(b["client"]) for b in box.clio.records("bill") if b["state"] in ("awaiting_payment", "paid")},
        key=int,
    )


def test_the_daily_budget_stops_the_pass_cleanly_and_the_next_day_resumes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    sandbox.state.settings.xero_per_day = 12
    firm = connect_firm(sandbox, tmp_path / "x", target="xero")
    stopped = firm.cli("sync", "--once")
    assert stopped.returncode == 3, stopped.stdout + stopped.stderr
    assert "day" in stopped.stderr.lower()
    sandbox.state.settings.xero_per_day = 5000
    sandbox.state.clock.advance(24 * 3600)
    _sync(firm)
    invoices = live(sandbox, "Invoices")
    numbers = [i["InvoiceNumber"] for i in invoices]
    assert len(numbers) == len(set(numbers)) == len(links(firm, "invoice"))
    contacts = [c["ContactNumber"] for c in records(sandbox, "Contacts") if c.get("ContactNumber")]
    assert len(contacts) == len(set(contacts))


def test_doctor_checks_the_xero_chart_of_accounts(sandbox: Sandbox, tmp_path: Path) -> None:
    firm = connect_firm(sandbox, tmp_path / "x", target="xero")
    fine = firm.cli("doctor")
    assert "Xero" in fine.stdout and "mapped account code(s) exist in Xero" in fine.stdout, fine.stdout
    code = json.loads(firm.cli("doctor", "--json").stdout)
    assert {c["check"] for c in code["checks"]} >= {"xero.contact_ids", "xero.trust", "mapping.items"}
    sandbox.xero.archive_account(TENANT, demo_firm_code())
    broken = firm.cli("doctor")
    assert broken.returncode == 1 and f"account code “{demo_firm_code()}”" in broken.stdout
    refused = firm.cli("sync", "--once")
    assert refused.returncode == 3 and "account code" in refused.stderr
    assert live(sandbox, "Invoices") == []


def demo_firm_code() -> str:
    from ledgerlink.sandbox.xero_demo import XERO_DEMO_MAPPING

    return XERO_DEMO_MAPPING[demo_firm.TIME_ITEM]


def test_trust_accounts_naming_quickbooks_accounts_are_refused_for_xero(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = connect_firm(sandbox, tmp_path / "x", target="xero")
    text = firm.config_path.read_text() + '\nqbo_bank_account = "Client Trust Account"\n'
    firm.config_path.write_text(text)
    refused = firm.cli("sync", "--once")
    assert refused.returncode == 2 and "Xero cannot receive trust" in refused.stderr


def test_hard_costs_become_spend_money_in_the_full_pass(sandbox: Sandbox, tmp_path: Path) -> None:
    from ledgerlink.sandbox.xero_demo import XERO_DEMO_HARD_COST_BANK, XERO_DEMO_HARD_COST_EXPENSE
    from tests.conftest import sandbox_clio_client

    hard_costs = (
        "[xero.hard_costs]\nenabled = true\nstart_date = 2026-01-01\n"
        f'bank_account = "{XERO_DEMO_HARD_COST_BANK}"\n'
        f'expense_account = "{XERO_DEMO_HARD_COST_EXPENSE}"\n\n[sync]'
    )
    firm = connect_firm(sandbox, tmp_path / "x", target="xero", **{r"^\[sync\]$": hard_costs})
    vendor = int(sandbox.clio.add_contact(type="Company", name="Metro Courier")["id"])
    matter = int(sandbox.clio.records("matter")[0]["id"])
    body = {"type": "HardCostEntry", "date": "2026-03-05", "price": "84.50", "note": "Courier to court"}
    with sandbox_clio_client(sandbox) as clio:
        clio.create_activity({**body, "matter": {"id": matter}, "vendor": {"id": vendor}})
    done = _sync(firm)
    assert "Hard costs → Xero Spend Money" in done.stdout, done.stdout
    [spend] = [t for t in live(sandbox, "BankTransactions") if t["Type"] == "SPEND"]
    assert money(spend["Total"]) == Decimal("84.50") and spend["Contact"]["Name"] == "Metro Courier"
    assert spend["BankAccount"]["Code"] == XERO_DEMO_HARD_COST_BANK
    before = len(sandbox.state.writes_received())
    _sync(firm)
    assert sandbox.state.writes_received()[before:] == []


def test_an_e_mail_edited_in_xero_reaches_the_clio_contact_and_a_clio_edit_reaches_xero(xero: Firm) -> None:
    from ledgerlink.providers.xero.wire import XeroContact

    _sync(xero)
    clio_id, contact_id = sorted(links(xero, "contact").items())[0]
    xero.sandbox.state.clock.advance(5)
    with xero.workspace() as workspace, workspace.xero_client(TENANT) as client:
        [outcome] = client.post_contacts(
            [XeroContact(ContactID=contact_id, EmailAddress="new.address@example.org")], key="bookkeeper-edit"
        )
        assert outcome.ok
    _sync(xero)
    assert (
        xero.sandbox.clio.get("contact", int(clio_id))["primary_email_address"] == "new.address@example.org"
    )

    xero.sandbox.clio.update_contact(
        int(clio_id), email_addresses=[{"name": "Work", "address": "from.clio@example.org", "primary": True}]
    )
    _sync(xero)
    assert xero_get(xero, "Contacts", contact_id)["EmailAddress"] == "from.clio@example.org"


def test_without_appended_ids_a_contact_already_in_xero_with_the_same_e_mail_is_linked_not_doubled(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = connect_firm(
        sandbox, tmp_path / "x", target="xero", **{r"^\[xero\]$": "[xero]\nappend_contact_id = false"}
    )
    client = sandbox.clio.get("contact", int(_billed_contacts(sandbox)[0]))
    email = next(e["address"] for e in client["email_addresses"] if e.get("primary"))
    existing = sandbox.xero.add_contact(TENANT, Name=client["name"], EmailAddress=email)["ContactID"]
    _sync(firm)
    assert links(firm, "contact")[str(client["id"])] == existing
    same_name = [c for c in records(sandbox, "Contacts") if c["Name"] == client["name"]]
    assert len(same_name) == 1 and same_name[0]["ContactNumber"] == str(client["id"])
