"""The Clio emulator behaves as the reference says Clio does, over real HTTP on 127.0.0.1."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.clio_records import round_half_up
from ledgerlink.sandbox.clio_seed import (
    BACKSLASH_COMPANY_NAME,
    LONG_BILL_NUMBER,
    LONG_COMPANY_NAME,
    seed_clio_demo,
)
from ledgerlink.sandbox.demo_firm import (
    EXISTING_CUSTOMER_EMAIL,
    EXISTING_CUSTOMER_NAME,
    FIRM_NAME,
    UNMAPPED_EXPENSE_CATEGORY,
    VENDOR_CONFLICT_NAME,
)

APPROVED = ("awaiting_payment", "paid")


def _client(box: Sandbox) -> httpx.Client:
    token = box.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    return httpx.Client(base_url=box.urls.clio_api, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    """One seeded demo firm shared by the tests that only read."""
    with Sandbox(SandboxState(settings=SandboxSettings(clio_rate_limit=100_000)), seed="demo") as box:
        yield box


@pytest.fixture(scope="module")
def api(demo: Sandbox) -> Iterator[httpx.Client]:
    with _client(demo) as client:
        yield client


@pytest.fixture
def fresh_api(sandbox: Sandbox) -> Iterator[httpx.Client]:
    """A client of a demo firm of this test's own, for tests that change records."""
    with _client(sandbox) as client:
        yield client


