"""Xero's own request examples, replayed against the sandbox's Xero emulator over real HTTP.

Every operation of the vendored spec that has a JSON request-body example is accounted for:
replayed (the endpoints the emulator serves), refused because the spec's own schema refuses the
example (:data:`EXAMPLES_THE_SPEC_REFUSES`), or out of scope with a reason
(:data:`OUT_OF_SCOPE`). A replayed example must answer 200 with a body that fits the spec's
response schema, under the documented envelope key, carrying the fields the spec's own response
example shows (less :data:`FIELDS_NOT_EMULATED`).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import httpx
import pytest

from ledgerlink.sandbox import Sandbox, SandboxState
from ledgerlink.sandbox.xero import XeroEmulator
from ledgerlink.sandbox.xero_spec import body_problems, operation, request_examples, response_problems, spec
from tests.conftest import fast_settings

ZERO = "00000000-0000-0000-0000-000000000000"
LIAM = "430fa14a-f945-44d3-9f97-5df5e28441b8"
ALLOCATION_INVOICE = "c45720a1-ade3-4a38-a064-d15489be6841"

IN_SCOPE = {
    ("PUT", "/Contacts"),
    ("POST", "/Contacts"),
    ("POST", "/Contacts/{ContactID}"),
    ("PUT", "/Invoices"),
    ("POST", "/Invoices"),
    ("POST", "/Invoices/{InvoiceID}"),
    ("PUT", "/Payments"),
    ("POST", "/Payments"),
    ("POST", "/Payments/{PaymentID}"),
    ("PUT", "/CreditNotes"),
    ("POST", "/CreditNotes"),
    ("POST", "/CreditNotes/{CreditNoteID}"),
    ("PUT", "/CreditNotes/{CreditNoteID}/Allocations"),
}
# The spec's own requestBody schema refuses these examples (checked below), so the emulator must too.
EXAMPLES_THE_SPEC_REFUSES = {
    (
        "PUT",
        "/BankTransactions",
    ): "SDK-style lower-case keys (bankTransactions, BankTransaction.TypeEnum.SPEND)",
    ("POST", "/BankTransactions"): "'Lineitems' for LineItems, which the schema requires",
    ("POST", "/BankTransactions/{BankTransactionID}"): "'Lineitems' for LineItems, which the schema requires",
}
_NOT_EMULATED = "endpoint not emulated (ledgerlink does not use it)"
OUT_OF_SCOPE = {
    ("PUT", "/Accounts"): "Accounts are read-only in the emulator (tests add them with add_account)",
    (
        "POST",
        "/Accounts/{AccountID}",
    ): "Accounts are read-only in the emulator (tests add them with add_account)",
    ("PUT", "/TaxRates"): "TaxRates are read-only in the emulator (tests add them with add_tax_rate)",
    ("POST", "/TaxRates"): "TaxRates are read-only in the emulator (tests add them with add_tax_rate)",
    ("POST", "/Invoices/{InvoiceID}/Email"): _NOT_EMULATED,
    **{
        (method, template): _NOT_EMULATED
        for method, template in (
            ("PUT", "/BatchPayments"),
            ("POST", "/BatchPayments"),
            ("POST", "/BatchPayments/{BatchPaymentID}"),
            ("PUT", "/BankTransfers"),
            ("POST", "/BankTransfers"),
            ("POST", "/BankTransfers/{BankTransferID}"),
            ("POST", "/BrandingThemes/{BrandingThemeID}/PaymentServices"),
            ("PUT", "/ContactGroups"),
            ("POST", "/ContactGroups/{ContactGroupID}"),
            ("PUT", "/ContactGroups/{ContactGroupID}/Contacts"),
            ("PUT", "/Currencies"),
            ("PUT", "/ExpenseClaims"),
            ("POST", "/ExpenseClaims/{ExpenseClaimID}"),
            ("PUT", "/Items"),
            ("POST", "/Items"),
            ("POST", "/Items/{ItemID}"),
            ("PUT", "/LinkedTransactions"),
            ("POST", "/LinkedTransactions/{LinkedTransactionID}"),
            ("PUT", "/ManualJournals"),
            ("POST", "/ManualJournals"),
            ("POST", "/ManualJournals/{ManualJournalID}"),
            ("PUT", "/Overpayments/{OverpaymentID}/Allocations"),
            ("PUT", "/PaymentServices"),
            ("PUT", "/Prepayments/{PrepaymentID}/Allocations"),
            ("PUT", "/PurchaseOrders"),
            ("POST", "/PurchaseOrders"),
            ("POST", "/PurchaseOrders/{PurchaseOrderID}"),
            ("PUT", "/Quotes"),
            ("POST", "/Quotes"),
            ("POST", "/Quotes/{QuoteID}"),
            ("PUT", "/Receipts"),
            ("POST", "/Receipts/{ReceiptID}"),
            ("PUT", "/RepeatingInvoices"),
            ("POST", "/RepeatingInvoices"),
            ("POST", "/RepeatingInvoices/{RepeatingInvoiceID}"),
            ("POST", "/Setup"),
            ("PUT", "/TrackingCategories"),
            ("POST", "/TrackingCategories/{TrackingCategoryID}"),
            ("PUT", "/TrackingCategories/{TrackingCategoryID}/Options"),
            ("POST", "/TrackingCategories/{TrackingCategoryID}/Options/{TrackingOptionID}"),
        )
    },
}
# Fields the spec's response examples show that the emulator does not produce (Xero features
# ledgerlink does not use: attachments, batch payments, contact extras, CIS, ...).
FIELDS_NOT_EMULATED = {
    "Attachments",
    "HasAttachments",
    "BatchPayment",
    "BatchPaymentID",
    "CompanyNumber",
    "SalesDefaultLineAmountType",
    "PurchasesDefaultLineAmountType",
    "BankAccountDetails",
    "ID",
}
# Fields rendered only when the record has a value (the seeded records of some examples have none).
FIELDS_ONLY_WHEN_SET = {"DueDate", "DueDateString", "EmailAddress", "PaymentTerms"}


def _answer_example(method: str, template: str) -> dict[str, Any]:
    answer = operation(method, template).responses["200"]
    example: dict[str, Any] = answer["content"]["application/json"]["example"]
    return example


def _answer_key(method: str, template: str) -> str:
    ref = operation(method, template).responses["200"]["content"]["application/json"]["schema"]["$ref"]
    return str(ref.rsplit("/", 1)[-1])


@pytest.fixture(scope="module")
def box() -> Iterator[Sandbox]:
    settings = replace(fast_settings(), xero_per_minute=100_000, xero_per_day=1_000_000)
    with Sandbox(SandboxState(settings=settings), seed="empty") as sandbox:
        yield sandbox


# ---------------------------------------------------------------------------------------------
# What each example needs to exist first (the ids it names); returns the path parameters.


def _liam(emu: XeroEmulator, tenant: str) -> None:
    emu.add_contact(tenant, ContactID=LIAM, Name="Liam Gallagher", EmailAddress="liam@rockstar.com")


def _zero_invoice(emu: XeroEmulator, tenant: str, kind: str = "ACCREC") -> None:
    _liam(emu, tenant)
    emu.add_invoice(
        tenant,
        {
            "InvoiceID": ZERO,
            "Type": kind,
            "Contact": {"ContactID": LIAM},
            "Date": "2019-03-01",
            "Status": "AUTHORISED",
            "LineItems": [
                {"Description": "Acme Tires", "Quantity": 2, "UnitAmount": 20, "AccountCode": "200"}
            ],
        },
    )


def _seed_for(method: str, template: str, emu: XeroEmulator, tenant: str) -> dict[str, str]:
    if template == "/Contacts/{ContactID}":
        emu.add_contact(tenant, ContactID=ZERO, Name="Buzz Lightyear")
        return {"ContactID": ZERO}
    if template == "/Invoices/{InvoiceID}":
        _zero_invoice(emu, tenant, kind="ACCPAY")  # the example updates an ACCPAY bill
        return {"InvoiceID": ZERO}
    if template in ("/Invoices", "/CreditNotes"):
        _liam(emu, tenant)
        return {}
    if template == "/Payments":
        _zero_invoice(emu, tenant)
        return {}
    if template == "/Payments/{PaymentID}":
        _zero_invoice(emu, tenant)
        payment = emu.add_payment(
            tenant,
            {"Invoice": {"InvoiceID": ZERO}, "Account": {"Code": "090"}, "Date": "2019-03-12", "Amount": 5},
        )
        return {"PaymentID": payment["PaymentID"]}
    if template.startswith("/CreditNotes/{CreditNoteID}"):
        _liam(emu, tenant)
        kind = "ACCPAYCREDIT" if template == "/CreditNotes/{CreditNoteID}" else "ACCRECCREDIT"
        note = emu.add_credit_note(
            tenant,
            {
                "Type": kind,
                "Contact": {"ContactID": LIAM},
                "Date": "2019-01-05",
                "Status": "DRAFT" if kind == "ACCPAYCREDIT" else "AUTHORISED",
                "LineItems": [
                    {"Description": "Foobar", "Quantity": 2, "UnitAmount": 20, "AccountCode": "400"}
                ],
            },
        )
        if template.endswith("/Allocations"):
            emu.add_invoice(
                tenant,
                {
                    "InvoiceID": ALLOCATION_INVOICE,
                    "Type": "ACCREC",
                    "Contact": {"ContactID": LIAM},
                    "Date": "2019-03-01",
                    "Status": "AUTHORISED",
                    "LineItems": [
                        {"Description": "Fees", "Quantity": 1, "UnitAmount": 10, "AccountCode": "200"}
                    ],
                },
            )
        return {"CreditNoteID": note["CreditNoteID"]}
    return {}


def _caller(box: Sandbox) -> tuple[str, Callable[[str, str, Any], httpx.Response]]:
    """A caller on a brand-new organisation (each example gets clean books)."""
    tenant = str(uuid.uuid4())
    box.state.xero_orgs.add(f"Example org {tenant[:8]}", tenant_id=tenant)
    token = box.xero.access_token([tenant])
    http = httpx.Client(
        base_url=box.urls.xero_accounting,
        headers={"Authorization": f"Bearer {token}", "xero-tenant-id": tenant, "Accept": "application/json"},
        timeout=10,
    )
    return tenant, lambda method, path, body: http.request(method, path, json=body)


# ---------------------------------------------------------------------------------------------


def test_every_request_example_of_the_spec_is_accounted_for() -> None:
    examples = {(op.method, op.template) for op in request_examples()}
    accounted = IN_SCOPE | set(EXAMPLES_THE_SPEC_REFUSES) | set(OUT_OF_SCOPE)
    assert examples == accounted
    assert not (IN_SCOPE & set(OUT_OF_SCOPE)) and not (IN_SCOPE & set(EXAMPLES_THE_SPEC_REFUSES))
    assert all(reason for reason in OUT_OF_SCOPE.values())


@pytest.mark.parametrize(("method", "template"), sorted(IN_SCOPE))
def test_spec_example_replays_and_answers_in_the_documented_shape(
    box: Sandbox, method: str, template: str
) -> None:
    example = copy.deepcopy(operation(method, template).body_example)
    assert body_problems(method, template, example) == []
    tenant, call = _caller(box)
    params = _seed_for(method, template, box.xero, tenant)
    path = template.format(**params)
    response = call(method, path, example)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert response_problems(method, template, 200, answer) == []
    assert (answer["Status"], answer["DateTimeUTC"][:6]) == ("OK", "/Date(")
    key = _answer_key(method, template)
    elements = answer[key]
    documented = _answer_example(method, template)[key][0]
    assert len(elements) == 1
    missing = set(documented) - set(elements[0]) - FIELDS_NOT_EMULATED - FIELDS_ONLY_WHEN_SET
    missing -= {"ValidationErrors", "Warnings"}
    assert missing == set(), f"{method} {template} lacks {sorted(missing)}"
    if "StatusAttributeString" in documented:
        assert elements[0]["StatusAttributeString"] == "OK"


@pytest.mark.parametrize(("method", "template"), sorted(EXAMPLES_THE_SPEC_REFUSES))
def test_spec_examples_the_schema_refuses_are_refused(box: Sandbox, method: str, template: str) -> None:
    example = operation(method, template).body_example
    assert body_problems(method, template, example)
    tenant, call = _caller(box)
    path = template.format(BankTransactionID=ZERO)
    if "{" in template:
        # The id must exist, or the answer would be a 404 rather than the body's refusal.
        box.xero.add_contact(tenant, Name="Buzz Lightyear")
        made = box.xero.add_bank_transaction(
            tenant,
            {
                "Type": "SPEND",
                "Contact": {"Name": "Buzz Lightyear"},
                "BankAccount": {"Code": "090"},
                "LineItems": [{"Description": "x", "Quantity": 1, "UnitAmount": 20, "AccountCode": "400"}],
            },
        )
        path = template.format(BankTransactionID=made["BankTransactionID"])
    response = call(method, path, example)
    assert response.status_code == 400
    assert response_problems(method, template, 400, response.json()) == []
    assert response.json()["Type"] == "ValidationException"


def test_the_spec_is_the_vendored_copy() -> None:
    assert spec()["info"]["version"] == "16.1.0"
