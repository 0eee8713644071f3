"""Trust accounts are checked before a pass writes anything: missing or non-trust accounts are named."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.config import TrustAccountConfig
from ledgerlink.domain import TrustAccount
from ledgerlink.sync.ports import LedgerAccount
from ledgerlink.sync.trust_setup import account_faults

ENTRY = TrustAccountConfig(
    clio_account="IOLTA Trust Account",
    qbo_bank_account="Client Trust Account",
    qbo_liability_account="Client Trust Liability",
)
CLIO = [TrustAccount("7", "IOLTA Trust Account", Decimal("0.00"))]
BANK = LedgerAccount("35", "Client Trust Account", "Bank", "TrustAccounts")
LIABILITY = LedgerAccount(
    "36", "Client Trust Liability", "Other Current Liability", "TrustAccountsLiabilities"
)


def faults(clio: list[TrustAccount], *accounts: LedgerAccount) -> list[str]:
    found = account_faults([ENTRY], clio, {a.name: a for a in accounts}, ledger_title="QuickBooks Online")
    return [f"{f.key}: {f.problem}" for f in found]


def test_trust_accounts_of_the_trust_types_pass() -> None:
    assert faults(CLIO, BANK, LIABILITY) == []


def test_a_bank_account_that_is_not_a_trust_account_is_refused_by_name() -> None:
    checking = LedgerAccount("35", "Client Trust Account", "Bank", "Checking")
    (fault,) = faults(CLIO, checking, LIABILITY)
    assert fault.startswith("trust.accounts[0].qbo_bank_account")
    assert "“Client Trust Account” is a Bank account of detail type Checking" in fault


def test_a_liability_of_the_wrong_type_and_a_missing_clio_account_are_both_named() -> None:
    equity = LedgerAccount("36", "Client Trust Liability", "Equity", "OpeningBalanceEquity")
    found = faults([TrustAccount("8", "Operating", Decimal("0"))], BANK, equity)
    assert len(found) == 2
    assert "Clio has no open trust account named “IOLTA Trust Account”" in found[0]
    assert "“Operating”" in found[0]
    assert "Trust Accounts - Liabilities" in found[1]


def test_missing_and_inactive_ledger_accounts_are_faults() -> None:
    inactive = LedgerAccount(
        "36", "Client Trust Liability", "Other Current Liability", "TrustAccountsLiabilities", False
    )
    found = faults(CLIO, inactive)
    assert any("has no account named “Client Trust Account”" in f for f in found)
    assert any("is inactive" in f for f in found)
