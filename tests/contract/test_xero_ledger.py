"""XeroLedger against the sandbox's Xero emulator over real HTTP: the Ledger protocol, Xero's rules.

The demo organisation carries the demo firm's chart (:mod:`ledgerlink.sandbox.xero_demo`). Every
request body the ledger sends is recorded and checked against Xero's official spec, on top of
the emulator's own strict check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from ledgerlink.domain import (
    Application,
    BillState,
    Contact,
    CreditNote,
    Invoice,
    InvoiceLine,
    LineKind,
    Payment,
)
from ledgerlink.errors import ApiError
from ledgerlink.providers.xero import XeroClient, XeroLimiter
from ledgerlink.providers.xero.ledger import XeroLedger
from ledgerlink.sandbox import Sandbox, SandboxState, xero_spec
from ledgerlink.sandbox.demo_firm import XERO_ORG_TENANT_ID
from ledgerlink.sandbox.xero_demo import (
    XERO_DEMO_HARD_COST_BANK,
    XERO_DEMO_MAPPING,
    XERO_DEMO_PAYMENT_ACCOUNT,
)
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerWrite,
    MappedLine,
    PaymentDraft,
    Settlement,
    Written,
    target_parts,
)
from tests.conftest import StaticToken, fast_settings

TENANT = XERO_ORG_TENANT_ID
FEES = XERO_DEMO_MAPPING["Legal Services"]
CREDITS = XERO_DEMO_MAPPING["Discounts & Credits"]
BANK = XERO_DEMO_PAYMENT_ACCOUNT
ISSUED = date(2026, 3, 2)


class BodyRecorder(httpx.HTTPTransport):
    """A real transport that keeps every request with a body: (method, path, JSON body); and every
    request's method and path in ``calls``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[str, str, object]] = []
        self.calls: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls.append((request.method, request.url.path))
        if request.content:
            self.sent.append((request.method, request.url.path, json.loads(request.content)))
        return super().handle_request(request)


@pytest.fixture
def box() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=fast_settings()), seed="demo") as sandbox:
        yield sandbox


@pytest.fixture
def recorder() -> BodyRecorder:
    return BodyRecorder()


def ledger_for(box: Sandbox, recorder: BodyRecorder, *, append: bool = True) -> XeroLedger:
    clock = box.state.clock
    limiter = XeroLimiter(tenant_id=TENANT, sleep=clock.advance, monotonic=clock.now, wall=clock.now)
    client = XeroClient.connect(
        box.urls.xero_api,
        TENANT,
        StaticToken(box.xero.access_token()),
        limiter=limiter,
        http_transport=recorder,
    )
    return XeroLedger(client, append_contact_id=append)


@pytest.fixture
def ledger(box: Sandbox, recorder: BodyRecorder) -> Iterator[XeroLedger]:
    yield ledger_for(box, recorder)


@pytest.fixture(autouse=True)
def every_body_fits_the_spec(recorder: BodyRecorder) -> Iterator[None]:
    yield
    prefix = "/xero/api/api.xro/2.0"
    for method, path, body in recorder.sent:
        template = xero_spec.match_template(method, path.removeprefix(prefix))
        assert template is not None, f"{method} {path} is not in the spec"
        assert xero_spec.body_problems(method, template, body) == [], (method, path, body)


# -- builders ------------------------------------------------------------------------------------


def contact(
    source_id: str = "5001", name: str = "Dana Whitfield", email: str | None = "dana@example.com"
) -> Contact:
    return Contact(source_id=source_id, name=name, first_name="Dana", last_name="Whitfield", email=email)


def bill(number: str, *lines: InvoiceLine, state: BillState = BillState.AWAITING_PAYMENT) -> Invoice:
    total = sum((line.amount for line in lines), Decimal("0.00"))
    return Invoice(
        source_id=f"9{number}",
        number=number,
        state=state,
        contact_id="5001",
        issued_at=ISSUED,
        total=total,
        lines=lines,
        due_at=ISSUED + timedelta(days=30),
    )


