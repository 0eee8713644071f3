"""ClioSource: the sync engine's view of Clio, read with few requests and never with missing lines."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.domain import Application, BillState, ContactEdit, Invoice, Payment, TaxSettings
from ledgerlink.errors import ConflictError
from ledgerlink.providers.clio import ClioClient, invoice_from_clio
from ledgerlink.providers.clio.bills import LINES_PER_BILL_UP_TO
from ledgerlink.providers.clio.source import PARENTS_ONE_BY_ONE_UP_TO, ClioSource
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from tests.conftest import PathRecorder, sandbox_clio_client


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
    recorder = PathRecorder()

    with sandbox_clio_client(demo, recorder) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)
    with sandbox_clio_client(demo) as client:
        expected = _one_by_one(client, [b["id"] for b in demo.clio.records("bill")])

    assert invoices == expected
    assert recorder.paths.count("line_items.json") <= LINES_PER_BILL_UP_TO + 5
    assert len(recorder.paths) < 40


def test_issued_after_is_strict_and_changes_are_read_since(demo: Sandbox) -> None:
    with sandbox_clio_client(demo) as client:
        invoices = ClioSource(client).changed_invoices(None, issued_after=date(2025, 12, 31))

    assert min(i.issued_at for i in invoices) == date(2026, 1, 1)


def test_contacts_by_id_and_changed_since(demo: Sandbox) -> None:
    wanted = [str(c["id"]) for c in demo.clio.records("contact")[:3]]

    with sandbox_clio_client(demo) as client:
        source = ClioSource(client)
        by_id = source.contacts(wanted)
        everyone = source.changed_contacts(None)
        nobody = source.changed_contacts(datetime.now(UTC) + timedelta(days=2))

    assert [c.source_id for c in by_id] == wanted
    assert len(everyone) == len(demo.clio.records("contact")) and nobody == []


def _firm_with_bills(box: Sandbox, count: int) -> list[dict[str, Any]]:
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
    recorder = PathRecorder()

    with sandbox_clio_client(empty_sandbox, recorder) as client:
        invoices = {i.number: i for i in ClioSource(client).changed_invoices(None, issued_after=None)}

    late = invoices[str(newest["number"])]
    assert [line.amount for line in late.lines] == [Decimal("450.00"), Decimal("45.00")]
    assert sum(line.amount for line in late.lines) == late.total
    assert (
        recorder.paths.count("line_items.json") == LINES_PER_BILL_UP_TO + 1 + 1
    )  # singles, the scan, the re-read


def test_a_line_added_to_a_bill_after_later_bills_comes_with_the_bill_again_whole(
    empty_sandbox: Sandbox,
) -> None:
    bills = _firm_with_bills(empty_sandbox, LINES_PER_BILL_UP_TO + 5)
    edited = bills[-3]  # a scanned bill: complete (its lines add up) before the scan reaches this line
    empty_sandbox.clio.add_line_item(bill=edited["id"], kind="Service", description="Courtesy call", price=0)

    with sandbox_clio_client(empty_sandbox) as client:
        stream = ClioSource(client).invoice_stream(None, issued_after=None)
        handed = [i for window in stream.windows() for i in window]
        flat = ClioSource(client).changed_invoices(None, issued_after=None)

    copies = [i for i in handed if i.number == str(edited["number"])]
    # Read again whole; handed out once more in a later window, or, as here (one window), only whole.
    assert [len(i.lines) for i in copies][-1] == 2
    assert [i.description for i in copies[-1].lines] == ["Drafting", "Courtesy call"]
    assert len(handed) == len(bills) + len(copies) - 1
    assert {i.number: len(i.lines) for i in flat}[str(edited["number"])] == 2 and len(flat) == len(bills)


def test_a_bill_in_a_state_ledgerlink_does_not_know_is_skipped_with_a_warning(
    empty_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    bills = _firm_with_bills(empty_sandbox, 2)
    empty_sandbox.clio.update_bill(bills[0]["id"], state="archived")

    with (
        sandbox_clio_client(empty_sandbox) as client,
        caplog.at_level(logging.WARNING, logger="ledgerlink.clio"),
    ):
        invoices = ClioSource(client).changed_invoices(None, issued_after=None)

    assert [i.number for i in invoices] == [bills[1]["number"]]
    assert "archived" in caplog.text


# --- payments, credit notes, tax and contact write-back ------------------------------------------


class Firm:
    """A client with three approved bills of 500, 300 and 200 in an empty sandbox."""

    def __init__(self, box: Sandbox) -> None:
        self.box = box
        self.clio = box.clio
        self.clio.set_billing_settings(
            tax_name="GST", tax_rate=Decimal("5"), use_secondary_tax=True, secondary_tax_name="PST",
            secondary_tax_rate=Decimal("7"),
        )  # fmt: skip
        contact = self.clio.add_contact(
            type="Person",
            first_name="Dana",
            last_name="Whitfield",
            is_client=True,
            email_addresses=[{"name": "Work", "address": "dana@old.example", "primary": True}],
        )
        self.contact_id = contact["id"]
        self.bills = []
        for n, total in enumerate(("500.00", "300.00", "200.00")):
            bill = self.clio.add_bill(
                client=self.contact_id,
                number=str(700 + n),
                state="awaiting_payment",
                issued_at=date(2026, 3, 1),
            )
            self.clio.add_line_item(
                bill=bill["id"], kind="Service", description="Advice", quantity=1, price=Decimal(total)
            )
            self.bills.append(bill["id"])

    def now(self) -> datetime:
        """This moment of the sandbox clock; the clock then moves on, so later changes are after it."""
        moment = datetime.fromtimestamp(self.box.state.clock.now(), UTC)
        self.box.state.clock.advance(1)
        return moment


@pytest.fixture
def firm(empty_sandbox: Sandbox) -> Firm:
    return Firm(empty_sandbox)


def test_a_single_payment_is_read_as_a_payment_of_its_bill(firm: Firm) -> None:
    allocation = firm.clio.record_payment(
        firm.bills[0], Decimal("120.00"), datetime(2026, 3, 10, 15, tzinfo=UTC)
    )

    with sandbox_clio_client(firm.box) as client:
        [payment] = ClioSource(client).changed_payments(None)

    assert payment == Payment(
        source_id=str(allocation["parent"]["id"]),
        contact_id=str(firm.contact_id),
        date=date(2026, 3, 10),
        applications=(Application(str(allocation["id"]), str(firm.bills[0]), Decimal("120.00")),),
        updated_at=payment.updated_at,
    )
    assert payment.updated_at is not None


def test_a_split_payment_over_three_bills_is_one_payment(firm: Firm) -> None:
    firm.clio.trust_deposit(firm.contact_id, "800.00")
    payment_id = firm.clio.record_split_payment(
        firm.contact_id,
        {firm.bills[0]: "500.00", firm.bills[1]: "100.00", firm.bills[2]: "200.00"},
        from_trust=True,
    )

    with sandbox_clio_client(firm.box) as client:
        payments = ClioSource(client).changed_payments(None)

    assert [(p.source_id, p.total, p.from_trust) for p in payments] == [
        (str(payment_id), Decimal("800.00"), True)
    ]
    assert payments[0].bill_ids == tuple(str(b) for b in firm.bills)


def test_an_edited_payment_is_read_whole_though_one_allocation_changed(firm: Firm) -> None:
    payment_id = firm.clio.record_split_payment(
        firm.contact_id, {firm.bills[0]: "500.00", firm.bills[1]: "100.00", firm.bills[2]: "200.00"}
    )
    since = firm.now()
    firm.clio.edit_payment(payment_id, {firm.bills[1]: "250.00"})
    recorder = PathRecorder()

    with sandbox_clio_client(firm.box, recorder) as client:
        [payment] = ClioSource(client).changed_payments(since)

    assert [(a.bill_id, a.amount) for a in payment.applications] == [
        (str(firm.bills[0]), Decimal("500.00")),
        (str(firm.bills[1]), Decimal("250.00")),
        (str(firm.bills[2]), Decimal("200.00")),
    ]
    assert recorder.paths == ["allocations.json"] * 2  # changed (valid and voided), the payment's own


def test_a_deleted_payment_is_read_as_voided_with_what_it_applied(firm: Firm) -> None:
    payment_id = firm.clio.record_split_payment(
        firm.contact_id, {firm.bills[0]: "500.00", firm.bills[1]: "100.00"}
    )
    since = firm.now()
    firm.clio.delete_payment(payment_id)

    with sandbox_clio_client(firm.box) as client:
        source = ClioSource(client)
        [changed] = source.changed_payments(since)
        [by_id] = source.payments([str(payment_id)])

    assert changed == by_id
    assert changed.voided and changed.total == Decimal("600.00")
    assert firm.clio.get("bill", firm.bills[0])["balance"] == Decimal("500.00")


def test_many_changed_payments_are_completed_by_one_read_of_every_allocation(firm: Firm) -> None:
    untouched = firm.clio.record_split_payment(firm.contact_id, {firm.bills[2]: "1.00"})
    payments = [
        firm.clio.record_split_payment(firm.contact_id, {firm.bills[0]: "1.00", firm.bills[1]: "1.00"})
        for _ in range(PARENTS_ONE_BY_ONE_UP_TO + 2)
    ]
    since = firm.now()
    for payment_id in payments:
        firm.clio.edit_payment(payment_id, {firm.bills[1]: "2.00"})
    recorder = PathRecorder()

    with sandbox_clio_client(firm.box, recorder) as client:
        changed = ClioSource(client).changed_payments(since)

    assert [p.source_id for p in changed] == [str(p) for p in payments]
    assert {p.total for p in changed} == {Decimal("3.00")} and str(untouched) not in {
        p.source_id for p in changed
    }
    assert len(recorder.paths) == 2  # the changed allocations (valid and voided), every valid one


def test_payments_by_id_leave_out_ids_clio_does_not_know(firm: Firm) -> None:
    kept = firm.clio.record_split_payment(firm.contact_id, {firm.bills[0]: "10.00"})
    gone = firm.clio.record_split_payment(firm.contact_id, {firm.bills[0]: "20.00"})
    firm.clio.delete_payment(gone)

    with sandbox_clio_client(firm.box) as client:
        payments = ClioSource(client).payments([str(gone), "1", str(kept)])

    assert [(p.source_id, p.voided) for p in payments] == [(str(kept), False), (str(gone), True)]


def test_a_credit_memo_is_a_credit_note_and_never_a_payment(firm: Firm) -> None:
    firm.clio.record_payment(firm.bills[0], "100.00")
    memo_id = firm.clio.add_credit_memo(
        firm.contact_id, {firm.bills[1]: "50.00", firm.bills[2]: "25.00"}, description="Courtesy discount"
    )
    since = firm.now()

    with sandbox_clio_client(firm.box) as client:
        source = ClioSource(client)
        [credit] = source.changed_credit_notes(None)
        nothing_since = source.changed_credit_notes(since)
        firm.clio.void_credit_memo(memo_id)
        [voided] = source.changed_credit_notes(since)
        [by_id] = source.credit_notes([str(memo_id)])
        payments = source.changed_payments(None)

    assert (credit.source_id, credit.total, credit.description, credit.voided) == (
        str(memo_id),
        Decimal("75.00"),
        "Courtesy discount",
        False,
    )
    assert nothing_since == [] and voided == by_id and voided.voided
    assert [p.total for p in payments] == [Decimal("100.00")]


def test_the_firm_tax_settings(firm: Firm) -> None:
    with sandbox_clio_client(firm.box) as client:
        settings = ClioSource(client).tax_settings()

    assert settings == TaxSettings("GST", Decimal("5"), "PST", Decimal("7"), True)


def test_voided_and_deleted_bills_are_seen_through_changed_invoices(firm: Firm) -> None:
    draft = firm.clio.add_bill(
        client=firm.contact_id, number="799", state="draft", issued_at=date(2026, 3, 2)
    )
    since = firm.now()
    firm.clio.void_bill(firm.bills[0])
    firm.clio.delete_bill(draft["id"])

    with sandbox_clio_client(firm.box) as client:
        invoices = ClioSource(client).changed_invoices(since, issued_after=None)

    assert [(i.number, i.state) for i in invoices] == [("700", BillState.VOID), ("799", BillState.DELETED)]


class PatchRecorder(httpx.HTTPTransport):
    """Remembers each request's method; ``before_patch`` runs before a PATCH is sent (a rival edit)."""

    def __init__(self, before_patch: Callable[[], object] | None = None) -> None:
        super().__init__()
        self.methods: list[str] = []
        self.before_patch = before_patch

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.methods.append(request.method)
        if request.method == "PATCH" and self.before_patch is not None:
            self.before_patch()
        return super().handle_request(request)


