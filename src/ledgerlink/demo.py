"""`ledgerlink demo`: the whole product against the built-in sandbox, in one command.

Starts the sandbox with the seeded demo firm, writes a config for it, connects to both emulated
services through the real OAuth code flow (a scripted "browser" approves the consent), runs one
pass, shows what happened and what failed on purpose, then runs a second pass that writes nothing.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Literal

import httpx

from ledgerlink.config import load_config
from ledgerlink.domain import money
from ledgerlink.providers.xero.connections import XeroTenant
from ledgerlink.sandbox import Sandbox, xero_demo
from ledgerlink.sandbox import demo_firm as firm
from ledgerlink.sync.engine import PassResult, ProgressFn
from ledgerlink.workspace import Workspace

DEMO_DIR = Path(".ledgerlink-demo")
Target = Literal["qbo", "xero"]
XERO_APP_ID = "sandbox-xero-app"


def _toml(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _xero_app(box: Sandbox) -> tuple[str, str]:
    """The sandbox's confidential Xero app (granular scopes)."""
    return XERO_APP_ID, box.state.xero_apps[XERO_APP_ID].client_secret or ""


def demo_config(
    box: Sandbox, workdir: Path, *, qbo_requests_per_second: float = 8.0, target: Target = "qbo"
) -> str:
    """A complete config for the sandbox: every key a real firm sets, pointed at 127.0.0.1."""
    urls = box.urls
    clio_id, clio_secret = next(iter(box.state.clio_apps.items()))
    qbo_id, qbo_secret = next(iter(box.state.qbo_apps.items()))
    xero_id, xero_secret = _xero_app(box)
    return f"""\
# Written by `ledgerlink demo` for the built-in sandbox on {urls.base}.
target = "{target}"

[store]
url = {_toml(f"sqlite:///{(workdir / 'ledgerlink.sqlite').resolve()}")}

[secrets]
backend = "file"
file = {_toml(str((workdir / "tokens.json").resolve()))}

[clio]
base_url = {_toml(f"{urls.base}/clio")}
client_id = {_toml(clio_id)}
client_secret = {_toml(clio_secret)}
redirect_uri = "http://127.0.0.1:0/callback"

[qbo]
api_url = {_toml(urls.qbo_api)}
authorize_url = {_toml(f"{urls.qbo_oauth}/authorize")}
token_url = {_toml(f"{urls.qbo_oauth}/v1/tokens/bearer")}
revoke_url = {_toml(f"{urls.qbo_oauth}/v1/tokens/revoke")}
client_id = {_toml(qbo_id)}
client_secret = {_toml(qbo_secret)}
redirect_uri = "http://127.0.0.1:0/callback"
requests_per_second = {qbo_requests_per_second}

[xero]
api_url = {_toml(urls.xero_api)}
authorize_url = {_toml(f"{urls.xero_identity}/connect/authorize")}
token_url = {_toml(f"{urls.xero_identity}/connect/token")}
revoke_url = {_toml(f"{urls.xero_identity}/connect/revocation")}
client_id = {_toml(xero_id)}
client_secret = {_toml(xero_secret)}
redirect_uri = "http://localhost:0/callback"

[sync]
start_date = 2026-01-01

{_xero_books() if target == "xero" else _qbo_books()}"""


def _qbo_books() -> str:
    """[mapping] and [[trust.accounts]] for the demo company in QuickBooks Online."""
    activity = "\n".join(f"{_toml(k)} = {_toml(v)}" for k, v in firm.ACTIVITY_ITEM_MAP.items())
    expense = "\n".join(f"{_toml(k)} = {_toml(v)}" for k, v in firm.EXPENSE_ITEM_MAP.items())
    return f"""\
[mapping]
time_entries = {_toml(firm.TIME_ITEM)}
tax = {_toml(firm.TAX_ITEM)}
interest = {_toml(firm.INTEREST_ITEM)}
credit_notes = {_toml(firm.CREDIT_ITEM)}
# No default for expenses: each category is mapped, but "{firm.UNMAPPED_EXPENSE_CATEGORY}"
# is left out on purpose (the demo shows what an unmapped category looks like).

[mapping.activity_categories]
{activity}

[mapping.expense_categories]
{expense}

# Trust sync: Clio's trust account → the QuickBooks trust bank and trust liability accounts.
# If a bank feed brings trust withdrawals into QuickBooks, turn off include_disbursements and
# include_trust_payments, or each will be in the books twice (seed 000).
[[trust.accounts]]
clio_account = {_toml(firm.CLIO_TRUST_ACCOUNT)}
qbo_bank_account = {_toml(firm.QBO_TRUST_BANK)}
qbo_liability_account = {_toml(firm.QBO_TRUST_LIABILITY)}
start_date = {firm.TRUST_START_DATE}
include_disbursements = true
include_trust_payments = true
"""


def _xero_books() -> str:
    """[mapping] for the demo organisation in Xero: the same charges, mapped to account codes."""
    codes = xero_demo.XERO_DEMO_MAPPING
    activity = "\n".join(f"{_toml(k)} = {_toml(codes[v])}" for k, v in firm.ACTIVITY_ITEM_MAP.items())
    expense = "\n".join(f"{_toml(k)} = {_toml(codes[v])}" for k, v in firm.EXPENSE_ITEM_MAP.items())
    return f"""\
[mapping]
# Xero account codes (Accounting → Chart of accounts), not names.
time_entries = {_toml(codes[firm.TIME_ITEM])}
tax = {_toml(codes[firm.TAX_ITEM])}
interest = {_toml(codes[firm.INTEREST_ITEM])}
credit_notes = {_toml(codes[firm.CREDIT_ITEM])}
# The bank account Clio payments go into; empty would be Clio's "None" (payments not synced).
payment_account = {_toml(xero_demo.XERO_DEMO_PAYMENT_ACCOUNT)}

[mapping.activity_categories]
{activity}

[mapping.expense_categories]
{expense}

# Xero cannot receive trust transactions: the trust account is named only for `ledgerlink report trust`.
[[trust.accounts]]
clio_account = {_toml(firm.CLIO_TRUST_ACCOUNT)}
"""