def _error(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message"}, body
    error: dict[str, Any] = body["error"]
    return error


@pytest.fixture
def clio() -> ClioEmulator:
    """An empty emulator driven through its Python API only (no server)."""
    return ClioEmulator(SandboxState())


def _first_bill(sandbox: Sandbox, **wanted: Any) -> dict[str, Any]:
    return next(b for b in sandbox.clio.records("bill") if all(b[k] == v for k, v in wanted.items()))


# --- fields= ---------------------------------------------------------------------------------


def test_without_fields_only_id_and_etag_are_returned(api: httpx.Client) -> None:
    response = api.get("/contacts.json", params={"limit": 3})

    assert response.status_code == 200
    assert [set(item) for item in response.json()["data"]] == [{"id", "etag"}] * 3


def test_requested_fields_are_returned_and_nothing_else(api: httpx.Client, demo: Sandbox) -> None:
    contact = demo.clio.records("contact")[0]

    response = api.get(f"/contacts/{contact['id']}.json", params={"fields": "id,name,is_client"})

    assert response.json() == {
        "data": {"id": contact["id"], "name": EXISTING_CUSTOMER_NAME, "is_client": True}
    }


def test_unknown_field_is_a_400_naming_the_field(api: httpx.Client) -> None:
    response = api.get("/bills.json", params={"fields": "id,number,totl"})

    assert response.status_code == 400
    error = _error(response)
    assert error["type"] == "ArgumentError"
    assert "totl is not a valid field" in error["message"]


def test_unknown_nested_field_is_a_400_naming_it(api: httpx.Client) -> None:
    response = api.get("/bills.json", params={"fields": "id,client{id,nickname}"})

    assert response.status_code == 400
    assert "nickname is not a valid field" in _error(response)["message"]


def test_nested_fields_select_fields_of_the_related_record(api: httpx.Client, demo: Sandbox) -> None:
    bill = _first_bill(demo)
    client = demo.clio.get("contact", bill["client"])
    matter = demo.clio.get("matter", bill["matters"][0])

    response = api.get(
        f"/bills/{bill['id']}.json", params={"fields": "id,client{id,name},matters{display_number}"}
    )

    assert response.json()["data"] == {
        "id": bill["id"],
        "client": {"id": client["id"], "name": client["name"]},
        "matters": [{"display_number": matter["display_number"]}],
    }


def test_nested_relation_without_braces_returns_its_default_fields(api: httpx.Client, demo: Sandbox) -> None:
    bill = _first_bill(demo)

    response = api.get(f"/bills/{bill['id']}.json", params={"fields": "client"})

    client = demo.clio.get("contact", bill["client"])
    assert response.json()["data"]["client"] == {
        "id": client["id"],
        "etag": client["etag"],
        "name": client["name"],
    }


def test_second_level_relation_without_braces_returns_its_default_fields(
    api: httpx.Client, demo: Sandbox
) -> None:
    response = api.get("/users/who_am_i.json", params={"fields": "id,account{name,owner}"})

    owner = next(u for u in demo.clio.records("user") if u["account_owner"])
    assert response.json()["data"]["account"] == {
        "name": FIRM_NAME,
        "owner": {"id": owner["id"], "etag": owner["etag"], "name": owner["name"]},
    }


def test_braces_at_the_second_level_are_a_400(api: httpx.Client) -> None:
    response = api.get("/line_items.json", params={"fields": "id,activity{id,expense_category{id,name}}"})

    assert response.status_code == 400
    assert _error(response)["type"] == "ArgumentError"


@pytest.mark.parametrize("fields", ["id,,name", "id,client{id", "id}", "client{}", "name{id}"])
def test_malformed_fields_are_a_400(api: httpx.Client, fields: str) -> None:
    response = api.get("/bills.json", params={"fields": fields})

    assert response.status_code == 400


def test_a_field_the_sandbox_does_not_emulate_is_a_400_that_says_so(api: httpx.Client) -> None:
    response = api.get("/contacts.json", params={"fields": "id,avatar"})

    assert response.status_code == 400
    message = _error(response)["message"]
    assert "does not emulate" in message and "is not a valid field" not in message


COOKBOOK = [
    ("/users/who_am_i.json", {"fields": "id,name,email,account_owner,account{id,name}"}),
    (
        "/users.json",
        {"fields": "id,name,email,enabled,account_owner,subscription_type,roles", "order": "id(asc)"},
    ),
    (
        "/contacts.json",
        {
            "order": "id(asc)",
            "updated_since": "2026-01-01T00:00:00+00:00",
            "fields": "id,etag,type,name,first_name,last_name,is_client,primary_email_address,"
            "email_addresses{id,address,name,primary},phone_numbers{id,number,name,primary},"
            "addresses{id,name,street,city,province,postal_code,country,primary},company{id,name},"
            "sales_tax_number,custom_field_values{id,value,field_name,custom_field},updated_at",
        },
    ),
    (
        "/matters.json",
        {
            "order": "id(asc)",
            "updated_since": "2026-01-01T00:00:00+00:00",
            "fields": "id,etag,display_number,number,description,status,client{id,name,type},billable,"
            "billing_method,open_date,close_date,updated_at",
        },
    ),
    (
        "/bills.json",
        {
            "order": "id(asc)",
            "updated_since": "2026-01-01T00:00:00+00:00",
            "fields": "id,etag,number,state,kind,type,issued_at,due_at,total,sub_total,balance,paid,"
            "paid_at,due,credits_issued,tax_rate,secondary_tax_rate,tax_sum,secondary_tax_sum,total_tax,"
            "client{id,name},matters{id,display_number},currency{code},updated_at",
        },
    ),
    (
        "/activities.json",
        {
            "order": "id(asc)",
            "updated_since": "2026-01-01T00:00:00+00:00",
            "fields": "id,etag,type,date,quantity,quantity_in_hours,price,total,non_billable,no_charge,"
            "billed,on_bill,note,reference,tax_setting,user{id,name},matter{id,display_number},"
            "activity_description{id,name},expense_category{id,name,entry_type},vendor{id,name},"
            "bill{id,number},updated_at",
        },
    ),
    (
        "/settings/billing.json",
        {
            "fields": "tax_name,tax_rate,use_secondary_tax,secondary_tax_name,secondary_tax_rate,"
            "secondary_tax_rule,currency"
        },
    ),
]


@pytest.mark.parametrize(("path", "params"), COOKBOOK, ids=[path for path, _ in COOKBOOK])
def test_every_cookbook_read_is_served_with_the_fields_it_asks_for(
    api: httpx.Client, path: str, params: dict[str, str]
) -> None:
    response = api.get(path, params=params)

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    first = data[0] if isinstance(data, list) else data
    top_level = [name.split("{")[0] for name in params["fields"].replace("}", "").split(",") if name]
    assert set(first) >= {name for name in top_level if name in first} and len(first) > 3


def test_line_items_cookbook_read_gives_each_line_its_activity(api: httpx.Client, demo: Sandbox) -> None:
    bill = _first_bill(demo, state="paid")
    fields = (
        "id,type,kind,description,date,quantity,price,sub_total,total,tax,secondary_tax,taxable,"
        "secondary_taxable,activity{id,type},matter{id},user{id}"
    )

    response = api.get(
        "/line_items.json", params={"bill_id": bill["id"], "order": "id(asc)", "fields": fields}
    )

    assert response.status_code == 200
    lines = response.json()["data"]
    assert lines and all(line["activity"]["type"] in ("TimeEntry", "ExpenseEntry") for line in lines)
    assert sum(Decimal(str(line["total"])) for line in lines) == bill["sub_total"]


# --- paging ----------------------------------------------------------------------------------


def _add_contacts(sandbox: Sandbox, count: int) -> list[int]:
    return [sandbox.clio.add_contact(type="Company", name=f"Client {n:04d} Inc.")["id"] for n in range(count)]


def test_cursor_paging_walks_more_than_200_records_through_next_links(
    empty_sandbox: Sandbox,
) -> None:
    ids = _add_contacts(empty_sandbox, 450)
    token = empty_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    seen: list[int] = []
    pages = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        url: str | None = (
            f"{empty_sandbox.urls.clio_api}/contacts.json?order=id(asc)&fields=id,name&type=Company"
        )
        while url:
            body = http.get(url).json()
            pages.append(body["meta"]["paging"])
            seen += [item["id"] for item in body["data"]]
            assert all(set(item) == {"id", "name"} for item in body["data"])
            url = body["meta"]["paging"].get("next")

    assert seen == ids
    assert len(pages) == 3
    assert "previous" not in pages[0] and "next" not in pages[-1]
    next_link = httpx.URL(pages[0]["next"])
    assert next_link.params["fields"] == "id,name" and next_link.params["type"] == "Company"
    assert next_link.params["page_token"]


def test_previous_link_returns_the_page_before(empty_sandbox: Sandbox) -> None:
    ids = _add_contacts(empty_sandbox, 5)
    token = empty_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        first = http.get(f"{empty_sandbox.urls.clio_api}/contacts.json?limit=2").json()
        second = http.get(first["meta"]["paging"]["next"]).json()
        back = http.get(second["meta"]["paging"]["previous"]).json()

    assert [c["id"] for c in second["data"]] == ids[2:4]
    assert back["data"] == first["data"]


@pytest.mark.parametrize(
    ("path", "limit"), [("/contacts.json", 0), ("/contacts.json", 201), ("/users.json", 2001)]
)
def test_limit_out_of_range_is_a_400(api: httpx.Client, path: str, limit: int) -> None:
    assert api.get(path, params={"limit": limit}).status_code == 400


def test_users_may_be_listed_2000_at_a_time(api: httpx.Client) -> None:
    assert api.get("/users.json", params={"limit": 2000}).status_code == 200


def test_offset_paging_follows_the_requested_order(api: httpx.Client, demo: Sandbox) -> None:
    names = sorted(c["name"] for c in demo.clio.records("contact"))

    first = api.get("/contacts.json", params={"order": "name(asc)", "limit": 10, "fields": "name"}).json()
    second = api.get(first["meta"]["paging"]["next"]).json()

    assert [c["name"] for c in first["data"] + second["data"]] == names[:20]
    assert httpx.URL(first["meta"]["paging"]["next"]).params["offset"] == "10"


def test_offset_paging_past_10000_records_is_a_422_argument_error(api: httpx.Client) -> None:
    response = api.get("/contacts.json", params={"offset": 10_000})

    assert response.status_code == 422
    assert _error(response)["type"] == "ArgumentError"


def test_a_page_token_from_nowhere_is_a_400(api: httpx.Client) -> None:
    assert api.get("/contacts.json", params={"page_token": "not-a-token"}).status_code == 400


# --- filters ---------------------------------------------------------------------------------


def test_updated_since_returns_records_updated_strictly_after(
    fresh_api: httpx.Client, sandbox: Sandbox
) -> None:
    contact = sandbox.clio.records("contact")[3]
    sandbox.state.clock.advance(120)
    changed = sandbox.clio.update_contact(contact["id"], title="Managing Member")

    def ids_since(moment: datetime) -> list[int]:
        response = fresh_api.get("/contacts.json", params={"updated_since": moment.isoformat()})
        assert response.status_code == 200
        return [c["id"] for c in response.json()["data"]]

    assert ids_since(changed["updated_at"] - timedelta(seconds=60)) == [contact["id"]]
    assert ids_since(changed["updated_at"]) == []


def test_updated_since_without_a_utc_offset_is_a_400(api: httpx.Client) -> None:
    assert api.get("/contacts.json", params={"updated_since": "2026-01-01T00:00:00"}).status_code == 400


def test_ids_filter_returns_only_those_records(api: httpx.Client, demo: Sandbox) -> None:
    wanted = [b["id"] for b in demo.clio.records("bill")[5:8]]

    response = api.get("/bills.json", params=[("ids[]", i) for i in reversed(wanted)])

    assert [b["id"] for b in response.json()["data"]] == wanted


def _bill_numbers(api: httpx.Client, **params: Any) -> set[str]:
    response = api.get("/bills.json", params={"fields": "number", **params})
    assert response.status_code == 200, response.text
    return {b["number"] for b in response.json()["data"]}


def test_bills_filter_by_state_client_and_number(api: httpx.Client, demo: Sandbox) -> None:
    bills = demo.clio.records("bill")
    client = bills[0]["client"]

    assert _bill_numbers(api, state="void") == {b["number"] for b in bills if b["state"] == "void"}
    assert _bill_numbers(api, client_id=client) == {b["number"] for b in bills if b["client"] == client}
    assert _bill_numbers(api, bill_number=LONG_BILL_NUMBER) == {LONG_BILL_NUMBER}


def test_issued_after_and_before_are_strict(api: httpx.Client, demo: Sandbox) -> None:
    bills = demo.clio.records("bill")
    new_year = {b["number"] for b in bills if b["issued_at"].isoformat() == "2026-01-01"}
    assert new_year  # the seed issues one bill on the boundary

    assert _bill_numbers(api, issued_after="2026-01-01") == {
        b["number"] for b in bills if b["issued_at"].isoformat() > "2026-01-01"
    }
    assert _bill_numbers(api, issued_after="2025-12-31", issued_before="2026-01-02") == new_year


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/bills.json", {"state": "approved"}),
        ("/bills.json", {"client_id": "abc"}),
        ("/bills.json", {"client_id": "null"}),
        ("/bills.json", {"issued_after": "2026-13-01"}),
        ("/bills.json", {"issued_after": "01/02/2026"}),
        ("/line_items.json", {"bill_id": "null"}),
        ("/line_items.json", {"kind": "Time"}),
        ("/activities.json", {"type": "Timer"}),
        ("/contacts.json", {"type": "Robot"}),
        ("/contacts.json", {"ids[]": "x"}),
        ("/bills.json", {"order": "total(asc)"}),
    ],
)
def test_invalid_filter_values_are_a_400(api: httpx.Client, path: str, params: dict[str, str]) -> None:
    response = api.get(path, params=params)

    assert response.status_code == 400
    assert _error(response)["type"] == "ArgumentError"