def test_a_contact_edit_is_written_back_to_clio(firm: Firm) -> None:
    edit = ContactEdit(name="Danielle Whitfield-Moore", email="dana@new.example", phone="555-0199")

    with sandbox_clio_client(firm.box) as client:
        contact = ClioSource(client).update_contact(str(firm.contact_id), edit)

    stored = firm.clio.get("contact", firm.contact_id)
    assert (contact.name, contact.first_name, contact.last_name) == (
        "Danielle Whitfield-Moore",
        "Danielle",
        "Whitfield-Moore",
    )
    assert (contact.email, contact.phone) == ("dana@new.example", "555-0199")
    assert (stored["primary_email_address"], stored["primary_phone_number"]) == (
        "dana@new.example",
        "555-0199",
    )
    assert len(stored["email_addresses"]) == 1


def test_a_contact_changed_meanwhile_is_read_again_and_written_once_more(firm: Firm) -> None:
    rival = iter([lambda: firm.clio.update_contact(firm.contact_id, title="Partner")])
    recorder = PatchRecorder(lambda: next(rival, lambda: None)())

    with sandbox_clio_client(firm.box, recorder) as client:
        contact = ClioSource(client).update_contact(
            str(firm.contact_id), ContactEdit(email="dana@new.example")
        )

    assert contact.email == "dana@new.example"
    assert recorder.methods == ["GET", "PATCH", "GET", "PATCH"]
    assert firm.clio.get("contact", firm.contact_id)["title"] == "Partner"


def test_a_contact_that_keeps_changing_is_a_conflict(firm: Firm) -> None:
    recorder = PatchRecorder(lambda: firm.clio.update_contact(firm.contact_id, title="Partner"))

    with sandbox_clio_client(firm.box, recorder) as client, pytest.raises(ConflictError):
        ClioSource(client).update_contact(str(firm.contact_id), ContactEdit(email="dana@new.example"))

    assert recorder.methods.count("PATCH") == 2
    assert firm.clio.get("contact", firm.contact_id)["primary_email_address"] == "dana@old.example"


def test_an_edit_clio_already_has_writes_nothing(firm: Firm) -> None:
    recorder = PatchRecorder()

    with sandbox_clio_client(firm.box, recorder) as client:
        contact = ClioSource(client).update_contact(
            str(firm.contact_id), ContactEdit(email="dana@old.example")
        )

    assert recorder.methods == ["GET"] and contact.email == "dana@old.example"
