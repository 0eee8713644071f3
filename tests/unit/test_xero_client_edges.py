"""XeroClient and its limiter where a real organisation is hard to corner: Xero's rate limits (minute vs
day 429, Retry-After, the daily budget, pacing, concurrency), idempotency keys, chunking, per-element
outcomes, its ``/Date(…)/`` values and Decimal money. Time is a fake clock that only ``sleep`` moves.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
import respx

from ledgerlink.errors import ApiError, SystemicError, ValidationError
from ledgerlink.http import add_wait_listener
from ledgerlink.providers.xero import (
    DailyLimitReached,
    XeroClient,
    XeroContact,
    XeroInvoice,
    XeroLimiter,
    XeroLineItem,
    XeroPayment,
    idempotency_key,
)
from ledgerlink.providers.xero.client import accounting_url, issued_between
from ledgerlink.providers.xero.limiter import is_day_limit
from ledgerlink.providers.xero.wire import parse_ms_datetime, parse_xero_date

API = "https://xero.test/api.xro/2.0"
TENANT = "4f5c6b1e-2d3a-4e8f-9a0b-1c2d3e4f5a6b"
ZERO_ID = "00000000-0000-0000-0000-000000000000"


class FixedToken:
    def access_token(self) -> str:
        return "xero-at-fixed-token-123456"

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


class FakeClock:
    """Monotonic and wall time that only move when something sleeps; remembers every sleep."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0
        self.sleeps: list[float] = []
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(clock: FakeClock) -> XeroLimiter:
    return XeroLimiter(tenant_id=TENANT, sleep=clock.sleep, monotonic=clock.monotonic, wall=clock.wall)


@pytest.fixture
def xero(limiter: XeroLimiter) -> Iterator[XeroClient]:
    with XeroClient(API, TENANT, FixedToken(), limiter) as client:
        yield client


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as mock:
        yield mock


@pytest.fixture
def waits() -> Iterator[list[tuple[str, float]]]:
    told: list[tuple[str, float]] = []
    remove = add_wait_listener(lambda name, seconds: told.append((name, seconds)))
    yield told
    remove()


