"""QboClient against the sandbox (and respx for the edges a live emulator never produces)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from ledgerlink.errors import (
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    ValidationError,
)
from ledgerlink.http import RateLimiter
from ledgerlink.providers.qbo import BatchItem, Customer, Invoice, QboClient
from ledgerlink.sandbox import FaultRule, Sandbox, qbo_seed
from ledgerlink.sandbox.demo_firm import (
    EXISTING_CUSTOMER_EMAIL,
    EXISTING_CUSTOMER_NAME,
    QBO_COMPANY_NAME,
    QBO_REALM_ID,
    VENDOR_CONFLICT_NAME,
)
from tests.conftest import StaticToken

REALM = QBO_REALM_ID


class SandboxSleep:
    """An injected ``sleep``: records each wait and moves the sandbox clock instead of sleeping."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sandbox.state.clock.advance(seconds)


@pytest.fixture
def sleep(sandbox: Sandbox) -> SandboxSleep:
    return SandboxSleep(sandbox)


@pytest.fixture
def client(sandbox: Sandbox, qbo_token: StaticToken, sleep: SandboxSleep) -> Iterator[QboClient]:
    with QboClient.connect(sandbox.urls.qbo_api, REALM, qbo_token, sleep=sleep) as qbo:
        yield qbo


def customer_id(client: QboClient, name: str) -> str:
    (row,) = client.find_by_display_name("Customer", name)
    return str(row["Id"])


def invoice_body(client: QboClient, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id(client, "Greenleaf Nursery Supply")},
        "TxnDate": "2024-05-31",
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("712.50"),
                "Description": "Drafting: lease review",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": Decimal("2.85"), "UnitPrice": 250},
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": Decimal("0.10"),
                "SalesItemLineDetail": {"ItemRef": {"value": "3"}},
            },
        ],
    }
    body.update(overrides)
    return body


# -- writes ---------------------------------------------------------------------------------------------


def test_creating_a_customer_returns_the_stored_record(client: QboClient) -> None:
    created = client.create(
        "Customer", {"DisplayName": "Harriet Vane", "GivenName": "Harriet"}, request_id="c-1"
    )
    customer = Customer.model_validate(created)
    assert (customer.DisplayName, customer.SyncToken, customer.Active) == ("Harriet Vane", "0", True)
    assert client.read("Customer", customer.Id) == created


def test_a_customer_named_like_a_seeded_vendor_raises_validation_error_6240(client: QboClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.create("Customer", {"DisplayName": VENDOR_CONFLICT_NAME}, request_id="c-2")
    error = caught.value
    assert (error.code, error.status, error.message) == ("6240", 400, "Duplicate Name Exists Error")
    assert error.detail and "Another customer, vendor or employee" in error.detail
    assert error.request_id and error.request_id.startswith("1-")


def test_an_invoice_is_created_with_decimal_totals(client: QboClient) -> None:
    created = client.create("Invoice", invoice_body(client, DocNumber="2024-0001"), request_id="inv-1")
    invoice = Invoice.model_validate(created)
    assert invoice.TotalAmt == invoice.Balance == Decimal("712.60")
    assert isinstance(created["TotalAmt"], Decimal)
    assert [line.Amount for line in invoice.item_lines] == [Decimal("712.50"), Decimal("0.10")]
    assert invoice.item_lines[0].SalesItemLineDetail is not None
    assert invoice.item_lines[0].SalesItemLineDetail.Qty == Decimal("2.85")
    assert invoice.DocNumber == "2024-0001"


def test_a_line_whose_amount_disagrees_with_qty_times_rate_raises_6070(client: QboClient) -> None:
    body = invoice_body(client)
    body["Line"][0]["Amount"] = Decimal("712.49")
    with pytest.raises(ValidationError) as caught:
        client.create("Invoice", body, request_id="inv-2")
    assert caught.value.code == "6070"


def test_a_sparse_update_bumps_the_version_and_a_stale_one_raises_conflict(client: QboClient) -> None:
    created = client.create("Customer", {"DisplayName": "Peter Wimsey"}, request_id="c-3")
    updated = client.update(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "Notes": "Balliol"}, request_id="c-3-u1"
    )
    assert (updated["SyncToken"], updated["Notes"], updated["DisplayName"]) == (
        "1",
        "Balliol",
        "Peter Wimsey",
    )
    with pytest.raises(ConflictError) as caught:
        client.update(
            "Customer", {"Id": created["Id"], "SyncToken": "0", "Notes": "late"}, request_id="c-3-u2"
        )
    assert caught.value.code == "5010"


