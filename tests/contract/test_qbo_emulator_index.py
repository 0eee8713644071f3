"""The QBO emulator answers from indexes kept in step with every write, exactly as scanning its tables would.

What a scan gives is written out here (the emulator's rules before the indexes): what payments
apply to a form, a customer's balance, the next DocNumber, who holds a name or a DocNumber, what
change data capture reports. After any history of creates, edits, voids and deletes, each answer
the emulator gives must be the scan's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.sandbox import Sandbox, SandboxState, qbo_query
from ledgerlink.sandbox.qbo import Company, QboEmulator
from ledgerlink.sandbox.qbo_entities import cents, payment_lines, reference_id
from ledgerlink.sandbox.qbo_indexes import last_updated
from ledgerlink.sandbox.qbo_sales import entity_type
from ledgerlink.sandbox.qbo_schema import QboFault, to_json
from ledgerlink.sandbox.qbo_seed import seed_qbo_demo
from tests.conftest import fast_settings
from tests.contract.test_qbo_emulator import REALM, Api

# -- what a scan of the tables answers -------------------------------------------------------------


def scan_applied(company: Company, key: tuple[str, str]) -> tuple[Decimal, tuple[str, ...]]:
    """What every payment applies to one form, and the payments applying a non-zero amount."""
    amount, linking = Decimal(0), []
    for payment in sorted(company.rows("Payment"), key=lambda r: int(r["Id"])):
        for link, applied in payment_lines(payment):
            if link == key:
                amount += applied
                if applied and payment["Id"] not in linking:
                    linking.append(payment["Id"])
    return amount, tuple(linking)


def scan_balance(company: Company, customer: dict[str, Any]) -> Decimal:
    total = Decimal(0)
    for entity, sign in (("Invoice", 1), ("CreditMemo", -1)):
        for form in company.rows(entity):
            if reference_id(form, "CustomerRef") == customer["Id"]:
                total += sign * cents(
                    Decimal(form["TotalAmt"]) - scan_applied(company, (entity, form["Id"]))[0]
                )
    for payment in company.rows("Payment"):
        if reference_id(payment, "CustomerRef") == customer["Id"]:
            total -= Decimal(payment.get("UnappliedAmt", 0))
    return cents(Decimal(customer.get("OpeningBalance", 0)) + total)


def scan_next_doc_number(company: Company) -> str:
    numbers = [
        int(r["DocNumber"])
        for entity in ("Invoice", "CreditMemo")
        for r in company.rows(entity)
        if str(r.get("DocNumber", "")).isascii() and str(r.get("DocNumber", "")).isdigit()
    ]
    return str(max(numbers, default=1000) + 1)


def scan_changes(company: Company, entity: str, since: datetime) -> list[str]:
    rows = [*company.rows(entity), *company.tombstones.get(entity, {}).values()]
    changed = [r for r in rows if last_updated(r) > since]
    return [r["Id"] for r in sorted(changed, key=lambda r: (last_updated(r), int(r["Id"])))]


def scan_holders(
    company: Company, entities: tuple[str, ...], field: str, value: str
) -> list[tuple[str, str]]:
    return [
        (entity, r["Id"])
        for entity in entities
        for r in company.rows(entity)
        if str(r.get(field, "")).strip().casefold() == value
    ]


def check_every_answer(emu: QboEmulator, company: Company, moments: list[datetime]) -> None:
    indexes = company.indexes
    for entity in ("Invoice", "CreditMemo"):
        for form in company.rows(entity):
            applied, linking = scan_applied(company, (entity, form["Id"]))
            rendered = emu.get(REALM, entity, form["Id"])
            assert rendered["Balance"] == cents(Decimal(form["TotalAmt"]) - applied)
            assert [link["TxnId"] for link in rendered["LinkedTxn"]] == list(linking)
            assert indexes.receivables.applied(entity, form["Id"]) == applied
    for customer in company.rows("Customer"):
        assert emu.get(REALM, "Customer", customer["Id"])["Balance"] == scan_balance(company, customer)
        name = str(customer["DisplayName"]).strip().casefold()
        assert indexes.display_names.holding(name) == scan_holders(
            company, ("Customer", "Vendor", "Employee"), "DisplayName", name
        )
    for form in company.rows("Invoice"):
        number = form["DocNumber"]
        assert indexes.doc_numbers.holding(number) == [
            (e, r["Id"])
            for e in ("Invoice", "CreditMemo")
            for r in company.rows(e)
            if r.get("DocNumber") == number
        ]
    highest = indexes.highest_doc_number.highest()
    assert str((1000 if highest is None else highest) + 1) == scan_next_doc_number(company)
    for entity in ("Customer", "Invoice", "CreditMemo", "Payment"):
        for moment in moments:
            assert indexes.changes.changed_after(entity, moment) == scan_changes(company, entity, moment)
    for statement in statements(company):
        assert answered(emu, statement) == json.loads(to_json(scan_query(company, statement))), statement


def scan_query(company: Company, statement: str) -> dict[str, Any]:
    """The QueryResponse from every visible record rendered, then filtered, ordered and paged."""
    query = qbo_query.parse(statement)
    etype = entity_type(query.entity)
    assert etype is not None
    rows = [etype.render(company, r) for r in company.visible_rows(etype.name)]
    result = qbo_query.run(query, rows, active_only_by_default=etype.name_list, queryable=etype.queryable)
    if query.count:
        return {"totalCount": result.total}
    if not result.rows:
        return {}
    wired = [{"domain": "QBO", "sparse": False, **row} for row in result.rows]
    return {etype.name: wired, "startPosition": result.start_position, "maxResults": len(wired)}


def statements(company: Company) -> list[str]:
    """Queries like a sync's (by DocNumber, Id, customer, day), and some on computed properties."""
    numbers = ", ".join(f"'{n}'" for n in range(12))
    customer = next(iter(company.tables["Customer"]))
    payments = ", ".join(f"'{i}'" for i in list(company.tables.get("Payment", {}))[:5]) or "'1'"
    today = company.today().isoformat()
    return [
        f"SELECT * FROM Invoice WHERE DocNumber IN ({numbers})",
        f"SELECT * FROM CreditMemo WHERE DocNumber = '3' AND CustomerRef = '{customer}'",
        f"SELECT * FROM Invoice WHERE CustomerRef = '{customer}' ORDERBY Id DESC MAXRESULTS 2",
        f"SELECT * FROM Payment WHERE Id IN ({payments}) AND TotalAmt > '25'",
        f"SELECT * FROM Invoice WHERE TxnDate = '{today}' STARTPOSITION 2 MAXRESULTS 3",
        "SELECT COUNT(*) FROM Invoice WHERE Balance > '0'",
        "SELECT * FROM Invoice WHERE Balance = '0' ORDERBY TotalAmt",
        "SELECT * FROM Customer WHERE Active IN (true, false) ORDERBY Balance DESC",
        "SELECT * FROM Customer WHERE DisplayName IN ('Client 3', 'Client 4 (deleted)') AND Active = false",
    ]


