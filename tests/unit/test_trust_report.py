"""Three-way trust check: Clio's bank and client ledgers against the ledger's bank, liability, customers."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from ledgerlink.domain import TrustAccount, TrustKind, TrustTransaction
from ledgerlink.reports.trust import ClientBalance, TrustCheck, as_json, csv_rows, three_way
from ledgerlink.sync.ports import TrustBooks

TODAY = date(2026, 4, 1)
NAMES = {"1": "Dana Whitfield", "2": "Omar Haddad"}
CUSTOMERS = {"C1": "1", "C2": "2"}  # ledger customer -> Clio contact
QBO = "QuickBooks Online"


def txn(
    source_id: str, kind: TrustKind, amount: str, client: str | None, on: date = date(2026, 3, 10)
) -> TrustTransaction:
    return TrustTransaction(source_id, "7", kind, on, Decimal(amount), client)


LEDGER = [
    txn("1", TrustKind.DEPOSIT, "500.00", "1"),
    txn("2", TrustKind.DISBURSEMENT, "120.00", "1"),
    txn("3", TrustKind.DEPOSIT, "300.00", "2"),
    txn("4", TrustKind.DEPOSIT, "4.50", None),  # bank interest
]


def account(balance: str = "684.50") -> TrustAccount:
    return TrustAccount("7", "IOLTA Trust Account", Decimal(balance))


def books(bank: str = "684.50", liability: str | None = None, **by_customer: str) -> TrustBooks:
    customers = by_customer or {"C1": "380.00", "C2": "300.00", "": "4.50"}
    return TrustBooks(
        Decimal(bank),
        Decimal(liability if liability is not None else bank),
        {k: Decimal(v) for k, v in customers.items()},
    )


def check(
    ledger_books: TrustBooks | None = None,
    *,
    transactions: list[TrustTransaction] = LEDGER,
    clio: TrustAccount | None = None,
    as_of: date = TODAY,
    title: str | None = QBO,
) -> TrustCheck:
    return three_way(
        clio or account(),
        transactions,
        ledger_books,
        CUSTOMERS if ledger_books else {},
        NAMES,
        as_of,
        TODAY,
        title if ledger_books else None,
    )


def test_books_that_agree_tie_out_three_ways_client_by_client() -> None:
    result = check(books())
    assert result == TrustCheck(
        account="IOLTA Trust Account",
        as_of=TODAY,
        ledger_title=QBO,
        clio_bank=Decimal("684.50"),
        clio_account_balance=Decimal("684.50"),
        ledger_bank=Decimal("684.50"),
        ledger_liability=Decimal("684.50"),
        clients=(
            ClientBalance(None, "(no client)", Decimal("4.50"), Decimal("4.50")),
            ClientBalance("1", "Dana Whitfield", Decimal("380.00"), Decimal("380.00")),
            ClientBalance("2", "Omar Haddad", Decimal("300.00"), Decimal("300.00")),
        ),
        problems=(),
    )
    assert result.clean
    assert result.clients[1].difference == Decimal("0.00")


def test_clios_own_balance_is_compared_with_its_client_ledgers_only_from_today_on() -> None:
    off = check(books(), clio=account("700.00"))
    assert off.problems == (
        "Clio's own balance of “IOLTA Trust Account” (700.00) differs from the sum of its client ledgers "
        "(684.50) by 15.50.",
    )
    earlier = check(books(), clio=account("700.00"), as_of=date(2026, 3, 31))
    assert earlier.clio_account_balance is None and earlier.clean


def test_ledger_bank_and_liability_that_differ_are_a_problem() -> None:
    result = check(books("684.50", "680.00", C1="380.00", C2="300.00"))
    assert (
        "QuickBooks Online's trust bank account (684.50) and trust liability account (680.00) differ by 4.50."
        in result.problems
    )
    assert not result.clean


def test_liability_that_differs_from_its_customers_is_a_problem() -> None:
    result = check(books("684.50", "684.50", C1="380.00", C2="300.00"))
    assert (
        "QuickBooks Online's trust liability account (684.50) differs from the sum of its balances per "
        "customer (680.00) by 4.50." in result.problems
    )


def test_clio_bank_that_differs_from_the_ledger_bank_is_a_problem() -> None:
    result = check(books("1684.50", "1684.50", C1="1380.00", C2="300.00", **{"": "4.50"}))
    assert (
        "Clio's trust bank balance (684.50) and QuickBooks Online's trust bank account (1,684.50) "
        "differ by 1,000.00." in result.problems
    )


def test_each_client_that_differs_is_named_with_both_balances() -> None:
    result = check(books("684.50", "684.50", C1="330.00", C2="350.00", **{"": "4.50"}))
    assert result.problems == (
        "Dana Whitfield: Clio 380.00, QuickBooks Online 330.00 (difference -50.00).",
        "Omar Haddad: Clio 300.00, QuickBooks Online 350.00 (difference 50.00).",
    )
    dana = next(c for c in result.clients if c.client_id == "1")
    assert dana.difference == Decimal("-50.00")


def test_ledger_customer_that_is_no_clio_client_is_listed_as_a_difference() -> None:
    result = check(books("784.50", "784.50", C1="380.00", C2="300.00", C9="100.00", **{"": "4.50"}))
    stranger = next(c for c in result.clients if c.client_id is None and c.ledger == Decimal("100.00"))
    assert stranger.name == "QuickBooks Online customer C9 (not a Clio client)"
    assert stranger.clio == Decimal("0.00")
    assert any("C9 (not a Clio client) holds 100.00" in p for p in result.problems)


def test_clients_at_zero_on_both_sides_are_not_listed() -> None:
    settled = [
        *LEDGER,
        txn("5", TrustKind.DEPOSIT, "10.00", "3"),
        txn("6", TrustKind.TRANSFER_OUT, "10.00", "3"),
    ]
    result = check(books(), transactions=settled)
    assert [c.client_id for c in result.clients] == [None, "1", "2"]


def test_as_of_counts_only_transactions_dated_on_or_before_it() -> None:
    later = [*LEDGER, txn("5", TrustKind.DEPOSIT, "1000.00", "1", on=date(2026, 3, 20))]
    result = check(books(), transactions=later, as_of=date(2026, 3, 15))
    assert result.clio_bank == Decimal("684.50") and result.clean


def test_a_ledger_without_trust_gives_clios_side_alone() -> None:
    result = check(None)
    assert result.ledger_bank is None and result.ledger_liability is None and result.ledger_title is None
    assert all(c.ledger is None and c.difference is None for c in result.clients)
    assert result.clean
    assert not check(None, clio=account("1.00")).clean


def test_json_and_csv_carry_exact_amounts() -> None:
    result = check(books("684.50", "684.50", C1="330.00", C2="350.00", **{"": "4.50"}))
    data = as_json([result])
    assert data["clean"] is False
    [entry] = data["accounts"]
    assert entry["clio_bank"] == "684.50" and entry["ledger"] == QBO and len(entry["problems"]) == 2
    assert entry["clients"][1] == {
        "client_id": "1",
        "name": "Dana Whitfield",
        "clio": "380.00",
        "ledger": "330.00",
        "difference": "-50.00",
    }
    rows = csv_rows([result, check(None)])
    assert rows[0] == ["account", "as_of", "client_id", "client", "clio", "ledger", "difference"]
    assert rows[2] == [
        "IOLTA Trust Account",
        "2026-04-01",
        "1",
        "Dana Whitfield",
        "380.00",
        "330.00",
        "-50.00",
    ]
    assert rows[-1] == ["IOLTA Trust Account", "2026-04-01", "2", "Omar Haddad", "300.00", "", ""]
