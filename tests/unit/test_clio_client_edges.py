"""ClioClient where the sandbox cannot take it: odd bodies, lenient servers, and its own field lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel

from ledgerlink.errors import ApiError, ConflictError, NotFoundError, ValidationError
from ledgerlink.providers.clio import client as clio_client
from ledgerlink.providers.clio import wire
from ledgerlink.providers.clio.client import ClioClient, clio_error

API = "https://clio.test/api/v4"


class FixedToken:
    def access_token(self) -> str:
        return "clio-at-fixed-token-123"

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


@pytest.fixture
def clio() -> Iterator[ClioClient]:
    with ClioClient.connect(API, FixedToken(), sleep=lambda seconds: None) as client:
        yield client


def _response(status: int, body: Any = None, text: str | None = None) -> httpx.Response:
    request = httpx.Request("GET", f"{API}/bills.json")
    if text is not None:
        return httpx.Response(status, text=text, request=request)
    return httpx.Response(status, json=body, request=request)


# --- error bodies ----------------------------------------------------------------------------


def test_a_resource_error_body_gives_type_and_message() -> None:
    error = clio_error(
        _response(400, {"error": {"type": "ArgumentError", "message": "foo is not a valid field"}})
    )

    assert isinstance(error, ValidationError)
    assert (error.status, error.code, error.detail) == (400, "ArgumentError", "foo is not a valid field")
    assert "foo is not a valid field" in str(error)


def test_the_oauth_error_body_gives_its_error_and_description() -> None:
    body = {"error": "invalid_token", "error_description": "The access token provided is expired"}

    error = clio_error(_response(401, body))

    assert (error.code, error.detail) == ("invalid_token", "The access token provided is expired")
    assert "ledgerlink connect clio" in error.remedy


@pytest.mark.parametrize(
    ("status", "kind"), [(404, NotFoundError), (412, ConflictError), (422, ValidationError), (503, ApiError)]
)
def test_the_status_chooses_the_error_class(status: int, kind: type[ApiError]) -> None:
    error = clio_error(_response(status, {"error": {"type": "X", "message": "m"}}))

    assert type(error) is kind


def test_a_body_that_is_not_json_is_kept_as_text() -> None:
    error = clio_error(_response(502, text="<html>Bad Gateway</html>"))

    assert error.detail == "<html>Bad Gateway</html>"


def test_a_platform_style_message_body_is_understood() -> None:
    assert clio_error(_response(429, {"message": "Too Many Requests"})).detail == "Too Many Requests"


def test_a_retired_version_says_to_upgrade() -> None:
    error = clio_error(_response(410, {"error": {"type": "Gone", "message": "Version retired"}}))

    assert "upgrade ledgerlink" in error.remedy


# --- responses the client cannot read --------------------------------------------------------


@respx.mock
def test_a_success_body_that_is_not_json_is_an_api_error(clio: ClioClient) -> None:
    respx.get(f"{API}/settings/billing.json").mock(
        return_value=httpx.Response(200, text="<html>maintenance</html>")
    )

    with pytest.raises(ApiError, match="not JSON"):
        clio.billing_settings()


@respx.mock
def test_a_bill_missing_its_total_is_an_api_error_not_a_zero(clio: ClioClient) -> None:
    respx.get(f"{API}/bills.json").mock(
        return_value=httpx.Response(
            200, json={"data": [{"id": 1, "number": "9", "state": "paid"}], "meta": {}}
        )
    )

    with pytest.raises(ApiError, match="ClioBill"):
        list(clio.bills())


# --- requests --------------------------------------------------------------------------------


@respx.mock
def test_bills_issued_on_the_given_day_are_dropped_even_if_the_server_sends_them(clio: ClioClient) -> None:
    bills = [
        {"id": 1, "number": "1", "state": "paid", "total": 10, "issued_at": "2025-12-31"},
        {"id": 2, "number": "2", "state": "paid", "total": 10, "issued_at": "2026-01-01"},
    ]
    route = respx.get(f"{API}/bills.json").mock(
        return_value=httpx.Response(200, json={"data": bills, "meta": {}})
    )

    found = list(clio.bills(issued_after=date(2025, 12, 31)))

    assert [b.number for b in found] == ["2"]
    assert route.calls.last.request.url.params["issued_after"] == "2025-12-31"


@respx.mock
def test_several_states_are_read_one_state_at_a_time(clio: ClioClient) -> None:
    route = respx.get(f"{API}/bills.json").mock(
        return_value=httpx.Response(200, json={"data": [], "meta": {}})
    )

    list(clio.bills(states=["paid", "awaiting_payment", "paid"]))

    assert [call.request.url.params.get_list("state") for call in route.calls] == [
        ["paid"],
        ["awaiting_payment"],
    ]


@respx.mock
def test_every_request_pins_the_version_names_its_fields_and_pages_by_id(clio: ClioClient) -> None:
    page_two = f"{API}/contacts.json?page_token=abc&fields=id"
    first = respx.get(f"{API}/contacts.json", params={"order": "id(asc)"}).mock(
        return_value=httpx.Response(
            200, json={"data": [{"id": 1, "type": "Person"}], "meta": {"paging": {"next": page_two}}}
        )
    )
    second = respx.get(page_two).mock(
        return_value=httpx.Response(
            200, json={"data": [{"id": 2, "type": "Company"}], "meta": {"paging": {}}}
        )
    )

    contacts = list(clio.contacts(updated_since=datetime.fromisoformat("2026-05-01T12:00:00+00:00")))

    assert [c.id for c in contacts] == [1, 2]
    request = first.calls.last.request
    assert request.headers["X-API-VERSION"] == "4.0.13"
    assert request.headers["Authorization"] == "Bearer clio-at-fixed-token-123"
    assert request.url.params["fields"] == clio_client.CONTACT_FIELDS
    assert (request.url.params["limit"], request.url.params["updated_since"]) == (
        "200",
        "2026-05-01T12:00:00+00:00",
    )
    assert second.called


@respx.mock
def test_allocations_are_read_by_status_one_parent_at_a_time_without_a_parent_type(clio: ClioClient) -> None:
    route = respx.get(f"{API}/allocations.json").mock(
        return_value=httpx.Response(200, json={"data": [], "meta": {}})
    )

    list(clio.allocations(status="invalid", parent_ids=[7, 3, 7]))

    params = [call.request.url.params for call in route.calls]
    assert [p["parent_id"] for p in params] == ["7", "3"]
    assert all(p["status"] == "invalid" and p["order"] == "id(asc)" for p in params)
    assert all("parent_type" not in p for p in params)
    assert params[0]["fields"] == clio_client.ALLOCATION_FIELDS


@respx.mock
def test_a_contact_update_is_a_patch_with_if_match_and_a_data_body(clio: ClioClient) -> None:
    route = respx.patch(f"{API}/contacts/12.json").mock(
        return_value=httpx.Response(200, json={"data": {"id": 12, "type": "Person", "first_name": "Dani"}})
    )

    contact = clio.update_contact(12, {"first_name": "Dani"}, etag='"abc"')

    request = route.calls.last.request
    assert request.headers["If-Match"] == '"abc"'
    assert request.url.params["fields"] == clio_client.CONTACT_FIELDS
    assert json.loads(request.content) == {"data": {"first_name": "Dani"}}
    assert contact.first_name == "Dani"


@respx.mock
def test_a_contact_changed_since_its_etag_is_a_conflict(clio: ClioClient) -> None:
    route = respx.patch(f"{API}/contacts/12.json").mock(
        return_value=httpx.Response(412, json={"error": {"type": "PreconditionFailed", "message": "changed"}})
    )

    with pytest.raises(ConflictError):
        clio.update_contact(12, {"first_name": "Dani"}, etag='"stale"')
    assert route.call_count == 1


def test_updated_since_must_say_its_time_zone(clio: ClioClient) -> None:
    with pytest.raises(ValueError, match="timezone"):
        list(clio.contacts(updated_since=datetime(2026, 1, 1)))


# --- the field lists match the models that read them ------------------------------------------


def _selection(fields: str) -> dict[str, set[str] | None]:
    """``a,b{c,d}`` as {"a": None, "b": {"c", "d"}}."""
    result: dict[str, set[str] | None] = {}
    depth, start = 0, 0
    for index, char in enumerate(fields + ","):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if char == "," and depth == 0:
            item = fields[start:index]
            name, _, rest = item.partition("{")
            result[name] = set(rest.rstrip("}").split(",")) if rest else None
            start = index + 1
    return result


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    for candidate in getattr(annotation, "__args__", (annotation,)):
        inner = getattr(candidate, "__args__", (candidate,))[0]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            return inner
    return None


@pytest.mark.parametrize(
    ("fields", "model"),
    [
        (clio_client.USER_FIELDS, wire.ClioUser),
        (clio_client.CONTACT_FIELDS, wire.ClioContact),
        (clio_client.BILL_FIELDS, wire.ClioBill),
        (clio_client.LINE_ITEM_FIELDS, wire.ClioLineItem),
        (clio_client.ACTIVITY_FIELDS, wire.ClioActivity),
        (clio_client.ACTIVITY_CATEGORY_FIELDS, wire.ClioActivityCategory),
        (clio_client.ACTIVITY_DESCRIPTION_FIELDS, wire.ClioActivityDescription),
        (clio_client.EXPENSE_CATEGORY_FIELDS, wire.ClioExpenseCategory),
        (clio_client.BILLING_SETTINGS_FIELDS, wire.ClioBillingSettings),
        (clio_client.ALLOCATION_FIELDS, wire.ClioAllocation),
        (clio_client.BANK_ACCOUNT_FIELDS, wire.ClioBankAccount),
        (clio_client.BANK_TRANSACTION_FIELDS, wire.ClioBankTransaction),
    ],
)
def test_the_client_asks_for_exactly_the_fields_its_model_reads(fields: str, model: type[BaseModel]) -> None:
    selection = _selection(fields)

    assert set(selection) == set(model.model_fields)
    for name, sub in selection.items():
        nested = _nested_model(model.model_fields[name].annotation)
        assert (sub is None) == (nested is None), name
        if nested is not None and sub is not None:
            assert sub == set(nested.model_fields), name
