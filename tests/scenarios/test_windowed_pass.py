"""A first sync read in windows: Clio reads and ledger writes overlap, payments go out as their bills land,
and the books come out the same as from one big read."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledgerlink.domain import money
from ledgerlink.providers.clio import bills as clio_bills
from ledgerlink.sandbox import demo_firm
from tests.scenarios.conftest import Firm
from tests.scenarios.test_demo_firm_sync import in_scope_bills, qbo

REALM = demo_firm.QBO_REALM_ID


def test_small_windows_overlap_reads_and_writes_and_pay_bills_as_they_land(
    firm: Firm, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clio_bills, "ACTIVITIES_AT_ONCE", 100)  # the demo firm's ~700 lines: 6+ windows
    log = firm.sandbox.state.request_log
    log.clear()
    with firm.workspace() as workspace:
        first = workspace.sync_once()
        second = workspace.sync_once()

    paths = [path for _method, path in log]
    batches = sum(1 for p in paths if p.endswith("/batch"))
    # Windows send whole batches of 30: at most one partial batch per phase (contacts, invoices, credit
    # notes, their applications, payments, trust), not one per window.
    assert batches <= -(-first.tally.writes // 30) + 5, (batches, first.tally.writes)
    first_write = next(n for n, p in enumerate(paths) if p.endswith("/batch"))
    last_line_read = max(n for n, p in enumerate(paths) if p.endswith("/line_items.json"))
    assert first_write < last_line_read  # the ledger was written while Clio was still read

    kinds = [a.kind for a in first.actions]
    last_invoice = max(n for n, kind in enumerate(kinds) if kind == "invoice")
    assert kinds.index("payment") < last_invoice  # payments of early windows went out before the last bill

    invoices = {i["DocNumber"]: i for i in qbo(firm, "Invoice")}
    for bill in in_scope_bills(firm):
        if bill["number"] in invoices:
            assert money(invoices[bill["number"]]["TotalAmt"]) == money(bill["total"]), bill["number"]
            assert money(invoices[bill["number"]]["Balance"]) == money(bill["balance"]), bill["number"]
    paid = sum((money(p["TotalAmt"]) for p in qbo(firm, "Payment")), Decimal(0))
    assert paid > 0
    assert second.tally.writes == 0
