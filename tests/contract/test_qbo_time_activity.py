"""The QBO emulator's TimeActivity over real HTTP (reference §2.14, §2.3, §1.4–1.6, §3.2).

Payroll writes Clio's approved time here; these tests pin what the emulator holds a client to.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import QBO_EMPLOYEE_NAME
from tests.contract.test_qbo_emulator import REALM, Api, customer_id, fault

Body = dict[str, Any]


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", REALM).access_token)
    yield client
    client.http.close()


def employee_id(api: Api) -> str:
    (row,) = api.rows(
        f"SELECT * FROM Employee WHERE DisplayName = '{QBO_EMPLOYEE_NAME}' AND Active IN (true, false)"
    )
    return str(row["Id"])


def service_item(api: Api) -> str:
    return str(next(r["Id"] for r in api.rows("SELECT * FROM Item") if r["Type"] == "Service"))


def some_customer(api: Api) -> str:
    row = api.rows("SELECT * FROM Customer")[0]
    return customer_id(api, row["DisplayName"])


def activity(api: Api, **overrides: Any) -> Body:
    body: Body = {
        "TxnDate": "2026-03-02",
        "NameOf": "Employee",
        "EmployeeRef": {"value": employee_id(api)},
        "CustomerRef": {"value": some_customer(api)},
        "ItemRef": {"value": service_item(api)},
        "Hours": 1,
        "Minutes": 30,
        "HourlyRate": 250,
        "Description": "Drafting",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def refused(api: Api, body: Body) -> dict[str, Any]:
    response = api.post("/timeactivity", body)
    assert response.status_code == 400, response.text
    return fault(response)


def test_create_read_query_update_and_delete(api: Api) -> None:
    created = api.create("TimeActivity", activity(api))
    assert created["SyncToken"] == "0"
    assert (created["Hours"], created["Minutes"], created["HourlyRate"]) == (1, 30, Decimal("250.00"))
    assert created["EmployeeRef"] == {"value": employee_id(api), "name": QBO_EMPLOYEE_NAME}
    assert created["BillableStatus"] == "NotBillable"

    (found,) = api.rows("SELECT * FROM TimeActivity WHERE TxnDate = '2026-03-02'")
    assert found["Id"] == created["Id"]
    read = api.get(f"/timeactivity/{created['Id']}")
    assert read.status_code == 200 and read.json()["TimeActivity"]["Description"] == "Drafting"

    update = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Hours": 2, "Minutes": 0}
    updated = api.create("TimeActivity", update)
    assert (updated["SyncToken"], updated["Hours"], updated["Minutes"]) == ("1", 2, 0)
    assert updated["Description"] == "Drafting"  # sparse: the rest kept
    stale = api.post("/timeactivity", {**update, "Hours": 3})
    assert fault(stale)["code"] == "5010"

    deleted = api.post("/timeactivity", {"Id": created["Id"], "SyncToken": "1"}, operation="delete")
    assert deleted.json()["TimeActivity"]["status"] == "Deleted"
    assert api.rows("SELECT * FROM TimeActivity") == []


def test_time_activity_is_outside_change_data_capture(api: Api) -> None:
    since = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    response = api.get("/cdc", entities="TimeActivity", changedSince=since)
    assert response.status_code == 400
    assert fault(response)["code"] == "4001"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"NameOf": None}, "2020"),
        ({"NameOf": "Customer"}, "2170"),
        ({"EmployeeRef": None}, "2020"),
        ({"EmployeeRef": {"value": "999999"}}, "2500"),
        ({"VendorRef": {"value": "1"}}, "2010"),
        ({"ItemRef": None}, "2020"),
        ({"Hours": 0, "Minutes": 0}, "6000"),
        ({"Minutes": 75}, "6000"),
        ({"Hours": 1.5}, "2010"),
        ({"HourlyRate": "12.345"}, "2010"),
        ({"Description": "x" * 4001}, "2050"),
        ({"BillableStatus": "Billable", "CustomerRef": None}, "6000"),
        ({"BillableStatus": "Maybe"}, "2170"),
        ({"StartTime": "2026-03-02T09:00:00-07:00"}, "500"),
        ({"PayrollItemRef": {"value": "1"}}, "2500"),
        ({"Overtime": True}, "2010"),
    ],
)
def test_refusals(api: Api, overrides: Body, code: str) -> None:
    body = activity(api)
    for key, value in overrides.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    response = api.post("/timeactivity", body)
    assert response.status_code in (400, 500), response.text
    assert fault(response)["code"] == code


def test_an_inactive_employee_is_refused(api: Api, sandbox: Sandbox) -> None:
    employee = employee_id(api)
    sandbox.qbo.edit(REALM, "Employee", employee, Active=False)
    assert refused(api, activity(api, EmployeeRef={"value": employee}))["code"] == "610"


def test_a_non_service_item_is_refused(api: Api, sandbox: Sandbox) -> None:
    income = next(r["Id"] for r in api.rows("SELECT * FROM Account") if r["AccountType"] == "Income")
    goods = sandbox.qbo.add(
        REALM, "Item", {"Name": "Binders", "Type": "NonInventory", "IncomeAccountRef": {"value": income}}
    )
    assert refused(api, activity(api, ItemRef={"value": goods["Id"]}))["code"] == "6000"