def scripted_browser(url: str) -> None:
    """Play the person at the browser: open the consent page, follow its redirect to ledgerlink."""
    with httpx.Client(follow_redirects=False, timeout=30) as browser:
        consent = browser.get(url)
        location = consent.headers.get("location")
        if consent.status_code not in (302, 303, 307) or not location:
            raise RuntimeError(f"the sandbox consent page answered {consent.status_code}, not a redirect")
        browser.get(location)


def prepare_workdir(workdir: Path) -> Path:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    (workdir / ".gitignore").write_text("*\n")
    return workdir


def run_demo(
    workdir: Path,
    *,
    say: Callable[[str], None],
    progress: Callable[[str], ProgressFn],
    show: Callable[[PassResult, str], None],
    target: Target = "qbo",
) -> tuple[PassResult, PassResult]:
    """Run the demo; return the two passes. ``say``/``progress``/``show`` render (the CLI's)."""
    workdir = prepare_workdir(workdir)
    title = LEDGER_TITLES[target]
    with Sandbox(seed="demo") as box:
        config_path = workdir / "config.toml"
        config_path.write_text(demo_config(box, workdir, target=target), encoding="utf-8")
        say(f"Sandbox running on {box.urls.base}: Clio and {title} emulators with a demo firm.")
        say(f"Config written to {config_path}")
        with Workspace(load_config(config_path)) as workspace:
            clio = workspace.connect("clio", open_url=scripted_browser)
            say(f"Connected to Clio: {clio.name} (OAuth code flow, tokens in {clio.token_store})")
            if target == "xero":
                books = workspace.connect(
                    "xero",
                    open_url=scripted_browser,
                    confirm=lambda q: True,
                    choose_tenant=_demo_organisation,
                )
                say(f"Connected to Xero: {books.name} (tenant {books.external_id})")
            else:
                books = workspace.connect("qbo", open_url=scripted_browser)
                say(f"Connected to QuickBooks Online: {books.name} (realm {books.external_id})")
            first = workspace.sync_once(on_progress=progress("First pass"))
            show(first, books.name)
            say("Running `ledgerlink sync --once` again against the same state…")
            second = workspace.sync_once(on_progress=progress("Second pass"))
            show(second, books.name)
            owed = ledger_balances(box, target, books.external_id)
            say(tie_out(box, workspace, owed, title))
            for line in trust_tie_out(workspace):
                say(line)
    return first, second


LEDGER_TITLES: dict[Target, str] = {"qbo": "QuickBooks Online", "xero": "Xero"}


def _demo_organisation(tenants: Sequence[XeroTenant]) -> XeroTenant:
    """The demo's Xero consent covers two organisations; the demo syncs into the firm's own."""
    return next(t for t in tenants if t.tenant_id == firm.XERO_ORG_TENANT_ID)


def ledger_balances(box: Sandbox, target: Target, company_id: str) -> dict[str, Decimal]:
    """What each invoice still owes in the sandbox's books, by ledger id."""
    if target == "xero":
        return {str(i["InvoiceID"]): money(i["AmountDue"]) for i in box.xero.records(company_id, "Invoices")}
    return {str(i["Id"]): money(i["Balance"]) for i in box.qbo.records(company_id, "Invoice")}


def trust_tie_out(workspace: Workspace) -> list[str]:
    """The three-way trust check of `ledgerlink report trust`, one line per trust account."""
    today = datetime.now(UTC).date()
    lines = []
    for check in workspace.trust_checks(today, today=today):
        if check.clean and check.ledger_bank is None:
            lines.append(
                f"Trust is not synced into Xero (a limitation of Xero); Clio's own trust records agree: "
                f"{check.account} holds {check.clio_bank:,}, the sum of its {len(check.clients)} clients' "
                "balances."
            )
        elif check.clean:
            lines.append(
                f"Trust ties out three ways: {check.account} holds {check.clio_bank:,} in Clio, "
                f"{check.ledger_bank:,} in the QuickBooks trust bank account and {check.ledger_liability:,} "
                f"in its liability account, and each of its {len(check.clients)} clients' balances agree."
            )
        else:
            lines.append(f"Trust does not tie out for {check.account}: " + "; ".join(check.problems))
    lines.append("  (`ledgerlink report trust` prints this check client by client, against live services.)")
    return lines


def tie_out(box: Sandbox, workspace: Workspace, owed: Mapping[str, Decimal], title: str) -> str:
    """The accountant's check: every synced bill's balance in Clio against its invoice's in the books."""
    conn = workspace.connection(workspace.target)
    links = workspace.store.links(conn.id, "invoice")
    clio_total = ledger_total = Decimal(0)
    unequal = 0
    for bill_id, link in links.items():
        clio_balance = money(box.clio.get("bill", int(bill_id))["balance"])
        ledger_balance = owed[link.target_id]
        clio_total, ledger_total = clio_total + clio_balance, ledger_total + ledger_balance
        unequal += clio_balance != ledger_balance
    verdict = "tie out" if unequal == 0 else f"differ on {unequal} invoice(s)"
    return (
        f"Receivables {verdict}: {len(links)} synced bills owe {clio_total:,} in Clio and "
        f"{ledger_total:,} in {title}, after payments and credit notes."
    )
