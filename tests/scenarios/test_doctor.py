"""End to end: `ledgerlink doctor` against deliberately misconfigured sandbox companies.

Each test sets the sandbox up the way a firm gets it wrong (QuickBooks settings, invoice numbers,
mapping, tax codes and rates, names that clash, the store), runs doctor through Typer's runner and
as a real `ledgerlink` process, checks the ✗ lines and their remedies, puts things right and sees
the same checks pass. Doctor only reads: no request that could change something reaches either
service, and the store is neither created nor upgraded.
"""

from __future__ import annotations

import json
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ledgerlink.cli import app
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import VENDOR_CONFLICT_NAME
from tests.scenarios.conftest import Firm
from tests.scenarios.small_firm import (
    REALM,
    SERVICE_ITEM,
    SmallFirm,
    build_small_firm,
    build_trust_firm,
    small_config,
)

runner = CliRunner()

MISCONFIGURED = """payment_account = "Legal Fee Income"
[mapping.activity_categories]
"Research" = "Archived Fees"
"Drafting" = "Litigation"
[mapping.expense_categories]
"Courier" = "reimbursable expenses"
"""
FIXED = """payment_account = "Operating Checking"
[mapping.activity_categories]
"Research" = "Archived Fees"
"Drafting" = "Legal Services"
[mapping.expense_categories]
"Courier" = "Reimbursable Expenses"
"""


