"""Clio trust accounting over real HTTP: the emulator's bank accounts and transactions, read by ClioSource.

Each kind of trust movement is made through the emulator's Python API (as a bookkeeper would in
Clio) and read back through :class:`ClioSource` as a TrustTransaction of the right kind, size,
client, matter and bill. The emulator is held to Clio's shapes: ``fields=`` selection, cursor
paging, filters, 404 after deletion and the 422 refusal of an overdraft.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.domain import TrustAccount, TrustKind, TrustTransaction
from ledgerlink.providers.clio import ClioClient
from ledgerlink.providers.clio.source import ClioSource
from ledgerlink.sandbox import Sandbox, SandboxState
from ledgerlink.sandbox.clio import TrustOverdraft
from ledgerlink.sandbox.demo_firm import CLIO_TRUST_ACCOUNT, TRUST_CHEQUE_VENDOR, TRUST_START_DATE
from tests.conftest import PathRecorder, fast_settings, sandbox_clio_client

APP = "sandbox-clio-app"
DAY = date(2026, 3, 2)


class Firm:
    """Two clients with a matter each, a revenue bill of 500.00 for Dana, and the firm's trust account."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.clio = clio = box.clio
        clio.add_user(first_name="Avery", last_name="Ames", account_owner=True)
        clio.set_billing_settings(tax_name="Sales Tax")
        self.account = clio.add_bank_account(type="Trust", name="IOLTA Trust Account", default_account=True)
        clio.add_bank_account(type="Operating", name="Operating Account", default_account=True)
        self.dana = clio.add_contact(type="Person", first_name="Dana", last_name="Whitfield", is_client=True)[
            "id"
        ]
        self.omar = clio.add_contact(type="Person", first_name="Omar", last_name="Haddad", is_client=True)[
            "id"
        ]
        self.dana_matter = clio.add_matter(client=self.dana, display_number="00001-Whitfield")["id"]
        self.omar_matter = clio.add_matter(client=self.omar, display_number="00002-Haddad")["id"]
        bill = clio.add_bill(
            client=self.dana,
            matters=[self.dana_matter],
            number="1001",
            state="awaiting_payment",
            issued_at=DAY,
        )
        clio.add_line_item(bill=bill["id"], kind="Service", description="Advice", quantity=2, price=250)
        self.bill = bill["id"]

    def source(self, recorder: httpx.BaseTransport | None = None) -> tuple[ClioClient, ClioSource]:
        client = sandbox_clio_client(self.box, recorder)
        return client, ClioSource(client)

    def ledger(self) -> list[TrustTransaction]:
        client, source = self.source()
        with client:
            return source.trust_transactions(str(self.account["id"]))

    def api(self) -> httpx.Client:
        token = self.box.state.tokens.issue("clio", APP, None).access_token
        return httpx.Client(base_url=self.box.urls.clio_api, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def firm(empty_sandbox: Sandbox) -> Firm:
    return Firm(empty_sandbox)


def _expected(firm: Firm, record: dict[str, Any], kind: TrustKind, **fields: Any) -> TrustTransaction:
    return TrustTransaction(
        source_id=str(record["id"]),
        account_id=str(firm.account["id"]),
        kind=kind,
        date=record["date"],
        amount=abs(record["amount"]),
        client_id=str(record["client"]),
        **fields,
    )


def _without_moments(transactions: list[TrustTransaction]) -> list[TrustTransaction]:
    return [dataclasses.replace(t, updated_at=None) for t in transactions]


# --- each kind, read back ----------------------------------------------------------------------


def test_every_kind_of_trust_movement_is_read_back_with_its_client_matter_and_bill(firm: Firm) -> None:
    clio = firm.clio
    deposit = clio.trust_deposit(
        firm.dana, "5000.00", date=date(2026, 3, 3), matter_id=firm.dana_matter, description="Retainer",
        reference="WIRE 77",
    )  # fmt: skip
    cheque = clio.trust_disbursement(
        firm.dana, "150.00", date=date(2026, 3, 4), matter_id=firm.dana_matter,
        description=f"Pay to: {TRUST_CHEQUE_VENDOR}\nFiling fee", reference="QBO CHECK 1001",
    )  # fmt: skip
    paying, receiving = clio.trust_transfer(
        firm.dana, firm.omar, "300.00", from_matter_id=firm.dana_matter, to_matter_id=firm.omar_matter,
        date=date(2026, 3, 5), description="Joint costs",
    )  # fmt: skip
    request = clio.add_trust_request(firm.omar, "800.00", issued_at=date(2026, 3, 5))
    request_paid = clio.pay_trust_request(request["id"], date=date(2026, 3, 6))
    allocation = clio.record_payment(firm.bill, paid_at=datetime(2026, 3, 7, 15, tzinfo=UTC), from_trust=True)
    [bill_paid] = [r for r in clio.records("bank_transaction") if r["allocation"] == allocation["id"]]

    ledger = firm.ledger()

    dana, omar = {"client_name": "Dana Whitfield"}, {"client_name": "Omar Haddad"}
    assert all(t.updated_at is not None for t in ledger)
    assert _without_moments(ledger) == [
        _expected(
            firm,
            deposit,
            TrustKind.DEPOSIT,
            **dana,
            matter="00001-Whitfield",
            description="Retainer",
            reference="WIRE 77",
        ),
        _expected(
            firm,
            cheque,
            TrustKind.DISBURSEMENT,
            **dana,
            matter="00001-Whitfield",
            description=f"Pay to: {TRUST_CHEQUE_VENDOR}\nFiling fee",
            reference="QBO CHECK 1001",
        ),
        _expected(
            firm, paying, TrustKind.TRANSFER_OUT, **dana, matter="00001-Whitfield", description="Joint costs"
        ),
        _expected(
            firm, receiving, TrustKind.TRANSFER_IN, **omar, matter="00002-Haddad", description="Joint costs"
        ),
        _expected(firm, request_paid, TrustKind.REQUEST_PAYMENT, **omar, bill_id=str(request["id"])),
        _expected(
            firm, bill_paid, TrustKind.BILL_PAYMENT, **dana, matter="00001-Whitfield", bill_id=str(firm.bill)
        ),
    ]
    assert [t.signed for t in ledger] == [
        Decimal("5000.00"), Decimal("-150.00"), Decimal("-300.00"), Decimal("300.00"), Decimal("800.00"),
        Decimal("-500.00"),
    ]  # fmt: skip
    assert clio.get("bill", firm.bill)["state"] == clio.get("bill", request["id"])["state"] == "paid"


def test_the_trust_account_is_read_with_its_balance_and_other_accounts_are_not(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.dana, "1000.00", date=DAY)
    firm.clio.trust_disbursement(firm.dana, "250.50", date=DAY)
    closed = firm.clio.add_bank_account(type="Trust", name="Old Trust Account", status="closed")
    firm.clio.trust_deposit(firm.omar, "10.00", date=DAY, account_id=closed["id"])

    client, source = firm.source()
    with client:
        accounts = source.trust_accounts()

    assert accounts == [
        TrustAccount(
            source_id=str(firm.account["id"]),
            name="IOLTA Trust Account",
            balance=Decimal("749.50"),
            currency="USD",
        )
    ]


def test_the_running_balance_follows_the_ledger_order_not_the_order_of_entry(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.dana, "100.00", date=date(2026, 3, 10))
    earlier = firm.clio.trust_deposit(firm.dana, "40.00", date=date(2026, 3, 1))

    with firm.api() as api:
        rows = api.get(
            "/bank_transactions.json",
            params={"fields": "id,amount,funds_in,funds_out,current_account_balance,bank_account_id"},
        ).json()["data"]

    assert [(r["amount"], r["current_account_balance"]) for r in rows] == [(100.0, 140.0), (40.0, 40.0)]
    assert rows[1] == {
        "id": earlier["id"], "amount": 40.0, "funds_in": 40.0, "funds_out": 0.0,
        "current_account_balance": 40.0, "bank_account_id": firm.account["id"],
    }  # fmt: skip


# --- edits, deletions, payments kept in step ----------------------------------------------------


def test_an_edited_transaction_is_read_with_its_new_amount_and_a_later_update(firm: Firm) -> None:
    deposit = firm.clio.trust_deposit(firm.dana, "500.00", date=DAY, reference="CHK 1")
    [before] = firm.ledger()
    firm.box.state.clock.advance(5)

    firm.clio.edit_bank_transaction(
        deposit["id"], amount="450.00", description="Corrected", reference="CHK 2"
    )
    [after] = firm.ledger()

    assert (after.amount, after.description, after.reference) == (Decimal("450.00"), "Corrected", "CHK 2")
    assert (
        before.updated_at is not None
        and after.updated_at is not None
        and after.updated_at > before.updated_at
    )
    assert firm.clio.get("bank_account", firm.account["id"])["balance"] == Decimal("450.00")


def test_a_deleted_transaction_is_gone_from_the_ledger_and_a_404_by_id(firm: Firm) -> None:
    kept = firm.clio.trust_deposit(firm.dana, "900.00", date=DAY)
    mistake = firm.clio.trust_deposit(firm.dana, "90.00", date=DAY)
    with firm.api() as api:
        assert api.get(f"/bank_transactions/{mistake['id']}.json").status_code == 200

        firm.clio.delete_bank_transaction(mistake["id"])

        assert [t.source_id for t in firm.ledger()] == [str(kept["id"])]
        gone = api.get(f"/bank_transactions/{mistake['id']}.json")
    assert gone.status_code == 404 and gone.json()["error"]["type"] == "RecordNotFound"


def test_editing_one_leg_of_a_transfer_moves_both_and_deleting_one_deletes_both(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.dana, "1000.00", date=DAY)
    paying, _receiving = firm.clio.trust_transfer(firm.dana, firm.omar, "300.00", date=DAY)

    firm.clio.edit_bank_transaction(paying["id"], amount="250.00")
    assert [(t.kind, t.amount) for t in firm.ledger()[1:]] == [
        (TrustKind.TRANSFER_OUT, Decimal("250.00")),
        (TrustKind.TRANSFER_IN, Decimal("250.00")),
    ]

    deleted = firm.clio.delete_bank_transaction(paying["id"])
    assert len(deleted) == 2 and [t.kind for t in firm.ledger()] == [TrustKind.DEPOSIT]


def test_editing_or_deleting_a_payment_from_trust_changes_or_deletes_its_transaction(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.dana, "1000.00", date=DAY)
    allocation = firm.clio.record_payment(firm.bill, "200.00", from_trust=True)
    payment_id = allocation["parent"]["id"]
    [_, paid] = firm.ledger()
    with pytest.raises(ValueError, match="payment"):
        firm.clio.delete_bank_transaction(int(paid.source_id))

    firm.clio.edit_payment(payment_id, {firm.bill: "350.00"})
    assert [(t.kind, t.amount, t.source_id) for t in firm.ledger()[1:]] == [
        (TrustKind.BILL_PAYMENT, Decimal("350.00"), paid.source_id)
    ]

    firm.clio.delete_payment(payment_id)
    assert [t.kind for t in firm.ledger()] == [TrustKind.DEPOSIT]
    assert firm.clio.get("bill", firm.bill)["balance"] == Decimal("500.00")


# --- Clio's rules --------------------------------------------------------------------------------


@pytest.mark.parametrize("move", ["disbursement", "transfer", "bill_payment", "edit_down", "delete_deposit"])
def test_nothing_may_take_a_client_below_zero_in_trust(firm: Firm, move: str) -> None:
    clio = firm.clio
    deposit = clio.trust_deposit(firm.dana, "400.00", date=date(2026, 3, 1))
    clio.trust_disbursement(firm.dana, "300.00", date=date(2026, 3, 5))
    before = clio.records("bank_transaction")

    with pytest.raises(TrustOverdraft) as refused:
        if move == "disbursement":
            clio.trust_disbursement(firm.dana, "100.01", date=date(2026, 3, 6))
        elif move == "transfer":
            clio.trust_transfer(firm.dana, firm.omar, "150.00", date=date(2026, 3, 6))
        elif move == "bill_payment":
            clio.record_payment(firm.bill, "200.00", from_trust=True)
        elif move == "edit_down":
            clio.edit_bank_transaction(deposit["id"], amount="299.99")
        else:
            clio.delete_bank_transaction(deposit["id"])

    assert refused.value.status == 422
    error = refused.value.body()["error"]
    assert error["type"] == "RecordInvalid" and "Dana Whitfield" in error["message"]
    assert clio.records("bank_transaction") == before
    assert clio.get("bill", firm.bill)["balance"] == Decimal("500.00")


def test_a_disbursement_dated_before_the_deposit_that_covers_it_is_refused(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.dana, "400.00", date=date(2026, 3, 10))

    with pytest.raises(TrustOverdraft, match="2026-03-01"):
        firm.clio.trust_disbursement(firm.dana, "100.00", date=date(2026, 3, 1))


def test_trust_requests_are_not_revenue_bills_and_their_payments_are_not_revenue_payments(firm: Firm) -> None:
    request = firm.clio.add_trust_request(firm.omar, "800.00", issued_at=DAY)
    firm.clio.pay_trust_request(request["id"], "300.00", date=DAY)

    client, source = firm.source()
    with client:
        invoices = source.changed_invoices(None, issued_after=None)
        payments = source.changed_payments(None)
    with firm.api() as api:
        trust_bills = api.get(
            "/bills.json", params={"type": "trust", "fields": "id,kind,total,balance"}
        ).json()
        revenue = api.get("/bills.json", params={"type": "revenue", "fields": "id"}).json()

    assert [i.source_id for i in invoices] == [str(firm.bill)] and payments == []
    assert trust_bills["data"] == [
        {"id": request["id"], "kind": "trust_kind", "total": 800.0, "balance": 500.0}
    ]
    assert revenue["data"] == [{"id": firm.bill}]
    with pytest.raises(ValueError, match="trust request"):
        firm.clio.record_payment(request["id"], "100.00")


# --- the HTTP surface -----------------------------------------------------------------------------


def test_transactions_are_read_across_pages(firm: Firm) -> None:
    for n in range(205):
        firm.clio.trust_deposit(firm.dana if n % 2 else firm.omar, Decimal(n + 1), date=DAY)
    recorder = PathRecorder()

    client, source = firm.source(recorder)
    with client:
        ledger = source.trust_transactions(str(firm.account["id"]))

    assert len(ledger) == 205 and sum(t.amount for t in ledger) == Decimal(205 * 206 // 2)
    assert recorder.paths.count("bank_transactions.json") == 2


def test_filters_select_by_account_client_matter_id_and_update(firm: Firm) -> None:
    clio = firm.clio
    first = clio.trust_deposit(firm.dana, "10.00", date=DAY, matter_id=firm.dana_matter)
    firm.box.state.clock.advance(10)
    since = datetime.fromtimestamp(firm.box.state.clock.now(), UTC)
    firm.box.state.clock.advance(1)
    second = clio.trust_deposit(firm.omar, "20.00", date=DAY)

    def ids(**params: Any) -> list[int]:
        with firm.api() as api:
            response = api.get("/bank_transactions.json", params={"fields": "id", **params})
        assert response.status_code == 200, response.text
        return [row["id"] for row in response.json()["data"]]

    assert ids(bank_account_id=firm.account["id"]) == [first["id"], second["id"]]
    assert ids(client_id=firm.omar) == [second["id"]]
    assert ids(matter_id=firm.dana_matter) == [first["id"]]
    assert ids(updated_since=since.isoformat()) == [second["id"]]
    assert ids(**{"ids[]": first["id"]}) == [first["id"]]


@pytest.mark.parametrize(
    ("path", "params", "message"),
    [
        ("/bank_transactions.json", {"fields": "id,nonsense"}, "nonsense is not a valid field"),
        ("/bank_transactions.json", {"fields": "type"}, "does not emulate"),
        ("/bank_transactions.json", {"fields": "client{id,matters{id}}"}, "cannot be nested"),
        ("/bank_transactions.json", {"bank_account_id": "abc"}, "not an integer"),
        ("/bank_transactions.json", {"client_id": "null"}, "null is not valid"),
        ("/bank_transactions.json", {"unreconciled_only": "true"}, "not a supported parameter"),
        ("/bank_accounts.json", {"type": "Trust"}, "is not one of OperatingAccount, TrustAccount"),
        ("/bank_accounts.json", {"fields": "user"}, "does not emulate"),
    ],
)
def test_bad_fields_and_filter_values_are_refused_like_everywhere_else(
    firm: Firm, path: str, params: dict[str, str], message: str
) -> None:
    with firm.api() as api:
        response = api.get(path, params=params)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "ArgumentError" and message in error["message"]


def test_without_fields_a_transaction_is_only_its_id_and_etag_and_by_id_carries_its_etag(firm: Firm) -> None:
    deposit = firm.clio.trust_deposit(firm.dana, "10.00", date=DAY)

    with firm.api() as api:
        listed = api.get("/bank_transactions.json").json()["data"]
        shown = api.get(f"/bank_transactions/{deposit['id']}.json", params={"fields": "id,bill,allocation"})
        account = api.get(f"/bank_accounts/{firm.account['id']}.json", params={"fields": "name,balance"})

    assert listed == [{"id": deposit["id"], "etag": deposit["etag"]}]
    assert shown.json()["data"] == {"id": deposit["id"], "bill": None, "allocation": None}
    assert shown.headers["ETag"] == deposit["etag"]
    assert account.json()["data"] == {"name": "IOLTA Trust Account", "balance": 10.0}


# --- the demo firm ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=fast_settings()), seed="demo") as box:
        yield box


def test_the_demo_trust_account_holds_a_year_of_every_kind_of_movement(demo: Sandbox) -> None:
    with sandbox_clio_client(demo) as client:
        source = ClioSource(client)
        [account] = source.trust_accounts()
        ledger = source.trust_transactions(account.source_id)

    kinds = defaultdict(list)
    for transaction in ledger:
        kinds[transaction.kind].append(transaction)
    assert account.name == CLIO_TRUST_ACCOUNT
    assert account.balance == sum((t.signed for t in ledger), Decimal(0)) > 0
    assert len({t.client_id for t in kinds[TrustKind.DEPOSIT]}) == 8
    assert len(kinds[TrustKind.TRANSFER_IN]) == len(kinds[TrustKind.TRANSFER_OUT]) == 1
    assert len(kinds[TrustKind.REQUEST_PAYMENT]) == len(kinds[TrustKind.BILL_PAYMENT]) == 2
    cheques = {t.reference: t for t in kinds[TrustKind.DISBURSEMENT] if (t.reference or "").startswith("QBO")}
    assert cheques["QBO CHECK 1001"].description == f"Pay to: {TRUST_CHEQUE_VENDOR}\nFiling fee"
    assert cheques["QBO CHECK 1002"].description == "Return of unused retainer"
    assert any(t.description and "corrected" in t.description for t in ledger)  # edited after entry
    today = datetime.now(UTC).date()
    assert all(date.fromisoformat(TRUST_START_DATE) <= t.date < today for t in ledger)
    # Every client's balance stays at or above zero at every point, and every paid bill is still paid.
    running: dict[str | None, Decimal] = defaultdict(Decimal)
    for transaction in ledger:
        running[transaction.client_id] += transaction.signed
        assert running[transaction.client_id] >= 0
    for paid in kinds[TrustKind.BILL_PAYMENT]:
        assert paid.bill_id is not None and demo.clio.get("bill", int(paid.bill_id))["state"] == "paid"