def test_an_update_without_a_version_is_refused_before_sending(client: QboClient) -> None:
    with pytest.raises(ValueError, match="SyncToken"):
        client.update("Customer", {"Id": "5", "Notes": "x"}, request_id="c-4")


def test_voiding_and_deleting_invoices(client: QboClient) -> None:
    first = client.create("Invoice", invoice_body(client), request_id="inv-3")
    voided = client.void_invoice(first["Id"], first["SyncToken"], request_id="inv-3-void")
    assert (voided["TotalAmt"], voided["PrivateNote"], voided["SyncToken"]) == (0, "Voided", "1")
    second = client.create("Invoice", invoice_body(client), request_id="inv-4")
    client.delete("Invoice", second["Id"], second["SyncToken"], request_id="inv-4-del")
    with pytest.raises(NotFoundError) as caught:
        client.read("Invoice", second["Id"])
    assert caught.value.code == "610"


def test_a_retried_write_whose_answer_was_lost_creates_one_record(
    sandbox: Sandbox, client: QboClient, sleep: SandboxSleep
) -> None:
    sandbox.state.faults.add(FaultRule("drop_after_commit", method="POST", path="/customer$"))
    created = client.create("Customer", {"DisplayName": "Mervyn Bunter"}, request_id="ll-contact-9")
    assert created["DisplayName"] == "Mervyn Bunter"
    assert [c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")].count("Mervyn Bunter") == 1
    assert 0.5 in sleep.waits  # the transport backed off once, then repeated the same requestid


def test_after_a_429_the_client_waits_the_default_and_retries(
    sandbox: Sandbox, qbo_token: StaticToken, sleep: SandboxSleep
) -> None:
    sandbox.state.settings.qbo_per_second = 1
    with QboClient.connect(
        sandbox.urls.qbo_api,
        REALM,
        qbo_token,
        sleep=sleep,
        limiter=RateLimiter(sleep=sleep),
        default_retry_after=42.0,
    ) as qbo:
        qbo.preferences()
        created = qbo.create("Customer", {"DisplayName": "Throttled Once"}, request_id="c-429")
    assert created["DisplayName"] == "Throttled Once"
    assert sleep.waits == [42.0]


def test_a_429_that_persists_raises_rate_limited(sandbox: Sandbox, qbo_token: StaticToken) -> None:
    sandbox.state.settings.qbo_per_minute = 1
    waits: list[float] = []
    with QboClient.connect(
        sandbox.urls.qbo_api, REALM, qbo_token, sleep=waits.append, limiter=RateLimiter(sleep=waits.append)
    ) as qbo:
        qbo.preferences()
        with pytest.raises(RateLimitedError) as caught:
            qbo.preferences()
    assert (caught.value.code, caught.value.retry_after) == ("3001", 60.0)
    assert waits == [60.0, 60.0, 60.0]  # three retries, the sandbox clock never moved


def test_a_rejected_token_is_refreshed_once_then_auth_error(sandbox: Sandbox) -> None:
    token = StaticToken("qbo-at-not-issued")
    with (
        QboClient.connect(sandbox.urls.qbo_api, REALM, token, sleep=lambda _: None) as qbo,
        pytest.raises(AuthError),
    ):
        qbo.company_info()
    assert token.refreshes == 1


# -- reads ------------------------------------------------------------------------------------------------


def test_query_all_pages_with_startposition_until_a_short_page(client: QboClient, sandbox: Sandbox) -> None:
    for n in range(7):
        sandbox.qbo.add(REALM, "Customer", {"DisplayName": f"Paging Client {n}"})
    rows = client.query_all("Customer", "DisplayName LIKE 'Paging Client%'", page_size=3)
    assert [r["DisplayName"] for r in rows] == [f"Paging Client {n}" for n in range(7)]
    assert client.count("Customer", "DisplayName LIKE 'Paging Client%'") == 7


def test_query_all_sees_inactive_rows_only_when_asked(client: QboClient) -> None:
    assert EXISTING_CUSTOMER_NAME not in {r["DisplayName"] for r in client.query_all("Customer")}
    everyone = client.query_all("Customer", "Active IN (true, false)")
    assert f"{EXISTING_CUSTOMER_NAME} (deleted)" in {r["DisplayName"] for r in everyone}


def test_a_query_with_no_rows_returns_an_empty_list(client: QboClient) -> None:
    assert client.query("SELECT * FROM Invoice") == []


def test_a_malformed_query_raises_validation_error_with_the_parser_detail(client: QboClient) -> None:
    with pytest.raises(ValidationError) as caught:
        client.query("SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'")
    assert caught.value.code == "4000"
    assert caught.value.detail and caught.value.detail.startswith("QueryParserError")


def test_quote_escapes_backslash_then_apostrophe() -> None:
    assert QboClient.quote("O'Brien") == "'O\\'Brien'"
    assert QboClient.quote("Back\\Slash") == "'Back\\\\Slash'"
    assert QboClient.quote("Back\\'") == "'Back\\\\\\''"


def test_quote_refuses_the_typographic_apostrophe() -> None:
    with pytest.raises(ValueError, match="U\\+2019"):
        QboClient.quote("O\u2019Brien")


@pytest.mark.parametrize("name", ["O'Brien & Sons", "Back\\Slash", "Percent 100%", "O\u2019Neill"])
def test_find_by_display_name_finds_awkward_names(client: QboClient, name: str) -> None:
    created = client.create("Customer", {"DisplayName": name}, request_id=f"n-{abs(hash(name))}")
    client.create("Customer", {"DisplayName": name + " Jr"}, request_id=f"n-{abs(hash(name))}-jr")
    assert [row["Id"] for row in client.find_by_display_name("Customer", name)] == [created["Id"]]


def test_find_by_display_name_finds_an_inactive_customer_by_its_bare_name(client: QboClient) -> None:
    (dana,) = client.find_by_display_name("Customer", EXISTING_CUSTOMER_NAME)
    customer = Customer.model_validate(dana)
    assert (customer.Active, customer.name, customer.email) == (
        False,
        EXISTING_CUSTOMER_NAME,
        EXISTING_CUSTOMER_EMAIL,
    )
    assert (
        client.find_by_display_name("Vendor", VENDOR_CONFLICT_NAME)[0]["DisplayName"] == VENDOR_CONFLICT_NAME
    )
    assert client.find_by_display_name("Item", "Legal Services")[0]["Type"] == "Service"


def test_company_info_and_preferences(client: QboClient) -> None:
    assert client.company_info()["CompanyName"] == QBO_COMPANY_NAME
    assert client.preferences()["SalesFormsPrefs"]["CustomTxnNumbers"] is True


def test_reading_a_missing_record_raises_not_found(client: QboClient) -> None:
    with pytest.raises(NotFoundError):
        client.read("Customer", "4242")


# -- batch ------------------------------------------------------------------------------------------------


def test_a_batch_returns_one_result_per_item_in_order_with_partial_failures(client: QboClient) -> None:
    results = client.batch(
        [
            BatchItem.create("1", "Customer", {"DisplayName": "Batch Client"}),
            BatchItem.create("2", "Customer", {"DisplayName": VENDOR_CONFLICT_NAME}),
            BatchItem.query("3", "SELECT * FROM Vendor"),
            BatchItem.delete("4", "Invoice", "999", "0"),
        ],
        request_id="batch-1",
    )
    assert [r.bid for r in results] == ["1", "2", "3", "4"]
    assert results[0].ok and results[0].record and results[0].record["DisplayName"] == "Batch Client"
    assert isinstance(results[1].error, ValidationError) and results[1].error.code == "6240"
    assert results[2].rows is not None and len(results[2].rows) == len(qbo_seed.VENDORS)
    assert isinstance(results[3].error, NotFoundError)


def test_a_batch_update_carries_sparse_and_version(client: QboClient) -> None:
    created = client.create("Customer", {"DisplayName": "Batch Update"}, request_id="c-bu")
    (result,) = client.batch(
        [BatchItem.update("u", "Customer", {"Id": created["Id"], "SyncToken": "0", "Notes": "n"})]
    )
    assert result.record is not None and (result.record["Notes"], result.record["SyncToken"]) == ("n", "1")


def test_a_batch_over_30_items_or_with_long_bids_is_refused_before_sending(client: QboClient) -> None:
    with pytest.raises(ValueError, match="at most 30"):
        client.batch([BatchItem.query(str(n), "SELECT * FROM Item") for n in range(31)])
    with pytest.raises(ValueError, match="bIds"):
        client.batch([BatchItem.query("much-too-long", "SELECT * FROM Item")], request_id="r")
    with pytest.raises(ValueError, match="own bId"):
        client.batch([BatchItem.query("a", "SELECT * FROM Item"), BatchItem.query("a", "SELECT * FROM Item")])


# -- respx: what the emulator never says -------------------------------------------------------------------


API = "https://quickbooks.api.intuit.com/v3"


def respx_client() -> QboClient:
    return QboClient.connect(API, "42", StaticToken("token-xyz-123"), sleep=lambda _: None)


@respx.mock
def test_an_http_200_carrying_a_fault_raises() -> None:
    respx.post(f"{API}/company/42/invoice").respond(
        200,
        json={"Fault": {"Error": [{"Message": "Stale Object Error", "Detail": "d", "code": "5010"}]}},
        headers={"intuit_tid": "1-abc"},
    )
    with respx_client() as qbo, pytest.raises(ConflictError) as caught:
        qbo.create("Invoice", {"Line": []}, request_id="x")
    assert (caught.value.code, caught.value.request_id) == ("5010", "1-abc")


@respx.mock
def test_an_xml_fault_is_parsed_even_when_json_was_asked_for() -> None:
    xml = (
        '<IntuitResponse xmlns="http://schema.intuit.com/finance/v3"><Fault type="ValidationFault">'
        '<Error code="2050"><Message>String length is either shorter or longer than supported</Message>'
        "<Detail>Min:0 Max:21 supported. Supplied length:22</Detail></Error></Fault></IntuitResponse>"
    )
    respx.post(f"{API}/company/42/invoice").respond(400, text=xml, headers={"Intuit-Tid": "1-xml"})
    with respx_client() as qbo, pytest.raises(ValidationError) as caught:
        qbo.create("Invoice", {"Line": []}, request_id="x")
    assert (caught.value.code, caught.value.detail, caught.value.request_id) == (
        "2050",
        "Min:0 Max:21 supported. Supplied length:22",
        "1-xml",
    )


@respx.mock
def test_a_wrong_company_403_is_an_api_error_telling_to_reconnect() -> None:
    respx.get(f"{API}/company/42/preferences").respond(
        403,
        json={"fault": {"error": [{"message": "message=ApplicationAuthorizationFailed", "code": "3100"}]}},
    )
    with respx_client() as qbo, pytest.raises(ApiError) as caught:
        qbo.preferences()
    assert type(caught.value) is ApiError and caught.value.code == "3100"
    assert "ledgerlink connect qbo" in caught.value.remedy


@respx.mock
def test_requests_ask_for_json_with_the_minor_version_and_writes_carry_the_requestid() -> None:
    route = respx.post(f"{API}/company/42/customer").respond(
        200, json={"Customer": {"Id": "1", "SyncToken": "0"}}
    )
    with respx_client() as qbo:
        qbo.create("Customer", {"DisplayName": "A", "Balance": Decimal("10.50")}, request_id="ll-1")
    request = route.calls.last.request
    assert request.headers["Accept"] == "application/json"
    assert (request.url.params["minorversion"], request.url.params["requestid"]) == ("75", "ll-1")
    assert request.content == b'{"DisplayName":"A","Balance":10.50}'


@respx.mock
def test_a_timeout_on_a_write_is_retried_with_the_same_requestid() -> None:
    route = respx.post(f"{API}/company/42/customer")
    route.side_effect = [httpx.ReadTimeout("slow"), httpx.Response(200, json={"Customer": {"Id": "7"}})]
    with respx_client() as qbo:
        assert qbo.create("Customer", {"DisplayName": "A"}, request_id="ll-2")["Id"] == "7"
    assert [call.request.url.params["requestid"] for call in route.calls] == ["ll-2", "ll-2"]


@respx.mock
def test_cdc_asks_for_the_entities_since_an_offset_time_and_groups_rows_by_entity() -> None:
    route = respx.get(f"{API}/company/42/cdc").respond(
        200,
        json={
            "CDCResponse": [
                {
                    "QueryResponse": [
                        {"Customer": [{"Id": "5", "SyncToken": "2", "DisplayName": "A"}], "startPosition": 1},
                        {"Payment": [{"Id": "9", "status": "Deleted"}, {"Id": "10", "SyncToken": "0"}]},
                        {},
                    ]
                }
            ],
            "time": "2026-03-02T10:00:00.000-07:00",
        },
    )
    since = datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-7)))
    with respx_client() as qbo:
        changed = qbo.cdc(["Customer", "Payment", "Invoice"], since)
    params = route.calls.last.request.url.params
    assert (params["entities"], params["changedSince"]) == (
        "Customer,Payment,Invoice",
        "2026-03-01T09:30:15-07:00",
    )
    assert changed == {
        "Customer": [{"Id": "5", "SyncToken": "2", "DisplayName": "A"}],
        "Payment": [{"Id": "9", "status": "Deleted"}, {"Id": "10", "SyncToken": "0"}],
        "Invoice": [],
    }


