"""Which trust movement a Clio bank transaction is: the one place that reads Clio's undocumented values.

Clio documents neither ``BankTransaction.type`` nor ``transaction_type`` (reference §3.10, §6.11),
nor how a trust request shows as a bill beyond the ``trust_kind`` bill kind (§3.4). Everything
ledgerlink assumes about them is here, so a correction made against a real Clio account is made
once.

Assumptions:

- The direction of a movement is ``funds_in − funds_out``: positive is money into the client's
  trust funds, negative money out, zero (both zero, or both equal) not a movement (skipped).
- A trust request is a bill whose ``kind`` is ``trust_kind`` (the S1 enum value; the mapping of
  trust requests to it is UNVERIFIED). Payments applied to such bills are money into trust,
  never revenue payments.
- Money in that names a trust-request bill is a payment to that trust request.
- Money out that names an allocation, or a bill that is not a trust request, is a revenue bill
  paid from trust.
- ``transaction_type`` containing "transfer" (any case) is one leg of a matter-to-matter transfer;
  its direction says which leg.
- Any other ``transaction_type`` (including ones Clio adds later, or none) is a deposit or a
  disbursement by direction. ``BankTransaction.type`` is never read.
"""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.domain import TrustKind

TRUST_REQUEST_KIND = "trust_kind"


def is_trust_request(bill_kind: str | None) -> bool:
    """Whether a bill of this ``kind`` is a trust request (money asked for into trust)."""
    return bill_kind == TRUST_REQUEST_KIND


def classify(
    *,
    funds_in: Decimal,
    funds_out: Decimal,
    transaction_type: str | None,
    has_bill: bool,
    bill_is_trust: bool,
    has_allocation: bool,
) -> TrustKind | None:
    """The kind of trust movement a bank transaction is; ``None`` when it moves no money."""
    net = funds_in - funds_out
    if net == 0:
        return None
    money_in = net > 0
    if money_in and has_bill and bill_is_trust:
        return TrustKind.REQUEST_PAYMENT
    if not money_in and (has_allocation or (has_bill and not bill_is_trust)):
        return TrustKind.BILL_PAYMENT
    if "transfer" in (transaction_type or "").casefold():
        return TrustKind.TRANSFER_IN if money_in else TrustKind.TRANSFER_OUT
    return TrustKind.DEPOSIT if money_in else TrustKind.DISBURSEMENT
