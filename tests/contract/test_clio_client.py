"""ClioClient against the sandbox: it reads the whole demo firm, pages, refreshes and paces itself."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from ledgerlink.domain import APPROVED_STATES
from ledgerlink.errors import AuthError, ConflictError, NotFoundError
from ledgerlink.http import RateLimiter
from ledgerlink.providers.clio import ClioClient, invoice_from_clio
from ledgerlink.sandbox import FaultRule, Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox.demo_firm import CLIO_ACCOUNT_ID, EXPENSE_CATEGORIES, FIRM_NAME

APP = "sandbox-clio-app"


class Recorder(httpx.HTTPTransport):
    """A real HTTP transport that remembers every request it sent and every status it got."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self.statuses: list[int] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        response = super().handle_request(request)
        self.statuses.append(response.status_code)
        return response


class RefreshingToken:
    """A TokenSource whose first token is whatever the test says; refresh() asks ``fresh`` for another."""

    def __init__(self, first: str, fresh: Callable[[], str]) -> None:
        self.current = first
        self._fresh = fresh
        self.refreshes = 0

    def access_token(self) -> str:
        return self.current

    def refresh(self, rejected: str) -> str:
        self.refreshes += 1
        self.current = self._fresh()
        return self.current


def _token(box: Sandbox) -> str:
    return box.state.tokens.issue("clio", APP, None).access_token


def _connect(box: Sandbox, **kw: object) -> ClioClient:
    return ClioClient.connect(box.urls.clio_api, RefreshingToken(_token(box), lambda: _token(box)), **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=SandboxSettings(clio_rate_limit=100_000)), seed="demo") as box:
        yield box


@pytest.fixture(scope="module")
def clio(demo: Sandbox) -> Iterator[ClioClient]:
    with _connect(demo) as client:
        yield client


def test_who_am_i_is_the_account_owner_of_the_firm(clio: ClioClient) -> None:
    me = clio.who_am_i()

    assert me.account_owner and me.name == "Eleanor Hartwell"
    assert me.account is not None and (str(me.account.id), me.account.name) == (CLIO_ACCOUNT_ID, FIRM_NAME)


def test_reads_every_demo_contact_with_its_name_intact(clio: ClioClient, demo: Sandbox) -> None:
    contacts = list(clio.contacts())

    assert [(c.id, c.name) for c in contacts] == [(c["id"], c["name"]) for c in demo.clio.records("contact")]
    assert "Łukasz Żółć" in {c.name for c in contacts}


def test_reads_every_demo_bill_and_each_invoice_ties_out_to_the_cent(clio: ClioClient, demo: Sandbox) -> None:
    settings = clio.billing_settings()
    bills = list(clio.bills())
    approved = 0

    for bill in bills:
        lines = clio.line_items(bill.id)
        activities = {a.id: a for a in clio.activities(line.activity.id for line in lines if line.activity)}
        invoice = invoice_from_clio(bill, lines, activities, settings)
        assert sum((line.amount for line in invoice.lines), Decimal(0)) == invoice.total, bill.number
        assert all(line.category for line in invoice.lines if line.kind in ("time", "expense"))
        approved += invoice.state in APPROVED_STATES

    revenue = [b["id"] for b in demo.clio.records("bill") if b["kind"] != "trust_kind"]
    assert [b.id for b in bills] == revenue  # trust requests are bills, never invoices
    assert len(revenue) < len(demo.clio.records("bill"))
    assert approved > 100


def test_bills_can_be_read_by_state_and_issue_date(clio: ClioClient, demo: Sandbox) -> None:
    bills = list(clio.bills(states=["paid", "void"], issued_after=date(2025, 12, 31)))

    expected = {
        b["id"]
        for b in demo.clio.records("bill")
        if b["state"] in ("paid", "void")
        and b["issued_at"] > date(2025, 12, 31)
        and b["kind"] != "trust_kind"
    }
    assert {b.id for b in bills} == expected
    assert len(bills) == len(expected)


