"""ClioSource: the sync engine's view of Clio, read with few requests and never with missing lines."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from ledgerlink.domain import Invoice
from ledgerlink.providers.clio import ClioClient, invoice_from_clio
from ledgerlink.providers.clio.source import LINES_PER_BILL_UP_TO, ClioSource
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState

APP = "sandbox-clio-app"


class Recorder(httpx.HTTPTransport):
    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path.rsplit("/", 1)[-1])
        return super().handle_request(request)


class Token:
    def __init__(self, value: str) -> None:
        self.value = value

    def access_token(self) -> str:
        return self.value

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


def _client(box: Sandbox, recorder: httpx.BaseTransport | None = None) -> ClioClient:
    token = Token(box.state.tokens.issue("clio", APP, None).access_token)
    return ClioClient.connect(box.urls.clio_api, token, http_transport=recorder)


@pytest.fixture(scope="module")
def demo() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=SandboxSettings(clio_rate_limit=100_000)), seed="demo") as box:
        yield box


def _one_by_one(client: ClioClient, bill_ids: list[int]) -> list[Invoice]:
    settings = client.billing_settings()
    invoices = []
    for bill in client.bills(ids=bill_ids):
        lines = client.line_items(bill.id)
        activities = {a.id: a for a in client.activities(line.activity.id for line in lines if line.activity)}
        invoices.append(invoice_from_clio(bill, lines, activities, settings))
    return invoices


def test_every_demo_bill_is_read_with_a_handful_of_requests(demo: Sandbox) -> None:
    recorder = Recorder()

    with _client(demo, recorder) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)
    with _client(demo) as client:
        expected = _one_by_one(client, [b["id"] for b in demo.clio.records("bill")])

    assert invoices == expected
    assert recorder.paths.count("line_items.json") <= LINES_PER_BILL_UP_TO + 5
    assert len(recorder.paths) < 40


def test_issued_after_is_strict_and_changes_are_read_since(demo: Sandbox) -> None:
    with _client(demo) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=date(2025, 12, 31))

    assert min(i.issued_at for i in invoices) == date(2026, 1, 1)


def test_contacts_by_id_and_changed_since(demo: Sandbox) -> None:
    wanted = [str(c["id"]) for c in demo.clio.records("contact")[:3]]

    with _client(demo) as client:
        source = ClioSource(client)
        by_id = source.contacts(wanted)
        everyone = source.changed_contacts(None)
        nobody = source.changed_contacts(datetime.now(UTC) + timedelta(days=2))

    assert [c.source_id for c in by_id] == wanted
    assert len(everyone) == len(demo.clio.records("contact")) and nobody == []


def _firm_with_bills(box: Sandbox, count: int) -> list[dict[str, object]]:
    clio = box.clio
    clio.set_billing_settings(tax_name="Sales Tax", tax_rate=Decimal("8.875"))
    client = clio.add_contact(type="Company", name="Harbor & Pine Realty LLC", is_client=True)
    bills = []
    for n in range(count):
        bill = clio.add_bill(
            client=client["id"], number=str(100 + n), state="awaiting_payment", issued_at=date(2026, 3, n + 1)
        )
        clio.add_line_item(
            bill=bill["id"], kind="Service", description="Drafting", quantity=Decimal("1.5"), price=300
        )
        bills.append(bill)
    return bills


def test_a_line_the_scan_cannot_see_is_read_with_its_bill(empty_sandbox: Sandbox) -> None:
    bills = _firm_with_bills(empty_sandbox, LINES_PER_BILL_UP_TO + 5)
    newest = bills[-1]
    long_ago = datetime(2020, 1, 1, tzinfo=UTC)  # e.g. a line moved onto this bill from an old one
    empty_sandbox.clio.add_line_item(
        bill=newest["id"],
        kind="Expense",
        description="Filing fee",
        price=Decimal("45.00"),
        created_at=long_ago,
    )
    recorder = Recorder()

    with _client(empty_sandbox, recorder) as client:
        invoices = {i.number: i for i in ClioSource(client).changed_invoices(None, issued_after=None)}

    late = invoices[str(newest["number"])]
    assert [line.amount for line in late.lines] == [Decimal("450.00"), Decimal("45.00")]
    assert sum(line.amount for line in late.lines) == late.total
    assert (
        recorder.paths.count("line_items.json") == LINES_PER_BILL_UP_TO + 1 + 1
    )  # singles, the scan, the re-read


def test_a_bill_in_a_state_ledgerlink_does_not_know_is_skipped_with_a_warning(
    empty_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    bills = _firm_with_bills(empty_sandbox, 2)
    empty_sandbox.clio.update_bill(bills[0]["id"], state="archived")

    with _client(empty_sandbox) as client, caplog.at_level(logging.WARNING, logger="ledgerlink.clio"):
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)

    assert [i.number for i in invoices] == [bills[1]["number"]]
    assert "archived" in caplog.text
