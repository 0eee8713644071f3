"""POST/PATCH/DELETE /activities.json in the Clio emulator follow the official spec and reference §3.6."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.sandbox import Sandbox
from tests.conftest import sandbox_clio_client

FIELDS = "id,etag,type,date,price,quantity,total,note,reference,billed,matter{id},user{id},vendor{id,name}"


@pytest.fixture
def firm(empty_sandbox: Sandbox) -> Iterator[tuple[httpx.Client, dict[str, Any]]]:
    """An account owner, a client with a matter and a vendor contact; an HTTP client for the API."""
    clio = empty_sandbox.clio
    clio.set_account(1_001, "Whitfield & Ames LLP")
    owner = clio.add_user(first_name="Avery", last_name="Ames", account_owner=True)
    client = clio.add_contact(type="Person", first_name="Dana", last_name="Whitfield", is_client=True)
    matter = clio.add_matter(client=client["id"], display_number="00001-Whitfield", description="Advice")
    vendor = clio.add_contact(type="Company", name="Metro Courier")
    token = empty_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    ids = {"owner": owner["id"], "matter": matter["id"], "vendor": vendor["id"], "box": empty_sandbox}
    with httpx.Client(
        base_url=empty_sandbox.urls.clio_api, headers={"Authorization": f"Bearer {token}"}
    ) as http:
        yield http, ids


def _hard_cost(ids: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "data": {
            "type": "HardCostEntry",
            "date": "2026-03-05",
            "matter": {"id": ids["matter"]},
            "price": 52.5,
            "note": "Filing fee",
            "vendor": {"id": ids["vendor"]},
            "reference": "1043",
            **extra,
        }
    }


def test_create_hard_cost_entry_defaults_to_the_account_owner(
    firm: tuple[httpx.Client, dict[str, Any]],
) -> None:
    http, ids = firm
    response = http.post("/activities.json", params={"fields": FIELDS}, json=_hard_cost(ids))

    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == "HardCostEntry" and data["date"] == "2026-03-05"
    assert Decimal(str(data["price"])) == Decimal("52.5") == Decimal(str(data["total"]))
    assert data["user"]["id"] == ids["owner"] and data["matter"]["id"] == ids["matter"]
    assert data["vendor"] == {"id": ids["vendor"], "name": "Metro Courier"}
    assert data["reference"] == "1043" and data["billed"] is False


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"data": {"date": "2026-03-05"}}, 422, "Type"),
        ({"data": {"type": "HardCostEntry"}}, 422, "Date"),
        ({"data": {"type": "Meal", "date": "2026-03-05"}}, 422, "Type must be"),
        (
            {"data": {"type": "ExpenseEntry", "date": "2026-03-05", "reference": "1"}},
            422,
            "only for a HardCostEntry",
        ),
        ({"data": {"type": "HardCostEntry", "date": "2026-03-05", "quantity": 2}}, 422, "quantity"),
        (
            {"data": {"type": "HardCostEntry", "date": "2026-03-05", "matter": {"id": 1}}},
            422,
            "does not exist",
        ),
        ({"data": {"type": "HardCostEntry", "date": "2026-03-05", "price": -1}}, 422, "0 or more"),
        ({"data": {"type": "HardCostEntry", "date": "2026-03-05", "task": {"id": 1}}}, 400, "not emulated"),
        (
            {"data": {"type": "HardCostEntry", "date": "2026-03-05", "colour": "red"}},
            400,
            "not a valid attribute",
        ),
        ({"nodata": {}}, 400, "data object"),
    ],
)
def test_create_refuses_what_the_spec_refuses(
    firm: tuple[httpx.Client, dict[str, Any]], body: dict[str, Any], status: int, words: str
) -> None:
    http, _ids = firm
    response = http.post("/activities.json", json=body)

    assert response.status_code == status
    assert words in response.json()["error"]["message"]


def test_patch_changes_the_entry_and_honours_if_match(firm: tuple[httpx.Client, dict[str, Any]]) -> None:
    http, ids = firm
    created = http.post("/activities.json", params={"fields": FIELDS}, json=_hard_cost(ids)).json()["data"]
    path = f"/activities/{created['id']}.json"

    stale = http.patch(path, json={"data": {"price": 60}}, headers={"If-Match": '"stale"'})
    changed = http.patch(
        path, params={"fields": FIELDS}, json={"data": {"price": 60}}, headers={"If-Match": created["etag"]}
    )

    assert stale.status_code == 412
    assert changed.status_code == 200
    assert Decimal(str(changed.json()["data"]["total"])) == Decimal(60)
    assert http.patch(path, json={"data": {"type": "TimeEntry"}}).status_code == 422


def test_delete_removes_the_entry(firm: tuple[httpx.Client, dict[str, Any]]) -> None:
    http, ids = firm
    created = http.post("/activities.json", json=_hard_cost(ids)).json()["data"]
    path = f"/activities/{created['id']}.json"

    assert http.delete(path).status_code == 204
    assert http.get(path).status_code == 404
    assert http.delete(path).status_code == 404


def test_billed_entry_cannot_be_changed_or_deleted(firm: tuple[httpx.Client, dict[str, Any]]) -> None:
    http, ids = firm
    created = http.post("/activities.json", json=_hard_cost(ids)).json()["data"]
    ids["box"].clio.update_activity(created["id"], billed=True)
    path = f"/activities/{created['id']}.json"

    for response in (http.patch(path, json={"data": {"price": 1}}), http.delete(path)):
        assert response.status_code == 422
        assert "billed" in response.json()["error"]["message"]
    assert ids["box"].clio.get("activity", created["id"])["price"] == Decimal("52.5")


def test_client_writes_and_finds_entries_by_note(
    empty_sandbox: Sandbox, firm: tuple[httpx.Client, dict[str, Any]]
) -> None:
    _http, ids = firm
    with sandbox_clio_client(empty_sandbox) as client:
        body = _hard_cost(ids, note="Filing fee\n[QBO Purchase 7]")["data"]
        made = client.create_activity(body)
        found = client.activities_noted("[QBO Purchase 7]", matter_id=ids["matter"])
        owner = [u for u in client.users() if u.account_owner]
        matters = client.matters_of([empty_sandbox.clio.get("matter", ids["matter"])["client"]])

    assert [a.id for a in found] == [made.id]
    assert [u.id for u in owner] == [ids["owner"]]
    assert [m.id for m in matters] == [ids["matter"]]
