"""A small firm built per test in an empty sandbox: a few clients, bills and the QBO company they sync to.

The demo firm is large (166 bills); scenario tests about one behaviour build just what they need
here, so each test reads like its story and runs in a second or two.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from ledgerlink.config import load_config
from ledgerlink.demo import demo_config, scripted_browser
from ledgerlink.sandbox import Sandbox
from ledgerlink.workspace import Workspace
from tests.scenarios.conftest import Firm

REALM = "9341453050101234"
SERVICE_ITEM = "Legal Services"
EXPENSE_ITEM = "Reimbursable Expenses"
TAX_ITEM = "Sales Tax"
CREDIT_ITEM = "Discounts & Credits"
ISSUED = date(2026, 3, 2)


@dataclass
class SmallFirm(Firm):
    """A Firm (config, CLI, workspace) plus builders for Clio records and readers for QBO's."""

    realm: str = REALM
    matters: dict[int, int] = field(default_factory=dict)  # contact id -> matter id
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(5001))

    # -- Clio side -----------------------------------------------------------------------------

    def client(self, first: str, last: str, email: str | None = None) -> int:
        clio = self.sandbox.clio
        emails = [{"name": "Work", "address": email, "primary": True}] if email else []
        contact = clio.add_contact(
            type="Person", first_name=first, last_name=last, is_client=True, email_addresses=emails
        )
        matter = clio.add_matter(
            client=contact["id"],
            number=len(self.matters) + 1,
            display_number=f"{len(self.matters) + 1:05d}-{last}",
            description="General advice",
            open_date=date(2026, 1, 5),
        )
        self.matters[contact["id"]] = matter["id"]
        return int(contact["id"])

    def bill(
        self,
        client: int,
        hours: Sequence[str] = ("2.0",),
        *,
        rate: str = "250.00",
        expenses: Sequence[str] = (),
        taxable: bool = False,
        secondary_taxable: bool = False,
        tax_rate: str = "0",
        secondary_tax_rate: str = "0",
        state: str = "awaiting_payment",
        issued_at: date = ISSUED,
        number: str | None = None,
    ) -> dict[str, Any]:
        """An approved bill of time (hours × rate) and expenses for a client; the bill as Clio has it."""
        clio = self.sandbox.clio
        bill = clio.add_bill(
            client=client,
            matters=[self.matters[client]],
            number=number or str(next(self._numbers)),
            state=state,
            issued_at=issued_at,
            due_at=issued_at + timedelta(days=30),
            created_at=datetime.combine(issued_at, time(10, 0), UTC),
            tax_rate=Decimal(tax_rate),
            secondary_tax_rate=Decimal(secondary_tax_rate),
        )
        for quantity in hours:
            clio.add_line_item(
                bill=bill["id"],
                kind="Service",
                description="Advice and drafting",
                date=issued_at,
                quantity=Decimal(quantity),
                price=Decimal(rate),
                taxable=taxable,
                secondary_taxable=secondary_taxable,
            )
        for amount in expenses:
            clio.add_line_item(
                bill=bill["id"],
                kind="Expense",
                description="Courier",
                date=issued_at,
                quantity=Decimal(1),
                price=Decimal(amount),
                taxable=taxable,
                secondary_taxable=secondary_taxable,
            )
        return dict(clio.get("bill", bill["id"]))

    def clio_bill(self, bill_id: int) -> dict[str, Any]:
        return dict(self.sandbox.clio.get("bill", bill_id))

    # -- QBO side ------------------------------------------------------------------------------

    def qbo(self, entity: str) -> list[dict[str, Any]]:
        return self.sandbox.qbo.records(self.realm, entity)

    def invoice(self, number: str) -> dict[str, Any]:
        found = [i for i in self.qbo("Invoice") if i.get("DocNumber") == number]
        assert len(found) == 1, f"{len(found)} QBO invoices numbered {number}"
        return found[0]

    def sync(self) -> Any:
        with self.workspace() as workspace:
            return workspace.sync_once()