def time_line(amount: str, quantity: str = "1", rate: str | None = None, n: int = 1) -> InvoiceLine:
    return InvoiceLine(
        source_id=f"l{n}",
        kind=LineKind.TIME,
        description="Advice",
        amount=Decimal(amount),
        quantity=Decimal(quantity),
        unit_price=Decimal(rate) if rate else None,
    )


def draft(invoice: Invoice, customer_id: str) -> InvoiceDraft:
    return InvoiceDraft(invoice, customer_id, tuple(MappedLine(line, FEES) for line in invoice.lines))


def ok(answer: Written | ApiError) -> Written:
    assert isinstance(answer, Written), answer
    return answer


def create_customer(ledger: XeroLedger, who: Contact | None = None) -> str:
    return ok(ledger.write([LedgerWrite("create", "contact", "k-contact", who or contact())])[0]).id


def create_invoice(ledger: XeroLedger, customer_id: str, invoice: Invoice, key: str = "k-inv") -> str:
    return ok(ledger.write([LedgerWrite("create", "invoice", key, draft(invoice, customer_id))])[0]).id


def payment_draft(customer_id: str, *parts: tuple[str, str], source_id: str = "p1") -> PaymentDraft:
    payment = Payment(
        source_id=source_id,
        contact_id="5001",
        date=date(2026, 3, 10),
        applications=tuple(Application(f"a{i}", f"b{i}", Decimal(a)) for i, (_, a) in enumerate(parts)),
        reference="CHK 1001",
    )
    lines = tuple(Settlement(invoice_id, Decimal(amount)) for invoice_id, amount in parts)
    return PaymentDraft(payment, customer_id, lines, deposit_account=BANK)


def due(box: Sandbox, invoice_id: str) -> Decimal:
    return Decimal(str(box.xero.get(TENANT, "Invoices", invoice_id)["AmountDue"]))


# -- contacts ------------------------------------------------------------------------------------


def test_contact_is_created_with_its_clio_id_appended_and_as_contact_number(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)

    stored = box.xero.get(TENANT, "Contacts", customer_id)
    assert (stored["Name"], stored["ContactNumber"]) == ("Dana Whitfield (5001)", "5001")
    assert [c.display_name for c in ledger.customers() if c.id == customer_id] == ["Dana Whitfield (5001)"]


def test_duplicate_name_without_append_is_explained_with_the_three_remedies(
    box: Sandbox, recorder: BodyRecorder
) -> None:
    box.xero.add_contact(TENANT, Name="Dana Whitfield")
    plain = ledger_for(box, recorder, append=False)

    [answer] = plain.write([LedgerWrite("create", "contact", "k1", contact())])

    assert isinstance(answer, ApiError)
    error = plain.explain(answer, label="Dana Whitfield")
    assert error.cause == "duplicate_name" and not error.retryable
    assert (
        "append_contact_id" in error.remedy and "rename" in error.remedy and "move its bills" in error.remedy
    )
    # With the Clio id appended the same contact goes through.
    assert isinstance(
        ledger_for(box, recorder).write([LedgerWrite("create", "contact", "k2", contact())])[0], Written
    )