def ok(body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.Response(200, json={"Status": "OK", **body}, headers=headers)


def too_many(problem: str, retry_after: int) -> httpx.Response:
    return httpx.Response(
        429, text="", headers={"Retry-After": str(retry_after), "X-Rate-Limit-Problem": problem}
    )


def echo(collection: str, id_field: str) -> Callable[[httpx.Request], httpx.Response]:
    """A write endpoint that accepts every element and gives it an ID."""

    def answer(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)[collection]
        kept = [{**e, id_field: f"{id_field}-{i}", "StatusAttributeString": "OK"} for i, e in enumerate(sent)]
        return ok({collection: kept})

    return answer


def invoice(number: str, unit: str = "150.00") -> XeroInvoice:
    return XeroInvoice(
        type="ACCREC",
        contact=XeroContact(contact_id="c0ffee00-0000-4000-8000-000000000001"),
        invoice_number=number,
        date=date(2026, 3, 2),
        status="AUTHORISED",
        line_items=[XeroLineItem(description="Advice", quantity=Decimal("1.5"), unit_amount=Decimal(unit))],
    )


# --- every call ------------------------------------------------------------------------------


def test_every_call_names_the_organisation_and_asks_for_json(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.get("/Accounts").mock(return_value=ok({"Accounts": [{"Code": "200", "Type": "REVENUE"}]}))

    accounts = xero.accounts(where='Status=="ACTIVE"')

    request = route.calls.last.request
    assert request.headers["xero-tenant-id"] == TENANT
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Authorization"] == "Bearer xero-at-fixed-token-123456"
    assert request.url.params["where"] == 'Status=="ACTIVE"'
    assert [(a.code, a.type) for a in accounts] == [("200", "REVENUE")]


def test_the_accounting_api_lives_under_the_api_base() -> None:
    assert accounting_url("https://api.xero.com/") == "https://api.xero.com/api.xro/2.0"
    assert accounting_url("http://127.0.0.1:5000/xero/api") == "http://127.0.0.1:5000/xero/api/api.xro/2.0"


# --- 429: minute vs day ----------------------------------------------------------------------


def test_a_minute_429_pauses_for_retry_after_then_retries(
    xero: XeroClient, router: respx.MockRouter, clock: FakeClock, waits: list[tuple[str, float]]
) -> None:
    route = router.get("/Organisation").mock(
        side_effect=[too_many("minute", 7), ok({"Organisations": [{"Name": "Hartwell & Osei"}]})]
    )

    org = xero.organisation()

    assert org.name == "Hartwell & Osei"
    assert route.call_count == 2
    assert clock.sleeps == [7.0]
    assert ("Xero", 7.0) in waits


def test_a_minute_429_pauses_every_call_of_the_organisation(limiter: XeroLimiter, clock: FakeClock) -> None:
    request = httpx.Request("GET", f"{API}/Invoices")
    limiter.observe(
        httpx.Response(429, headers={"Retry-After": "12", "X-Rate-Limit-Problem": "Minute"}, request=request)
    )

    limiter.before_request()  # another caller of the same organisation

    assert clock.sleeps == [12.0]


def test_a_day_429_stops_the_pass_at_once_without_sleeping(
    xero: XeroClient, router: respx.MockRouter, clock: FakeClock
) -> None:
    route = router.get("/Contacts").mock(return_value=too_many("day", 30_000))

    with pytest.raises(DailyLimitReached) as raised:
        xero.contacts()

    assert isinstance(raised.value, SystemicError) and raised.value.exit_code == 3
    assert raised.value.remaining == 0
    assert "8.3 h" in raised.value.remedy and "resumes" in raised.value.remedy
    assert clock.sleeps == []
    assert route.call_count == 1
    with pytest.raises(DailyLimitReached):  # the rest of the pass does not even ask
        xero.contacts()
    assert route.call_count == 1


def test_the_day_budget_reopens_after_the_day_429s_retry_after(
    xero: XeroClient, router: respx.MockRouter, clock: FakeClock
) -> None:
    router.get("/TaxRates").mock(side_effect=[too_many("Daily", 600), ok({"TaxRates": []})])
    with pytest.raises(DailyLimitReached):
        xero.tax_rates()

    clock.now += 601  # a later pass in the same process (e.g. --watch)

    assert xero.tax_rates() == []


@pytest.mark.parametrize(
    ("problem", "day"), [("day", True), ("Daily", True), ("minute", False), (None, False)]
)
def test_the_limit_problem_is_read_case_insensitively(problem: str | None, day: bool) -> None:
    assert is_day_limit(problem) is day


# --- the daily budget --------------------------------------------------------------------------


def test_the_budget_comes_from_x_daylimit_remaining(xero: XeroClient, router: respx.MockRouter) -> None:
    router.get("/Accounts").mock(return_value=ok({"Accounts": []}, **{"X-DayLimit-Remaining": "3"}))
    assert xero.limiter.ensure_budget(10_000) is None  # unknown until Xero says

    xero.accounts()

    assert xero.limiter.ensure_budget(3) == 3
    with pytest.raises(DailyLimitReached) as raised:
        xero.limiter.ensure_budget(4)
    assert "only 3 more call(s) today" in str(raised.value) and "next pass resumes" in str(raised.value)
    assert (raised.value.remaining, raised.value.needed) == (3, 4)


def test_a_write_that_would_not_fit_the_budget_sends_nothing(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    router.get("/Accounts").mock(return_value=ok({"Accounts": []}, **{"X-DayLimit-Remaining": "2"}))
    writes = router.put("/Contacts").mock(side_effect=echo("Contacts", "ContactID"))
    xero.accounts()

    with pytest.raises(DailyLimitReached):
        xero.put_contacts([XeroContact(name=f"Client {i}") for i in range(120)], key="contacts:run-1")

    assert writes.call_count == 0


def test_the_budget_counts_down_per_call_and_refuses_the_one_past_it(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.get("/Accounts").mock(
        side_effect=[
            ok({"Accounts": []}, **{"X-DayLimit-Remaining": "1"}),
            ok({"Accounts": []}, **{"X-DayLimit-Remaining": "0"}),
        ]
    )
    xero.accounts()
    xero.accounts()

    with pytest.raises(DailyLimitReached):
        xero.accounts()
    assert route.call_count == 2


# --- pacing and concurrency ------------------------------------------------------------------


def test_the_61st_call_within_a_minute_waits_for_the_oldest_to_leave_the_window(
    xero: XeroClient, router: respx.MockRouter, clock: FakeClock, waits: list[tuple[str, float]]
) -> None:
    route = router.get("/Accounts").mock(return_value=ok({"Accounts": []}))

    for _ in range(61):
        xero.accounts()

    assert route.call_count == 61
    assert clock.sleeps == [61.0]  # the window plus a second's margin for Xero receiving it later
    assert waits == [("Xero", 61.0)]


def test_x_minlimit_remaining_narrows_the_pacing(
    xero: XeroClient, router: respx.MockRouter, clock: FakeClock
) -> None:
    router.get("/Accounts").mock(return_value=ok({"Accounts": []}, **{"X-MinLimit-Remaining": "0"}))
    xero.accounts()
    clock.now += 20

    xero.accounts()

    assert clock.sleeps == [41.0]  # until the first call leaves the minute (plus the margin)


def test_at_most_five_calls_are_in_flight(xero: XeroClient, router: respx.MockRouter) -> None:
    state = {"now": 0, "most": 0}
    changed = threading.Condition()
    release = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        with changed:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
            changed.notify_all()
        release.wait(10)
        with changed:
            state["now"] -= 1
        return ok({"Accounts": []})

    router.get("/Accounts").mock(side_effect=slow)
    threads = [threading.Thread(target=xero.accounts) for _ in range(8)]
    for thread in threads:
        thread.start()
    with changed:
        assert changed.wait_for(lambda: state["now"] >= 5, timeout=10)
    release.set()
    for thread in threads:
        thread.join(10)

    assert state["most"] == 5


# --- writes: idempotency, chunking, outcomes -------------------------------------------------


def test_every_write_carries_an_idempotency_key_and_summarize_errors_false(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    router.put("/Contacts").mock(side_effect=echo("Contacts", "ContactID"))
    router.post("/Contacts").mock(side_effect=echo("Contacts", "ContactID"))
    router.put("/Invoices").mock(side_effect=echo("Invoices", "InvoiceID"))
    router.post("/Invoices").mock(side_effect=echo("Invoices", "InvoiceID"))
    router.put("/Payments").mock(side_effect=echo("Payments", "PaymentID"))
    router.put("/CreditNotes").mock(side_effect=echo("CreditNotes", "CreditNoteID"))
    router.put("/BankTransactions").mock(side_effect=echo("BankTransactions", "BankTransactionID"))
    router.post("/BankTransactions").mock(side_effect=echo("BankTransactions", "BankTransactionID"))
    router.put("/CreditNotes/cn-1/Allocations").mock(side_effect=echo("Allocations", "AllocationID"))
    router.post("/Payments/pay-1").mock(
        return_value=ok({"Payments": [{"PaymentID": "pay-1", "Status": "DELETED"}]})
    )

    xero.put_contacts([XeroContact(name="A")], key="k")
    xero.post_contacts([XeroContact(name="A")], key="k")
    xero.put_invoices([invoice("B-1")], key="k")
    xero.post_invoices([invoice("B-1")], key="k")
    xero.put_payments([XeroPayment(amount=Decimal("1"))], key="k")
    xero.put_credit_notes([], key="k")  # nothing to send: no call
    xero.put_bank_transactions([], key="k")
    xero.post_bank_transactions([], key="k")
    xero.allocate_credit_note("cn-1", "inv-1", Decimal("10.00"), date(2026, 3, 5), key="k")
    deleted = xero.delete_payment("pay-1", key="k")

    writes = [call.request for call in router.calls]
    assert len(writes) == 7
    assert all(request.method in ("PUT", "POST") for request in writes)
    assert all(request.headers.get("Idempotency-Key") for request in writes)
    assert len({request.headers["Idempotency-Key"] for request in writes}) == 7  # one per operation
    assert all(
        r.url.params.get("summarizeErrors") == "false" for r in writes if "/Payments/" not in r.url.path
    )
    assert deleted.status == "DELETED"


def test_the_idempotency_key_is_stable_for_the_same_intent_and_scoped_to_the_organisation() -> None:
    key = idempotency_key("invoice:bill-17", 0, tenant_id=TENANT, operation="PUT /Invoices")

    assert key == idempotency_key("invoice:bill-17", 0, tenant_id=TENANT, operation="PUT /Invoices")
    assert key.startswith("invoice:bill-17.0.")
    assert key != idempotency_key("invoice:bill-17", 1, tenant_id=TENANT, operation="PUT /Invoices")
    assert key != idempotency_key("invoice:bill-17", 0, tenant_id="other-org", operation="PUT /Invoices")
    assert key != idempotency_key("invoice:bill-17", 0, tenant_id=TENANT, operation="POST /Invoices")
    long = idempotency_key("x" * 300 + " é/", 12, tenant_id=TENANT, operation="PUT /Invoices")
    assert len(long) <= 128 and long.isascii() and " " not in long
    with pytest.raises(ValueError):
        idempotency_key("", 0, tenant_id=TENANT, operation="PUT /Invoices")


def test_a_repeated_write_resends_the_same_key(xero: XeroClient, router: respx.MockRouter) -> None:
    route = router.put("/Invoices").mock(side_effect=echo("Invoices", "InvoiceID"))

    xero.put_invoices([invoice("B-1")], key="invoices:pass-9")
    xero.put_invoices([invoice("B-1")], key="invoices:pass-9")
    xero.put_invoices([invoice("B-1")], key="invoices:pass-10")

    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert keys[0] == keys[1] != keys[2]


def test_a_retried_write_after_a_server_error_carries_the_same_key(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.put("/Payments").mock(
        side_effect=[httpx.Response(503, text="Service Unavailable"), echo("Payments", "PaymentID")]
    )

    [outcome] = xero.put_payments([XeroPayment(amount=Decimal("25.00"))], key="payments:p-1")

    assert outcome.ok and route.call_count == 2
    first, second = (call.request.headers["Idempotency-Key"] for call in route.calls)
    assert first == second


def test_long_lists_are_sent_50_elements_a_request(xero: XeroClient, router: respx.MockRouter) -> None:
    route = router.put("/Contacts").mock(side_effect=echo("Contacts", "ContactID"))

    outcomes = xero.put_contacts([XeroContact(name=f"Client {i}") for i in range(120)], key="contacts:c")

    sizes = [len(json.loads(call.request.content)["Contacts"]) for call in route.calls]
    assert sizes == [50, 50, 20]
    keys = [call.request.headers["Idempotency-Key"] for call in route.calls]
    assert [k.split(".")[1] for k in keys] == ["0", "1", "2"] and len(set(keys)) == 3
    assert [o.index for o in outcomes] == list(range(120))
    assert outcomes[119].record is not None and outcomes[119].record.contact_id == "ContactID-19"
    assert outcomes[119].record.name == "Client 119"


def test_each_element_gets_its_own_outcome(xero: XeroClient, router: respx.MockRouter) -> None:
    answer = {
        "Invoices": [
            {"InvoiceID": "inv-1", "InvoiceNumber": "B-1", "StatusAttributeString": "OK", "Total": 225.00},
            {
                "InvoiceID": ZERO_ID,
                "InvoiceNumber": "B-2",
                "HasErrors": True,
                "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": "Invoice # must be unique."}],
            },
            {
                "InvoiceID": "inv-3",
                "InvoiceNumber": "B-3",
                "StatusAttributeString": "WARNING",
                "Warnings": [{"Message": "Only AUTHORISED invoices may have SentToContact updated."}],
            },
        ]
    }
    router.put("/Invoices").mock(return_value=ok(answer))

    first, second, third = xero.put_invoices([invoice("B-1"), invoice("B-2"), invoice("B-3")], key="k")

    assert first.ok and first.record is not None and first.record.invoice_id == "inv-1"
    assert first.record.total == Decimal("225.00")
    assert second.record is None and isinstance(second.error, ValidationError)
    assert str(second.error).startswith("Xero refused invoice #2: Invoice # must be unique.")
    assert second.error.detail == "Invoice # must be unique."
    assert third.ok and third.warnings == ("Only AUTHORISED invoices may have SentToContact updated.",)


def test_a_contact_flagged_by_has_validation_errors_is_refused(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    message = "The contact name Ann Lee is already assigned to another contact."
    router.put("/Contacts").mock(
        return_value=ok(
            {
                "Contacts": [
                    {
                        "ContactID": ZERO_ID,
                        "HasValidationErrors": True,
                        "ValidationErrors": [{"Message": message}],
                    }
                ]
            }
        )
    )

    [outcome] = xero.put_contacts([XeroContact(name="Ann Lee")], key="k")

    assert outcome.error is not None and outcome.error.detail == message and outcome.record is None


def test_a_whole_request_refused_is_every_elements_error(xero: XeroClient, router: respx.MockRouter) -> None:
    refusal = {"ErrorNumber": 10, "Type": "ValidationException", "Message": "A validation exception occurred"}
    route = router.put("/Contacts").mock(
        side_effect=[httpx.Response(400, json=refusal), echo("Contacts", "ContactID")]
    )

    outcomes = xero.put_contacts([XeroContact(name=f"C{i}") for i in range(55)], key="k")

    assert route.call_count == 2
    assert all(isinstance(o.error, ValidationError) for o in outcomes[:50])
    assert all(o.ok for o in outcomes[50:])


def test_an_answer_that_loses_elements_is_an_api_error(xero: XeroClient, router: respx.MockRouter) -> None:
    router.put("/Contacts").mock(return_value=ok({"Contacts": [{"ContactID": "c-1"}]}))

    with pytest.raises(ApiError, match="1 Contacts for the 2 sent"):
        xero.put_contacts([XeroContact(name="A"), XeroContact(name="B")], key="k")


def test_delete_payment_posts_only_the_deleted_status(xero: XeroClient, router: respx.MockRouter) -> None:
    route = router.post("/Payments/pay-9").mock(
        return_value=ok({"Payments": [{"PaymentID": "pay-9", "Status": "DELETED", "Amount": 40.00}]})
    )

    payment = xero.delete_payment("pay-9", key="delete:pay-9")

    assert json.loads(route.calls.last.request.content) == {"Status": "DELETED"}
    assert payment.status == "DELETED" and payment.amount == Decimal("40.00")


def test_a_refused_payment_deletion_raises(xero: XeroClient, router: respx.MockRouter) -> None:
    refused = {
        "PaymentID": "pay-9",
        "HasValidationErrors": True,
        "ValidationErrors": [{"Message": "Payment is reconciled"}],
    }
    router.post("/Payments/pay-9").mock(return_value=ok({"Payments": [refused]}))

    with pytest.raises(ValidationError, match="Payment is reconciled"):
        xero.delete_payment("pay-9", key="delete:pay-9")


def test_allocating_a_credit_note_sends_invoice_amount_and_date(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.put("/CreditNotes/cn-1/Allocations").mock(side_effect=echo("Allocations", "AllocationID"))

    outcome = xero.allocate_credit_note("cn-1", "inv-1", Decimal("12.50"), date(2026, 3, 5), key="alloc:cn-1")

    sent = json.loads(route.calls.last.request.content, parse_float=Decimal)
    assert sent == {
        "Allocations": [{"Invoice": {"InvoiceID": "inv-1"}, "Amount": Decimal("12.50"), "Date": "2026-03-05"}]
    }
    assert outcome.ok and outcome.record is not None and outcome.record.amount == Decimal("12.50")


# --- reads: paging, filters ------------------------------------------------------------------


def test_reads_page_1000_records_at_a_time_until_a_short_page(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number, size = int(request.url.params["page"]), int(request.url.params["pageSize"])
        count = size if number < 3 else 50
        return ok({"Contacts": [{"ContactID": f"{number}-{i}"} for i in range(count)]})

    route = router.get("/Contacts").mock(side_effect=page)

    contacts = xero.contacts(include_archived=True)

    assert len(contacts) == 2050
    assert [call.request.url.params["page"] for call in route.calls] == ["1", "2", "3"]
    assert {call.request.url.params["pageSize"] for call in route.calls} == {"1000"}
    assert route.calls.last.request.url.params["includeArchived"] == "true"


def test_reads_stop_at_the_page_count(xero: XeroClient, router: respx.MockRouter) -> None:
    full = [{"PaymentID": str(i)} for i in range(100)]
    route = router.get("/Payments").mock(
        return_value=ok(
            {"Payments": full, "pagination": {"page": 1, "pageSize": 100, "pageCount": 1, "itemCount": 100}}
        )
    )

    assert len(xero.payments()) == 100
    assert route.call_count == 1


def test_a_named_page_is_read_alone_and_modified_since_is_sent_in_utc(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.get("/Invoices").mock(
        return_value=ok({"Invoices": [{"InvoiceID": str(i)} for i in range(100)]})
    )
    since = datetime(2026, 3, 1, 9, 30, 15, tzinfo=timezone(timedelta(hours=13)))

    invoices = xero.invoices(page=4, statuses=["AUTHORISED", "PAID"], modified_since=since)

    request = route.calls.last.request
    assert len(invoices) == 100 and route.call_count == 1
    assert request.url.params["page"] == "4"
    assert request.url.params["Statuses"] == "AUTHORISED,PAID"
    assert request.url.params["unitdp"] == "4"
    assert request.headers["If-Modified-Since"] == "2026-02-28T20:30:15"
    with pytest.raises(ValueError):
        xero.invoices(modified_since=datetime(2026, 3, 1))


def paged(collection: str, records: list[dict[str, Any]]) -> Callable[[httpx.Request], httpx.Response]:
    """A list endpoint that filters ``records`` by ``InvoiceNumbers`` and pages them as Xero does."""

    def answer(request: httpx.Request) -> httpx.Response:
        number, size = int(request.url.params["page"]), int(request.url.params["pageSize"])
        asked = request.url.params.get("InvoiceNumbers")
        rows = [r for r in records if asked is None or r["InvoiceNumber"] in asked.split(",")]
        count = max(1, -(-len(rows) // size))
        pagination = {"page": number, "pageSize": size, "pageCount": count, "itemCount": len(rows)}
        return ok({collection: rows[(number - 1) * size : number * size], "pagination": pagination})

    return answer


def test_invoices_by_number_asks_as_many_numbers_as_fit_the_query_string(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.get("/Invoices").mock(return_value=ok({"Invoices": []}))

    xero.invoices_by_number([f"B-{i}" for i in range(120)])

    (request,) = [call.request for call in route.calls]
    assert request.url.params["InvoiceNumbers"].split(",") == [f"B-{i}" for i in range(120)]
    with pytest.raises(ValueError):
        xero.invoices_by_number(["B,1"])


def test_numbers_past_one_query_string_read_a_small_book_whole_instead(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    book = [{"InvoiceID": f"i-{n}", "Type": "ACCREC", "InvoiceNumber": str(n)} for n in range(10001, 10004)]
    route = router.get("/Invoices").mock(side_effect=paged("Invoices", book))
    numbers = [str(n) for n in range(10001, 11001)]  # 1,000 numbers: several look-ups

    found = xero.invoices_by_number(numbers)

    (request,) = [call.request for call in route.calls]
    assert [r.invoice_number for r in found] == ["10001", "10002", "10003"]
    assert request.url.params["where"] == 'Type=="ACCREC"' and "InvoiceNumbers" not in request.url.params


def test_a_book_bigger_than_the_look_ups_is_left_after_its_first_page(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    book = [{"InvoiceID": f"i-{n}", "Type": "ACCREC", "InvoiceNumber": str(n)} for n in range(20000)]
    route = router.get("/Invoices").mock(side_effect=paged("Invoices", book))
    numbers = [str(n) for n in range(10001, 11001)]

    found = xero.invoices_by_number(numbers)

    first, *look_ups = [call.request.url.params.get("InvoiceNumbers") for call in route.calls]
    assert first is None and 1 < len(look_ups) < 20  # 20 pages of book: the look-ups are cheaper
    assert ",".join(look_ups).split(",") == numbers
    assert sorted(r.invoice_number or "" for r in found) == numbers


def test_long_id_lists_are_split_to_keep_each_query_string_within_2048_characters(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.get("/Contacts").mock(return_value=ok({"Contacts": []}))
    ids = [f"c0ffee00-0000-4000-8000-{i:012d}" for i in range(120)]

    xero.contacts(ids=ids, include_archived=True)

    sent = [call.request.url.params["IDs"].split(",") for call in route.calls]
    assert [i for chunk in sent for i in chunk] == ids and len(sent) == 3
    assert all(len(call.request.url.query) <= 2048 for call in route.calls)


def test_issued_between_builds_a_date_range_filter() -> None:
    assert (
        issued_between(date(2026, 1, 1), date(2026, 3, 31))
        == 'Type=="ACCREC" AND Date>=DateTime(2026, 01, 01) AND Date<=DateTime(2026, 03, 31)'
    )


# --- dates and money -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Date(1439434356790)/", datetime(2015, 8, 13, 2, 52, 36, 790000, tzinfo=UTC)),
        ("/Date(1419937200000+1300)/", datetime(2014, 12, 30, 11, 0, tzinfo=UTC)),
        ("/Date(1584585851967+0000)/", datetime(2020, 3, 19, 2, 44, 11, 967000, tzinfo=UTC)),
        ("/Date(-86400000)/", datetime(1969, 12, 31, tzinfo=UTC)),
    ],
)
def test_ms_dates_keep_their_instant(text: str, expected: datetime) -> None:
    assert parse_ms_datetime(text) == expected


def test_an_ms_date_offset_becomes_the_zone() -> None:
    parsed = parse_ms_datetime("/Date(1419937200000+1300)/")

    assert parsed.utcoffset() == timedelta(hours=13)
    assert (parsed.year, parsed.month, parsed.day, parsed.hour) == (2014, 12, 31, 0)
    assert parse_ms_datetime("/Date(1602363600000-0530)/").utcoffset() == -timedelta(hours=5, minutes=30)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/Date(1539993600000+0000)/", date(2018, 10, 20)),
        ("/Date(1602363600000+0300)/", date(2020, 10, 11)),  # midnight at +03:00 is that day
        ("/Date(1419937200000+1300)/", date(2014, 12, 31)),
        ("2018-10-20T00:00:00", date(2018, 10, 20)),
        ("2026-03-02", date(2026, 3, 2)),
    ],
)
def test_document_dates_are_the_day_at_the_offset(value: str, expected: date) -> None:
    assert parse_xero_date(value) == expected


@pytest.mark.parametrize("bad", ["/Date(abc)/", "/Date(123+13)/", "Date(123)"])
def test_malformed_ms_dates_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_ms_datetime(bad)


def test_read_records_carry_decimal_money_and_real_dates(xero: XeroClient, router: respx.MockRouter) -> None:
    raw = (
        b'{"Status":"OK","Invoices":[{"InvoiceID":"inv-1","Date":"/Date(1539993600000+0000)/",'
        b'"UpdatedDateUTC":"/Date(1573755038314+0000)/","Total":1234.56,"AmountDue":0.10,'
        b'"LineItems":[{"UnitAmount":123.4567,"Quantity":3,"LineAmount":370.37}],'
        b'"Payments":[{"PaymentID":"p-1","Amount":1234.46,"Date":"/Date(1540080000000+0000)/"}]}]}'
    )
    router.get("/Invoices").mock(return_value=httpx.Response(200, content=raw))

    [found] = xero.invoices(ids=["inv-1"])

    assert found.total == Decimal("1234.56") and found.amount_due == Decimal("0.10")
    assert found.line_items is not None and found.line_items[0].unit_amount == Decimal("123.4567")
    assert found.date == date(2018, 10, 20)
    assert found.updated_date_utc == datetime(2019, 11, 14, 18, 10, 38, 314000, tzinfo=UTC)
    assert found.payments is not None and found.payments[0].amount == Decimal("1234.46")
    assert found.payments[0].date == date(2018, 10, 21)


def test_writes_send_exact_decimals_dates_and_unitdp_only_when_needed(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.put("/Invoices").mock(side_effect=echo("Invoices", "InvoiceID"))

    xero.put_invoices([invoice("B-1", unit="150.10")], key="a")
    xero.put_invoices([invoice("B-2", unit="123.4567")], key="b")

    first, second = (call.request for call in route.calls)
    assert b'"UnitAmount":150.10' in first.content and b'"Date":"2026-03-02"' in first.content
    assert "unitdp" not in first.url.params
    assert b'"UnitAmount":123.4567' in second.content and second.url.params["unitdp"] == "4"


def test_computed_and_undeclared_fields_of_a_record_read_back_are_not_sent(
    xero: XeroClient, router: respx.MockRouter
) -> None:
    route = router.post("/Invoices").mock(side_effect=echo("Invoices", "InvoiceID"))
    read = XeroInvoice.model_validate(
        {
            "InvoiceID": "inv-1",
            "Status": "AUTHORISED",
            "Total": 10,
            "AmountDue": 10,
            "HasErrors": False,
            "Contact": {"ContactID": "c-1", "IsCustomer": True},
            "UpdatedDateUTC": "/Date(1573755038314+0000)/",
            "DateString": "2026-03-02T00:00:00",  # answered, but not in the spec
        }
    )

    xero.post_invoices([read], key="k")

    assert json.loads(route.calls.last.request.content) == {
        "Invoices": [{"InvoiceID": "inv-1", "Status": "AUTHORISED", "Contact": {"ContactID": "c-1"}}]
    }