def test_unknown_parameter_is_a_400_naming_it(api: httpx.Client) -> None:
    response = api.get("/bills.json", params={"states": "paid"})

    assert response.status_code == 400
    assert "states" in _error(response)["message"]


def test_a_single_valued_parameter_given_twice_is_a_400(api: httpx.Client) -> None:
    assert api.get("/bills.json", params=[("state", "paid"), ("state", "void")]).status_code == 400


def test_line_items_filter_by_bill_and_kind(api: httpx.Client, demo: Sandbox) -> None:
    lines = demo.clio.records("line_item")
    bill_id = next(line["bill"] for line in lines if line["kind"] == "Expense")

    response = api.get("/line_items.json", params={"bill_id": bill_id, "kind": "Expense", "fields": "id"})

    wanted = [line["id"] for line in lines if line["bill"] == bill_id and line["kind"] == "Expense"]
    assert [line["id"] for line in response.json()["data"]] == wanted


def test_activities_filter_by_matter_and_type(api: httpx.Client, demo: Sandbox) -> None:
    activities = demo.clio.records("activity")
    matter = activities[0]["matter"]

    response = api.get("/activities.json", params={"matter_id": matter, "type": "TimeEntry"})

    wanted = [a["id"] for a in activities if a["matter"] == matter and a["type"] == "TimeEntry"]
    assert [a["id"] for a in response.json()["data"]] == wanted