def test_cdc_refuses_a_time_without_offset_or_no_entities() -> None:
    with respx_client() as qbo:
        with pytest.raises(ValueError, match="offset"):
            qbo.cdc(["Customer"], datetime(2026, 3, 1, 9, 30))
        with pytest.raises(ValueError, match="entity"):
            qbo.cdc([], datetime(2026, 3, 1, 9, 30, tzinfo=UTC))


def test_cdc_against_the_sandbox_reports_edits_and_deletions_after_the_moment(
    sandbox: Sandbox, client: QboClient
) -> None:
    before = client.create("Customer", {"DisplayName": "Changed Before"}, request_id="cdc-0")
    invoice = client.create("Invoice", invoice_body(client), request_id="cdc-1")
    sandbox.state.clock.advance(2)
    since = datetime.fromtimestamp(sandbox.state.clock.now(), UTC)
    sandbox.state.clock.advance(2)
    edited = client.update(
        "Customer", {"Id": before["Id"], "SyncToken": "0", "Notes": "n"}, request_id="cdc-2"
    )
    client.delete("Invoice", invoice["Id"], invoice["SyncToken"], request_id="cdc-3")
    changed = client.cdc(["Customer", "Invoice", "Payment"], since)
    assert [(c["Id"], c["SyncToken"]) for c in changed["Customer"]] == [(edited["Id"], "1")]
    assert [(i["Id"], i["status"]) for i in changed["Invoice"]] == [(invoice["Id"], "Deleted")]
    assert changed["Payment"] == []