def answered(emu: QboEmulator, statement: str) -> dict[str, Any]:
    """The QueryResponse the emulator sends for ``statement`` (its ASGI app, in process)."""
    token = emu.state.tokens.issue("qbo", "sandbox-qbo-app", REALM).access_token
    headers = {
        "Authorization": f"Bearer {token}",
        "Accept": "application/json",
        "Content-Type": "application/text",
    }

    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=emu.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://qbo") as client:
            return await client.post(f"/company/{REALM}/query", content=statement, headers=headers)

    response = asyncio.run(ask())
    assert response.status_code == 200, response.text
    return dict(response.json()["QueryResponse"])


# -- any history -------------------------------------------------------------------------------------

OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "invoice",
                "credit",
                "pay",
                "edit_payment",
                "void_payment",
                "delete_payment",
                "delete_form",
                "edit_invoice",
                "rename",
                "numbers",
                "advance",
                "query",
            ]
        ),
        st.integers(0, 50),
    ),
    min_size=10,
    max_size=40,
)


def _invoice(customer: str, amount: int, **extra: Any) -> dict[str, Any]:
    line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    return {"CustomerRef": {"value": customer}, "Line": [line], **extra}


def _apply(emu: QboEmulator, company: Company, operation: tuple[str, int]) -> None:
    kind, n = operation
    customers = [c["Id"] for c in company.rows("Customer") if c.get("Active", True)]
    customer = customers[n % len(customers)]
    forms = [
        (e, r) for e in ("Invoice", "CreditMemo") for r in company.rows(e) if reference_id(r, "CustomerRef")
    ]
    payments = list(company.rows("Payment"))
    if kind == "invoice":
        emu.add(REALM, "Invoice", _invoice(customer, 10 + n, DocNumber=str(n % 15)))
    elif kind == "credit":
        emu.add(REALM, "CreditMemo", _invoice(customer, 1 + n % 5))
    elif kind == "pay" and forms:
        entity, form = forms[n % len(forms)]
        link = {"Amount": 1 + n % 7, "LinkedTxn": [{"TxnId": form["Id"], "TxnType": entity}]}
        owner = reference_id(form, "CustomerRef")
        emu.add(REALM, "Payment", {"CustomerRef": {"value": owner}, "TotalAmt": 20 + n, "Line": [link]})
    elif kind == "edit_payment" and payments:
        emu.edit(REALM, "Payment", payments[n % len(payments)]["Id"], TotalAmt=30 + n)
    elif kind == "void_payment" and payments:
        emu.void(REALM, "Payment", payments[n % len(payments)]["Id"])
    elif kind == "delete_payment" and payments:
        emu.delete(REALM, "Payment", payments[n % len(payments)]["Id"])
    elif kind == "delete_form" and forms:
        entity, form = forms[n % len(forms)]
        emu.delete(REALM, entity, form["Id"])
    elif kind == "edit_invoice" and forms:
        entity, form = forms[n % len(forms)]
        day = (company.today() - timedelta(days=n % 2)).isoformat()
        changes = {"DocNumber": str(n % 15), "TxnDate": day, "Line": _invoice(customer, 5 + n)["Line"]}
        emu.edit(REALM, entity, form["Id"], CustomerRef={"value": customer}, **changes)
    elif kind == "rename":
        emu.edit(REALM, "Customer", customer, DisplayName=f"Client {n}")
    elif kind == "numbers":
        emu.set_preference(REALM, "SalesFormsPrefs", "CustomTxnNumbers", n % 2 == 0)
    elif kind == "advance":
        emu.state.clock.advance(n - 10)
    elif kind == "query":  # mid-history, so that the lookups it builds must follow later writes
        statement = statements(company)[n % len(statements(company))]
        assert answered(emu, statement) == json.loads(to_json(scan_query(company, statement))), statement