def build_small_firm(sandbox: Sandbox, workdir: Path, *, country: str = "US", extra: str = "") -> SmallFirm:
    """An empty sandbox made into a small firm: Clio account and settings, a QBO company, connected."""
    clio = sandbox.clio
    clio.set_account(1_001, "Whitfield & Ames LLP")
    clio.add_user(
        name="Avery Ames", first_name="Avery", last_name="Ames", account_owner=True, rate=Decimal(250)
    )
    clio.set_billing_settings(
        tax_name="Sales Tax", tax_rate=Decimal(0), use_secondary_tax=False, currency="USD"
    )

    qbo = sandbox.qbo
    qbo.add_company(REALM, "Whitfield & Ames LLP", country=country)
    qbo.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", True)
    income = qbo.add(
        REALM,
        "Account",
        {"Name": "Legal Fee Income", "AccountType": "Income", "AccountSubType": "ServiceFeeIncome"},
    )
    for name in (SERVICE_ITEM, EXPENSE_ITEM, TAX_ITEM, CREDIT_ITEM):
        qbo.add(REALM, "Item", {"Name": name, "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}})

    config_path = workdir / "config.toml"
    config_path.write_text(small_config(sandbox, workdir, extra=extra), encoding="utf-8")
    with Workspace(load_config(config_path)) as workspace:
        workspace.connect("clio", open_url=scripted_browser)
        workspace.connect("qbo", open_url=scripted_browser)
    return SmallFirm(sandbox, config_path, workdir)


def small_config(sandbox: Sandbox, workdir: Path, *, extra: str = "") -> str:
    """The demo's config with this firm's mapping (every kind of charge mapped) and fast pacing."""
    base = demo_config(sandbox, workdir, qbo_requests_per_second=1000)
    head, _, _mapping = base.partition("[mapping]")
    return (
        head
        + f"""[mapping]
time_entries = "{SERVICE_ITEM}"
expense_entries = "{EXPENSE_ITEM}"
tax = "{TAX_ITEM}"
interest = "{SERVICE_ITEM}"
credit_notes = "{CREDIT_ITEM}"
{extra}"""
    )


def today() -> date:
    return datetime.now(UTC).date()


# -- trust ---------------------------------------------------------------------------------------

TRUST_BANK = "Client Trust Account"
TRUST_LIABILITY = "Client Trust Liability"
CLIO_TRUST = "IOLTA Trust Account"
COURT_VENDOR = "Superior Court Clerk"
TRUST_START = date(2026, 1, 1)


def trust_config(*, bank: str = TRUST_BANK, start: date = TRUST_START, extra: str = "") -> str:
    """A [[trust.accounts]] block for the small firm (appended after its [mapping])."""
    return f"""
[[trust.accounts]]
clio_account = "{CLIO_TRUST}"
qbo_bank_account = "{bank}"
qbo_liability_account = "{TRUST_LIABILITY}"
start_date = {start.isoformat()}
{extra}"""


def build_trust_firm(
    sandbox: Sandbox, workdir: Path, *, bank_detail: str = "TrustAccounts", trust: str | None = None
) -> SmallFirm:
    """The small firm with a Clio trust account and the QBO trust bank, liability and a court vendor."""
    sandbox.clio.add_bank_account(type="Trust", name=CLIO_TRUST)
    firm = build_small_firm(sandbox, workdir, extra=trust if trust is not None else trust_config())
    qbo = sandbox.qbo
    qbo.add(REALM, "Account", {"Name": TRUST_BANK, "AccountType": "Bank", "AccountSubType": bank_detail})
    qbo.add(
        REALM,
        "Account",
        {
            "Name": TRUST_LIABILITY,
            "AccountType": "Other Current Liability",
            "AccountSubType": "TrustAccountsLiabilities",
        },
    )
    qbo.add(REALM, "Vendor", {"DisplayName": COURT_VENDOR})
    return firm
