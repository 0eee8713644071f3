"""`ledgerlink doctor`: the checks a bookkeeper runs before trusting a sync, one line each.

Each check is ✓ (fine), ✗ (a sync would fail or post wrongly; with the remedy) or ! (works, but
worth knowing). This first set covers the connections and trust sync; the operator-tools issue
adds the rest (QBO preferences, mappings, tax rates, store schema).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ledgerlink.auth.lifetime import lifetime
from ledgerlink.auth.tokens import provider_name
from ledgerlink.config import TrustAccountConfig
from ledgerlink.errors import LedgerlinkError
from ledgerlink.sync.trust_setup import account_faults
from ledgerlink.workspace import Workspace

Status = Literal["ok", "fail", "warn"]
DAY = 86_400.0
NEAR_EXPIRY_DAYS = 14

# Seed 000, "Setting up the Trust Sync": its note next to the two toggles.
BANK_FEED_WARNING = (
    "if a bank feed brings this trust account's transactions into QuickBooks Online, exclude "
    "disbursements and bill payments from trust (include_disbursements / include_trust_payments = "
    "false), or they will be in the books twice"
)


@dataclass(frozen=True)
class Check:
    status: Status
    title: str
    remedy: str = ""


def run_checks(workspace: Workspace) -> list[Check]:
    checks = [Check("ok", f"config is valid ({workspace.config.source or 'defaults'})")]
    connected = {p: _connection(workspace, p, checks) for p in ("clio", "qbo")}
    entries = workspace.config.trust.accounts
    if not entries:
        return checks
    if not all(connected.values()):
        checks.append(Check("fail", "trust accounts not checked", "connect Clio and QuickBooks Online first"))
        return checks
    checks += _trust_checks(workspace, entries)
    return checks


def _connection(workspace: Workspace, provider: Literal["clio", "qbo"], checks: list[Check]) -> bool:
    name = provider_name(provider)
    try:
        conn = workspace.connection(provider)
        tokens = workspace.tokens.load(provider)
    except LedgerlinkError as exc:
        checks.append(Check("fail", f"{name}: not connected ({exc})", f"run `ledgerlink connect {provider}`"))
        return False
    assert tokens is not None  # connection() refuses a connection without tokens
    life = lifetime(provider, tokens, now=time.time())
    title = f"{name}: connected to {conn.name}"
    if life.reconsent_by is not None and life.reconsent_by - time.time() < NEAR_EXPIRY_DAYS * DAY:
        days = max(0, int((life.reconsent_by - time.time()) / DAY))
        checks.append(
            Check(
                "warn",
                f"{title}; consent runs out in {days} day(s) ({life.rule})",
                f"run `ledgerlink connect {provider}` again before then",
            )
        )
    else:
        checks.append(Check("ok", title))
    return True


def _trust_checks(workspace: Workspace, entries: Sequence[TrustAccountConfig]) -> list[Check]:
    with workspace.both_sides() as (source, ledger, _conn):
        clio_accounts = source.trust_accounts()
        names = {n for e in entries for n in (e.qbo_bank_account, e.qbo_liability_account)}
        faults = account_faults(entries, clio_accounts, ledger.accounts(names), ledger_title=ledger.title)
    checks: list[Check] = []
    for index, entry in enumerate(entries):
        pair = f"trust: {entry.clio_account} → {entry.qbo_bank_account} / {entry.qbo_liability_account}"
        mine = [f for f in faults if f.key.startswith(f"trust.accounts[{index}].")]
        checks += [
            Check(
                "fail", f"{pair}: {f.problem}", f"fix the account in {ledger.title} or {f.key} in the config"
            )
            for f in mine
        ]
        if not mine:
            checks.append(Check("ok", f"{pair} (trust account types)"))
        if entry.include_disbursements or entry.include_trust_payments:
            checks.append(Check("warn", f"trust: {entry.clio_account}: {BANK_FEED_WARNING}"))
    return checks
