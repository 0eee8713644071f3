"""The Clio emulator's money after billing: payments and credit memos as allocations, and bill void/delete.

Clio has no payments endpoint; a payment or credit memo reaches a reader only as allocations
(reference §3.9). These tests hold the emulator to that, over real HTTP where a client reads.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.state import SandboxState

ALLOCATION = (
    "id,etag,date,amount,interest,description,voided_at,updated_at,bill{id,balance},contact{id},"
    "parent{id,type},source_bank_account{id,type},destination_bank_account{type}"
)


@pytest.fixture
def clio() -> ClioEmulator:
    """An empty emulator driven through its Python API only (no server)."""
    return ClioEmulator(SandboxState())


@pytest.fixture
def api(empty_sandbox: Sandbox) -> Iterator[httpx.Client]:
    token = empty_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    with httpx.Client(
        base_url=empty_sandbox.urls.clio_api, headers={"Authorization": f"Bearer {token}"}
    ) as client:
        yield client


def _firm(
    clio: ClioEmulator, totals: tuple[str, ...] = ("500.00", "300.00", "200.00")
) -> tuple[int, list[int]]:
    """A client with one approved bill per total (a single untaxed line each): (contact id, bill ids)."""
    clio.add_user(first_name="Avery", last_name="Ames", account_owner=True)
    contact = clio.add_contact(type="Company", name="Harbor & Pine Realty LLC", is_client=True)
    bills = []
    for n, total in enumerate(totals):
        bill = clio.add_bill(client=contact["id"], number=str(500 + n), state="awaiting_payment")
        clio.add_line_item(
            bill=bill["id"], kind="Service", description="Advice", quantity=1, price=Decimal(total)
        )
        bills.append(bill["id"])
    return contact["id"], bills


def _amounts(clio: ClioEmulator, bill_id: int) -> tuple[Any, ...]:
    bill = clio.get("bill", bill_id)
    return bill["paid"], bill["credits_issued"], bill["balance"], bill["state"]


def _list(api: httpx.Client, path: str, **params: Any) -> list[dict[str, Any]]:
    response = api.get(path, params={"order": "id(asc)", **params})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


# --- payments ---------------------------------------------------------------------------------


def test_a_payment_is_a_payment_parent_with_one_allocation_to_the_bill(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, (bill_id, *_) = _firm(clio)
    received = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)

    allocation = clio.record_payment(bill_id, paid_at=received, reference="CHK 1042")

    [served] = _list(api, "/allocations.json", fields=ALLOCATION)
    payment_id = allocation["parent"]["id"]
    assert served["id"] == allocation["id"] and served["parent"] == {"id": payment_id, "type": "Payment"}
    assert (served["date"], served["amount"], served["voided_at"]) == ("2026-03-10", 500.0, None)
    assert served["bill"] == {"id": bill_id, "balance": 0.0} and served["contact"] == {"id": contact_id}
    assert served["source_bank_account"] is None
    assert served["destination_bank_account"] == {"type": "Operating"}
    assert clio.get("payment", payment_id)["reference"] == "CHK 1042"
    bill = clio.get("bill", bill_id)
    assert (bill["paid"], bill["balance"], bill["state"], bill["paid_at"]) == (
        Decimal("500.00"),
        0,
        "paid",
        received,
    )


def test_a_payment_out_of_trust_comes_from_the_trust_account(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    contact_id, (bill_id, *_) = _firm(empty_sandbox.clio)
    empty_sandbox.clio.trust_deposit(contact_id, Decimal("120.00"))

    empty_sandbox.clio.record_payment(bill_id, Decimal("120.00"), from_trust=True)

    [served] = _list(
        api, "/allocations.json", fields="source_bank_account{name,type},destination_bank_account{type}"
    )
    assert served["source_bank_account"] == {"name": "Trust Account", "type": "Trust"}
    assert served["destination_bank_account"] == {"type": "Operating"}


def test_a_split_payment_applies_one_payment_to_several_bills(clio: ClioEmulator) -> None:
    contact_id, bills = _firm(clio)

    payment_id = clio.record_split_payment(
        contact_id, {bills[0]: "500.00", bills[1]: "100.00", bills[2]: "200.00"}, date=date(2026, 3, 12)
    )

    allocations = clio.records("allocation")
    assert [(a["bill"], a["amount"]) for a in allocations] == [
        (bills[0], Decimal("500.00")),
        (bills[1], Decimal("100.00")),
        (bills[2], Decimal("200.00")),
    ]
    assert {a["parent"]["id"] for a in allocations} == {payment_id}
    assert {a["date"] for a in allocations} == {date(2026, 3, 12)}
    assert [_amounts(clio, b)[2:] for b in bills] == [
        (0, "paid"),
        (Decimal("200.00"), "awaiting_payment"),
        (0, "paid"),
    ]


@pytest.mark.parametrize(
    ("parts", "message"),
    [
        ({0: "500.01"}, r"owes 500\.00"),
        ({0: "0"}, "cannot apply 0"),
        ({0: "100", 1: "300.01"}, r"owes 300\.00"),
    ],
)
def test_a_payment_a_bill_cannot_take_is_refused_and_changes_nothing(
    clio: ClioEmulator, parts: dict[int, str], message: str
) -> None:
    contact_id, bills = _firm(clio)

    with pytest.raises(ValueError, match=message):
        clio.record_split_payment(contact_id, {bills[index]: amount for index, amount in parts.items()})

    assert clio.records("allocation") == [] and clio.records("payment") == []
    assert _amounts(clio, bills[0]) == (0, 0, Decimal("500.00"), "awaiting_payment")


def test_only_the_clients_own_approved_bills_can_be_paid(clio: ClioEmulator) -> None:
    contact_id, bills = _firm(clio)
    other = clio.add_contact(type="Company", name="Other LLC")
    draft = clio.add_bill(client=contact_id, number="900", state="draft")

    with pytest.raises(ValueError, match="not a bill of contact"):
        clio.record_split_payment(other["id"], {bills[0]: 10})
    with pytest.raises(ValueError, match="draft"):
        clio.record_payment(draft["id"], 10)


def test_paid_and_credits_are_derived_and_cannot_be_set(clio: ClioEmulator) -> None:
    _, bills = _firm(clio)

    with pytest.raises(ValueError, match="derived"):
        clio.update_bill(bills[0], paid=Decimal("500.00"))


def test_editing_a_payment_bumps_only_the_changed_allocation(clio: ClioEmulator) -> None:
    contact_id, bills = _firm(clio)
    payment_id = clio.record_split_payment(contact_id, {bills[0]: "100.00", bills[1]: "100.00"})
    before = {a["bill"]: a for a in clio.records("allocation")}
    clio.state.clock.advance(60)

    clio.edit_payment(payment_id, {bills[1]: "300.00"})

    after = {a["bill"]: a for a in clio.records("allocation")}
    assert after[bills[0]] == before[bills[0]]
    assert after[bills[1]]["amount"] == Decimal("300.00") and after[bills[1]]["id"] == before[bills[1]]["id"]
    assert after[bills[1]]["updated_at"] > before[bills[1]]["updated_at"]
    assert after[bills[1]]["etag"] != before[bills[1]]["etag"]
    assert _amounts(clio, bills[1]) == (Decimal("300.00"), 0, 0, "paid")
    assert clio.get("payment", payment_id)["amount"] == Decimal("400.00")


def test_an_edit_cannot_apply_more_than_the_bill_owed_before_it(clio: ClioEmulator) -> None:
    contact_id, bills = _firm(clio)
    payment_id = clio.record_split_payment(contact_id, {bills[2]: "150.00"})

    clio.edit_payment(payment_id, {bills[2]: "200.00"})  # 150 already applied + 50 still owed
    with pytest.raises(ValueError, match=r"owes 200\.00"):
        clio.edit_payment(payment_id, {bills[2]: "200.01"})


def test_deleting_a_payment_voids_its_allocations_and_the_bills_owe_again(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    payment_id = clio.record_split_payment(contact_id, {bills[0]: "500.00", bills[1]: "300.00"})
    paid = clio.get("bill", bills[0])
    empty_sandbox.state.clock.advance(60)

    clio.delete_payment(payment_id)

    assert _list(api, "/allocations.json", status="valid") == []
    voided = _list(api, "/allocations.json", status="invalid", fields="id,voided_at,updated_at,parent{id}")
    assert [a["parent"]["id"] for a in voided] == [payment_id, payment_id]
    assert all(a["voided_at"] is not None for a in voided)
    assert _list(api, "/allocations.json", fields="id,voided_at,updated_at,parent{id}") == voided
    assert [_amounts(clio, b) for b in bills[:2]] == [
        (0, 0, Decimal("500.00"), "awaiting_payment"),
        (0, 0, Decimal("300.00"), "awaiting_payment"),
    ]
    after = clio.get("bill", bills[0])
    assert after["paid_at"] is None and after["updated_at"] > paid["updated_at"]
    with pytest.raises(ValueError, match="already voided"):
        clio.delete_payment(payment_id)


def test_paid_at_is_when_the_latest_valid_payment_was_received(clio: ClioEmulator) -> None:
    _, bills = _firm(clio)
    first = datetime(2026, 3, 1, 15, tzinfo=UTC)
    second = datetime(2026, 3, 20, 15, tzinfo=UTC)
    clio.record_payment(bills[0], "100.00", paid_at=first)
    later = clio.record_payment(bills[0], "100.00", paid_at=second)

    assert clio.get("bill", bills[0])["paid_at"] == second
    clio.delete_payment(later["parent"]["id"])
    assert clio.get("bill", bills[0])["paid_at"] == first


# --- credit memos -----------------------------------------------------------------------------


def test_a_credit_memo_writes_amounts_off_bills_through_allocations(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)

    memo_id = clio.add_credit_memo(
        contact_id,
        {bills[0]: "50.00", bills[2]: "200.00"},
        date=date(2026, 3, 15),
        description="Courtesy discount",
    )

    response = api.get(
        f"/credit_memos/{memo_id}.json",
        params={
            "fields": "id,date,amount,description,discount,voided_at,contact{id},user{name},"
            "allocations{id,amount}"
        },
    )
    memo = response.json()["data"]
    assert (memo["date"], memo["amount"], memo["description"], memo["discount"]) == (
        "2026-03-15",
        250.0,
        "Courtesy discount",
        False,
    )
    assert memo["contact"] == {"id": contact_id} and memo["user"] == {"name": "Avery Ames"}
    assert [a["amount"] for a in memo["allocations"]] == [50.0, 200.0]
    served = _list(api, "/allocations.json", parent_type="CreditMemo", fields="description,parent{id,type}")
    assert (
        served == [{"description": "Courtesy discount", "parent": {"id": memo_id, "type": "CreditMemo"}}] * 2
    )
    assert _amounts(clio, bills[0]) == (0, Decimal("50.00"), Decimal("450.00"), "awaiting_payment")
    assert _amounts(clio, bills[2]) == (0, Decimal("200.00"), 0, "paid")


def test_voiding_a_credit_memo_voids_it_and_restores_the_balance(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    memo_id = clio.add_credit_memo(contact_id, {bills[1]: "300.00"})

    clio.void_credit_memo(memo_id)

    [memo] = _list(api, "/credit_memos.json", fields="id,voided_at")
    assert memo["id"] == memo_id and memo["voided_at"] is not None
    assert _list(api, "/allocations.json", parent_type="CreditMemo", status="valid") == []
    assert len(_list(api, "/allocations.json", status="invalid")) == 1
    assert _amounts(clio, bills[1]) == (0, 0, Decimal("300.00"), "awaiting_payment")


def test_credit_memos_filter_by_contact(empty_sandbox: Sandbox, api: httpx.Client) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    memo_id = clio.add_credit_memo(contact_id, {bills[0]: "10.00"})

    assert [m["id"] for m in _list(api, "/credit_memos.json", contact_id=contact_id)] == [memo_id]
    assert _list(api, "/credit_memos.json", contact_id=contact_id + 1) == []


# --- reading allocations ------------------------------------------------------------------------


def test_allocations_filter_by_bill_contact_parent_and_type(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    payment_id = clio.record_split_payment(contact_id, {bills[0]: "100.00", bills[1]: "100.00"})
    memo_id = clio.add_credit_memo(contact_id, {bills[0]: "25.00"})
    ids = {(a["parent"]["type"], a["bill"]): a["id"] for a in clio.records("allocation")}

    def served(**params: Any) -> set[int]:
        return {a["id"] for a in _list(api, "/allocations.json", **params)}

    assert served(bill_id=bills[0]) == {ids["Payment", bills[0]], ids["CreditMemo", bills[0]]}
    assert served(parent_id=payment_id) == {ids["Payment", bills[0]], ids["Payment", bills[1]]}
    assert served(parent_id=memo_id, parent_type="CreditMemo") == {ids["CreditMemo", bills[0]]}
    assert served(parent_type="Payment", contact_id=contact_id) == served(parent_id=payment_id)
    assert served(contact_id=contact_id + 1) == set()


def test_allocations_without_status_are_valid_and_voided_alike(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    kept = clio.record_split_payment(contact_id, {bills[0]: "100.00"})
    voided = clio.record_split_payment(contact_id, {bills[1]: "100.00"})
    clio.delete_payment(voided)

    def parents(**params: Any) -> list[int]:
        return [a["parent"]["id"] for a in _list(api, "/allocations.json", fields="parent{id}", **params)]

    assert parents(status="valid") == [kept]
    assert parents(status="invalid") == [voided]
    assert parents() == [kept, voided]


def test_allocations_changed_since_a_moment_are_listed(empty_sandbox: Sandbox, api: httpx.Client) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    payment_id = clio.record_split_payment(contact_id, {bills[0]: "100.00", bills[1]: "100.00"})
    empty_sandbox.state.clock.advance(120)
    moment = datetime.fromtimestamp(empty_sandbox.state.clock.now(), UTC)
    clio.state.clock.advance(1)

    clio.edit_payment(payment_id, {bills[1]: "150.00"})

    changed = _list(api, "/allocations.json", updated_since=moment.isoformat(), fields="bill{id},amount")
    assert changed == [{"bill": {"id": bills[1]}, "amount": 150.0}]


def test_allocations_are_ordered_by_date_unless_asked_for_id_order(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    later = clio.record_split_payment(contact_id, {bills[0]: "10.00"}, date=date(2026, 3, 20))
    earlier = clio.record_split_payment(contact_id, {bills[0]: "10.00"}, date=date(2026, 3, 2))

    by_date = api.get("/allocations.json", params={"fields": "parent{id}"}).json()["data"]
    by_id = _list(api, "/allocations.json", fields="parent{id}")
    token = api.get("/allocations.json", params={"page_token": "eyJkIjoiYWZ0ZXIiLCJpZCI6MX0"})

    assert [a["parent"]["id"] for a in by_date] == [earlier, later]
    assert [a["parent"]["id"] for a in by_id] == [later, earlier]
    assert token.status_code == 400 and "order=id(asc)" in token.json()["error"]["message"]


def test_cursor_paging_walks_hundreds_of_allocations(empty_sandbox: Sandbox, api: httpx.Client) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio, ("1000.00",))
    for _ in range(230):
        clio.record_split_payment(contact_id, {bills[0]: "1.00"})

    first = api.get("/allocations.json", params={"order": "id(asc)", "fields": "id"}).json()
    second = httpx.get(first["meta"]["paging"]["next"], headers=api.headers).json()

    assert len(first["data"]) == 200 and len(second["data"]) == 30
    assert "next" not in second["meta"]["paging"]


@pytest.mark.parametrize(
    "params",
    [
        {"status": "voided"},
        {"parent_type": "3"},
        {"parent_type": "Invoice"},
        {"parent_id": "abc"},
        {"bill_id": "null"},
        {"order": "amount(asc)"},
        {"fields": "parent{identifier}"},
        {"fields": "source_bank_account{clio_payment_page_link}"},
    ],
)
def test_bad_allocation_parameters_are_a_400(api: httpx.Client, params: dict[str, str]) -> None:
    response = api.get("/allocations.json", params=params)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "ArgumentError"


def test_one_allocation_or_credit_memo_by_id_and_the_wrong_kind_is_a_404(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    allocation = clio.record_payment(bills[0], "10.00")
    memo_id = clio.add_credit_memo(contact_id, {bills[1]: "10.00"})

    shown = api.get(f"/allocations/{allocation['id']}.json", params={"fields": "amount,parent{type}"})
    assert shown.json()["data"] == {"amount": 10.0, "parent": {"type": "Payment"}}
    assert shown.headers["ETag"] == allocation["etag"]
    assert api.get(f"/allocations/{memo_id}.json").status_code == 404
    assert api.get(f"/credit_memos/{allocation['parent']['id']}.json").status_code == 404
    assert api.get("/payments.json").status_code == 404  # Clio v4 has no payments list


# --- deleting and voiding bills ---------------------------------------------------------------


def test_deleting_a_draft_bill_and_voiding_an_unpaid_one_keep_them_listable(
    empty_sandbox: Sandbox, api: httpx.Client
) -> None:
    clio = empty_sandbox.clio
    contact_id, bills = _firm(clio)
    draft = clio.add_bill(client=contact_id, number="900", state="awaiting_approval")
    moment = datetime.fromtimestamp(empty_sandbox.state.clock.now(), UTC)
    empty_sandbox.state.clock.advance(5)

    clio.delete_bill(draft["id"])
    clio.void_bill(bills[0])

    changed = _list(api, "/bills.json", updated_since=moment.isoformat(), fields="id,state")
    assert changed == [{"id": bills[0], "state": "void"}, {"id": draft["id"], "state": "deleted"}]
    assert [b["id"] for b in _list(api, "/bills.json", state="deleted")] == [draft["id"]]


def test_a_bill_with_a_payment_or_credit_cannot_be_voided_until_it_is_removed(clio: ClioEmulator) -> None:
    contact_id, bills = _firm(clio)
    payment = clio.record_payment(bills[0], "10.00")
    memo_id = clio.add_credit_memo(contact_id, {bills[1]: "10.00"})

    for bill_id in bills[:2]:
        with pytest.raises(ValueError, match="payments or credits"):
            clio.void_bill(bill_id)
    clio.delete_payment(payment["parent"]["id"])
    clio.void_credit_memo(memo_id)

    assert [clio.void_bill(b)["state"] for b in bills[:2]] == ["void", "void"]


@pytest.mark.parametrize("state", ["draft", "void", "deleted"])
def test_void_bill_wants_an_unpaid_bill(clio: ClioEmulator, state: str) -> None:
    contact_id, _ = _firm(clio)
    bill = clio.add_bill(client=contact_id, number="901", state=state)

    with pytest.raises(ValueError, match=state):
        clio.void_bill(bill["id"])


def test_a_paid_bill_cannot_be_deleted(clio: ClioEmulator) -> None:
    _, bills = _firm(clio)
    clio.record_payment(bills[0])

    with pytest.raises(ValueError):
        clio.delete_bill(bills[0])
    assert clio.get("bill", bills[0])["state"] == "paid"


def test_the_demo_payments_are_allocations_that_tie_out_every_bill(sandbox: Sandbox) -> None:
    clio = sandbox.clio
    allocations = [a for a in clio.records("allocation") if a["parent"]["type"] == "Payment"]
    credited: dict[int, Decimal] = {}
    for allocation in clio.records("allocation"):
        if allocation["parent"]["type"] == "CreditMemo":
            credited[allocation["bill"]] = credited.get(allocation["bill"], Decimal(0)) + allocation["amount"]
    by_bill: dict[int, Decimal] = {}
    for allocation in allocations:
        by_bill[allocation["bill"]] = by_bill.get(allocation["bill"], Decimal(0)) + allocation["amount"]

    assert len(allocations) > 50
    for bill in clio.records("bill"):
        assert bill["paid"] == by_bill.get(bill["id"], 0), bill["number"]
        assert bill["credits_issued"] == credited.get(bill["id"], 0), bill["number"]
        assert bill["balance"] == bill["total"] - bill["paid"] - bill["credits_issued"]
        assert (bill["paid_at"] is not None) == (bill["id"] in by_bill)
    assert credited  # the demo firm has credit notes too