@settings(max_examples=40, deadline=None)
@given(operations=OPERATIONS)
def test_every_answer_after_any_history_is_the_answer_of_a_scan(operations: list[tuple[str, int]]) -> None:
    emu = QboEmulator(SandboxState(settings=fast_settings()))
    seed_qbo_demo(emu)
    company = emu.company(REALM)
    moments = [company.moment() - timedelta(seconds=90)]
    check_every_answer(emu, company, moments)  # every lookup now exists, and must follow what comes
    for operation in operations:
        with contextlib.suppress(QboFault):  # refused as the service refuses it: nothing changed
            _apply(emu, company, operation)
        moments.append(company.moment() - timedelta(seconds=operation[1] % 3))
    check_every_answer(emu, company, moments)


# -- over HTTP ---------------------------------------------------------------------------------------


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", REALM).access_token)
    yield client
    client.http.close()


def test_a_query_on_a_computed_balance_sees_the_latest_payment(sandbox: Sandbox, api: Api) -> None:
    customer = api.rows("SELECT * FROM Customer WHERE DisplayName = 'Bayside Yacht Club'")[0]["Id"]
    first, second = (sandbox.qbo.add(REALM, "Invoice", _invoice(customer, 100)) for _ in range(2))
    link = {"Amount": 100, "LinkedTxn": [{"TxnId": first["Id"], "TxnType": "Invoice"}]}
    sandbox.qbo.add(REALM, "Payment", {"CustomerRef": {"value": customer}, "TotalAmt": 100, "Line": [link]})

    open_ones = api.rows(f"SELECT * FROM Invoice WHERE Balance > '0' AND CustomerRef = '{customer}'")
    by_id = api.rows(f"SELECT * FROM Invoice WHERE Id IN ('{first['Id']}', '{second['Id']}') ORDERBY Id DESC")

    assert [row["Id"] for row in open_ones] == [second["Id"]]
    assert [(row["Id"], row["Balance"]) for row in by_id] == [(second["Id"], 100), (first["Id"], 0)]
    assert by_id[1]["LinkedTxn"] == [
        {"TxnId": sandbox.qbo.records(REALM, "Payment")[-1]["Id"], "TxnType": "Payment"}
    ]


def test_an_inactive_customer_is_found_by_its_suffixed_name_only(sandbox: Sandbox, api: Api) -> None:
    customer = sandbox.qbo.add(REALM, "Customer", {"DisplayName": "Gone Ltd"})
    sandbox.qbo.edit(REALM, "Customer", customer["Id"], Active=False)

    def named(name: str) -> list[str]:
        return [
            r["Id"]
            for r in api.rows(f"SELECT * FROM Customer WHERE DisplayName = '{name}' AND Active = false")
        ]

    assert named("Gone Ltd (deleted)") == [customer["Id"]]
    assert named("Gone Ltd") == []


def test_change_data_capture_reports_an_edit_once_at_its_new_time_and_a_deletion(sandbox: Sandbox) -> None:
    qbo, company = sandbox.qbo, sandbox.qbo.company(REALM)
    customer = next(c["Id"] for c in company.rows("Customer") if c["Active"])
    kept, edited, deleted = (qbo.add(REALM, "Invoice", _invoice(customer, 50)) for _ in range(3))
    since = company.moment()
    sandbox.state.clock.advance(60)
    qbo.edit(REALM, "Invoice", edited["Id"], PrivateNote="changed")
    qbo.delete(REALM, "Invoice", deleted["Id"])

    assert company.indexes.changes.changed_after("Invoice", since) == [edited["Id"], deleted["Id"]]
    assert kept["Id"] in company.indexes.changes.changed_after("Invoice", since - timedelta(seconds=5))