def test_contacts_filter_by_type_and_query(api: httpx.Client) -> None:
    companies = api.get("/contacts.json", params={"type": "Company", "fields": "type"}).json()["data"]
    found = api.get("/contacts.json", params={"query": "o'brien", "fields": "name"}).json()["data"]

    assert companies and {c["type"] for c in companies} == {"Company"}
    assert found == [{"name": "Patrick O'Brien"}]


# --- auth, versions, rate limits -------------------------------------------------------------

INVALID_TOKEN = {
    "error": "invalid_token",
    "error_description": (
        "The access token provided is expired, revoked, malformed or invalid for other reasons."
    ),
}


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_missing_or_invalid_token_is_a_401_with_the_oauth_error_body(
    demo: Sandbox, header: str | None
) -> None:
    headers = {"Authorization": header} if header is not None else {}

    response = httpx.get(f"{demo.urls.clio_api}/contacts.json", headers=headers)

    assert response.status_code == 401
    assert response.json() == INVALID_TOKEN


def test_expired_and_qbo_tokens_are_rejected(sandbox: Sandbox, fresh_api: httpx.Client) -> None:
    qbo = sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "1").access_token
    assert (
        httpx.get(
            f"{sandbox.urls.clio_api}/contacts.json", headers={"Authorization": f"Bearer {qbo}"}
        ).status_code
        == 401
    )

    sandbox.state.tokens.expire_all_access_tokens()

    assert fresh_api.get("/contacts.json").status_code == 401


