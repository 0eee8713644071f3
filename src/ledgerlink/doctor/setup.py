"""Setup checks: the config, both connections (and consent about to run out), the trust accounts.

Seed 000 ("Setting up the Trust Sync") asks for a trust bank account (Bank, detail type Trust
Account) and a trust liability (Other Current Liabilities, Trust Accounts - Liabilities) per
Clio trust account, and warns that a bank feed on that account brings disbursements in twice.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from ledgerlink.auth.lifetime import lifetime
from ledgerlink.auth.tokens import provider_name
from ledgerlink.config import Config, TrustAccountConfig
from ledgerlink.doctor.model import MAPPING, SETUP, Check, fail, ok, warn
from ledgerlink.domain import TrustAccount
from ledgerlink.errors import LedgerlinkError
from ledgerlink.sync.ports import LedgerAccount
from ledgerlink.sync.trust_setup import account_faults
from ledgerlink.workspace import Workspace

DAY = 86_400.0
NEAR_EXPIRY_DAYS = 14

# Seed 000, "Setting up the Trust Sync": its note next to the two toggles.
BANK_FEED_WARNING = (
    "if a bank feed brings this trust account's transactions into QuickBooks Online, exclude "
    "disbursements and bill payments from trust (include_disbursements / include_trust_payments = "
    "false), or they will be in the books twice"
)


def config_check(config: Config) -> Check:
    return ok("config", SETUP, f"config is valid ({config.source or 'defaults'})")


def config_failure(error: LedgerlinkError) -> Check:
    return fail("config", SETUP, f"config: {error}", error.remedy)


def connection_check(workspace: Workspace, provider: Literal["clio", "qbo", "xero"], *, now: float) -> Check:
    """Connected (with tokens), and how soon the consent runs out."""
    name = provider_name(provider)
    key = f"connection.{provider}"
    try:
        conn = workspace.connection(provider)
        tokens = workspace.tokens.load(provider)
    except LedgerlinkError as exc:
        return fail(key, SETUP, f"{name}: not connected ({exc})", f"run `ledgerlink connect {provider}`")
    if tokens is None:  # connection() refuses a connection without tokens; a token store may change under us
        return fail(key, SETUP, f"{name}: no tokens", f"run `ledgerlink connect {provider}`")
    life = lifetime(provider, tokens, now=now)
    title = f"{name}: connected to {conn.name}"
    if life.reconsent_by is not None and life.reconsent_by - now < NEAR_EXPIRY_DAYS * DAY:
        days = max(0, int((life.reconsent_by - now) / DAY))
        return warn(
            key,
            SETUP,
            f"{title}; consent runs out in {days} day(s) ({life.rule})",
            f"run `ledgerlink connect {provider}` again before then",
        )
    return ok(key, SETUP, title)


def tokens_check(workspace: Workspace) -> Check:
    """Where the tokens live: a cron job must be able to read them (keyring or the 0600 file)."""
    return ok("tokens", SETUP, f"tokens are kept in {workspace.tokens.description}")


def trust_checks(
    entries: Sequence[TrustAccountConfig],
    clio_accounts: Sequence[TrustAccount],
    ledger_accounts: Mapping[str, LedgerAccount],
    *,
    ledger_title: str,
) -> list[Check]:
    """Each configured trust account pair: found on both sides and of the trust types; the bank-feed note."""
    faults = account_faults(entries, clio_accounts, ledger_accounts, ledger_title=ledger_title)
    checks: list[Check] = []
    for index, entry in enumerate(entries):
        pair = f"trust: {entry.clio_account} → {entry.qbo_bank_account} / {entry.qbo_liability_account}"
        mine = [f for f in faults if f.key.startswith(f"trust.accounts[{index}].")]
        checks += [
            fail(
                "trust.accounts",
                MAPPING,
                f"{pair}: {f.problem}",
                f"fix the account in {ledger_title} or {f.key} in the config",
            )
            for f in mine
        ]
        if not mine:
            checks.append(ok("trust.accounts", MAPPING, f"{pair} (trust account types)"))
        if entry.include_disbursements or entry.include_trust_payments:
            checks.append(
                warn("trust.bank_feed", MAPPING, f"trust: {entry.clio_account}: {BANK_FEED_WARNING}")
            )
    return checks
