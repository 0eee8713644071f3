"""The three-way trust check behind `ledgerlink report trust` (pure: figures in, findings out).

A trust account ties out three ways when the bank (book) balance, the trust liability and the sum
of the client ledgers agree (landscape §4.5). Clio keeps the client ledgers; the ledger keeps a
trust bank account, a trust liability account and, on the liability lines, a balance per customer.
:func:`three_way` compares, on one date:

1. Clio's own balance of the account with the sum of its client ledgers (only for today or later:
   Clio's balance field is today's);
2. the ledger's trust bank account with its trust liability account;
3. the ledger's trust liability account with the sum of its per-customer balances;
4. Clio's trust bank balance with the ledger's trust bank account;
5. each client's Clio balance with the ledger's balance for the customer linked to that client.

A ledger that cannot hold trust (Xero) gives ``books=None``: only check 1 is made.

Assumptions:

- Clio's trust bank balance on a date is the sum of its transactions dated on or before it.
- ``difference`` is the ledger's figure minus Clio's: positive when the ledger holds more.
- Clients whose balance is 0.00 on both sides are not listed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from ledgerlink.domain import TrustAccount, TrustTransaction
from ledgerlink.sync.ports import TrustBooks

ZERO = Decimal("0.00")
NO_CLIENT = "(no client)"
NOT_A_CLIENT = "(not a Clio client)"
CSV_HEADER = ["account", "as_of", "client_id", "client", "clio", "ledger", "difference"]


@dataclass(frozen=True)
class ClientBalance:
    """One client's trust balance on both sides; ``ledger`` is None when the ledger holds no trust."""

    client_id: str | None
    name: str
    clio: Decimal
    ledger: Decimal | None

    @property
    def difference(self) -> Decimal | None:
        return None if self.ledger is None else self.ledger - self.clio


@dataclass(frozen=True)
class TrustCheck:
    """The three-way check of one trust account on one date."""

    account: str
    as_of: date
    ledger_title: str | None
    clio_bank: Decimal  # Σ signed of Clio transactions dated ≤ as_of
    clio_account_balance: Decimal | None  # Clio's own balance field (only compared when as_of ≥ today)
    ledger_bank: Decimal | None
    ledger_liability: Decimal | None
    clients: tuple[ClientBalance, ...]
    problems: tuple[str, ...]  # every difference, in words

    @property
    def clean(self) -> bool:
        return not self.problems