def doctor(firm: Firm) -> tuple[int, list[dict[str, Any]]]:
    """Doctor in-process through Typer's runner, as JSON."""
    result = runner.invoke(app, ["--config", str(firm.config_path), "doctor", "--json"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.stdout)["checks"]


def by_status(checks: list[dict[str, Any]], status: str) -> list[str]:
    return sorted(c["check"] for c in checks if c["status"] == status)


def titled(checks: list[dict[str, Any]], check: str) -> list[str]:
    return [c["title"] for c in checks if c["check"] == check]


def item_id(firm: SmallFirm, name: str) -> str:
    return next(str(i["Id"]) for i in firm.qbo("Item") if i["Name"] == name)


def qbo_invoice(firm: SmallFirm, number: str) -> None:
    """An invoice keyed into QuickBooks by hand (not by ledgerlink)."""
    qbo = firm.sandbox.qbo
    customer = qbo.add(REALM, "Customer", {"DisplayName": "Walk-in Client"})
    line = {"ItemRef": {"value": item_id(firm, SERVICE_ITEM)}, "Qty": 1, "UnitPrice": Decimal(100)}
    qbo.add(
        REALM,
        "Invoice",
        {
            "CustomerRef": {"value": customer["Id"]},
            "DocNumber": number,
            "Line": [
                {"Amount": Decimal(100), "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": line}
            ],
        },
    )


@pytest.fixture
def misconfigured(empty_sandbox: Sandbox, tmp_path: Path) -> SmallFirm:
    """A small firm whose QuickBooks company and config get every doctor check wrong at once."""
    firm = build_small_firm(empty_sandbox, tmp_path, extra=MISCONFIGURED)
    qbo, clio = empty_sandbox.qbo, empty_sandbox.clio
    income = next(a["Id"] for a in firm.qbo("Account") if a["Name"] == "Legal Fee Income")
    archived = qbo.add(
        REALM, "Item", {"Name": "Archived Fees", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    qbo.edit(REALM, "Item", archived["Id"], Active=False)
    qbo.add(REALM, "Item", {"Name": "Litigation", "Type": "Category"})
    qbo.add_account(REALM, "Operating Checking", "Bank", "Checking")
    ada = firm.client("Ada", "Byron")
    firm.bill(ada)  # Clio's bills are numbered from 5001
    qbo_invoice(firm, "7000")
    qbo.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", False)
    firm.client("Metro", "Reporters")
    qbo.add_vendor(REALM, "Metro Reporters")
    firm.client("Priya", "Raman")
    qbo.add(REALM, "Employee", {"GivenName": "Priya", "FamilyName": "Raman", "DisplayName": "Priya Raman"})
    firm.client("Sam", "Okafor", "sam@okafor.example")
    qbo.add(
        REALM,
        "Customer",
        {"DisplayName": "Sam Okafor", "PrimaryEmailAddr": {"Address": "sam@elsewhere.example"}},
    )
    firm.client("Dana", "Whitfield")
    dana = qbo.add(REALM, "Customer", {"DisplayName": "Dana Whitfield"})
    qbo.edit(REALM, "Customer", dana["Id"], Active=False)
    clio.add_contact(type="Person", first_name="Not", last_name="AClient", is_client=False)
    qbo.add_vendor(REALM, "Not AClient")  # clashes, but Clio never pushes a non-client
    return firm


def test_every_misconfiguration_is_a_failure_with_its_remedy_and_passes_once_put_right(
    misconfigured: SmallFirm,
) -> None:
    firm, qbo = misconfigured, misconfigured.sandbox.qbo
    writes = len(firm.sandbox.state.writes_received())

    code, checks = doctor(firm)

    assert code == 1
    assert by_status(checks, "fail") == [
        "contacts.email_differs",
        "contacts.name_held",
        "contacts.name_held",
        "mapping.items",
        "mapping.items",
        "mapping.items",
        "mapping.payment_account",
        "qbo.custom_numbers",
        "qbo.numbering",
    ]
    assert by_status(checks, "warn") == ["contacts.inactive_customer", "qbo.duplicate_bill_warning"]
    remedies = {c["check"]: c["remedy"] for c in checks}
    assert "Sales form content" in remedies["qbo.custom_numbers"]
    assert remedies["qbo.numbering"] == "set Clio's next bill number to 7001 in Clio Settings → Billing"
    assert "Bank or Other Current Asset" in remedies["mapping.payment_account"]
    research, drafting, courier = (
        'mapping.activity_categories."Research"',
        'mapping.activity_categories."Drafting"',
        'mapping.expense_categories."Courier"',
    )
    assert titled(checks, "mapping.items") == [
        f"Product/Service “Litigation” ({drafting}) is a Category item, which cannot be sold on an invoice "
        "line",
        f"Product/Service “Archived Fees” ({research}) is inactive in QuickBooks Online",
        f"Product/Service “reimbursable expenses” ({courier}) does not exist in QuickBooks Online (did you "
        "mean “Reimbursable Expenses”? names must match exactly)",
    ]
    held = " ".join(titled(checks, "contacts.name_held"))
    assert "“Metro Reporters”: the name is held by a QuickBooks Online vendor" in held
    assert "“Priya Raman”: the name is held by a QuickBooks Online employee" in held
    assert "AClient" not in json.dumps(checks)
    assert len(firm.sandbox.state.writes_received()) == writes  # doctor only read

    # Put every one right, as the remedies say.
    qbo.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", True)
    firm.bill(firm.client("Cy", "Young"), number="7001")  # Clio's next bill number set above QuickBooks'
    qbo.edit(REALM, "Item", item_id(firm, "Archived Fees"), Active=True)
    firm.config_path.write_text(small_config(firm.sandbox, firm.workdir, extra=FIXED), encoding="utf-8")
    for entity, name in (("Vendor", "Metro Reporters"), ("Employee", "Priya Raman")):
        record = next(r for r in firm.qbo(entity) if r["DisplayName"] == name)
        qbo.edit(REALM, entity, record["Id"], DisplayName=f"{name} ({entity.lower()})")
    sam = next(c for c in firm.qbo("Customer") if c["DisplayName"] == "Sam Okafor")
    qbo.edit(REALM, "Customer", sam["Id"], PrimaryEmailAddr={"Address": "sam@okafor.example"})

    shown = firm.cli("doctor")

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "✗" not in shown.stdout
    lines = shown.stdout.splitlines()
    assert [line for line in lines if not line.startswith(" ")][:-1] == [
        "Setup",
        "QuickBooks Online",
        "Mapping",
        "Contacts",
        "Store",
    ]
    assert "  ✓ Custom transaction numbers is on" in lines
    assert f"  ✓ tokens are kept in file {firm.workdir / 'tokens.json'} (0600)" in lines
    assert (
        "  ✓ bill numbers: Clio's next bill number (7002) is above every other QuickBooks Online invoice "
        "number (highest 7000)"
    ) in lines
    assert (
        "  ✓ mapping: 5 Product(s)/Service(s), the payment account “Operating Checking” exist, are active "
        "and of the right type"
    ) in lines
    assert any(
        line.startswith("  ! Clio client “Dana Whitfield”: QuickBooks Online has an inactive")
        for line in lines
    )
    assert lines[-1] == "Ready to sync; 2 note(s) worth reading."
    assert len(firm.sandbox.state.writes_received()) == writes


def test_a_set_up_firm_passes_after_syncing_and_ledgerlinks_own_invoices_never_collide(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_trust_firm(empty_sandbox, tmp_path)
    bills = [firm.bill(firm.client(first, last)) for first, last in (("Ada", "Byron"), ("Cy", "Young"))]
    assert not firm.sync().problems
    # Renumbered in Clio after the sync: QuickBooks' invoice 5002 is now above Clio's highest bill,
    # but ledgerlink made it (the next pass renumbers it), so it is no collision.
    empty_sandbox.clio.update_bill(bills[1]["id"], number="3000")
    with firm.workspace() as workspace:
        runs = workspace.store.runs()
    writes = len(empty_sandbox.state.writes_received())

    shown = firm.cli("doctor", "--json")

    assert shown.returncode == 0, shown.stdout + shown.stderr
    checks = json.loads(shown.stdout)["checks"]
    assert {c["status"] for c in checks} == {"ok", "warn"}
    assert by_status(checks, "ok") == [
        "config",
        "connection.clio",
        "connection.qbo",
        "contacts",
        "mapping",
        "qbo.custom_numbers",
        "qbo.numbering",
        "store.schema",
        "tokens",
        "trust.accounts",
    ]
    assert titled(checks, "qbo.numbering") == [
        "bill numbers: no QuickBooks Online invoice was numbered outside ledgerlink; Clio's highest bill "
        "number is 5001"
    ]
    assert titled(checks, "contacts") == [
        "contacts: no name clash for the 0 Clio client(s) not yet in QuickBooks Online"
    ]
    assert [c["section"] for c in checks] == sorted(
        (c["section"] for c in checks),
        key=["Setup", "QuickBooks Online", "Mapping", "Contacts", "Store"].index,
    )
    assert len(empty_sandbox.state.writes_received()) == writes
    with firm.workspace() as workspace:
        assert workspace.store.runs() == runs  # no run row, nothing written to the store


def test_tax_codes_and_rates_of_a_company_that_computes_tax(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    codes = '[mapping.tax_codes]\nprimary = "GST"\nsecondary = "PST"\nboth = "GST/PST"\nexempt = "Zero"\n'
    firm = build_small_firm(empty_sandbox, tmp_path, country="CA", extra=codes)
    qbo, clio = empty_sandbox.qbo, empty_sandbox.clio
    qbo.set_preference(REALM, "TaxPrefs", "UsingSalesTax", True)
    gst, pst, zero = (
        qbo.add_tax_rate(REALM, n, r) for n, r in (("GST", 5), ("PST (BC)", 7), ("Zero-rated", 0))
    )
    qbo.add_tax_code(REALM, "GST", [gst])
    qbo.add_tax_code(REALM, "PST", [pst])
    qbo.add_tax_code(REALM, "GST/PST", [gst, pst])
    qbo.add_tax_code(REALM, "Exempt", [zero])
    clio.set_billing_settings(
        tax_name="GST", tax_rate=Decimal(5), use_secondary_tax=True, secondary_tax_name="PST",
        secondary_tax_rate=Decimal(8), currency="CAD",
    )  # fmt: skip

    code, checks = doctor(firm)

    assert code == 1
    assert by_status(checks, "fail") == ["mapping.tax_codes", "mapping.tax_rates", "mapping.tax_rates"]
    assert titled(checks, "mapping.tax_codes") == [
        "tax code “Zero” ([mapping.tax_codes] exempt) is not a QuickBooks Online tax code (active codes: "
        "“GST”, “PST”, “GST/PST”, “Exempt”)"
    ]
    rates = " ".join(titled(checks, "mapping.tax_rates"))
    assert "“PST” ([mapping.tax_codes] secondary) charges 7%, but Clio charges 8%" in rates
    assert "“GST/PST” ([mapping.tax_codes] both) charges 12%, but Clio charges 13%" in rates

    clio.set_billing_settings(secondary_tax_rate=Decimal(7))
    firm.config_path.write_text(
        small_config(empty_sandbox, tmp_path, extra=codes.replace('"Zero"', '"Exempt"')), encoding="utf-8"
    )
    shown = firm.cli("doctor")

    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "  ✓ tax rates: the mapped tax codes charge Clio's rates (GST 5%, PST 7%)" in shown.stdout
    assert "4 tax code(s) exist" in shown.stdout


def test_the_store_is_read_as_it_is_never_created_nor_upgraded(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path)
    store_file = tmp_path / "ledgerlink.sqlite"

    def revision(value: str | None = None) -> str:
        with sqlite3.connect(store_file) as db:
            if value is not None:
                db.execute("UPDATE alembic_version SET version_num = ?", (value,))
            return str(db.execute("SELECT version_num FROM alembic_version").fetchone()[0])

    head = revision()
    revision("9999")  # a newer ledgerlink used this store
    code, checks = doctor(firm)
    assert code == 1
    [newer] = [c for c in checks if c["check"] == "store.schema"]
    assert newer["status"] == "fail" and "made by a newer ledgerlink" in newer["title"]
    assert revision() == "9999"

    revision("0001")  # an older one did: every other command upgrades it, doctor leaves it
    older = runner.invoke(app, ["--config", str(firm.config_path), "doctor"])
    assert older.exit_code == 0, older.output
    assert f"  ! store schema is at rev 0001, older than this ledgerlink's rev {head}" in older.stdout
    assert revision() == "0001"

    elsewhere = tmp_path / "other" / "ledgerlink.sqlite"
    config = firm.config_path.read_text(encoding="utf-8").replace(str(store_file), str(elsewhere))
    firm.config_path.write_text(config, encoding="utf-8")
    shown = firm.cli("doctor")
    assert shown.returncode == 1
    assert f"  ! no store yet at {elsewhere}" in shown.stdout
    assert (
        "  ✗ Clio: not connected" in shown.stdout and "  ✗ QuickBooks Online: not connected" in shown.stdout
    )
    assert not elsewhere.parent.exists()


def test_a_config_that_cannot_be_read_is_a_failed_check_and_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[mapping]\ntime_entrie = 'Legal Services'\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(config), "doctor"])
    assert result.exit_code == 2
    assert "  ✗ config: " in result.stdout and "mapping.time_entrie" in result.stdout
    assert "what to do: See examples/config.toml" in result.stdout


def test_a_revoked_quickbooks_consent_stops_the_remote_checks_with_the_remedy(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = build_small_firm(empty_sandbox, tmp_path)
    with firm.workspace() as workspace:
        tokens = workspace.tokens.load("qbo")
    assert tokens is not None
    for token in (tokens.access_token, tokens.refresh_token):
        empty_sandbox.state.tokens.revoke(token)

    code, checks = doctor(firm)

    assert code == 1
    [stopped] = [c for c in checks if c["status"] == "fail"]
    assert stopped["title"].startswith("QuickBooks Online settings: not checked:")
    assert "ledgerlink connect qbo" in stopped["remedy"]
    [rest] = titled(checks, "remote")
    assert rest == "not checked either: bill numbers, mapping, tax rates, trust accounts, contacts"


def test_the_demo_firm_fails_only_on_the_vendor_clash_it_provokes_on_purpose(firm: Firm) -> None:
    code, checks = doctor(firm)

    assert code == 1
    assert [(c["check"], c["title"]) for c in checks if c["status"] == "fail"] == [
        (
            "contacts.name_held",
            f"Clio client “{VENDOR_CONFLICT_NAME}”: the name is held by a QuickBooks Online vendor, so the "
            "customer cannot be created",
        )
    ]
    assert by_status(checks, "warn") == [
        "contacts.inactive_customer",
        "qbo.duplicate_bill_warning",
        "trust.bank_feed",
    ]
