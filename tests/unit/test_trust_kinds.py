"""How a Clio bank transaction becomes a trust movement: every rule of ``trust_kinds`` and its translation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.domain import TrustKind, TrustTransaction
from ledgerlink.errors import LedgerlinkError
from ledgerlink.providers.clio.translate import trust_account_from_clio, trust_transaction_from_clio
from ledgerlink.providers.clio.trust_kinds import classify, is_trust_request
from ledgerlink.providers.clio.wire import ClioBankAccount, ClioBankTransaction

IN, OUT = (Decimal("100.00"), Decimal(0)), (Decimal(0), Decimal("100.00"))


def _kind(
    funds: tuple[Decimal, Decimal],
    transaction_type: str | None = None,
    *,
    bill: str | None = None,  # None, "trust" or "revenue"
    allocation: bool = False,
) -> TrustKind | None:
    return classify(
        funds_in=funds[0],
        funds_out=funds[1],
        transaction_type=transaction_type,
        has_bill=bill is not None,
        bill_is_trust=bill == "trust",
        has_allocation=allocation,
    )


@pytest.mark.parametrize(
    ("funds", "transaction_type", "bill", "allocation", "kind"),
    [
        # Money in naming a trust request: a payment to it, whatever the type says.
        (IN, "Payment", "trust", True, TrustKind.REQUEST_PAYMENT),
        (IN, None, "trust", False, TrustKind.REQUEST_PAYMENT),
        (IN, "Transfer", "trust", False, TrustKind.REQUEST_PAYMENT),
        # Money out with an allocation or a revenue bill: a bill paid from trust.
        (OUT, "Payment", "revenue", True, TrustKind.BILL_PAYMENT),
        (OUT, None, None, True, TrustKind.BILL_PAYMENT),
        (OUT, "Withdrawal", "revenue", False, TrustKind.BILL_PAYMENT),
        (OUT, "Transfer", "revenue", False, TrustKind.BILL_PAYMENT),
        # Transfers by direction, any case.
        (IN, "Transfer", None, False, TrustKind.TRANSFER_IN),
        (OUT, "Transfer", None, False, TrustKind.TRANSFER_OUT),
        (IN, "matter_to_matter_TRANSFER", None, False, TrustKind.TRANSFER_IN),
        (OUT, "transfer", None, False, TrustKind.TRANSFER_OUT),
        # Everything else by direction.
        (IN, "Deposit", None, False, TrustKind.DEPOSIT),
        (OUT, "Withdrawal", None, False, TrustKind.DISBURSEMENT),
        (OUT, "Disbursement", None, False, TrustKind.DISBURSEMENT),
        # A revenue bill on money in, or a trust request on money out, is not a payment of either.
        (IN, "Refund", "revenue", False, TrustKind.DEPOSIT),
        (OUT, None, "trust", False, TrustKind.DISBURSEMENT),
    ],
)
def test_each_rule_gives_its_kind(
    funds: tuple[Decimal, Decimal],
    transaction_type: str | None,
    bill: str | None,
    allocation: bool,
    kind: TrustKind,
) -> None:
    assert _kind(funds, transaction_type, bill=bill, allocation=allocation) is kind


@pytest.mark.parametrize(
    "transaction_type", [None, "", "BankCharge", "trust_interest", "Something Clio adds later"]
)
def test_unknown_transaction_types_fall_back_to_the_direction(transaction_type: str | None) -> None:
    assert (_kind(IN, transaction_type), _kind(OUT, transaction_type)) == (
        TrustKind.DEPOSIT,
        TrustKind.DISBURSEMENT,
    )


@pytest.mark.parametrize(
    "funds", [(Decimal(0), Decimal(0)), (Decimal("25.00"), Decimal("25.00"))], ids=["nothing", "both equal"]
)
def test_a_transaction_that_moves_no_money_is_skipped(funds: tuple[Decimal, Decimal]) -> None:
    assert _kind(funds, "Deposit", bill="trust", allocation=True) is None


def test_direction_is_funds_in_less_funds_out() -> None:
    assert _kind((Decimal("30.00"), Decimal("10.00")), "Transfer") is TrustKind.TRANSFER_IN
    assert _kind((Decimal("10.00"), Decimal("30.00")), "Transfer") is TrustKind.TRANSFER_OUT


def test_a_trust_request_is_a_bill_of_kind_trust_kind() -> None:
    assert is_trust_request("trust_kind")
    assert not any(is_trust_request(kind) for kind in ("revenue_kind", "summary_kind", None, "TRUST_KIND"))


# --- translation of the wire record ---------------------------------------------------------------


def _wire(**fields: Any) -> ClioBankTransaction:
    values: dict[str, Any] = {
        "id": 47000001,
        "date": "2026-03-02",
        "transaction_type": "Deposit",
        "amount": 500.0,
        "funds_in": 500.0,
        "funds_out": 0.0,
        "bank_account_id": 31001,
        "client": {"id": 12000001, "name": "Dana Whitfield"},
        **fields,
    }
    return ClioBankTransaction.model_validate(values)


def test_a_deposit_is_translated_whole() -> None:
    wire = _wire(
        matter={"id": 8100001, "display_number": "00001-Whitfield"},
        description="Retainer",
        confirmation="WIRE 77",
        updated_at="2026-03-02T10:00:00-05:00",
    )

    assert trust_transaction_from_clio(wire) == TrustTransaction(
        source_id="47000001",
        account_id="31001",
        kind=TrustKind.DEPOSIT,
        date=date(2026, 3, 2),
        amount=Decimal("500.00"),
        client_id="12000001",
        client_name="Dana Whitfield",
        matter="00001-Whitfield",
        description="Retainer",
        reference="WIRE 77",
        updated_at=wire.updated_at,
    )


def test_a_bill_payment_names_its_bill_and_is_money_out() -> None:
    wire = _wire(
        transaction_type="Payment",
        amount=-120.5,
        funds_in=0.0,
        funds_out=120.5,
        bill={"id": 4400001, "number": "1001", "kind": "revenue_kind"},
        allocation={"id": 150000001},
    )

    transaction = trust_transaction_from_clio(wire)

    assert transaction is not None
    assert (transaction.kind, transaction.amount, transaction.signed, transaction.bill_id) == (
        TrustKind.BILL_PAYMENT,
        Decimal("120.50"),
        Decimal("-120.50"),
        "4400001",
    )


def test_without_funds_fields_the_signed_amount_gives_the_direction() -> None:
    transaction = trust_transaction_from_clio(_wire(amount=-75.0, funds_in=None, funds_out=None))

    assert transaction is not None and (transaction.kind, transaction.amount) == (
        TrustKind.DISBURSEMENT,
        Decimal("75.00"),
    )


def test_the_account_read_stands_in_when_the_record_names_none_and_none_at_all_is_an_error() -> None:
    transaction = trust_transaction_from_clio(_wire(bank_account_id=None), account_id="31002")
    assert transaction is not None and transaction.account_id == "31002"
    with pytest.raises(LedgerlinkError, match="47000001"):
        trust_transaction_from_clio(_wire(bank_account_id=None))


def test_a_firm_movement_has_no_client_and_a_zero_one_is_skipped() -> None:
    firm_own = trust_transaction_from_clio(_wire(client=None, transaction_type="trust_interest"))
    assert firm_own is not None and (firm_own.client_id, firm_own.client_name) == (None, None)
    assert trust_transaction_from_clio(_wire(amount=0.0, funds_in=0.0)) is None


def test_a_trust_account_keeps_its_name_balance_and_currency() -> None:
    account = ClioBankAccount.model_validate(
        {"id": 31001, "name": "IOLTA Trust Account", "type": "Trust", "balance": 45038.4, "currency": "USD"}
    )

    translated = trust_account_from_clio(account)

    assert (translated.source_id, translated.name, translated.balance, translated.currency) == (
        "31001",
        "IOLTA Trust Account",
        Decimal("45038.40"),
        "USD",
    )
