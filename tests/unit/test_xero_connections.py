"""Xero connections and error mapping where the sandbox cannot take them: every error shape Xero
answers in, odd ``/connections`` bodies, retries and refreshes, token values kept out of errors."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from ledgerlink.errors import ApiError, AuthError, NotFoundError, RateLimitedError, ValidationError
from ledgerlink.providers.xero import auth_event_id_of, list_tenants, map_error, remove_connection

CONNECTIONS = "https://api.xero.test/connections"
TOKEN = "xero-at-unit-token-0123456789"
NO_WAIT: dict[str, Any] = {"sleep": lambda seconds: None}

CONNECTION = {
    "id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44",
    "authEventId": "d99ecdfe-391d-43d2-b834-17636ba90e8d",
    "tenantId": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58",
    "tenantType": "ORGANISATION",
    "tenantName": "Demo Company (NZ)",
    "createdDateUtc": "2019-12-07T18:46:19.5165400",
    "updatedDateUtc": "2019-12-07T18:46:19.5187840",
}


def answer(
    status: int, body: Any = None, *, text: str | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    request = httpx.Request("GET", CONNECTIONS)
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2lnbmF0dXJl"


class RefreshingToken:
    """A TokenSource whose first token the server rejects."""

    def __init__(self) -> None:
        self.refreshes = 0

    def access_token(self) -> str:
        return "xero-at-stale-token-0001"

    def refresh(self, rejected: str) -> str:
        self.refreshes += 1
        return "xero-at-fresh-token-0002"


# ---------------------------------------------------------------------------------------------
# Error shapes


def test_an_identity_error_gives_its_oauth_error_code() -> None:
    error = map_error(answer(400, {"error": "invalid_grant"}))
    assert isinstance(error, ValidationError)
    assert (error.status, error.code) == (400, "invalid_grant")


@pytest.mark.parametrize("spell", [str, str.lower])
def test_a_problem_body_gives_title_detail_and_instance_in_either_spelling(spell: Any) -> None:
    body = {spell("Title"): "Forbidden", spell("Status"): 403, spell("Detail"): "AuthenticationUnsuccessful"}
    body[spell("Instance")] = "65e420cd-796c-493b-8f52-5eae2ee667ce"
    error = map_error(answer(403, body))
    assert (error.detail, error.request_id) == (
        "AuthenticationUnsuccessful",
        "65e420cd-796c-493b-8f52-5eae2ee667ce",
    )
    assert "Forbidden" in str(error) and "ledgerlink connect xero" in error.remedy


def test_a_validation_exception_lists_every_element_message() -> None:
    body = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {"InvoiceNumber": "INV-1", "ValidationErrors": [{"Message": "Invoice # must be unique."}]},
            {
                "ValidationErrors": [
                    {"Message": "Contact is archived."},
                    {"Message": "Account code is not valid."},
                ]
            },
        ],
    }
    error = map_error(answer(400, body))
    assert isinstance(error, ValidationError) and error.code == "ValidationException"
    assert error.detail == "Invoice # must be unique.; Contact is archived.; Account code is not valid."


def test_a_legacy_xml_api_exception_is_read_too() -> None:
    xml = (
        '<ApiException xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><ErrorNumber>10</ErrorNumber>'
        "<Type>ValidationException</Type><Message>A validation exception occurred</Message><Elements>"
        "<DataContractBase><ValidationErrors><ValidationError><Message>Email address must be valid.</Message>"
        "</ValidationError></ValidationErrors></DataContractBase></Elements></ApiException>"
    )
    error = map_error(answer(400, text=xml))
    assert (error.code, error.detail) == ("ValidationException", "Email address must be valid.")
    assert "A validation exception occurred" in str(error)


def test_plain_text_from_an_offline_api_becomes_the_detail() -> None:
    error = map_error(answer(503, text="The Xero API is currently offline for maintenance"))
    assert type(error) is ApiError
    assert (error.status, error.detail) == (503, "The Xero API is currently offline for maintenance")


def test_a_429_names_the_limit_and_how_long_to_wait() -> None:
    headers = {"Retry-After": "37", "X-Rate-Limit-Problem": "minute"}
    error = map_error(answer(429, text="", headers=headers))
    assert isinstance(error, RateLimitedError)
    assert (error.code, error.retry_after) == ("minute", 37.0)


def test_a_404_is_not_found() -> None:
    assert isinstance(map_error(answer(404, text="")), NotFoundError)


def test_a_token_echoed_in_an_error_body_is_masked() -> None:
    body = {"Title": "Unauthorized", "Status": 401, "Detail": f"Bearer {TOKEN} refused; access_token={TOKEN}"}
    error = map_error(answer(401, body))
    assert TOKEN not in str(error) and TOKEN not in repr(error)


# ---------------------------------------------------------------------------------------------
# list_tenants


@respx.mock
def test_list_tenants_reads_xeros_seven_digit_utc_times_and_sends_the_bearer_token() -> None:
    route = respx.get(CONNECTIONS).respond(200, json=[CONNECTION, {**CONNECTION, "tenantName": None}])
    first, unnamed = list_tenants(CONNECTIONS, TOKEN, **NO_WAIT)
    assert first.created_at == datetime(2019, 12, 7, 18, 46, 19, 516540, tzinfo=UTC)
    assert (first.connection_id, first.tenant_id, first.auth_event_id) == (
        CONNECTION["id"],
        CONNECTION["tenantId"],
        CONNECTION["authEventId"],
    )
    assert first.reconnected and unnamed.tenant_name is None
    sent = route.calls.last.request
    assert sent.headers["authorization"] == f"Bearer {TOKEN}" and sent.headers["accept"] == "application/json"
    assert "authEventId" not in sent.url.params


@respx.mock
def test_list_tenants_passes_the_auth_event_filter() -> None:
    route = respx.get(CONNECTIONS).respond(200, json=[])
    assert list_tenants(CONNECTIONS, TOKEN, auth_event_id=CONNECTION["authEventId"], **NO_WAIT) == []
    assert route.calls.last.request.url.params["authEventId"] == CONNECTION["authEventId"]


@pytest.mark.parametrize("body", [{"connections": []}, [{"id": "x"}], "[", [CONNECTION, 7]])
@respx.mock
def test_an_answer_that_is_not_a_list_of_connections_is_an_api_error(body: Any) -> None:
    content = body if isinstance(body, str) else json.dumps(body)
    respx.get(CONNECTIONS).respond(200, content=content)
    with pytest.raises(ApiError, match="not a list of connections"):
        list_tenants(CONNECTIONS, TOKEN, **NO_WAIT)


@respx.mock
def test_a_401_for_a_bare_token_is_an_auth_error_without_the_token() -> None:
    respx.get(CONNECTIONS).respond(
        401, json={"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired"}
    )
    with pytest.raises(AuthError) as caught:
        list_tenants(CONNECTIONS, TOKEN, **NO_WAIT)
    assert TOKEN not in str(caught.value) and "ledgerlink connect xero" in caught.value.remedy


@respx.mock
def test_a_401_for_a_token_source_refreshes_once_and_retries() -> None:
    route = respx.get(CONNECTIONS)
    route.side_effect = [
        httpx.Response(401, json={"Title": "Unauthorized"}),
        httpx.Response(200, json=[CONNECTION]),
    ]
    source = RefreshingToken()
    assert len(list_tenants(CONNECTIONS, source, **NO_WAIT)) == 1
    assert source.refreshes == 1
    assert route.calls.last.request.headers["authorization"] == "Bearer xero-at-fresh-token-0002"


@respx.mock
def test_an_unavailable_api_is_retried_for_the_read() -> None:
    route = respx.get(CONNECTIONS)
    route.side_effect = [httpx.Response(503, text="offline"), httpx.Response(200, json=[CONNECTION])]
    assert len(list_tenants(CONNECTIONS, TOKEN, **NO_WAIT)) == 1
    assert route.call_count == 2


# ---------------------------------------------------------------------------------------------
# remove_connection


@respx.mock
def test_remove_connection_deletes_by_connection_id() -> None:
    route = respx.delete(f"{CONNECTIONS}/{CONNECTION['id']}").respond(204)
    assert remove_connection(CONNECTIONS, TOKEN, CONNECTION["id"], **NO_WAIT) is True
    assert route.called


@respx.mock
def test_removing_a_connection_xero_no_longer_knows_reports_false() -> None:
    respx.delete(f"{CONNECTIONS}/gone").respond(404, json={"Title": "Not Found", "Status": 404})
    assert remove_connection(CONNECTIONS, TOKEN, "gone", **NO_WAIT) is False


@respx.mock
def test_a_disconnect_whose_answer_was_lost_is_retried_and_then_counts_as_done() -> None:
    route = respx.delete(f"{CONNECTIONS}/{CONNECTION['id']}")
    route.side_effect = [httpx.Response(502, text="Bad Gateway"), httpx.Response(404, json={"Status": 404})]
    assert remove_connection(CONNECTIONS, TOKEN, CONNECTION["id"], **NO_WAIT) is False
    assert route.call_count == 2


@respx.mock
def test_a_connection_id_cannot_escape_its_path_segment() -> None:
    route = respx.delete(f"{CONNECTIONS}/a%2F..%2Fb").respond(204)
    assert remove_connection(CONNECTIONS, TOKEN, "a/../b", **NO_WAIT) is True
    assert route.called


# ---------------------------------------------------------------------------------------------
# The access token's authentication event


def test_the_auth_event_id_is_read_from_the_access_token_claims() -> None:
    assert auth_event_id_of(jwt({"authentication_event_id": "d99ecdfe", "exp": 1})) == "d99ecdfe"


@pytest.mark.parametrize(
    "token", [TOKEN, jwt({"exp": 1}), "a.%%%.c", "a.bm90LWpzb24.c", jwt({"authentication_event_id": 5})]
)
def test_a_token_without_a_readable_auth_event_gives_none(token: str) -> None:
    assert auth_event_id_of(token) is None


def test_a_missing_scope_is_explained_not_refreshed_away(respx_mock: respx.MockRouter) -> None:
    respx_mock.get("https://api.xero.test/connections").respond(
        401,
        headers={"WWW-Authenticate": 'Bearer error="insufficient_scope", scope="accounting.invoices"'},
        json={"Title": "Unauthorized", "Status": 401, "Detail": "insufficient scope"},
    )
    with pytest.raises(AuthError) as caught:
        list_tenants("https://api.xero.test/connections", "a-token-value-of-some-length")
    assert "accounting.invoices" in str(caught.value)
    assert "[xero] scopes" in caught.value.remedy
    assert respx_mock.calls.call_count == 1