def test_absent_version_is_served_as_the_default_and_echoed(api: httpx.Client) -> None:
    response = api.get("/users/who_am_i.json")

    assert response.headers["X-API-VERSION"] == "4.0.13"


@pytest.mark.parametrize("version", ["4.0.0", "4.0.9", "4.0.13"])
def test_a_supported_version_is_echoed(api: httpx.Client, version: str) -> None:
    response = api.get("/users/who_am_i.json", headers={"X-API-VERSION": version})

    assert response.status_code == 200
    assert response.headers["X-API-VERSION"] == version


@pytest.mark.parametrize("version", ["4.0.14", "4.1.0", "3.0.0", "latest"])
def test_an_unknown_version_is_410_gone(api: httpx.Client, version: str) -> None:
    response = api.get("/users/who_am_i.json", headers={"X-API-VERSION": version})

    assert response.status_code == 410
    assert "X-API-VERSION" not in response.headers


@pytest.fixture
def tight_sandbox() -> Iterator[Sandbox]:
    """A sandbox whose Clio allows three requests per token per 60-second window."""
    settings = SandboxSettings(clio_rate_limit=3, clio_rate_window=60)
    with Sandbox(SandboxState(settings=settings), seed="empty") as box:
        yield box


def test_every_response_carries_the_rate_limit_headers_and_the_fourth_is_a_429(
    tight_sandbox: Sandbox,
) -> None:
    token = tight_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token
    url = f"{tight_sandbox.urls.clio_api}/contacts.json"
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}) as http:
        responses = [http.get(url) for _ in range(4)]

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert [r.headers["X-RateLimit-Remaining"] for r in responses] == ["2", "1", "0", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in responses} == {"3"}
    reset = int(responses[0].headers["X-RateLimit-Reset"])
    assert tight_sandbox.state.clock.now() < reset <= tight_sandbox.state.clock.now() + 61
    assert 1 <= int(responses[3].headers["Retry-After"]) <= 61
    assert _error(responses[3])["type"] == "RateLimited"


def test_the_rate_limit_is_per_token_and_resets_with_the_window(tight_sandbox: Sandbox) -> None:
    tokens = [
        tight_sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token for _ in range(2)
    ]
    url = f"{tight_sandbox.urls.clio_api}/contacts.json"

    def get(token: str) -> int:
        return httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code

    assert [get(tokens[0]) for _ in range(4)] == [200, 200, 200, 429]
    assert get(tokens[1]) == 200
    tight_sandbox.state.clock.advance(61)
    assert get(tokens[0]) == 200


# --- single records, ETags -------------------------------------------------------------------


def test_a_single_record_carries_its_etag_and_if_none_match_gives_304(
    api: httpx.Client, demo: Sandbox
) -> None:
    contact = demo.clio.records("contact")[0]
    url = f"/contacts/{contact['id']}.json"

    first = api.get(url, params={"fields": "id,etag"})
    again = api.get(url, params={"fields": "id,etag"}, headers={"If-None-Match": first.headers["ETag"]})

    assert first.headers["ETag"] == first.json()["data"]["etag"] == contact["etag"]
    assert again.status_code == 304 and again.content == b""


def test_a_changed_record_has_a_new_etag_and_is_sent_again(fresh_api: httpx.Client, sandbox: Sandbox) -> None:
    contact = sandbox.clio.records("contact")[0]
    url = f"/contacts/{contact['id']}.json"
    before = fresh_api.get(url).headers["ETag"]

    sandbox.clio.update_contact(contact["id"], title="Director")
    after = fresh_api.get(url, headers={"If-None-Match": before})

    assert after.status_code == 200
    assert after.headers["ETag"] != before