def test_line_items_of_a_bill_come_in_id_order_with_their_activity(clio: ClioClient, demo: Sandbox) -> None:
    bill = next(b for b in demo.clio.records("bill") if b["state"] == "paid" and b["total"] > 0)

    lines = clio.line_items(bill["id"])

    assert [line.id for line in lines] == sorted(
        li["id"] for li in demo.clio.records("line_item") if li["bill"] == bill["id"]
    )
    assert all(line.activity is not None for line in lines)


def test_activities_by_id_are_read_in_chunks(demo: Sandbox) -> None:
    recorder = Recorder()
    wanted = [a["id"] for a in demo.clio.records("activity")][:250]

    with _connect(demo, http_transport=recorder) as client:
        activities = list(client.activities(reversed(wanted)))

    assert [a.id for a in activities] == wanted
    # A page's worth of ids a request, each answered in one page (no page_token follow-up).
    assert [len(r.url.params.get_list("ids[]")) for r in recorder.requests] == [200, 50]


def test_activity_categories_are_the_categories_of_the_whole_activities(
    clio: ClioClient, demo: Sandbox
) -> None:
    records = demo.clio.records("activity")
    wanted = [a["id"] for a in records if a["type"] == "TimeEntry"][:5]
    wanted += [a["id"] for a in records if a["type"] == "ExpenseEntry"][:5]

    categories = list(clio.activity_categories(wanted))

    assert [(c.id, c.type, c.activity_description, c.expense_category) for c in categories] == [
        (a.id, a.type, a.activity_description, a.expense_category) for a in clio.activities(wanted)
    ]
    assert len(categories) == 10 and all(c.activity_description or c.expense_category for c in categories)


def test_categories_and_tax_settings_of_the_firm(clio: ClioClient) -> None:
    settings = clio.billing_settings()

    assert [c.name for c in clio.expense_categories()] == list(EXPENSE_CATEGORIES)
    assert len(clio.activity_descriptions()) == 5
    assert (settings.tax_name, settings.tax_rate, settings.use_secondary_tax) == (
        "Sales Tax",
        Decimal("8.875"),
        False,
    )


def test_one_contact_by_id_and_an_unknown_one_is_not_found(clio: ClioClient, demo: Sandbox) -> None:
    first = demo.clio.records("contact")[0]

    assert clio.contact(first["id"]).name == first["name"]
    with pytest.raises(NotFoundError) as raised:
        clio.contact(1)
    assert raised.value.status == 404 and raised.value.code == "RecordNotFound"


def test_pages_through_hundreds_of_contacts_following_next_links(empty_sandbox: Sandbox) -> None:
    ids = [empty_sandbox.clio.add_contact(type="Company", name=f"Client {n} LLC")["id"] for n in range(450)]
    recorder = Recorder()

    with _connect(empty_sandbox, http_transport=recorder) as client:
        contacts = list(client.contacts())

    assert [c.id for c in contacts] == ids
    assert len(recorder.requests) == 3
    first = recorder.requests[0].url.params
    assert (first["order"], first["limit"]) == ("id(asc)", "200") and "fields" in first
    assert all(r.headers["X-API-VERSION"] == "4.0.13" for r in recorder.requests)


def test_updated_since_reads_only_contacts_changed_after_it(sandbox: Sandbox) -> None:
    contact = sandbox.clio.records("contact")[7]
    sandbox.state.clock.advance(300)
    changed = sandbox.clio.update_contact(contact["id"], title="General Counsel")

    with _connect(sandbox) as client:
        recent = list(client.contacts(updated_since=changed["updated_at"] - timedelta(seconds=1)))

    assert [c.id for c in recent] == [contact["id"]]


def test_a_rejected_token_is_refreshed_once_and_the_read_goes_on(sandbox: Sandbox) -> None:
    auth = RefreshingToken("clio-at-expired-long-ago", lambda: _token(sandbox))

    with ClioClient.connect(sandbox.urls.clio_api, auth) as client:
        me = client.who_am_i()
        list(client.contacts())

    assert me.account_owner
    assert auth.refreshes == 1