def test_link_restores_an_archived_contact_and_customers_lists_it_inactive(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    box.xero.archive_contact(TENANT, customer_id)
    assert [c.active for c in ledger.customers() if c.id == customer_id] == [False]

    linked = ok(ledger.write([LedgerWrite("link", "contact", "k-link", contact(), customer_id)])[0])

    assert linked.id == customer_id and linked.customer is not None and linked.customer.active
    assert box.xero.get(TENANT, "Contacts", customer_id)["ContactStatus"] == "ACTIVE"


def test_invoice_to_an_archived_contact_is_a_clear_per_record_error(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    box.xero.archive_contact(TENANT, customer_id)

    [answer] = ledger.write(
        [LedgerWrite("create", "invoice", "k", draft(bill("1001", time_line("100.00")), customer_id))]
    )

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Bill 1001").cause == "archived_contact"


def test_contact_update_changes_the_name_and_email(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    edited = Contact(source_id="5001", name="Dana Whitfield-Osei", email="dana@osei.example")

    written = ok(ledger.write([LedgerWrite("update", "contact", "k-u", edited, customer_id)])[0])

    assert written.customer is not None
    assert (written.customer.display_name, written.customer.email) == (
        "Dana Whitfield-Osei (5001)",
        "dana@osei.example",
    )


# -- invoices ------------------------------------------------------------------------------------


def test_invoice_total_equals_clio_to_the_cent_with_four_decimal_rates(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    invoice = bill(
        "1001",
        time_line("433.35", quantity="1.3", rate="333.3333", n=1),  # 433.33329 → 433.33 would be wrong
        time_line("41.67", quantity="0.125", rate="333.3333", n=2),
        time_line("0.10", quantity="3", rate="0.0333", n=3),
    )

    invoice_id = create_invoice(ledger, customer_id, invoice)

    stored = box.xero.get(TENANT, "Invoices", invoice_id)
    assert Decimal(str(stored["Total"])) == invoice.total
    assert (stored["Type"], stored["Status"], stored["InvoiceNumber"]) == ("ACCREC", "AUTHORISED", "1001")
    assert stored["LineAmountTypes"] == "NoTax" and "[ledgerlink k-inv]" in stored["Reference"]
    found = ledger.invoices_by_number(["1001", "nope"])
    assert list(found) == ["1001"] and found["1001"].total == invoice.total
    assert found["1001"].customer_id == customer_id


def test_draft_and_awaiting_approval_bills_become_draft_and_submitted(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    drafts = [
        draft(bill("2001", time_line("10.00"), state=BillState.DRAFT), customer_id),
        draft(bill("2002", time_line("20.00"), state=BillState.AWAITING_APPROVAL), customer_id),
    ]

    answers = ledger.write([LedgerWrite("create", "invoice", f"k{i}", d) for i, d in enumerate(drafts)])

    statuses = [box.xero.get(TENANT, "Invoices", ok(a).id)["Status"] for a in answers]
    assert statuses == ["DRAFT", "SUBMITTED"]


def test_a_refused_invoice_never_hides_its_neighbours_success(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    create_invoice(ledger, customer_id, bill("3001", time_line("10.00")))

    answers = ledger.write(
        [
            LedgerWrite("create", "invoice", "a", draft(bill("3001", time_line("10.00")), customer_id)),
            LedgerWrite("create", "invoice", "b", draft(bill("3002", time_line("12.00")), customer_id)),
        ]
    )

    assert isinstance(answers[0], ApiError) and isinstance(answers[1], Written)
    assert ledger.explain(answers[0], label="Bill 3001").cause == "duplicate_number"


def test_invoice_update_then_void_and_draft_delete(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("4001", time_line("100.00")))
    draft_id = create_invoice(
        ledger, customer_id, bill("4002", time_line("5.00"), state=BillState.DRAFT), "k2"
    )

    changed = draft(bill("4001", time_line("150.00"), time_line("25.50", n=2)), customer_id)
    ok(ledger.write([LedgerWrite("update", "invoice", "k-u", changed, invoice_id)])[0])
    assert Decimal(str(box.xero.get(TENANT, "Invoices", invoice_id)["Total"])) == Decimal("175.50")

    answers = ledger.write(
        [
            LedgerWrite("void", "invoice", "k-v", None, invoice_id),
            LedgerWrite("delete", "invoice", "k-d", None, draft_id),
        ]
    )

    assert [ok(a).id for a in answers] == [invoice_id, draft_id]
    assert box.xero.get(TENANT, "Invoices", invoice_id)["Status"] == "VOIDED"
    assert box.xero.get(TENANT, "Invoices", draft_id)["Status"] == "DELETED"


def test_paid_invoice_update_is_refused_and_explained(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("4101", time_line("100.00")))
    ok(
        ledger.write(
            [LedgerWrite("create", "payment", "k-p", payment_draft(customer_id, (invoice_id, "40.00")))]
        )[0]
    )

    changed = draft(bill("4101", time_line("120.00")), customer_id)
    [answer] = ledger.write([LedgerWrite("update", "invoice", "k-u", changed, invoice_id)])

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Bill 4101").cause == "invoice_has_payments"


# -- payments ------------------------------------------------------------------------------------


def test_payment_over_two_bills_is_two_xero_payments_then_recreated_then_deleted(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    first = create_invoice(ledger, customer_id, bill("5001", time_line("100.00")), "k1")
    second = create_invoice(ledger, customer_id, bill("5002", time_line("80.00")), "k2")

    created = ok(
        ledger.write(
            [
                LedgerWrite(
                    "create",
                    "payment",
                    "k-p",
                    payment_draft(customer_id, (first, "100.00"), (second, "30.00")),
                )
            ]
        )[0]
    )
    assert len(target_parts(created.id)) == 2
    assert (due(box, first), due(box, second)) == (Decimal("0.00"), Decimal("50.00"))
    assert box.xero.get(TENANT, "Invoices", first)["Status"] == "PAID"

    updated = ok(
        ledger.write(
            [
                LedgerWrite(
                    "update",
                    "payment",
                    "k-p2",
                    payment_draft(customer_id, (first, "60.00"), (second, "80.00")),
                    created.id,
                    created.version,
                )
            ]
        )[0]
    )
    assert set(target_parts(updated.id)).isdisjoint(target_parts(created.id))
    assert (due(box, first), due(box, second)) == (Decimal("40.00"), Decimal("0.00"))
    old = [box.xero.get(TENANT, "Payments", p)["Status"] for p in target_parts(created.id)]
    assert old == ["DELETED", "DELETED"]

    deleted = ok(ledger.write([LedgerWrite("delete", "payment", "k-p3", None, updated.id)])[0])
    assert deleted.id == updated.id
    assert (due(box, first), due(box, second)) == (Decimal("100.00"), Decimal("80.00"))


def test_a_part_refused_takes_its_landed_sibling_back(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    first = create_invoice(ledger, customer_id, bill("5101", time_line("100.00")), "k1")
    second = create_invoice(ledger, customer_id, bill("5102", time_line("10.00")), "k2")

    [answer] = ledger.write(
        [
            LedgerWrite(
                "create", "payment", "k-p", payment_draft(customer_id, (first, "50.00"), (second, "20.00"))
            )
        ]
    )

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Payment").cause == "over_applied"
    assert (due(box, first), due(box, second)) == (Decimal("100.00"), Decimal("10.00"))


def test_payment_on_a_reconciled_line_is_reported_not_retried(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("5201", time_line("100.00")))
    created = ok(
        ledger.write(
            [LedgerWrite("create", "payment", "k-p", payment_draft(customer_id, (invoice_id, "100.00")))]
        )[0]
    )
    box.xero.reconcile(created.id, TENANT)

    [answer] = ledger.write([LedgerWrite("delete", "payment", "k-d", None, created.id)])

    assert isinstance(answer, ApiError)
    error = ledger.explain(answer, label="Payment")
    assert error.cause == "reconciled" and not error.retryable and "reconciled" in error.remedy
    assert due(box, invoice_id) == Decimal("0.00")


def test_changes_sees_a_payment_deleted_in_xero_as_gone(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("5301", time_line("100.00")))
    created = ok(
        ledger.write(
            [LedgerWrite("create", "payment", "k-p", payment_draft(customer_id, (invoice_id, "25.00")))]
        )[0]
    )
    since = datetime.fromtimestamp(box.state.clock.now(), UTC)
    box.state.clock.advance(5)
    ledger._client.delete_payment(created.id, key="by-hand-in-xero")

    changes = ledger.changes(since, ["invoice", "payment", "credit_note", "credit_application"])

    assert changes is not None
    assert changes.versions["payment"] == {created.id: None}
    assert invoice_id in changes.versions["invoice"] and changes.versions["invoice"][invoice_id] is not None


def test_payment_without_a_bank_account_is_refused_before_sending(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("5401", time_line("100.00")))
    without = payment_draft(customer_id, (invoice_id, "10.00"))
    without = PaymentDraft(without.payment, without.customer_id, without.lines, deposit_account=None)

    [answer] = ledger.write([LedgerWrite("create", "payment", "k-p", without)])

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Payment").cause == "no_payment_account"


def test_find_marked_finds_what_a_crashed_pass_created(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("5501", time_line("100.00")), key="crashed-key")

    found = ledger.find_marked("invoice", {"crashed-key": ISSUED, "other": ISSUED})

    assert list(found) == ["crashed-key"] and found["crashed-key"].id == invoice_id
    paid = ok(
        ledger.write(
            [LedgerWrite("create", "payment", "pay-key", payment_draft(customer_id, (invoice_id, "10.00")))]
        )[0]
    )
    assert ledger.find_marked("payment", {"pay-key": date(2026, 3, 10)}) == {"pay-key": paid}
    assert ledger.find_marked("payment", {"pay-key": date(2026, 3, 11)}) == {}


def test_find_marked_over_many_days_keeps_each_query_within_xeros_limit(
    box: Sandbox, ledger: XeroLedger, recorder: BodyRecorder
) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("5511", time_line("100.00")), key="crashed-key")
    wanted = {f"other-{n}": ISSUED + timedelta(days=n + 1) for n in range(90)} | {"crashed-key": ISSUED}
    recorder.calls.clear()

    found = ledger.find_marked("invoice", wanted)

    assert list(found) == ["crashed-key"] and found["crashed-key"].id == invoice_id
    assert len(recorder.calls) == 3  # 91 days, 40 a look-up


# -- credit notes ----------------------------------------------------------------------------------


def credit(amount: str, *bills: str) -> CreditNote:
    return CreditNote(
        source_id="c1",
        contact_id="5001",
        date=date(2026, 3, 12),
        applications=tuple(Application(f"x{i}", b, Decimal(amount)) for i, b in enumerate(bills)),
        description="Courtesy discount",
    )


def test_credit_note_and_its_allocation_then_voided(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("6001", time_line("100.00")))
    note = credit("30.00", "96001")

    note_id = ok(
        ledger.write(
            [LedgerWrite("create", "credit_note", "k-c", CreditNoteDraft(note, customer_id, CREDITS))]
        )[0]
    ).id
    application = CreditApplicationDraft(
        note, customer_id, note_id, (Settlement(invoice_id, Decimal("30.00")),)
    )
    applied = ok(ledger.write([LedgerWrite("create", "credit_application", "k-a", application)])[0])

    stored = box.xero.get(TENANT, "CreditNotes", note_id)
    assert (stored["Type"], stored["Status"], stored["CreditNoteNumber"]) == (
        "ACCRECCREDIT",
        "PAID",
        "CLIO-CN-c1",
    )
    assert due(box, invoice_id) == Decimal("70.00")

    ok(ledger.write([LedgerWrite("delete", "credit_application", "k-ad", None, applied.id)])[0])
    ok(ledger.write([LedgerWrite("delete", "credit_note", "k-cd", None, note_id)])[0])

    assert due(box, invoice_id) == Decimal("100.00")
    assert box.xero.get(TENANT, "CreditNotes", note_id)["Status"] == "VOIDED"


def test_a_credit_note_this_ledger_created_is_allocated_without_reading_it_first(
    box: Sandbox, ledger: XeroLedger, recorder: BodyRecorder
) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("6051", time_line("100.00")))
    note = credit("30.00", "96051")
    note_id = ok(
        ledger.write(
            [LedgerWrite("create", "credit_note", "k-c", CreditNoteDraft(note, customer_id, CREDITS))]
        )[0]
    ).id
    recorder.calls.clear()

    application = CreditApplicationDraft(
        note, customer_id, note_id, (Settlement(invoice_id, Decimal("30.00")),)
    )
    ok(ledger.write([LedgerWrite("create", "credit_application", "k-a", application)])[0])

    assert [method for method, _path in recorder.calls] == ["PUT"]  # the allocation alone
    assert due(box, invoice_id) == Decimal("70.00")
    # The note is allocated now: a second application reads it and adopts what is there.
    ok(ledger.write([LedgerWrite("create", "credit_application", "k-a2", application)])[0])
    assert recorder.calls[1][0] == "GET" and due(box, invoice_id) == Decimal("70.00")


def test_an_allocation_past_a_fresh_notes_credit_is_still_refused_by_xero(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("6061", time_line("100.00")))
    note = credit("30.00", "96061")
    note_id = ok(
        ledger.write(
            [LedgerWrite("create", "credit_note", "k-c", CreditNoteDraft(note, customer_id, CREDITS))]
        )[0]
    ).id
    too_much = CreditApplicationDraft(note, customer_id, note_id, (Settlement(invoice_id, Decimal("40.00")),))

    (answer,) = ledger.write([LedgerWrite("create", "credit_application", "k-a", too_much)])

    assert isinstance(answer, ApiError) and "greater than amount outstanding" in str(answer)
    assert ledger.explain(answer, label="Credit c1").cause == "over_applied"
    assert due(box, invoice_id) == Decimal("100.00")


def test_an_allocated_credit_note_is_changed_by_taking_its_allocation_off_first(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    invoice_id = create_invoice(ledger, customer_id, bill("6101", time_line("100.00")))
    note = credit("30.00", "96101")
    note_id = ok(
        ledger.write(
            [LedgerWrite("create", "credit_note", "k-c", CreditNoteDraft(note, customer_id, CREDITS))]
        )[0]
    ).id
    first = CreditApplicationDraft(note, customer_id, note_id, (Settlement(invoice_id, Decimal("30.00")),))
    applied = ok(ledger.write([LedgerWrite("create", "credit_application", "k-a", first)])[0])

    bigger = credit("45.00", "96101")
    ok(
        ledger.write(
            [
                LedgerWrite(
                    "update", "credit_note", "k-cu", CreditNoteDraft(bigger, customer_id, CREDITS), note_id
                )
            ]
        )[0]
    )
    again = CreditApplicationDraft(bigger, customer_id, note_id, (Settlement(invoice_id, Decimal("45.00")),))
    reapplied = ok(ledger.write([LedgerWrite("update", "credit_application", "k-au", again, applied.id)])[0])

    assert reapplied.id != applied.id
    assert due(box, invoice_id) == Decimal("55.00")


# -- accounts and settings ---------------------------------------------------------------------------


def test_missing_items_reports_archived_codeless_and_wrong_type_accounts(
    box: Sandbox, ledger: XeroLedger
) -> None:
    box.xero.add_account(TENANT, Name="Codeless Income", Type="REVENUE")
    box.xero.add_account(TENANT, Code="299", Name="Old Income", Type="REVENUE", Status="ARCHIVED")

    missing = ledger.missing_items([FEES, "299", "610", BANK, "nope"])

    assert missing == {"299", "610", BANK, "nope"}
    assert ledger.missing_accounts([BANK, XERO_DEMO_HARD_COST_BANK, FEES, "970"]) == {FEES}
    assert ledger.accounts([BANK, "nope"])[BANK].type == "BANK"


def test_every_demo_mapping_code_is_usable_and_settings_say_xero_keeps_numbers(ledger: XeroLedger) -> None:
    assert ledger.missing_items(set(XERO_DEMO_MAPPING.values())) == set()
    settings = ledger.settings()
    assert (settings.custom_numbers, settings.computes_tax) == (True, False)
    assert (ledger.provider, ledger.title, ledger.max_doc_number, ledger.mapping_noun, ledger.batch_size) == (
        "xero",
        "Xero",
        255,
        "account code",
        50,
    )
    assert ledger.name_holders() == {} and ledger.vendors() == {}


def test_trust_writes_are_refused(ledger: XeroLedger) -> None:
    with pytest.raises(ValueError, match="trust"):
        ledger.write([LedgerWrite("create", "trust_posting", "k", None)])


def test_an_archived_contact_whose_name_is_taken_again_is_not_restored(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    box.xero.archive_contact(TENANT, customer_id)
    box.xero.add_contact(TENANT, Name="Dana Whitfield (5001)")

    [answer] = ledger.write([LedgerWrite("link", "contact", "k-link", contact(), customer_id)])

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Dana Whitfield").cause == "duplicate_name"
    assert box.xero.get(TENANT, "Contacts", customer_id)["ContactStatus"] == "ARCHIVED"


def test_editing_an_archived_contact_is_refused_and_explained(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    box.xero.archive_contact(TENANT, customer_id)

    [answer] = ledger.write(
        [LedgerWrite("update", "contact", "k-u", contact(email="new@example.com"), customer_id)]
    )

    assert isinstance(answer, ApiError)
    assert ledger.explain(answer, label="Dana Whitfield").cause == "archived_contact"


def test_an_application_a_cut_off_pass_made_is_adopted_not_doubled(box: Sandbox, ledger: XeroLedger) -> None:
    customer_id = create_customer(ledger)
    first = create_invoice(ledger, customer_id, bill("6201", time_line("100.00")), "k1")
    second = create_invoice(ledger, customer_id, bill("6202", time_line("100.00")), "k2")
    note = credit("20.00", "96201", "96202")
    note_id = ok(
        ledger.write(
            [LedgerWrite("create", "credit_note", "cn-key", CreditNoteDraft(note, customer_id, CREDITS))]
        )[0]
    ).id
    lines = (Settlement(first, Decimal("20.00")), Settlement(second, Decimal("20.00")))
    application = CreditApplicationDraft(note, customer_id, note_id, lines)
    made = ok(ledger.write([LedgerWrite("create", "credit_application", "k-a", application)])[0])

    again = ok(ledger.write([LedgerWrite("create", "credit_application", "k-a2", application)])[0])

    assert set(target_parts(again.id)) == set(target_parts(made.id))
    assert (due(box, first), due(box, second)) == (Decimal("80.00"), Decimal("80.00"))
    found = ledger.find_marked("credit_note", {"cn-key": note.date})
    assert list(found) == ["cn-key"] and found["cn-key"].id == note_id
    assert ledger.find_marked("credit_application", {"k-a": note.date}) == {}


def test_update_of_a_payment_with_a_part_deleted_by_hand_replaces_the_part_left(
    box: Sandbox, ledger: XeroLedger
) -> None:
    customer_id = create_customer(ledger)
    first = create_invoice(ledger, customer_id, bill("5601", time_line("100.00")), "k1")
    second = create_invoice(ledger, customer_id, bill("5602", time_line("80.00")), "k2")
    both = payment_draft(customer_id, (first, "100.00"), (second, "80.00"))
    created = ok(ledger.write([LedgerWrite("create", "payment", "k-p", both)])[0])
    ledger._client.delete_payment(target_parts(created.id)[1], key="by-hand")

    again = ok(ledger.write([LedgerWrite("update", "payment", "k-u", both, created.id, created.version)])[0])

    assert len(target_parts(again.id)) == 2
    assert (due(box, first), due(box, second)) == (Decimal("0.00"), Decimal("0.00"))