def test_if_modified_since_its_last_modification_gives_304(api: httpx.Client, demo: Sandbox) -> None:
    bill = _first_bill(demo)
    url = f"/bills/{bill['id']}.json"
    last_modified = api.get(url).headers["Last-Modified"]

    assert api.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    assert api.get(url, headers={"If-Modified-Since": "Mon, 01 Jan 2024 00:00:00 GMT"}).status_code == 200


def test_unknown_id_is_a_404_even_when_it_is_the_id_of_another_kind(api: httpx.Client, demo: Sandbox) -> None:
    bill = _first_bill(demo)

    response = api.get(f"/contacts/{bill['id']}.json")

    assert response.status_code == 404
    assert _error(response)["type"] == "RecordNotFound"


def test_the_json_suffix_is_optional(api: httpx.Client) -> None:
    with_suffix = api.get("/contacts.json", params={"limit": 2}).json()
    without = api.get("/contacts", params={"limit": 2}).json()

    assert with_suffix["data"] == without["data"]


def test_who_am_i_is_the_account_owner_with_the_firm(api: httpx.Client) -> None:
    response = api.get("/users/who_am_i.json", params={"fields": "name,account_owner,account{id,name}"})

    assert response.json()["data"] == {
        "name": "Eleanor Hartwell",
        "account_owner": True,
        "account": {"id": 1001, "name": FIRM_NAME},
    }


def test_billing_settings_are_the_firm_sales_tax(api: httpx.Client) -> None:
    response = api.get(
        "/settings/billing.json", params={"fields": "tax_name,tax_rate,use_secondary_tax,currency"}
    )

    assert response.json()["data"] == {
        "tax_name": "Sales Tax",
        "tax_rate": 8.875,
        "use_secondary_tax": False,
        "currency": "USD",
    }


def test_lists_are_read_only(api: httpx.Client) -> None:
    assert api.post("/bills.json", json={"data": {}}).status_code == 405


# --- PATCH /contacts/{id} --------------------------------------------------------------------


def test_patching_a_contact_changes_it_and_gives_it_a_new_etag(
    fresh_api: httpx.Client, sandbox: Sandbox
) -> None:
    contact = sandbox.clio.records("contact")[0]
    email_id = contact["email_addresses"][0]["id"]
    sandbox.state.clock.advance(5)

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        params={"fields": "id,etag,name,primary_email_address,email_addresses{address,primary}"},
        headers={"If-Match": contact["etag"]},
        json={
            "data": {
                "last_name": "Whitfield-Moore",
                "email_addresses": [
                    {"id": email_id, "_destroy": True},
                    {"name": "Work", "address": "dana@whitfield.example", "default_email": True},
                ],
            }
        },
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["name"] == "Dana Whitfield-Moore"
    assert data["primary_email_address"] == "dana@whitfield.example"
    assert data["email_addresses"] == [{"address": "dana@whitfield.example", "primary": True}]
    assert data["etag"] != contact["etag"]
    assert sandbox.clio.get("contact", contact["id"])["updated_at"] > contact["updated_at"]


def test_patching_with_a_stale_etag_is_a_412(fresh_api: httpx.Client, sandbox: Sandbox) -> None:
    contact = sandbox.clio.records("contact")[0]
    sandbox.clio.update_contact(contact["id"], title="Owner")

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        headers={"If-Match": contact["etag"]},
        json={"data": {"title": "CEO"}},
    )

    assert response.status_code == 412
    assert sandbox.clio.get("contact", contact["id"])["title"] == "Owner"


def _person_with_details(sandbox: Sandbox) -> dict[str, Any]:
    return sandbox.clio.add_contact(
        type="Person",
        first_name="Dana",
        last_name="Whitfield",
        email_addresses=[{"name": "Work", "address": "dana@old.example", "primary": True}],
        phone_numbers=[{"name": "Work", "number": "555-0100", "primary": True}],
        addresses=[
            {"name": "Billing", "street": "1 Main St", "city": "Albany", "province": "NY", "primary": True}
        ],
    )


def test_patching_a_first_name_renames_the_person(fresh_api: httpx.Client, sandbox: Sandbox) -> None:
    contact = _person_with_details(sandbox)

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        params={"fields": "name,first_name,last_name"},
        headers={"If-Match": contact["etag"]},
        json={"data": {"first_name": "Danielle"}},
    )

    assert response.json()["data"] == {
        "name": "Danielle Whitfield",
        "first_name": "Danielle",
        "last_name": "Whitfield",
    }


