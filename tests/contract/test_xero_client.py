"""XeroClient against the sandbox's Xero Accounting emulator over real HTTP on 127.0.0.1.

The emulator is strict like the service: it checks the token and tenant, counts Xero's limits,
replays idempotent writes, and refuses any body that does not fit Xero's spec. The clock is the
sandbox's; the client's limiter reads it and "sleeps" by advancing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest

from ledgerlink.errors import ApiError
from ledgerlink.providers.xero import (
    DailyLimitReached,
    XeroAccount,
    XeroBankTransaction,
    XeroClient,
    XeroContact,
    XeroCreditNote,
    XeroInvoice,
    XeroLimiter,
    XeroLineItem,
    XeroPayment,
)
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox.demo_firm import XERO_ORG_TENANT_ID, XERO_TRUST_ORG_TENANT_ID

TENANT = XERO_ORG_TENANT_ID


class StaticToken:
    def __init__(self, token: str) -> None:
        self.token = token

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


@pytest.fixture
def box() -> Iterator[Sandbox]:
    settings = SandboxSettings(clio_rate_limit=100_000, qbo_per_second=100_000, qbo_per_minute=1_000_000)
    with Sandbox(SandboxState(settings=settings), seed="demo") as sandbox:
        yield sandbox


def client_for(box: Sandbox, tenant_id: str = TENANT) -> XeroClient:
    clock = box.state.clock
    limiter = XeroLimiter(tenant_id=tenant_id, sleep=clock.advance, monotonic=clock.now, wall=clock.now)
    return XeroClient.connect(
        box.urls.xero_api, tenant_id, StaticToken(box.xero.access_token()), limiter=limiter
    )


@pytest.fixture
def xero(box: Sandbox) -> Iterator[XeroClient]:
    with client_for(box) as client:
        yield client


def writes(box: Sandbox, suffix: str) -> list[tuple[str, str]]:
    return [(m, p) for m, p in box.state.writes_received() if p.endswith(suffix)]


def new_client(xero: XeroClient, name: str = "Okafor Holdings Ltd") -> str:
    [outcome] = xero.put_contacts(
        [XeroContact(name=name, contact_number=f"clio-{name[:6]}")], key=f"c:{name}"
    )
    assert outcome.record is not None and outcome.record.contact_id
    return outcome.record.contact_id


def bill(contact_id: str, number: str, unit: str = "100.1234") -> XeroInvoice:
    return XeroInvoice(
        type="ACCREC",
        contact=XeroContact(contact_id=contact_id),
        invoice_number=number,
        date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        status="AUTHORISED",
        line_items=[
            XeroLineItem(
                description="Advice", quantity=Decimal("2"), unit_amount=Decimal(unit), account_code="200"
            )
        ],
    )


# --- reads -----------------------------------------------------------------------------------


def test_reads_the_organisation_its_accounts_and_tax_rates(xero: XeroClient) -> None:
    org = xero.organisation()
    banks = xero.accounts(where='Status=="ACTIVE" AND Type=="BANK"')
    rates = xero.tax_rates()

    assert org.name == "Hartwell & Osei LLP (Xero)" and org.base_currency == "USD"
    assert [(a.code, a.type) for a in banks] == [("090", "BANK"), ("091", "BANK")]  # 091: demo hard costs
    assert {"NONE", "INPUT", "OUTPUT"} <= {r.tax_type for r in rates}
    assert xero.limiter.day_remaining is not None and xero.limiter.day_remaining < 5000


def test_each_organisation_sees_only_its_own_books(box: Sandbox, xero: XeroClient) -> None:
    new_client(xero, "Only In The Firm Books")

    with client_for(box, XERO_TRUST_ORG_TENANT_ID) as trust:
        names = {c.name for c in trust.contacts()}

    assert "Only In The Firm Books" not in names


def test_contacts_are_paged_and_written_50_a_request(box: Sandbox, xero: XeroClient) -> None:
    outcomes = xero.put_contacts(
        [XeroContact(name=f"Client {i:03d}") for i in range(120)], key="contacts:bulk"
    )

    assert all(o.ok for o in outcomes)
    assert len(writes(box, "/Contacts")) == 3
    found = xero.contacts(where='Name.StartsWith("Client ")')
    assert sorted(c.name or "" for c in found) == [f"Client {i:03d}" for i in range(120)]


# --- writes and their outcomes -----------------------------------------------------------------


def test_each_element_of_a_write_gets_its_own_outcome(xero: XeroClient) -> None:
    contact_id = new_client(xero)

    outcomes = xero.put_invoices([bill(contact_id, "B-1"), bill(contact_id, "B-1")], key="invoices:1")

    assert outcomes[0].ok and outcomes[0].record is not None and outcomes[0].record.invoice_id
    assert outcomes[1].record is None and outcomes[1].error is not None
    assert "must be unique" in str(outcomes[1].error)


def test_four_decimal_rates_survive_and_money_is_decimal(xero: XeroClient) -> None:
    contact_id = new_client(xero)
    xero.put_invoices([bill(contact_id, "B-7", unit="100.1234")], key="invoices:7")

    [found] = xero.invoices_by_number(["B-7"])

    assert found.line_items is not None and found.line_items[0].unit_amount == Decimal("100.1234")
    assert found.total == Decimal("200.25") and found.amount_due == Decimal("200.25")
    assert found.date == date(2026, 3, 2) and found.due_date == date(2026, 4, 1)


def test_a_record_read_back_can_be_changed_and_posted(xero: XeroClient) -> None:
    contact_id = new_client(xero)
    xero.put_invoices([bill(contact_id, "B-8")], key="invoices:8")
    [found] = xero.invoices_by_number(["B-8"])

    [outcome] = xero.post_invoices([found.model_copy(update={"reference": "Matter 17"})], key="invoices:8b")

    assert outcome.ok, outcome.error
    assert xero.invoices_by_number(["B-8"])[0].reference == "Matter 17"


def test_a_payment_is_made_and_deleted(box: Sandbox, xero: XeroClient) -> None:
    contact_id = new_client(xero)
    [made] = xero.put_invoices([bill(contact_id, "B-2", unit="150.00")], key="invoices:2")
    assert made.record is not None and made.record.invoice_id
    payment = XeroPayment(
        invoice=XeroInvoice(invoice_id=made.record.invoice_id),
        account=XeroAccount(code="090"),
        date=date(2026, 3, 9),
        amount=Decimal("100.00"),
        reference="Clio payment 7781",
    )

    [paid] = xero.put_payments([payment], key="payments:7781")
    assert paid.record is not None and paid.record.payment_id
    assert xero.invoices(ids=[made.record.invoice_id])[0].amount_due == Decimal("200.00")

    deleted = xero.delete_payment(paid.record.payment_id, key="payments:7781:delete")

    assert deleted.status == "DELETED"
    assert xero.invoices(ids=[made.record.invoice_id])[0].amount_due == Decimal("300.00")


def test_a_credit_note_is_allocated_to_an_invoice(xero: XeroClient) -> None:
    contact_id = new_client(xero)
    [made] = xero.put_invoices([bill(contact_id, "B-3", unit="150.00")], key="invoices:3")
    note = XeroCreditNote(
        type="ACCRECCREDIT",
        contact=XeroContact(contact_id=contact_id),
        date=date(2026, 3, 10),
        status="AUTHORISED",
        line_items=[
            XeroLineItem(
                description="Write-down",
                quantity=Decimal("1"),
                unit_amount=Decimal("50.00"),
                account_code="200",
            )
        ],
    )
    [credited] = xero.put_credit_notes([note], key="credit-notes:3")
    assert made.record is not None and made.record.invoice_id
    assert credited.record is not None and credited.record.credit_note_id

    allocation = xero.allocate_credit_note(
        credited.record.credit_note_id,
        made.record.invoice_id,
        Decimal("50.00"),
        date(2026, 3, 10),
        key="alloc:3",
    )

    assert allocation.ok, allocation.error
    assert xero.invoices(ids=[made.record.invoice_id])[0].amount_due == Decimal("250.00")


def test_a_hard_cost_is_a_spend_bank_transaction(xero: XeroClient) -> None:
    vendor_id = new_client(xero, "County Court Clerk")
    spend = XeroBankTransaction(
        type="SPEND",
        contact=XeroContact(contact_id=vendor_id),
        bank_account=XeroAccount(code="090"),
        date=date(2026, 2, 20),
        reference="Clio expense 5512",
        line_items=[
            XeroLineItem(
                description="Filing fee",
                quantity=Decimal("1"),
                unit_amount=Decimal("435.00"),
                account_code="400",
            )
        ],
    )

    [outcome] = xero.put_bank_transactions([spend], key="hard-costs:5512")

    assert outcome.ok, outcome.error
    [found] = xero.bank_transactions(where='Reference=="Clio expense 5512"')
    assert found.total == Decimal("435.00") and found.type == "SPEND"


def test_a_repeated_write_is_replayed_not_duplicated(box: Sandbox, xero: XeroClient) -> None:
    first = xero.put_contacts([XeroContact(name="Replayed Client")], key="contacts:replay")
    again = xero.put_contacts([XeroContact(name="Replayed Client")], key="contacts:replay")

    assert first[0].record is not None and again[0].record is not None
    assert again[0].ok and again[0].record.contact_id == first[0].record.contact_id
    assert [c["Name"] for c in box.xero.records(TENANT, "Contacts")].count("Replayed Client") == 1


# --- limits ----------------------------------------------------------------------------------


def test_a_minute_429_is_waited_out_on_the_sandbox_clock(box: Sandbox) -> None:
    box.state.settings.xero_per_minute = 3
    with client_for(box) as first, client_for(box) as second:  # two limiters: the second cannot know
        for _ in range(3):
            first.accounts()

        assert second.accounts()  # 429 minute → Retry-After on the sandbox clock → retried

    gets = [p for m, p in box.state.request_log if m == "GET" and p.endswith("/Accounts")]
    assert len(gets) == 5


def test_the_limiter_paces_by_x_minlimit_remaining_without_a_429(box: Sandbox, xero: XeroClient) -> None:
    box.state.settings.xero_per_minute = 3
    start = box.state.clock.now()

    for _ in range(4):
        xero.accounts()

    gets = [p for m, p in box.state.request_log if m == "GET" and p.endswith("/Accounts")]
    assert len(gets) == 4  # no 429 to retry
    assert box.state.clock.now() - start >= 59


def test_a_spent_day_stops_the_pass_with_exit_3(box: Sandbox, xero: XeroClient) -> None:
    box.state.settings.xero_per_day = 3
    xero.accounts()
    assert xero.limiter.day_remaining == 2

    with pytest.raises(DailyLimitReached):
        xero.put_contacts([XeroContact(name=f"C{i}") for i in range(150)], key="too-many")
    assert writes(box, "/Contacts") == []

    xero.accounts()
    xero.accounts()
    with pytest.raises(DailyLimitReached) as raised:
        xero.accounts()
    assert raised.value.exit_code == 3


def test_a_day_429_from_xero_stops_at_once(box: Sandbox) -> None:
    box.state.settings.xero_per_day = 2
    with client_for(box) as first, client_for(box) as second:
        first.accounts()
        first.accounts()
        before = box.state.clock.now()

        with pytest.raises(DailyLimitReached) as raised:
            second.accounts()

    assert raised.value.retry_after is not None and raised.value.retry_after > 3600
    assert box.state.clock.now() - before < 60  # nothing slept through the day


def test_a_tenant_the_token_does_not_reach_is_refused(box: Sandbox) -> None:
    token = StaticToken(box.xero.access_token([XERO_TRUST_ORG_TENANT_ID]))
    with XeroClient.connect(box.urls.xero_api, TENANT, token) as xero, pytest.raises(ApiError) as raised:
        xero.organisation()

    assert raised.value.status == 403 and "ledgerlink connect xero" in raised.value.remedy
