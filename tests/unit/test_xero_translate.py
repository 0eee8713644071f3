"""Pure translation to and from Xero's wire records: names, lines to the cent, statuses, versions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal

import pytest

from ledgerlink.domain import Address, BillState, Contact, Invoice, InvoiceLine, LineKind
from ledgerlink.errors import ValidationError
from ledgerlink.providers.xero import translate
from ledgerlink.providers.xero.ledger import XeroLedger
from ledgerlink.providers.xero.wire import XeroAccount, XeroContact
from ledgerlink.sync.ports import InvoiceDraft, MappedLine

DANA = Contact(
    source_id="5001",
    name="  Dana   <Whitfield> ",
    first_name="Dana",
    last_name="Whitfield",
    email="dana@example.com",
    phone="555-0100",
    address=Address(street="1 Main St", city="Springfield", postal_code="12345"),
)


def line(amount: str, quantity: str = "1", rate: str | None = None) -> MappedLine:
    return MappedLine(
        InvoiceLine(
            source_id="l1",
            kind=LineKind.TIME,
            description="Advice",
            amount=Decimal(amount),
            quantity=Decimal(quantity),
            unit_price=Decimal(rate) if rate else None,
        ),
        "210",
    )


def xero_amount(item: object) -> Decimal:
    quantity, unit = item.quantity, item.unit_amount  # type: ignore[attr-defined]
    return (quantity * unit).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)  # type: ignore[no-any-return]


def test_display_name_is_cleaned_and_carries_the_clio_id_within_255_characters() -> None:
    assert translate.display_name(DANA, append_contact_id=False) == "Dana Whitfield"
    assert translate.display_name(DANA, append_contact_id=True) == "Dana Whitfield (5001)"
    long = Contact(source_id="77", name="x" * 300)
    named = translate.display_name(long, append_contact_id=True)
    assert len(named) == 255 and named.endswith(" (77)")


def test_contact_record_and_back_keep_every_field_the_merge_compares() -> None:
    record = translate.contact_record(DANA, "Dana Whitfield (5001)")
    assert record.contact_number == "5001"
    echoed = XeroContact.model_validate(
        {
            **record.wire(),
            "ContactID": "c-1",
            "ContactStatus": "ARCHIVED",
            "UpdatedDateUTC": "/Date(1772409600000+0000)/",
        }
    )
    customer = translate.ledger_customer(echoed)
    assert (customer.id, customer.display_name, customer.email, customer.phone) == (
        "c-1",
        "Dana Whitfield (5001)",
        "dana@example.com",
        "555-0100",
    )
    assert customer.address == Address(street="1 Main St", city="Springfield", postal_code="12345")
    assert not customer.active and customer.version == "2026-03-02T00:00:00.000+00:00"


@pytest.mark.parametrize(
    ("amount", "quantity", "rate"),
    [
        ("41.67", "0.125", "333.3333"),  # rate with 4 decimals: sent as is (unitdp=4)
        ("433.35", "1.3", "333.3333"),  # Clio rounded differently: one unit at Clio's amount
        ("100.00", "1", None),  # no rate
        ("10.00", "3", "3.33333"),  # a rate Xero cannot hold (5 dp)
        ("-25.00", "1", "-25"),  # a discount line
    ],
)
def test_every_line_adds_up_in_xero_to_clios_amount(amount: str, quantity: str, rate: str | None) -> None:
    item = translate.line_item(line(amount, quantity, rate))
    assert xero_amount(item) == Decimal(amount)
    assert item.account_code == "210"


def test_invoice_status_follows_the_clio_bill_state_and_marks_only_creates() -> None:
    def record(state: BillState, key: str | None) -> object:
        bill = Invoice("9", "1043", state, "1", date(2026, 3, 2), Decimal("10.00"), (line("10.00").line,))
        return translate.invoice_record(InvoiceDraft(bill, "c-1", (line("10.00"),)), key=key)

    statuses = {state: record(state, "k").status for state in translate.INVOICE_STATUS}  # type: ignore[attr-defined]
    assert statuses == {
        BillState.AWAITING_PAYMENT: "AUTHORISED",
        BillState.PAID: "AUTHORISED",
        BillState.DRAFT: "DRAFT",
        BillState.AWAITING_APPROVAL: "SUBMITTED",
    }
    created = record(BillState.PAID, "k-1")
    assert created.reference == "Clio bill 9 [ledgerlink k-1]"  # type: ignore[attr-defined]
    assert created.line_amount_types == "NoTax" and created.due_date == date(2026, 3, 2)  # type: ignore[attr-defined]
    assert record(BillState.PAID, None).reference is None  # type: ignore[attr-defined]


def test_ending_status_voids_approved_and_deletes_drafts() -> None:
    assert translate.ending_status("AUTHORISED") == "VOIDED"
    assert translate.ending_status("SUBMITTED") == "DELETED"
    assert translate.ending_status("DRAFT") == "DELETED"
    assert translate.ending_status("VOIDED") is None and translate.ending_status(None) is None


def test_marker_always_fits_the_reference() -> None:
    text = translate.marked("r" * 400, "k" * 32)
    assert len(text) == translate.MAX_REFERENCE and text.endswith(translate.marker("k" * 32))


def test_unusable_codes_name_unknown_archived_bank_and_system_accounts() -> None:
    chart = translate.accounts_by_code(
        [
            XeroAccount(code="210", type="REVENUE", status="ACTIVE"),
            XeroAccount(code="299", type="REVENUE", status="ARCHIVED"),
            XeroAccount(code="090", type="BANK", status="ACTIVE"),
            XeroAccount(code="610", type="CURRENT", status="ACTIVE", system_account="DEBTORS"),
            XeroAccount(code="970", type="EQUITY", status="ACTIVE", enable_payments_to_account=True),
            XeroAccount(name="No code", type="REVENUE", status="ACTIVE"),
        ]
    )
    assert translate.unusable_line_codes(["210", "299", "090", "610", "nope"], chart) == {
        "299",
        "090",
        "610",
        "nope",
    }
    assert translate.unusable_payment_codes(["090", "970", "210", "299"], chart) == {"210", "299"}


def test_version_is_utc_text_and_compound_versions_join() -> None:
    moment = datetime(2026, 3, 2, 10, 0, 1, 123000, tzinfo=UTC)
    assert translate.version(moment) == "2026-03-02T10:00:01.123+00:00"
    assert translate.joined_versions(["a", None, "c"]) == "a,-,c"


@pytest.mark.parametrize(
    ("text", "cause", "retryable"),
    [
        (
            "The contact name Dana Whitfield is already assigned to another contact. The contact name must "
            "be unique across all active contacts.",
            "duplicate_name",
            False,
        ),
        (
            "The contact number 5001 is already assigned to another contact. The contact number must be "
            "unique across all contacts.",
            "duplicate_contact_number",
            False,
        ),
        ("Invoice # must be unique.", "duplicate_number", False),
        ("Invoice not of valid status for modification", "invoice_locked", False),
        (
            "This document cannot be edited as it has a payment or credit note allocated to it.",
            "invoice_has_payments",
            True,
        ),
        ("Payment amount exceeds the amount outstanding on this document", "over_applied", True),
        (
            "This Payment cannot be deleted as it has been reconciled with a Bank Statement.",
            "reconciled",
            False,
        ),
        (
            "The contact with the specified contact details has been archived. The contact must be "
            "un-archived before creating new invoices or credit notes.",
            "archived_contact",
            True,
        ),
        ("Account code '299' is not a valid code for this document.", "invalid_account", False),
        ("Account type is invalid for making a payment to/from", "invalid_account", False),
        ("The document date cannot be before the period lock date of 30 June 2026", "period_closed", False),
        ("Something new Xero says", "api_rejected", True),
    ],
)
def test_explain_names_the_cause_of_xeros_validation_texts(text: str, cause: str, retryable: bool) -> None:
    ledger = XeroLedger(client=None)  # type: ignore[arg-type]  # explain reads nothing
    error = ValidationError(f"Xero refused element #1: {text}", status=400, detail=text)

    explained = ledger.explain(error, label="Bill 1043")

    assert (explained.cause, explained.retryable) == (cause, retryable)
    assert text in explained.message and explained.remedy