def test_a_phone_number_without_id_is_added_and_may_become_the_primary_one(
    fresh_api: httpx.Client, sandbox: Sandbox
) -> None:
    contact = _person_with_details(sandbox)

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        params={"fields": "primary_phone_number,phone_numbers{number,name,primary}"},
        json={"data": {"phone_numbers": [{"name": "Mobile", "number": "555-0199", "default_number": True}]}},
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"] == {
        "primary_phone_number": "555-0199",
        "phone_numbers": [
            {"number": "555-0100", "name": "Work", "primary": False},
            {"number": "555-0199", "name": "Mobile", "primary": True},
        ],
    }


def test_nested_items_with_an_id_are_updated_in_place(fresh_api: httpx.Client, sandbox: Sandbox) -> None:
    contact = _person_with_details(sandbox)
    email_id, address_id = contact["email_addresses"][0]["id"], contact["addresses"][0]["id"]

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        params={
            "fields": "primary_email_address,email_addresses{id,address},addresses{id,street,city,province}"
        },
        json={
            "data": {
                "email_addresses": [{"id": email_id, "address": "dana@new.example"}],
                "addresses": [{"id": address_id, "city": "Troy"}],
            }
        },
    )

    assert response.json()["data"] == {
        "primary_email_address": "dana@new.example",
        "email_addresses": [{"id": email_id, "address": "dana@new.example"}],
        "addresses": [{"id": address_id, "street": "1 Main St", "city": "Troy", "province": "NY"}],
    }


def test_a_nested_item_of_another_contact_is_a_404(fresh_api: httpx.Client, sandbox: Sandbox) -> None:
    contact = _person_with_details(sandbox)
    stranger = _person_with_details(sandbox)

    response = fresh_api.patch(
        f"/contacts/{contact['id']}.json",
        json={"data": {"email_addresses": [{"id": stranger["email_addresses"][0]["id"], "_destroy": True}]}},
    )

    assert response.status_code == 404
    assert sandbox.clio.get("contact", stranger["id"])["primary_email_address"] == "dana@old.example"


def test_a_person_left_without_first_or_last_name_is_a_422(api: httpx.Client, demo: Sandbox) -> None:
    contact = demo.clio.records("contact")[0]

    response = api.patch(
        f"/contacts/{contact['id']}.json", json={"data": {"first_name": None, "last_name": None}}
    )

    assert response.status_code == 422
    assert _error(response)["message"] == "At least one of first name or last name must be provided"


def test_patching_an_unknown_attribute_is_a_400_naming_it(api: httpx.Client, demo: Sandbox) -> None:
    contact = demo.clio.records("contact")[0]

    response = api.patch(f"/contacts/{contact['id']}.json", json={"data": {"nickname": "D"}})

    assert response.status_code == 400
    assert "nickname" in _error(response)["message"]


# --- money: the emulator's arithmetic --------------------------------------------------------


def test_every_seeded_bill_adds_up_to_the_cent(demo: Sandbox) -> None:
    lines_by_bill: dict[int, list[dict[str, Any]]] = {}
    for line in demo.clio.records("line_item"):
        assert line["total"] == line["sub_total"] == round_half_up(line["quantity"] * line["price"])
        lines_by_bill.setdefault(line["bill"], []).append(line)

    for bill in demo.clio.records("bill"):
        lines = lines_by_bill.get(bill["id"], [])
        taxable = sum((line["total"] for line in lines if line["taxable"]), Decimal(0))
        if bill["kind"] == "trust_kind":  # a trust request charges the amount requested, not lines
            assert lines == [] and bill["sub_total"] == bill["trust_amount"] > 0
        else:
            assert bill["sub_total"] == sum((line["total"] for line in lines), Decimal(0))
        assert bill["tax_sum"] == round_half_up(taxable * bill["tax_rate"] / 100)
        assert bill["total"] == bill["sub_total"] + bill["total_tax"] + bill["interest"]["total"]
        assert bill["balance"] == bill["total"] - bill["paid"] - bill["credits_issued"]
        if bill["state"] in APPROVED:
            assert (bill["state"] == "paid") == (bill["balance"] == 0)


def test_editing_a_line_item_recomputes_and_bumps_its_bill(sandbox: Sandbox) -> None:
    bill = _first_bill(sandbox, state="awaiting_payment")
    line = next(li for li in sandbox.clio.records("line_item") if li["bill"] == bill["id"])
    sandbox.state.clock.advance(30)

    sandbox.clio.update_line_item(line["id"], quantity=line["quantity"] + 1)

    after = sandbox.clio.get("bill", bill["id"])
    assert after["sub_total"] == bill["sub_total"] + round_half_up(line["price"])
    assert after["etag"] != bill["etag"] and after["updated_at"] > bill["updated_at"]


