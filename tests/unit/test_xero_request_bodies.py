"""Every request body the Xero client sends fits Xero's own OpenAPI description of that operation.

The bodies are the bytes the client really puts on the wire (caught by an in-process transport), built
from records shaped like a law firm's: a client contact, a bill with a 4-dp rate, a payment, a credit
note and its allocation, a hard cost as a SPEND bank transaction. Each is judged by
:func:`ledgerlink.sandbox.xero_spec.body_problems` (strict: undeclared properties count) and must not
carry a property the spec marks ``readOnly``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest

from ledgerlink.providers.xero import (
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
from ledgerlink.providers.xero.client import ACCOUNTING_PATH
from ledgerlink.sandbox import xero_spec

API = "https://xero.test" + ACCOUNTING_PATH
TENANT = "4f5c6b1e-2d3a-4e8f-9a0b-1c2d3e4f5a6b"
CONTACT_ID = "6d0f4c52-1b4e-4a56-9d7e-0c3a1f2b5e71"
INVOICE_ID = "2a7e9b1c-3d4f-4e5a-8b6c-7d8e9f0a1b2c"
CREDIT_NOTE_ID = "b1c2d3e4-f5a6-4b7c-8d9e-0f1a2b3c4d5e"
PAYMENT_ID = "9e8d7c6b-5a4f-4e3d-8c2b-1a0f9e8d7c6b"
BANK_ACCOUNT_ID = "13918178-849a-4823-9a31-57b7eac713d7"


class FixedToken:
    def access_token(self) -> str:
        return "xero-at-fixed-token-123456"

    def refresh(self, rejected: str) -> str:
        raise AssertionError("no refresh expected")


class Catcher(httpx.BaseTransport):
    """Answers every write with its elements given IDs, and keeps (method, path, body) of each request."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path.removeprefix(ACCOUNTING_PATH)
        body = json.loads(request.content) if request.content else None
        self.sent.append((request.method, path, body))
        if isinstance(body, dict) and len(body) == 1 and isinstance(next(iter(body.values())), list):
            collection, elements = next(iter(body.items()))
            answer = {collection: [{**e, "StatusAttributeString": "OK"} for e in elements]}
        else:
            answer = {"Payments": [{"PaymentID": PAYMENT_ID, "Status": "DELETED"}]}
        return httpx.Response(200, json={"Status": "OK", **answer})


@pytest.fixture
def catcher() -> Catcher:
    return Catcher()


@pytest.fixture
def xero(catcher: Catcher) -> Iterator[XeroClient]:
    limiter = XeroLimiter(tenant_id=TENANT, sleep=lambda seconds: None)
    with XeroClient(API, TENANT, FixedToken(), limiter, http_transport=catcher) as client:
        yield client


def client_contact() -> XeroContact:
    return XeroContact(
        name="Okafor Holdings Ltd",
        contact_number="clio-contact-1042",
        first_name="Ngozi",
        last_name="Okafor",
        email_address="ngozi@okafor.example",
        tax_number="12-3456789",
        default_currency="USD",
    )


def fee_lines() -> list[XeroLineItem]:
    return [
        XeroLineItem(
            description="Contract review (2026-02-12, NO)",
            quantity=Decimal("2.5"),
            unit_amount=Decimal("312.5050"),
            account_code="200",
            tax_type="OUTPUT",
            tracking=[{"Name": "Practice area", "Option": "Corporate"}],
        ),
        XeroLineItem(
            description="Filing fee", quantity=Decimal("1"), unit_amount=Decimal("75.00"), account_code="200"
        ),
    ]


def bill() -> XeroInvoice:
    return XeroInvoice(
        type="ACCREC",
        contact=XeroContact(contact_id=CONTACT_ID),
        invoice_number="B-2026-0042",
        reference="Matter 00017 Okafor acquisition",
        date=date(2026, 3, 2),
        due_date=date(2026, 4, 1),
        line_amount_types="Exclusive",
        status="AUTHORISED",
        currency_code="USD",
        url="https://app.clio.com/nc/#/bills/42",
        line_items=fee_lines(),
    )


def payment() -> XeroPayment:
    return XeroPayment(
        invoice=XeroInvoice(invoice_id=INVOICE_ID),
        account=XeroAccount(account_id=BANK_ACCOUNT_ID),
        date=date(2026, 3, 9),
        amount=Decimal("856.26"),
        reference="Clio payment 7781",
    )


def credit_note() -> XeroCreditNote:
    return XeroCreditNote(
        type="ACCRECCREDIT",
        contact=XeroContact(contact_id=CONTACT_ID),
        credit_note_number="CN-B-2026-0042",
        reference="Write-down on B-2026-0042",
        date=date(2026, 3, 10),
        status="AUTHORISED",
        line_amount_types="NoTax",
        line_items=[
            XeroLineItem(
                description="Courtesy discount",
                quantity=Decimal("1"),
                unit_amount=Decimal("50.00"),
                account_code="200",
            )
        ],
    )


