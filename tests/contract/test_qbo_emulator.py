"""The QBO emulator over real HTTP: envelopes, validation codes, versions, idempotency, batch, limits.

Each test speaks raw HTTP (httpx) to a freshly seeded sandbox, so it specifies the wire contract
the client and the sync rely on — as the reference documents the real service.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.sandbox import FaultRule, Sandbox
from ledgerlink.sandbox.demo_firm import (
    EXISTING_CUSTOMER_NAME,
    QBO_ITEMS,
    QBO_REALM_ID,
    VENDOR_CONFLICT_NAME,
)
from ledgerlink.sandbox.qbo_seed import VENDORS

REALM = QBO_REALM_ID


class Api:
    """Raw HTTP to one company of the emulator, asking for JSON like a well-behaved client."""

    def __init__(self, sandbox: Sandbox, token: str, realm: str = REALM) -> None:
        self.realm = realm
        self.http = httpx.Client(
            base_url=f"{sandbox.urls.qbo_api}/company/{realm}",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )

    def get(self, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params={"minorversion": "75", **params})

    def post(self, path: str, body: Any, **params: Any) -> httpx.Response:
        return self.http.post(path, json=body, params={"minorversion": "75", **params})

    def query(self, statement: str) -> httpx.Response:
        return self.get("/query", query=statement)

    def rows(self, statement: str) -> list[dict[str, Any]]:
        response = self.query(statement)
        assert response.status_code == 200, response.text
        body = response.json(parse_float=Decimal)["QueryResponse"]
        return next((v for v in body.values() if isinstance(v, list)), [])

    def create(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        response = self.post(f"/{entity.lower()}", body, **params)
        assert response.status_code == 200, response.text
        return dict(response.json(parse_float=Decimal)[entity])


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    grant = sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", REALM)
    client = Api(sandbox, grant.access_token)
    yield client
    client.http.close()


def fault(response: httpx.Response) -> dict[str, Any]:
    """The first error of a standard fault body."""
    body = response.json()
    assert set(body) == {"Fault", "time"}, body
    error: dict[str, Any] = body["Fault"]["Error"][0]
    return error


def customer_id(api: Api, name: str) -> str:
    (row,) = [
        r
        for r in api.rows("SELECT * FROM Customer WHERE Active IN (true, false)")
        if r["DisplayName"] == name
    ]
    return str(row["Id"])


def an_invoice(api: Api, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id(api, "Bayside Yacht Club")},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 375.0,
                "Description": "Research",
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 1.5, "UnitPrice": 250},
            },
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 42.10,
                "SalesItemLineDetail": {"ItemRef": {"value": "3"}},
            },
        ],
    }
    body.update(overrides)
    return body


# -- gateway: content type, ids, auth, throttling --------------------------------------------------


def test_json_is_served_only_when_asked_for_and_xml_otherwise(sandbox: Sandbox, api: Api) -> None:
    xml = api.http.get(f"/companyinfo/{REALM}", headers={"Accept": "*/*"})
    assert xml.status_code == 200
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.text.startswith("<?xml") and '<CompanyInfo domain="QBO" sparse="false">' in xml.text
    assert (
        api.get(f"/companyinfo/{REALM}").json()["CompanyInfo"]["CompanyName"]
        == sandbox.state.qbo_companies[REALM]
    )


def test_every_response_carries_a_fresh_intuit_tid(api: Api) -> None:
    first, second = api.get("/preferences"), api.query("SELECT * FROM Nothing")
    assert first.headers["intuit_tid"] and second.headers["intuit_tid"]
    assert first.headers["intuit_tid"] != second.headers["intuit_tid"]


def test_a_missing_or_unknown_token_is_a_401_gateway_fault_3200(sandbox: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        response = httpx.get(f"{sandbox.urls.qbo_api}/company/{REALM}/preferences", headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["fault"]["type"] == "AUTHENTICATION"
        assert body["fault"]["error"][0]["code"] == "3200"
        assert (
            body["fault"]["error"][0]["message"]
            == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
        )
        assert isinstance(body["time"], int)


def test_an_expired_token_is_refused(sandbox: Sandbox, api: Api) -> None:
    sandbox.state.tokens.expire_all_access_tokens()
    assert api.get("/preferences").status_code == 401


def test_a_token_for_another_company_is_a_403_fault_3100(sandbox: Sandbox) -> None:
    sandbox.qbo.add_company("4620816365000000001", "Other Firm")
    other = sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "4620816365000000001").access_token
    response = Api(sandbox, other).get("/preferences")  # addressed to the demo firm's realm
    assert response.status_code == 403
    assert response.json()["fault"]["error"][0]["code"] == "3100"
    assert Api(sandbox, other, "4620816365000000001").get("/preferences").status_code == 200


def test_an_unknown_company_is_a_403(sandbox: Sandbox) -> None:
    token = sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "123").access_token
    assert Api(sandbox, token, "123").get("/preferences").status_code == 403


def test_more_than_the_per_second_budget_is_a_429_throttle_fault_until_the_second_passes(
    sandbox: Sandbox, api: Api
) -> None:
    sandbox.state.settings.qbo_per_second = 2
    assert [api.get("/preferences").status_code for _ in range(3)] == [200, 200, 429]
    throttled = api.get("/preferences")
    assert "Retry-After" not in throttled.headers  # none documented for QBO
    assert fault(throttled)["code"] == "3001"
    assert fault(throttled)["Message"] == "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    sandbox.state.clock.advance(1.0)
    assert api.get("/preferences").status_code == 200


def test_the_per_minute_budget_is_per_realm(sandbox: Sandbox, api: Api) -> None:
    sandbox.state.settings.qbo_per_minute = 1
    assert [api.get("/preferences").status_code for _ in range(2)] == [200, 429]
    sandbox.qbo.add_company("777", "Another Company")
    other = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "777").access_token, "777")
    assert other.get("/preferences").status_code == 200
    sandbox.state.clock.advance(60.0)
    assert api.get("/preferences").status_code == 200


def test_minorversion_below_75_is_served_as_75(api: Api) -> None:
    assert api.http.get("/preferences", params={"minorversion": "4"}).status_code == 200


def test_an_unknown_path_is_an_unsupported_operation(api: Api) -> None:
    response = api.get("/customer/1/5")
    assert response.status_code == 400
    assert fault(response)["code"] == "500"


# -- envelopes and reads ---------------------------------------------------------------------------


def test_a_created_record_comes_back_in_its_entity_envelope_with_version_and_metadata(api: Api) -> None:
    response = api.post(
        "/customer", {"DisplayName": "Quinn Archer", "GivenName": "Quinn", "FamilyName": "Archer"}
    )
    body = response.json()
    assert set(body) == {"Customer", "time"}
    customer = body["Customer"]
    assert (customer["domain"], customer["sparse"], customer["SyncToken"]) == ("QBO", False, "0")
    assert isinstance(customer["Id"], str) and customer["Id"].isdigit()
    created = customer["MetaData"]["CreateTime"]
    assert created == customer["MetaData"]["LastUpdatedTime"] and created[-6:] == "-07:00"
    assert api.get(f"/customer/{customer['Id']}").json()["Customer"] == customer


def test_reading_an_unknown_id_is_610_and_a_malformed_id_is_2030(api: Api) -> None:
    assert fault(api.get("/invoice/999"))["code"] == "610"
    malformed = api.get("/customer/1.5")
    assert (malformed.status_code, fault(malformed)["code"]) == (400, "2030")


def test_query_pages_carry_start_position_and_row_count_but_no_total(api: Api) -> None:
    body = api.query("SELECT * FROM Item STARTPOSITION 3 MAXRESULTS 4").json()["QueryResponse"]
    assert set(body) == {"Item", "startPosition", "maxResults"}
    assert (body["startPosition"], body["maxResults"], len(body["Item"])) == (3, 4, 4)


def test_count_star_answers_total_count_only(api: Api) -> None:
    assert api.query("SELECT COUNT(*) FROM Vendor").json()["QueryResponse"] == {"totalCount": len(VENDORS)}


def test_an_empty_result_has_no_entity_key(api: Api) -> None:
    assert api.query("SELECT * FROM Invoice").json()["QueryResponse"] == {}


def test_a_posted_query_must_be_application_text(api: Api) -> None:
    ok = api.http.post(
        "/query", content=b"SELECT * FROM Vendor", headers={"Content-Type": "application/text"}
    ).json()
    assert len(ok["QueryResponse"]["Vendor"]) == len(VENDORS)
    wrong = api.http.post(
        "/query", content=b"SELECT * FROM Vendor", headers={"Content-Type": "application/json"}
    )
    assert wrong.status_code == 400


def test_an_unknown_entity_in_a_query_is_4001_invalid_context(api: Api) -> None:
    error = fault(api.query("SELECT * FROM Custmoer"))
    assert (error["code"], error["Message"], error["Detail"]) == (
        "4001",
        "Invalid query",
        "QueryValidationError: invalid context declaration: Custmoer",
    )


def test_query_errors_carry_the_documented_codes(api: Api) -> None:
    assert fault(api.query("SELECT * FROM Customer STARTPOSITION 0"))["code"] == "4001"
    assert fault(api.query("SELECT * FROM Customer WHERE Id = '1' OR Id = '2'"))["code"] == "4000"
    assert fault(api.query("SELECT * FROM Customer WHERE DisplayName = 'O\u2019Brien'"))["code"] == "4000"
    assert fault(api.query("SELECT * FROM Customer WHERE PrimaryEmailAddr = 'a@b.c'"))["code"] == "4001"


def test_name_lists_return_active_rows_unless_the_query_mentions_active(api: Api) -> None:
    active = {r["DisplayName"] for r in api.rows("SELECT * FROM Customer")}
    everyone = {r["DisplayName"] for r in api.rows("SELECT * FROM Customer WHERE Active IN (true, false)")}
    assert f"{EXISTING_CUSTOMER_NAME} (deleted)" in everyone - active
    assert EXISTING_CUSTOMER_NAME not in everyone


def test_an_inactive_customer_comes_back_with_deleted_appended_to_its_names(api: Api) -> None:
    (dana,) = api.rows("SELECT * FROM Customer WHERE Active = false")
    assert (dana["DisplayName"], dana["FullyQualifiedName"], dana["Active"]) == (
        f"{EXISTING_CUSTOMER_NAME} (deleted)",
        f"{EXISTING_CUSTOMER_NAME} (deleted)",
        False,
    )


# -- validation ------------------------------------------------------------------------------------


def test_a_display_name_held_by_a_vendor_is_6240(api: Api) -> None:
    response = api.post("/customer", {"DisplayName": VENDOR_CONFLICT_NAME})
    error = fault(response)
    assert (response.status_code, error["code"], error["Message"]) == (
        400,
        "6240",
        "Duplicate Name Exists Error",
    )
    assert "Another customer, vendor or employee is already using this name" in error["Detail"]
    assert response.json()["Fault"]["type"] == "ValidationFault"


def test_the_name_of_an_inactive_customer_is_still_taken(api: Api) -> None:
    assert fault(api.post("/customer", {"DisplayName": EXISTING_CUSTOMER_NAME}))["code"] == "6240"
    assert fault(api.post("/vendor", {"DisplayName": EXISTING_CUSTOMER_NAME.upper()}))["code"] == "6240"


def test_a_name_with_a_colon_tab_or_newline_is_refused(api: Api) -> None:
    for name in ("Smith: Estate", "Smith\tEstate", "Smith\nEstate"):
        assert fault(api.post("/customer", {"DisplayName": name}))["code"] == "6000"
    assert fault(api.post("/customer", {"DisplayName": "Ok", "GivenName": "A:B"}))["code"] == "6000"


def test_a_display_name_over_500_characters_is_2050_with_the_lengths(api: Api) -> None:
    error = fault(api.post("/customer", {"DisplayName": "x" * 501}))
    assert error["code"] == "2050"
    assert error["element"] == "DisplayName"
    assert error["Detail"].endswith("Min:0 Max:500 supported. Supplied length:501")


def test_a_customer_without_any_name_is_6080_and_one_with_name_parts_gets_a_display_name(api: Api) -> None:
    assert fault(api.post("/customer", {"CompanyName": "No Name Inc"}))["code"] == "6080"
    built = api.create("Customer", {"Title": "Dr.", "GivenName": "Ines", "FamilyName": "Moreau"})
    assert built["DisplayName"] == "Dr. Ines Moreau"


def test_an_email_without_at_and_dot_is_refused(api: Api) -> None:
    response = api.post("/customer", {"DisplayName": "Mail Less", "PrimaryEmailAddr": {"Address": "nobody"}})
    assert fault(response)["code"] == "6000"


def test_an_unknown_field_is_a_400_naming_the_field(api: Api) -> None:
    response = api.post("/customer", {"DisplayName": "Field Test", "Nickname": "FT"})
    error = fault(response)
    assert (response.status_code, error["code"], error["Message"]) == (
        400,
        "2010",
        "Request has invalid or unsupported property",
    )
    assert 'Unrecognized field "Nickname" (class com.intuit.schema.finance.v3.Customer)' in error["Detail"]
    assert "not marked as ignorable" in error["Detail"]


def test_an_unknown_field_deep_inside_a_line_is_refused_too(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][0]["SalesItemLineDetail"]["Rate"] = 250
    error = fault(api.post("/invoice", body))
    assert error["code"] == "2010" and 'Unrecognized field "Rate"' in error["Detail"]


def test_an_invoice_needs_lines_and_a_customer(api: Api) -> None:
    no_lines = fault(api.post("/invoice", an_invoice(api, Line=[])))
    assert (no_lines["code"], no_lines["Detail"]) == (
        "2020",
        "Required parameter Line is missing in the request",
    )
    body = an_invoice(api)
    del body["CustomerRef"]
    assert (
        fault(api.post("/invoice", body))["Detail"]
        == "Required parameter CustomerRef is missing in the request"
    )


def test_an_invoice_for_an_inactive_or_unknown_customer_is_610(api: Api) -> None:
    inactive = customer_id(api, f"{EXISTING_CUSTOMER_NAME} (deleted)")
    for ref in (inactive, "9999"):
        error = fault(api.post("/invoice", an_invoice(api, CustomerRef={"value": ref})))
        assert (error["code"], error["Message"]) == ("610", "Object Not Found")


def test_an_invoice_line_with_an_unknown_or_inactive_item_is_610(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][1]["SalesItemLineDetail"]["ItemRef"] = {"value": "999"}
    assert fault(api.post("/invoice", body))["code"] == "610"
    item = api.get("/item/2").json()["Item"]
    api.post("/item", {"Id": "2", "SyncToken": item["SyncToken"], "sparse": True, "Active": False})
    body = an_invoice(api)
    body["Line"][1]["SalesItemLineDetail"]["ItemRef"] = {"value": "2"}
    assert fault(api.post("/invoice", body))["code"] == "610"


def test_a_line_whose_amount_is_not_qty_times_unit_price_is_6070(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][0]["Amount"] = 375.01
    error = fault(api.post("/invoice", body))
    assert (error["code"], error["Detail"]) == (
        "6070",
        "Amount is not equal to Qty * UnitPrice. Supplied value:375.01",
    )


def test_line_math_is_checked_after_rounding_to_the_cent(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][0].update(
        Amount=100.00, SalesItemLineDetail={"ItemRef": {"value": "1"}, "Qty": 3, "UnitPrice": 33.333}
    )
    assert api.post("/invoice", body).status_code == 200


def test_a_doc_number_used_by_another_invoice_is_6140_naming_it(api: Api) -> None:
    first = api.create("Invoice", an_invoice(api, DocNumber="2024-0042"))
    error = fault(api.post("/invoice", an_invoice(api, DocNumber="2024-0042")))
    assert error["code"] == "6140"
    assert error["Detail"].endswith(
        f"DocNumber=2024-0042 is assigned to TxnType=Invoice with TxnId={first['Id']}"
    )


def test_a_doc_number_over_21_characters_is_2050(api: Api) -> None:
    error = fault(api.post("/invoice", an_invoice(api, DocNumber="D" * 22)))
    assert (error["code"], error["element"]) == ("2050", "DocNumber")
    assert error["Detail"].endswith("Min:0 Max:21 supported. Supplied length:22")


def test_a_negative_invoice_total_is_refused(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][1]["Amount"] = -500
    assert fault(api.post("/invoice", body))["code"] == "6000"


def test_the_service_computes_totals_balance_subtotal_line_ids_and_dates(sandbox: Sandbox, api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    sales = [line for line in invoice["Line"] if line["DetailType"] == "SalesItemLineDetail"]
    (subtotal,) = [line for line in invoice["Line"] if line["DetailType"] == "SubTotalLineDetail"]
    assert invoice["Line"][-1] == subtotal
    assert [line["Id"] for line in sales] == ["1", "2"] and [line["LineNum"] for line in sales] == [1, 2]
    assert invoice["TotalAmt"] == invoice["Balance"] == subtotal["Amount"] == Decimal("417.10")
    assert sales[0]["SalesItemLineDetail"]["ItemRef"] == {"value": "1", "name": "Legal Services"}
    assert invoice["TxnDate"] == sandbox.qbo.company(REALM).today().isoformat()
    assert invoice["CustomerRef"]["name"] == "Bayside Yacht Club"
    assert "DocNumber" not in invoice  # the demo company numbers its own forms (CustomTxnNumbers)


def test_amounts_are_written_with_two_decimals_on_the_wire(api: Api) -> None:
    response = api.post("/invoice", an_invoice(api))
    assert '"TotalAmt":417.10' in response.text and '"Amount":375.00' in response.text


def test_a_customer_balance_follows_its_open_invoices(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    customer = api.get(f"/customer/{invoice['CustomerRef']['value']}").json(parse_float=Decimal)["Customer"]
    assert customer["Balance"] == Decimal("417.10")


# -- versions: sparse and full updates, void, delete -----------------------------------------------


def test_an_update_with_a_stale_sync_token_is_5010(api: Api) -> None:
    customer = api.create("Customer", {"DisplayName": "Stale Test"})
    api.post("/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"})
    response = api.post(
        "/customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "second"}
    )
    error = fault(response)
    assert (response.status_code, error["code"], error["Message"]) == (400, "5010", "Stale Object Error")


def test_an_update_without_sync_token_is_2020(api: Api) -> None:
    customer = api.create("Customer", {"DisplayName": "No Version"})
    assert (
        fault(api.post("/customer", {"Id": customer["Id"], "sparse": True, "Notes": "x"}))["code"] == "2020"
    )


def test_a_sparse_update_changes_only_the_fields_sent_and_bumps_version_and_time(
    sandbox: Sandbox, api: Api
) -> None:
    customer = api.create(
        "Customer",
        {"DisplayName": "Sparse Test", "Notes": "keep me", "PrimaryPhone": {"FreeFormNumber": "555"}},
    )
    sandbox.state.clock.advance(5)
    updated = api.create(
        "Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Notes": "changed"}
    )
    assert updated["SyncToken"] == "1"
    assert updated["Notes"] == "changed" and updated["PrimaryPhone"] == {"FreeFormNumber": "555"}
    assert updated["MetaData"]["CreateTime"] == customer["MetaData"]["CreateTime"]
    assert updated["MetaData"]["LastUpdatedTime"] > customer["MetaData"]["LastUpdatedTime"]


def test_a_full_update_clears_the_writable_fields_it_omits(api: Api) -> None:
    customer = api.create("Customer", {"DisplayName": "Full Test", "Notes": "goes away"})
    updated = api.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "DisplayName": "Full Test"})
    assert "Notes" not in updated and updated["DisplayName"] == "Full Test"


def test_a_sparse_update_replaces_the_lines_wholesale(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    only = {
        "DetailType": "SalesItemLineDetail",
        "Amount": 10,
        "SalesItemLineDetail": {"ItemRef": {"value": "4"}},
    }
    updated = api.create("Invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "Line": [only]})
    assert [line["DetailType"] for line in updated["Line"]] == ["SalesItemLineDetail", "SubTotalLineDetail"]
    assert updated["TotalAmt"] == Decimal("10.00")
    assert updated["CustomerRef"] == invoice["CustomerRef"]


def test_a_deactivated_customer_keeps_its_name_and_can_be_reactivated(api: Api) -> None:
    customer = api.create("Customer", {"DisplayName": "Gone Soon"})
    gone = api.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "Active": False})
    assert gone["DisplayName"] == "Gone Soon (deleted)"
    back = api.create(
        "Customer",
        {"Id": customer["Id"], "SyncToken": "1", "sparse": True, "Active": True, "DisplayName": "Gone Soon"},
    )
    assert (back["DisplayName"], back["Active"]) == ("Gone Soon", True)


def test_a_customer_with_an_open_balance_cannot_be_made_inactive(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    customer = api.get(f"/customer/{invoice['CustomerRef']['value']}").json()["Customer"]
    response = api.post(
        "/customer",
        {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True, "Active": False},
    )
    assert fault(response)["Message"] == "Delete List Has Balance Error"


def test_voiding_an_invoice_zeroes_its_amounts_and_marks_it_voided(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api, PrivateNote="Clio bill 17"))
    voided = api.create("Invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="void")
    assert (voided["SyncToken"], voided["TotalAmt"], voided["Balance"], voided["PrivateNote"]) == (
        "1",
        0,
        0,
        "Voided",
    )
    assert {line["Amount"] for line in voided["Line"]} == {0}
    assert voided["CustomerRef"] == invoice["CustomerRef"]  # the invoice stays, emptied


def test_deleting_an_invoice_answers_its_deleted_status_and_it_is_gone(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    response = api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert response.json()["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}
    assert fault(api.get(f"/invoice/{invoice['Id']}"))["code"] == "610"
    assert (
        fault(api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete"))["code"]
        == "610"
    )


def test_name_lists_cannot_be_deleted(api: Api) -> None:
    customer = api.create("Customer", {"DisplayName": "Undeletable"})
    response = api.post("/customer", {"Id": customer["Id"], "SyncToken": "0"}, operation="delete")
    assert (response.status_code, fault(response)["code"]) == (400, "500")


# -- requestid -------------------------------------------------------------------------------------


def test_the_same_requestid_replays_the_original_response_without_writing_again(
    sandbox: Sandbox, api: Api
) -> None:
    first = api.post("/customer", {"DisplayName": "Once Only"}, requestid="ll-contact-77")
    again = api.post("/customer", {"DisplayName": "Once Only"}, requestid="ll-contact-77")
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    assert again.headers["intuit_tid"] != first.headers["intuit_tid"]
    names = [c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")]
    assert names.count("Once Only") == 1


def test_a_requestid_replays_a_fault_as_well(api: Api) -> None:
    first = api.post("/customer", {"DisplayName": VENDOR_CONFLICT_NAME}, requestid="ll-x-1")
    again = api.post("/customer", {"DisplayName": "Now Unique"}, requestid="ll-x-1")
    assert (again.status_code, again.json()) == (400, first.json())


def test_requestids_are_kept_per_company(sandbox: Sandbox, api: Api) -> None:
    sandbox.qbo.add_company("555", "Second Books")
    other = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "555").access_token, "555")
    api.post("/customer", {"DisplayName": "Shared Key"}, requestid="same-key")
    assert other.create("Customer", {"DisplayName": "Other Shared Key"}, requestid="same-key")[
        "DisplayName"
    ] == ("Other Shared Key")


def test_a_requestid_over_50_characters_is_refused(api: Api) -> None:
    response = api.post("/customer", {"DisplayName": "Long Key"}, requestid="k" * 51)
    assert (response.status_code, fault(response)["code"]) == (400, "2050")


def test_a_response_lost_after_commit_is_replayed_on_retry(sandbox: Sandbox, api: Api) -> None:
    sandbox.state.faults.add(FaultRule("drop_after_commit", method="POST", path="/customer$"))
    lost = api.post("/customer", {"DisplayName": "Lost Answer"}, requestid="ll-lost-1")
    assert lost.status_code == 502
    retried = api.post("/customer", {"DisplayName": "Lost Answer"}, requestid="ll-lost-1")
    assert retried.status_code == 200
    assert [c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")].count("Lost Answer") == 1


# -- batch -----------------------------------------------------------------------------------------


def test_a_batch_answers_200_with_one_result_per_item_and_per_item_faults(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    response = api.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "b1", "operation": "create", "Vendor": {"DisplayName": "Boraski Family Store"}},
                {"bId": "b2", "operation": "delete", "Invoice": {"Id": "999", "SyncToken": "0"}},
                {
                    "bId": "b3",
                    "operation": "update",
                    "Invoice": {"Id": invoice["Id"], "SyncToken": "7", "sparse": True},
                },
                {"bId": "b4", "Query": "select * from Invoice where TotalAmt > '300.00'"},
                {"bId": "b5", "operation": "create", "Customer": {"DisplayName": VENDOR_CONFLICT_NAME}},
            ]
        },
    )
    assert response.status_code == 200
    results = {item["bId"]: item for item in response.json()["BatchItemResponse"]}
    assert results["b1"]["Vendor"]["DisplayName"] == "Boraski Family Store"
    assert results["b2"]["Fault"]["Error"][0]["code"] == "610"
    assert results["b3"]["Fault"]["Error"][0]["code"] == "5010"
    assert [row["Id"] for row in results["b4"]["QueryResponse"]["Invoice"]] == [invoice["Id"]]
    assert results["b5"]["Fault"]["Error"][0]["code"] == "6240"


def test_a_batch_of_more_than_30_items_is_refused_whole(sandbox: Sandbox, api: Api) -> None:
    items = [
        {"bId": f"b{n}", "operation": "create", "Customer": {"DisplayName": f"Bulk {n}"}} for n in range(31)
    ]
    response = api.post("/batch", {"BatchItemRequest": items})
    assert response.status_code == 400 and "Fault" in response.json()
    assert not [c for c in sandbox.qbo.records(REALM, "Customer") if c["DisplayName"].startswith("Bulk ")]


def test_batch_items_cannot_see_records_created_earlier_in_the_same_batch(api: Api) -> None:
    response = api.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "c", "operation": "create", "Customer": {"DisplayName": "Fresh Client"}},
                {"bId": "q", "Query": "select * from Customer where DisplayName = 'Fresh Client'"},
            ]
        },
    )
    created, query = response.json()["BatchItemResponse"]
    assert created["Customer"]["DisplayName"] == "Fresh Client"
    assert query["QueryResponse"] == {}
    assert len(api.rows("select * from Customer where DisplayName = 'Fresh Client'")) == 1


def test_a_batch_requestid_replays_and_limits_bid_length(sandbox: Sandbox, api: Api) -> None:
    batch = {
        "BatchItemRequest": [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch Once"}}]
    }
    first = api.post("/batch", batch, requestid="batch-key-1")
    again = api.post("/batch", batch, requestid="batch-key-1")
    assert again.json() == first.json()
    assert [c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")].count("Batch Once") == 1
    long_bid = {
        "BatchItemRequest": [{"bId": "b" * 11, "operation": "create", "Customer": {"DisplayName": "Z"}}]
    }
    assert api.post("/batch", long_bid, requestid="batch-key-2").status_code == 400
    assert api.post("/batch", batch, requestid="k" * 37).status_code == 400


# -- company documents -----------------------------------------------------------------------------


def test_company_info_and_preferences_describe_the_demo_company(sandbox: Sandbox, api: Api) -> None:
    info = api.get(f"/companyinfo/{REALM}").json()["CompanyInfo"]
    assert (info["CompanyName"], info["Country"]) == (sandbox.state.qbo_companies[REALM], "US")
    prefs = api.get("/preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is True
    assert prefs["TaxPrefs"]["UsingSalesTax"] is False
    assert api.rows("select * from Preferences")[0]["SyncToken"] == prefs["SyncToken"]


def test_the_demo_chart_of_accounts_has_the_trust_pair(api: Api) -> None:
    accounts = {(a["AccountType"], a["AccountSubType"]) for a in api.rows("select * from Account")}
    assert {("Bank", "TrustAccounts"), ("Other Current Liability", "TrustAccountsLiabilities")} <= accounts


def test_every_demo_item_is_a_service_with_an_income_account(api: Api) -> None:
    items = api.rows("select * from Item")
    assert len(items) == len(QBO_ITEMS) == 9
    assert all(item["Type"] == "Service" and item["IncomeAccountRef"]["value"] for item in items)


def test_writes_to_company_documents_are_unsupported(api: Api) -> None:
    assert api.post("/preferences", {"Id": "1", "SyncToken": "0"}).status_code == 400
    assert json.loads(api.post("/companyinfo", {"Id": "1"}).text)["Fault"]["Error"][0]["code"] == "500"


def test_every_company_comes_with_undeposited_funds(sandbox: Sandbox, api: Api) -> None:
    sandbox.qbo.add_company("888", "Fresh Books")
    fresh = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", "888").access_token, "888")
    (account,) = fresh.rows("SELECT * FROM Account")
    assert (
        account["Name"],
        account["AccountType"],
        account["AccountSubType"],
        account["Classification"],
    ) == (
        "Undeposited Funds",
        "Other Current Asset",
        "UndepositedFunds",
        "Asset",
    )
    demo_funds = [a for a in api.rows("SELECT * FROM Account") if a["AccountSubType"] == "UndepositedFunds"]
    assert len(demo_funds) == 1  # the demo seed adds none of its own


# -- preferences: custom transaction numbers -------------------------------------------------------


def test_without_custom_txn_numbers_the_service_numbers_forms_and_ignores_a_sent_number(
    sandbox: Sandbox, api: Api
) -> None:
    before = api.get("/preferences").json()["Preferences"]["SyncToken"]
    sandbox.qbo.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", False)
    prefs = api.get("/preferences").json()["Preferences"]
    assert prefs["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    assert int(prefs["SyncToken"]) == int(before) + 1
    invoice = api.create("Invoice", an_invoice(api, DocNumber="CLIO-17"))
    assert invoice["DocNumber"] == "1001"
    memo = api.create(
        "CreditMemo",
        {"CustomerRef": invoice["CustomerRef"], "Line": an_invoice(api)["Line"][:1], "DocNumber": "1001"},
    )
    assert memo["DocNumber"] == "1002"
    updated = api.create(
        "Invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "DocNumber": "CLIO-17"}
    )
    assert updated["DocNumber"] == "1001"
    sandbox.qbo.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", True)
    assert api.create("Invoice", an_invoice(api, DocNumber="AUTO_GENERATE"))["DocNumber"] == "1003"
    assert api.create("Invoice", an_invoice(api, DocNumber="CLIO-17"))["DocNumber"] == "CLIO-17"


# -- change data capture ---------------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def cdc(api: Api, entities: str, since: str) -> httpx.Response:
    return api.get("/cdc", entities=entities, changedSince=since)


def cdc_lists(response: httpx.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    body = response.json(parse_float=Decimal)
    assert set(body) == {"CDCResponse", "time"}
    (only,) = body["CDCResponse"]
    answers: list[dict[str, Any]] = only["QueryResponse"]
    return answers


def test_cdc_reports_what_changed_with_inactive_records_and_tombstones(sandbox: Sandbox, api: Api) -> None:
    since = iso(sandbox.qbo.company(REALM).moment() - timedelta(minutes=1))  # the seed is an hour old
    kept = api.create("Invoice", an_invoice(api))
    dropped = api.create("Invoice", an_invoice(api))
    api.post("/invoice", {"Id": dropped["Id"], "SyncToken": "0"}, operation="delete")
    tomasz = customer_id(api, "Tomasz Kowalczyk")
    api.post("/customer", {"Id": tomasz, "SyncToken": "0", "sparse": True, "Active": False})
    payment = api.create(
        "Payment",
        {
            "CustomerRef": kept["CustomerRef"],
            "TotalAmt": 100,
            "Line": [{"Amount": 100, "LinkedTxn": [{"TxnId": kept["Id"], "TxnType": "Invoice"}]}],
        },
    )

    customers, invoices, payments, memos = cdc_lists(cdc(api, "Customer,Invoice,Payment,CreditMemo", since))
    assert [(c["DisplayName"], c["Active"]) for c in customers["Customer"]] == [
        ("Tomasz Kowalczyk (deleted)", False)
    ]
    assert (customers["startPosition"], customers["maxResults"]) == (1, 1)
    assert invoices["Invoice"][0]["Id"] == kept["Id"]
    assert invoices["Invoice"][0]["Balance"] == Decimal("317.10")
    tombstone = invoices["Invoice"][1]
    assert {k: v for k, v in tombstone.items() if k != "MetaData"} == {
        "domain": "QBO",
        "status": "Deleted",
        "Id": dropped["Id"],
    }
    assert set(tombstone["MetaData"]) == {"LastUpdatedTime"} and invoices["maxResults"] == 2
    assert [p["Id"] for p in payments["Payment"]] == [payment["Id"]]
    assert memos == {}
    everything = cdc_lists(
        cdc(api, "Customer", iso(sandbox.qbo.company(REALM).moment() - timedelta(hours=2)))
    )
    names = {c["DisplayName"] for c in everything[0]["Customer"]}
    assert {f"{EXISTING_CUSTOMER_NAME} (deleted)", "Bayside Yacht Club"} <= names


def test_cdc_sees_a_contact_edit_made_in_qbo(sandbox: Sandbox, api: Api) -> None:
    tomasz = customer_id(api, "Tomasz Kowalczyk")
    sandbox.state.clock.advance(2)
    since = iso(sandbox.qbo.company(REALM).moment())
    sandbox.state.clock.advance(2)
    assert cdc_lists(cdc(api, "Customer", since)) == [{}]
    edited = sandbox.qbo.edit(
        REALM,
        "Customer",
        tomasz,
        PrimaryEmailAddr={"Address": "tomasz@example.pl"},
        PrimaryPhone={"FreeFormNumber": "+48 22 555 0100"},
        BillAddr={"Line1": "ul. Prosta 1", "City": "Warszawa"},
    )
    assert edited["SyncToken"] == "1"
    (changed,) = cdc_lists(cdc(api, "Customer", since))[0]["Customer"]
    assert (changed["Id"], changed["PrimaryEmailAddr"], changed["BillAddr"]["City"]) == (
        tomasz,
        {"Address": "tomasz@example.pl"},
        "Warszawa",
    )
    assert changed["MetaData"]["LastUpdatedTime"] > since


def test_cdc_looks_back_at_most_30_days_and_needs_a_date_or_an_offset(sandbox: Sandbox, api: Api) -> None:
    now = sandbox.qbo.company(REALM).moment()
    too_old = cdc(api, "Customer", iso(now - timedelta(days=30, minutes=1)))
    error = fault(too_old)
    assert (too_old.status_code, error["code"]) == (400, "4001")
    assert "more than 30 days ago" in error["Detail"]
    assert cdc(api, "Customer", iso(now - timedelta(days=29))).status_code == 200
    assert cdc(api, "Customer", (now - timedelta(days=1)).date().isoformat()).status_code == 200
    no_offset = (now - timedelta(days=1)).replace(tzinfo=None)
    assert fault(cdc(api, "Customer", iso(no_offset)))["code"] == "4001"
    unencoded_plus = iso((now - timedelta(days=1)).astimezone(timezone(timedelta(hours=2))))
    raw = api.http.get(f"/cdc?entities=Customer&changedSince={unencoded_plus}")  # '+' decodes as a space
    assert raw.status_code == 400 and "%2B" in fault(raw)["Detail"]
    assert fault(api.get("/cdc", entities="Customer"))["code"] == "2020"


def test_cdc_refuses_unknown_entities_and_those_it_does_not_cover(api: Api) -> None:
    since = "2099-01-01"  # future: nothing changed since, but the entity names are checked first
    for entities in ("Custmoer", "Customer,TimeActivity", "TaxCode", "TaxRate", "Preferences"):
        response = cdc(api, entities, since)
        assert (response.status_code, fault(response)["code"]) == (400, "4001"), entities
    assert "not available for TimeActivity" in fault(cdc(api, "TimeActivity", since))["Detail"]
    assert fault(api.get("/cdc", changedSince=since))["code"] == "2020"
    assert cdc_lists(cdc(api, "customer,Customer", since)) == [{}]


def test_cdc_answers_at_most_1000_objects_in_all(sandbox: Sandbox, api: Api) -> None:
    since = iso(sandbox.qbo.company(REALM).moment() - timedelta(minutes=1))
    for n in range(1001):
        sandbox.qbo.add(REALM, "Customer", {"DisplayName": f"Bulk Client {n:04d}"})
    sandbox.qbo.add(REALM, "Vendor", {"DisplayName": "Late Vendor"})
    customers, vendors = cdc_lists(cdc(api, "Customer,Vendor", since))
    assert customers["maxResults"] == len(customers["Customer"]) == 1000
    assert customers["Customer"][0]["DisplayName"] == "Bulk Client 0000"
    assert vendors == {}