def test_deleting_the_only_line_of_a_paid_bill_leaves_a_credit_balance(clio: ClioEmulator) -> None:
    client = clio.add_contact(type="Company", name="Acme Corp")
    bill = clio.add_bill(client=client["id"], state="awaiting_payment", number="7", tax_rate=Decimal("10"))
    line = clio.add_line_item(
        bill=bill["id"], kind="Service", quantity=Decimal("1.5"), price=200, taxable=True
    )
    allocation = clio.record_payment(bill["id"])
    paid = clio.get("bill", bill["id"])

    clio.delete_line_item(line["id"])

    after = clio.get("bill", bill["id"])
    assert allocation["amount"] == Decimal("330.00")
    assert (paid["total"], paid["state"]) == (Decimal("330.00"), "paid")
    assert (after["total"], after["balance"], after["state"]) == (0, Decimal("-330.00"), "awaiting_payment")


def test_bill_amounts_cannot_be_set_directly(clio: ClioEmulator) -> None:
    with pytest.raises(ValueError, match="derived"):
        clio.add_bill(state="draft", number="1", total=Decimal("10"))


# --- the demo firm ---------------------------------------------------------------------------


def test_the_demo_firm_has_the_records_a_sync_must_cope_with(demo: Sandbox) -> None:
    clio = demo.clio
    contacts = {c["name"]: c for c in clio.records("contact")}
    bills = clio.records("bill")
    billed = {b["client"] for b in bills}
    categories = {c["id"]: c["name"] for c in clio.records("expense_category")}
    lines = clio.records("line_item")

    assert len(contacts) >= 40 and len(clio.records("matter")) >= 25 and len(bills) >= 150
    every_state = {"draft", "awaiting_approval", "awaiting_payment", "paid", "void", "deleted"}
    assert set(Counter(b["state"] for b in bills)) == every_state
    assert demo.state.clio_accounts == {"1001": FIRM_NAME}
    assert len(LONG_COMPANY_NAME) == 120
    specials = ("Zoë Åkesson-Nuñez", "Łukasz Żółć", "Patrick O'Brien", BACKSLASH_COMPANY_NAME)
    for name in (*specials, LONG_COMPANY_NAME, VENDOR_CONFLICT_NAME, EXISTING_CUSTOMER_NAME):
        states = {b["state"] for b in bills if b["client"] == contacts[name]["id"]}
        assert states and states <= set(APPROVED), name
    assert contacts[EXISTING_CUSTOMER_NAME]["primary_email_address"] == EXISTING_CUSTOMER_EMAIL
    assert contacts[VENDOR_CONFLICT_NAME]["type"] == "Company"
    assert any(c["primary_email_address"] is None for c in contacts.values())
    assert any(c["id"] not in billed for c in contacts.values())
    assert sum(1 for b in bills if b["issued_at"].year == 2025) >= 5
    assert [b["number"] for b in bills if len(b["number"]) > 21] == [LONG_BILL_NUMBER]
    assert len({b["number"] for b in bills}) == len(bills)
    assert any(b["state"] in APPROVED and b["sub_total"] == 0 and b["total"] == 0 for b in bills)
    activity_category = {a["id"]: a.get("expense_category") for a in clio.records("activity")}
    unmapped = {
        li["bill"]
        for li in lines
        if categories.get(activity_category[li["activity"]]) == UNMAPPED_EXPENSE_CATEGORY
    }
    assert 1 <= len(unmapped) <= 2
    assert any(li["total"] == 0 for li in lines)
    refund = next(li for li in lines if li["total"] < 0)
    assert clio.get("bill", refund["bill"])["total"] > 0
    assert any(b["tax_sum"] > 0 for b in bills) and any(b["interest"]["total"] > 0 for b in bills)


def test_the_demo_firm_is_the_same_on_every_run() -> None:
    def snapshot() -> list[tuple[str, str, Decimal]]:
        clio = ClioEmulator(SandboxState())
        seed_clio_demo(clio)
        return [(b["number"], b["state"], b["total"]) for b in clio.records("bill")]

    assert snapshot() == snapshot()


def test_records_are_stamped_with_the_sandbox_clock(clio: ClioEmulator) -> None:
    clio.state.clock.advance(86_400)

    contact = clio.add_contact(type="Company", name="Later LLC")

    assert contact["created_at"] > datetime.now(UTC) + timedelta(hours=23)
