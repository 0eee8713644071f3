"""The configured trust accounts, resolved and checked before a pass writes anything.

Each ``[[trust.accounts]]`` entry names a Clio trust account and a QBO trust bank / trust
liability pair. Before the first write of a pass (contacts included) every named account must
exist on its side, and the ledger accounts must be of the trust types seed 000 asks for: trust
money is never posted to a non-trust account (DESIGN invariant 6). Any fault here is systemic
(exit 3): it is wrong for every trust record, and nothing has been written.

A start date left empty in the config means "the day trust sync began" (seed 000's default is the
current date when the setting is saved): the first pass remembers its date in the store.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from ledgerlink.config import Config, TrustAccountConfig
from ledgerlink.domain import TrustAccount
from ledgerlink.errors import MappingMissingError
from ledgerlink.sync.flows.trust import TrustSetup
from ledgerlink.sync.ports import Ledger, LedgerAccount, Source, fold

# What seed 000 requires of the two QBO accounts (API spellings, reference qbo.md §2.5).
TRUST_BANK = ("Bank", "TrustAccounts", "Bank, detail type Trust Account")
TRUST_LIABILITY = (
    "Other Current Liability",
    "TrustAccountsLiabilities",
    "Other Current Liabilities, detail type Trust Accounts - Liabilities",
)


@dataclass(frozen=True)
class AccountFault:
    """One configured account that is missing or not a trust account, in words."""

    key: str  # config key, e.g. trust.accounts[0].qbo_bank_account
    problem: str


def start_key(account_id: str) -> str:
    """The store stream under which the day trust sync began for a Clio account is kept."""
    return f"trust-start:{account_id}"


def clio_account_named(accounts: Sequence[TrustAccount], name: str) -> TrustAccount | None:
    """The Clio trust account a config entry names (case- and space-insensitive)."""
    return next((a for a in accounts if fold(a.name) == fold(name)), None)


def account_faults(
    configured: Sequence[TrustAccountConfig],
    clio_accounts: Sequence[TrustAccount],
    ledger_accounts: Mapping[str, LedgerAccount],
    *,
    ledger_title: str,
) -> list[AccountFault]:
    """Every configured account that is missing or of the wrong type (pure)."""
    faults: list[AccountFault] = []
    for index, entry in enumerate(configured):
        prefix = f"trust.accounts[{index}]"
        if clio_account_named(clio_accounts, entry.clio_account) is None:
            known = ", ".join(f"“{a.name}”" for a in clio_accounts) or "none"
            faults.append(
                AccountFault(
                    f"{prefix}.clio_account",
                    f"Clio has no open trust account named “{entry.clio_account}” (Clio's trust accounts: "
                    f"{known}).",
                )
            )
        for key, name, (kind, detail, words) in (
            ("qbo_bank_account", entry.qbo_bank_account, TRUST_BANK),
            ("qbo_liability_account", entry.qbo_liability_account, TRUST_LIABILITY),
        ):
            found = ledger_accounts.get(name)
            if found is None:
                faults.append(
                    AccountFault(f"{prefix}.{key}", f"{ledger_title} has no account named “{name}”.")
                )
            elif found.type != kind or found.detail_type != detail:
                faults.append(
                    AccountFault(
                        f"{prefix}.{key}",
                        f"“{name}” is a {found.type} account of detail type {found.detail_type or 'none'}; "
                        f"trust money is only posted to a {words} account.",
                    )
                )
            elif not found.active:
                faults.append(AccountFault(f"{prefix}.{key}", f"“{name}” is inactive in {ledger_title}."))
    return faults


def resolve(
    config: Config,
    source: Source,
    ledger: Ledger,
    *,
    start_date: Callable[[TrustAccount], date],
) -> list[TrustSetup]:
    """The configured accounts as flow setups; raises MappingMissingError naming every fault."""
    configured = config.trust.accounts
    if not configured:
        return []
    clio_accounts = source.trust_accounts()
    names = {n for e in configured for n in (e.qbo_bank_account, e.qbo_liability_account)}
    faults = account_faults(configured, clio_accounts, ledger.accounts(names), ledger_title=ledger.title)
    if faults:
        where = config.source or "the config"
        raise MappingMissingError(
            "Trust sync is not set up right, so no trust transaction was posted and nothing else was "
            "written: " + " ".join(f"{f.key}: {f.problem}" for f in faults),
            remedy=f"Fix the accounts in {ledger.title} (Accounting → Chart of accounts: a trust bank "
            "account is a Bank account with detail type Trust Account, its liability an Other Current "
            "Liabilities account with detail type Trust Accounts - Liabilities) or the names in "
            f"{where}, then run again.",
        )
    setups = []
    for entry in configured:
        account = clio_account_named(clio_accounts, entry.clio_account)
        assert account is not None  # account_faults found none missing
        setups.append(
            TrustSetup(
                account=account,
                bank_account=entry.qbo_bank_account,
                liability_account=entry.qbo_liability_account,
                start_date=entry.start_date or start_date(account),
                include_disbursements=entry.include_disbursements,
                include_trust_payments=entry.include_trust_payments,
                opening_balances=entry.opening_balances,
                cheque_marker=config.trust.cheque_marker,
            )
        )
    return setups