def _money(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def _clio_side(transactions: Sequence[TrustTransaction], as_of: date) -> dict[str | None, Decimal]:
    balances: dict[str | None, Decimal] = {}
    for txn in transactions:
        if txn.date <= as_of:
            balances[txn.client_id] = balances.get(txn.client_id, ZERO) + txn.signed
    return balances


def three_way(
    account: TrustAccount,
    transactions: Sequence[TrustTransaction],
    books: TrustBooks | None,
    customer_clients: Mapping[str, str],
    client_names: Mapping[str, str],
    as_of: date,
    today: date,
    ledger_title: str | None,
) -> TrustCheck:
    """Compare Clio's trust figures with the ledger's on ``as_of``; every difference is a problem."""
    clio = _clio_side(transactions, as_of)
    clio_bank = sum(clio.values(), ZERO)
    own_balance = account.balance if as_of >= today else None
    problems: list[str] = []
    if own_balance is not None and own_balance != clio_bank:
        problems.append(
            f"Clio's own balance of “{account.name}” ({_money(own_balance)}) differs from the sum of its "
            f"client ledgers ({_money(clio_bank)}) by {_money(own_balance - clio_bank)}."
        )

    def name_of(client: str | None) -> str:
        return NO_CLIENT if client is None else client_names.get(client) or f"Clio contact {client}"

    if books is None:
        rows = [ClientBalance(c, name_of(c), amount, None) for c, amount in clio.items() if amount != 0]
        return TrustCheck(
            account.name,
            as_of,
            ledger_title,
            clio_bank,
            own_balance,
            None,
            None,
            _sorted(rows),
            tuple(problems),
        )
    title = ledger_title or "the ledger"
    ledger, strangers = _ledger_side(books, customer_clients)
    problems += _book_problems(books, clio_bank, title)
    rows = [
        ClientBalance(c, name_of(c), clio.get(c, ZERO), ledger.get(c, ZERO))
        for c in dict.fromkeys([*clio, *ledger])
        if clio.get(c, ZERO) != 0 or ledger.get(c, ZERO) != 0
    ]
    rows += [
        ClientBalance(None, f"{title} customer {customer} {NOT_A_CLIENT}", ZERO, amount)
        for customer, amount in strangers.items()
    ]
    ordered = _sorted(rows)
    problems += [_client_problem(row, title) for row in ordered if row.difference]
    bank, liability = books.bank_balance, books.liability_balance
    return TrustCheck(
        account.name, as_of, ledger_title, clio_bank, own_balance, bank, liability, ordered, tuple(problems)
    )


def _ledger_side(
    books: TrustBooks, customer_clients: Mapping[str, str]
) -> tuple[dict[str | None, Decimal], dict[str, Decimal]]:
    """The ledger's liability per Clio client (None: lines without a customer), and per unknown customer."""
    ledger: dict[str | None, Decimal] = {}
    strangers: dict[str, Decimal] = {}
    for customer, amount in books.by_customer.items():
        if not customer or customer in customer_clients:
            client = customer_clients[customer] if customer else None
            ledger[client] = ledger.get(client, ZERO) + amount
        elif amount != 0:
            strangers[customer] = strangers.get(customer, ZERO) + amount
    return ledger, strangers


def _book_problems(books: TrustBooks, clio_bank: Decimal, title: str) -> list[str]:
    """Checks 2–4: the ledger's bank, liability and per-customer sums, and the bank against Clio's."""
    bank, liability = books.bank_balance, books.liability_balance
    per_customer = sum(books.by_customer.values(), ZERO)
    problems = []
    if bank != liability:
        problems.append(
            f"{title}'s trust bank account ({_money(bank)}) and trust liability account "
            f"({_money(liability)}) differ by {_money(bank - liability)}."
        )
    if liability != per_customer:
        problems.append(
            f"{title}'s trust liability account ({_money(liability)}) differs from the sum of its "
            f"balances per customer ({_money(per_customer)}) by {_money(liability - per_customer)}."
        )
    if clio_bank != bank:
        problems.append(
            f"Clio's trust bank balance ({_money(clio_bank)}) and {title}'s trust bank account "
            f"({_money(bank)}) differ by {_money(bank - clio_bank)}."
        )
    return problems


def _client_problem(row: ClientBalance, title: str) -> str:
    held = _money(row.ledger or ZERO)
    if row.name.endswith(NOT_A_CLIENT):
        return (
            f"{row.name} holds {held} in {title}'s trust liability account, but is linked to no Clio client."
        )
    return (
        f"{row.name}: Clio {_money(row.clio)}, {title} {held} (difference {_money(row.difference or ZERO)})."
    )


def _sorted(rows: Sequence[ClientBalance]) -> tuple[ClientBalance, ...]:
    return tuple(sorted(rows, key=lambda r: (r.name.casefold(), r.client_id or "")))


def _amount(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


def as_json(checks: Sequence[TrustCheck]) -> dict[str, Any]:
    """The checks as JSON-ready data (amounts as strings, exact to the cent)."""
    return {
        "clean": all(c.clean for c in checks),
        "accounts": [
            {
                "account": c.account,
                "as_of": c.as_of.isoformat(),
                "ledger": c.ledger_title,
                "clean": c.clean,
                "clio_bank": _amount(c.clio_bank),
                "clio_account_balance": _amount(c.clio_account_balance),
                "ledger_bank": _amount(c.ledger_bank),
                "ledger_liability": _amount(c.ledger_liability),
                "clients": [
                    {
                        "client_id": row.client_id,
                        "name": row.name,
                        "clio": _amount(row.clio),
                        "ledger": _amount(row.ledger),
                        "difference": _amount(row.difference),
                    }
                    for row in c.clients
                ],
                "problems": list(c.problems),
            }
            for c in checks
        ],
    }


def csv_rows(checks: Sequence[TrustCheck]) -> list[list[str]]:
    """One line per client per account, after a header line; empty cells where the ledger has none."""
    rows = [list(CSV_HEADER)]
    for check in checks:
        for row in check.clients:
            rows.append(
                [
                    check.account,
                    check.as_of.isoformat(),
                    row.client_id or "",
                    row.name,
                    format(row.clio, "f"),
                    _amount(row.ledger) or "",
                    _amount(row.difference) or "",
                ]
            )
    return rows
