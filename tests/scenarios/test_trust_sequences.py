"""Hypothesis against the real sandbox: random sequences of trust operations in Clio, passes in between.

After every pass, each client's trust liability in QuickBooks (summed from QBO's raw records)
equals the client's trust balance in Clio, and a pass right after writes nothing. The pure property
test (tests/properties/test_trust_properties.py) explores many more histories against an in-memory
ledger; this one proves the same of the real parts, HTTP and store included.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.clio import TrustOverdraft
from ledgerlink.sandbox.state import SandboxState
from tests.conftest import fast_settings
from tests.scenarios.small_firm import COURT_VENDOR, SmallFirm, build_trust_firm
from tests.scenarios.test_trust_sync import clio_balances, ledger_liabilities

CLIENTS = (("Dana", "Whitfield"), ("Omar", "Haddad"), ("Mei", "Tanaka"))


@dataclass(frozen=True)
class Op:
    verb: str  # deposit | disburse | cheque | vendor_cheque | transfer | request | edit | delete | sync
    client: int
    other: int
    cents: int


amounts = st.integers(min_value=1, max_value=500_00)
ops = st.builds(
    Op,
    verb=st.sampled_from(
        (
            "deposit",
            "deposit",
            "disburse",
            "cheque",
            "vendor_cheque",
            "transfer",
            "request",
            "edit",
            "delete",
            "sync",
        )
    ),
    client=st.integers(0, len(CLIENTS) - 1),
    other=st.integers(0, len(CLIENTS) - 1),
    cents=amounts,
)


def _apply(firm: SmallFirm, clients: list[int], made: list[int], op: Op) -> None:
    """Do one operation in Clio as a bookkeeper would; Clio refusing an overdraft is part of the game."""
    clio = firm.sandbox.clio
    who, amount = clients[op.client], Decimal(op.cents) / 100
    try:
        if op.verb == "deposit":
            made.append(int(clio.trust_deposit(who, amount)["id"]))
        elif op.verb == "disburse":
            made.append(int(clio.trust_disbursement(who, amount)["id"]))
        elif op.verb == "cheque":
            made.append(
                int(clio.trust_disbursement(who, amount, reference="QBO CHECK", description="Refund")["id"])
            )
        elif op.verb == "vendor_cheque":
            cheque = clio.trust_disbursement(
                who, amount, reference="QBO CHECK", description=f"Pay to: {COURT_VENDOR}"
            )
            made.append(int(cheque["id"]))
        elif op.verb == "transfer" and op.other != op.client:
            clio.trust_transfer(who, clients[op.other], amount)
        elif op.verb == "request":
            # A request payment is changed through its payment, not edited as a bank transaction.
            clio.pay_trust_request(clio.add_trust_request(who, amount)["id"])
        elif op.verb == "edit" and made:
            clio.edit_bank_transaction(made[op.cents % len(made)], amount=amount)
        elif op.verb == "delete" and made:
            clio.delete_bank_transaction(made.pop(op.cents % len(made)))
    except TrustOverdraft:
        pass


def _customer_ids(firm: SmallFirm) -> dict[str, str]:
    return {str(c["DisplayName"]): str(c["Id"]) for c in firm.qbo("Customer")}


# No shrinking: each example is a whole firm over HTTP; a failure prints its sequence as it is.
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(st.lists(ops, min_size=3, max_size=14))
def test_after_every_pass_quickbooks_holds_each_clients_clio_trust_balance(sequence: list[Op]) -> None:
    with (
        Sandbox(SandboxState(settings=fast_settings()), seed="empty") as box,
        tempfile.TemporaryDirectory() as tmp,
    ):
        firm = build_trust_firm(box, Path(tmp))
        clients = [firm.client(first, last) for first, last in CLIENTS]
        made: list[int] = []
        for op in [*sequence, Op("sync", 0, 0, 0)]:
            if op.verb != "sync":
                _apply(firm, clients, made, op)
                continue
            result = firm.sync()
            assert result.problems == [], [(a.label, e.message) for a, e in result.problems]
            ids = _customer_ids(firm)
            names = {cid: f"{first} {last}" for cid, (first, last) in zip(clients, CLIENTS, strict=True)}
            expected = {ids[names[c]]: v for c, v in clio_balances(firm).items()}
            assert ledger_liabilities(firm) == expected
            assert firm.sync().tally.writes == 0