def test_a_token_still_rejected_after_refreshing_is_an_auth_error(sandbox: Sandbox) -> None:
    auth = RefreshingToken("clio-at-revoked", lambda: "clio-at-also-revoked")

    with ClioClient.connect(sandbox.urls.clio_api, auth) as client, pytest.raises(AuthError):
        client.who_am_i()

    assert auth.refreshes == 1


def test_pacing_waits_for_the_rate_limit_window_instead_of_hitting_429() -> None:
    state = SandboxState(settings=SandboxSettings(clio_rate_limit=5, clio_rate_window=60))
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # the sandbox's time passes instead of the test's
        waits.append(seconds)
        state.clock.advance(seconds)

    recorder = Recorder()
    with Sandbox(state, seed="demo") as box:
        limiter = RateLimiter(sleep=sleep, wall=state.clock.now)
        with _connect(box, limiter=limiter, sleep=sleep, http_transport=recorder) as client:
            bills = list(client.bills(states=["void"]))
            for bill in bills:
                client.line_items(bill.id)
            client.who_am_i()
            client.billing_settings()

    assert len(recorder.requests) == len(bills) + 3 > 5
    assert 429 not in recorder.statuses
    assert len(waits) >= 1 and all(0 < wait <= 61 for wait in waits)


def test_a_429_is_retried_after_the_seconds_clio_asks_for(sandbox: Sandbox) -> None:
    sandbox.state.faults.add(FaultRule(kind="429", path=r"/clio/api/v4/contacts", times=1))
    waits: list[float] = []

    with _connect(sandbox, sleep=waits.append) as client:
        contacts = list(client.contacts())

    assert waits == [1.0]
    assert len(contacts) == len(sandbox.clio.records("contact"))


# --- allocations and contact writes ------------------------------------------------------------


def _client_with_a_bill(box: Sandbox, total: str) -> tuple[int, int]:
    clio = box.clio
    contact = clio.add_contact(type="Company", name="Harbor & Pine Realty LLC", is_client=True)
    bill = clio.add_bill(client=contact["id"], number="500", state="awaiting_payment")
    clio.add_line_item(
        bill=bill["id"], kind="Service", description="Advice", quantity=1, price=Decimal(total)
    )
    return contact["id"], bill["id"]


def test_allocations_page_by_cursor_and_split_valid_from_voided(empty_sandbox: Sandbox) -> None:
    contact_id, bill_id = _client_with_a_bill(empty_sandbox, "1000.00")
    payments = [empty_sandbox.clio.record_split_payment(contact_id, {bill_id: "2.00"}) for _ in range(230)]
    empty_sandbox.clio.delete_payment(payments[0])
    recorder = Recorder()

    with _connect(empty_sandbox, http_transport=recorder) as client:
        valid = list(client.allocations())
        voided = list(client.allocations(status="invalid"))
        of_two = list(client.allocations(parent_ids=payments[1:3]))

    assert [a.parent.id for a in valid if a.parent] == payments[1:]
    assert [(a.parent.id, a.voided_at is not None) for a in voided if a.parent] == [(payments[0], True)]
    assert [a.amount for a in of_two] == [Decimal("2.00")] * 2 and all(
        a.bill and a.bill.id == bill_id for a in of_two
    )
    assert len(recorder.requests) == 2 + 1 + 2
    assert 400 not in recorder.statuses


def test_a_contact_is_patched_only_with_its_current_etag(sandbox: Sandbox) -> None:
    first = sandbox.clio.records("contact")[0]

    with _connect(sandbox) as client:
        current = client.contact(first["id"])
        assert current.etag is not None
        updated = client.update_contact(current.id, {"title": "Partner"}, etag=current.etag)
        with pytest.raises(ConflictError):
            client.update_contact(current.id, {"title": "Owner"}, etag=current.etag)

    assert updated.etag != current.etag and updated.id == current.id
    assert sandbox.clio.get("contact", first["id"])["title"] == "Partner"