def hard_cost() -> XeroBankTransaction:
    return XeroBankTransaction(
        type="SPEND",
        contact=XeroContact(name="County Court Clerk"),
        bank_account=XeroAccount(code="090"),
        date=date(2026, 2, 20),
        reference="Clio expense 5512",
        line_amount_types="NoTax",
        status="AUTHORISED",
        line_items=[
            XeroLineItem(
                description="Court filing fee",
                quantity=Decimal("1"),
                unit_amount=Decimal("435.00"),
                account_code="310",
            )
        ],
    )


WRITES: dict[str, Callable[[XeroClient], object]] = {
    "put_contacts": lambda x: x.put_contacts([client_contact()], key="contacts:1"),
    "post_contacts": lambda x: x.post_contacts(
        [client_contact().model_copy(update={"contact_id": CONTACT_ID})], key="contacts:2"
    ),
    "put_invoices": lambda x: x.put_invoices([bill()], key="invoices:1"),
    "post_invoices": lambda x: x.post_invoices(
        [bill().model_copy(update={"invoice_id": INVOICE_ID, "status": "VOIDED"})], key="invoices:2"
    ),
    "put_payments": lambda x: x.put_payments([payment()], key="payments:1"),
    "delete_payment": lambda x: x.delete_payment(PAYMENT_ID, key="payments:delete"),
    "put_credit_notes": lambda x: x.put_credit_notes([credit_note()], key="credit-notes:1"),
    "allocate_credit_note": lambda x: x.allocate_credit_note(
        CREDIT_NOTE_ID, INVOICE_ID, Decimal("50.00"), date(2026, 3, 10), key="allocations:1"
    ),
    "put_bank_transactions": lambda x: x.put_bank_transactions([hard_cost()], key="hard-costs:1"),
    "post_bank_transactions": lambda x: x.post_bank_transactions(
        [hard_cost().model_copy(update={"bank_transaction_id": PAYMENT_ID})], key="hard-costs:2"
    ),
}


def read_only_properties(ref: str, instance: Any, path: str = "") -> Iterator[str]:
    """Paths in ``instance`` of properties the schema at ``ref`` marks ``readOnly``."""
    node: Mapping[str, Any] = {"$ref": ref}
    while "$ref" in node:
        node = xero_spec.schema(node["$ref"].rsplit("/", 1)[-1])
    if isinstance(instance, Mapping):
        for key, value in instance.items():
            declared = node.get("properties", {}).get(key)
            if declared is None:
                continue
            if declared.get("readOnly"):
                yield f"{path}.{key}"
            target = declared.get("items", declared)
            if "$ref" in target:
                yield from read_only_properties(target["$ref"], value, f"{path}.{key}")
    elif isinstance(instance, list):
        for index, value in enumerate(instance):
            yield from read_only_properties(ref, value, f"{path}[{index}]")


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_body_of_each_write_fits_the_spec(write: str, xero: XeroClient, catcher: Catcher) -> None:
    WRITES[write](xero)

    assert catcher.sent, f"{write} sent nothing"
    for method, path, body in catcher.sent:
        template = xero_spec.match_template(method, path)
        assert template is not None, f"{method} {path} is not an operation of the spec"
        assert xero_spec.body_problems(method, template, body) == []
        ref = xero_spec.operation(method, template).body_ref
        assert ref is not None
        assert list(read_only_properties(ref, body)) == []


def test_money_goes_out_as_json_numbers_and_dates_as_days(xero: XeroClient, catcher: Catcher) -> None:
    xero.put_invoices([bill()], key="invoices:1")

    [(_, _, body)] = catcher.sent
    sent = body["Invoices"][0]
    assert sent["Date"] == "2026-03-02" and sent["DueDate"] == "2026-04-01"
    assert sent["LineItems"][0]["UnitAmount"] == pytest.approx(312.505)
    assert isinstance(sent["LineItems"][0]["Quantity"], float)


def test_the_judge_catches_a_misspelt_field_and_a_wrong_type() -> None:
    """A control: the spec check used above does refuse bodies Xero would not understand."""
    misspelt = {"Invoices": [{"Type": "ACCREC", "Lineitems": []}]}
    wrong_type = {"Payments": [{"Amount": "twelve", "Invoice": {"InvoiceID": INVOICE_ID}}]}

    assert xero_spec.body_problems("PUT", "/Invoices", misspelt)
    assert xero_spec.body_problems("PUT", "/Payments", wrong_type)
    assert list(read_only_properties("#/components/schemas/Invoice", {"Total": 1, "AmountDue": 1})) == [
        ".Total",
        ".AmountDue",
    ]
