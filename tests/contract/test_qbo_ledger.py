"""QboLedger against the sandbox: batched writes, payments, credits, voids, settings and change capture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import cast

import pytest

from ledgerlink.domain import Address, Application, CreditNote, Payment
from ledgerlink.errors import ApiError, MappingMissingError, RateLimitedError, ValidationError
from ledgerlink.providers.qbo import QboClient
from ledgerlink.providers.qbo.ledger import NO_ZERO_TAX_CODE, QboLedger
from ledgerlink.providers.qbo.writes import segments
from ledgerlink.sandbox import FaultRule, Sandbox
from ledgerlink.sandbox.demo_firm import EXISTING_CUSTOMER_NAME, QBO_REALM_ID, VENDOR_CONFLICT_NAME
from ledgerlink.sync.ports import (
    CreditApplicationDraft,
    CreditNoteDraft,
    InvoiceDraft,
    LedgerSettings,
    LedgerWrite,
    MappedLine,
    PaymentDraft,
    Settlement,
    Written,
)
from tests.conftest import StaticToken
from tests.factories import contact, invoice, line

REALM = QBO_REALM_ID
OPERATING = "Operating Checking"


class SandboxSleep:
    """An injected ``sleep`` that moves the sandbox clock instead of waiting."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sandbox.state.clock.advance(seconds)


def sandbox_now(sandbox: Sandbox) -> datetime:
    return datetime.fromtimestamp(sandbox.state.clock.now(), UTC)


@pytest.fixture
def client(sandbox: Sandbox, qbo_token: StaticToken) -> Iterator[QboClient]:
    with QboClient.connect(sandbox.urls.qbo_api, REALM, qbo_token, sleep=SandboxSleep(sandbox)) as qbo:
        yield qbo


@pytest.fixture
def ledger(sandbox: Sandbox, client: QboClient) -> QboLedger:
    return QboLedger(client, now=lambda: sandbox_now(sandbox))


def customer_id(sandbox: Sandbox, name: str) -> str:
    return next(c["Id"] for c in sandbox.qbo.records(REALM, "Customer") if c["DisplayName"].startswith(name))


def key(label: str) -> str:
    """An intent key shaped like the store's (32 hex digits), readable in a failing test."""
    return label.encode().hex().ljust(32, "0")[:32]


def bill_draft(
    customer: str, number: str, amount: str = "500.00", tax_code: str | None = None
) -> InvoiceDraft:
    fee = line("1", amount=amount)
    bill = invoice(source_id=f"bill-{number}", number=number, lines=(fee,))
    return InvoiceDraft(bill, customer, (MappedLine(fee, "Legal Services", tax_code=tax_code),))


def create_invoice(ledger: QboLedger, customer: str, number: str, amount: str = "500.00") -> Written:
    (written,) = ledger.write(
        [LedgerWrite("create", "invoice", key(f"inv-{number}"), bill_draft(customer, number, amount))]
    )
    assert isinstance(written, Written)
    return written


def clio_payment(amount: str, reference: str | None = "CHK 1001") -> Payment:
    return Payment(
        "p-1", "1", date(2026, 3, 9), (Application("a1", "b1", Decimal(amount)),), reference=reference
    )


def clio_credit(amount: str) -> CreditNote:
    return CreditNote(
        "cn-1", "1", date(2026, 3, 10), (Application("c1", "b1", Decimal(amount)),), "Courtesy discount"
    )


def balance(sandbox: Sandbox, invoice_id: str) -> Decimal:
    return Decimal(sandbox.qbo.get(REALM, "Invoice", invoice_id)["Balance"])


# -- batched writes ----------------------------------------------------------------------------------------


def mixed_writes(sandbox: Sandbox) -> list[LedgerWrite]:
    """35 writes: new clients, bills for an existing customer, a conflicting name, a link, an update."""
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    writes = [
        LedgerWrite("create", "contact", key(f"c{n}"), contact(str(n), f"Batch Client {n:02d}", email=None))
        for n in range(20)
    ]
    writes[7:7] = [LedgerWrite("create", "contact", key("vendor"), contact("v", VENDOR_CONFLICT_NAME))]
    writes += [
        LedgerWrite("create", "invoice", key(f"i{n}"), bill_draft(greenleaf, f"B-{n:03d}", f"{100 + n}.00"))
        for n in range(12)
    ]
    writes.insert(
        25,
        LedgerWrite(
            "link",
            "contact",
            key("dana"),
            contact("d", EXISTING_CUSTOMER_NAME),
            target_id=customer_id(sandbox, EXISTING_CUSTOMER_NAME),
        ),
    )
    bayside = contact(
        "y",
        "Bayside Yacht Club",
        email="office@bayside.example",
        phone="555-0100",
        address=Address(street="1 Pier Rd", city="Sausalito"),
        is_company=True,
    )
    writes.append(
        LedgerWrite("update", "contact", key("bayside"), bayside, target_id=customer_id(sandbox, "Bayside"))
    )
    return writes


def test_a_batch_of_35_mixed_writes_answers_each_in_order_and_one_refusal_spares_the_rest(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    writes = mixed_writes(sandbox)
    assert len(writes) == 35 and [len(s) for s in segments(writes)] == [30, 5]
    answers = ledger.write(writes)

    assert len(answers) == 35
    refused = answers[7]
    assert isinstance(refused, ValidationError) and refused.code == "6240"
    assert all(isinstance(a, Written) for n, a in enumerate(answers) if n != 7)
    for w, answer in zip(writes, answers, strict=True):
        if not isinstance(answer, Written):
            continue
        if w.kind == "contact":
            assert answer.customer is not None and answer.customer.display_name == w.payload.name
            assert sandbox.qbo.get(REALM, "Customer", answer.id)["DisplayName"] == w.payload.name
        else:
            stored = sandbox.qbo.get(REALM, "Invoice", answer.id)
            assert (stored["DocNumber"], Decimal(stored["TotalAmt"])) == (
                w.payload.invoice.number,
                w.payload.invoice.total,
            )
            assert f"[ledgerlink {w.key}]" in stored["PrivateNote"]
            assert answer.tax is None  # a US company computes no tax
    dana = answers[25]
    assert isinstance(dana, Written) and dana.customer is not None
    assert (dana.customer.display_name, dana.customer.active) == (EXISTING_CUSTOMER_NAME, True)
    bayside = answers[34]
    assert isinstance(bayside, Written) and bayside.customer is not None
    assert (bayside.customer.email, bayside.customer.phone, bayside.customer.address) == (
        "office@bayside.example",
        "555-0100",
        Address(street="1 Pier Rd", city="Sausalito"),
    )


def test_the_same_batch_sent_again_replays_and_creates_nothing_twice(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    writes = mixed_writes(sandbox)
    first = ledger.write(writes)
    customers, invoices = (
        len(sandbox.qbo.records(REALM, "Customer")),
        len(sandbox.qbo.records(REALM, "Invoice")),
    )
    again = ledger.write(writes)
    assert [a.id if isinstance(a, Written) else a.code for a in again] == [
        a.id if isinstance(a, Written) else a.code for a in first
    ]
    assert len(sandbox.qbo.records(REALM, "Customer")) == customers
    assert len(sandbox.qbo.records(REALM, "Invoice")) == invoices == 12


def test_a_batch_whose_answer_was_lost_is_resent_and_replayed(sandbox: Sandbox, ledger: QboLedger) -> None:
    sandbox.state.faults.add(FaultRule("drop_after_commit", method="POST", path="/batch$"))
    writes = [
        LedgerWrite("create", "contact", key(f"lost{n}"), contact(str(n), f"Lost Answer {n}"))
        for n in range(3)
    ]
    answers = ledger.write(writes)
    assert all(isinstance(a, Written) for a in answers)
    names = [c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")]
    assert [names.count(f"Lost Answer {n}") for n in range(3)] == [1, 1, 1]


def test_a_stale_version_is_re_read_and_the_item_sent_again_alone(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    target = customer_id(sandbox, "Tomasz Kowalczyk")
    sandbox.qbo.edit(REALM, "Customer", target, Notes="edited in QBO")  # SyncToken 0 → 1
    tomasz = contact("t", "Tomasz Kowalczyk", email="tomasz@example.com")
    (answer,) = ledger.write(
        [LedgerWrite("update", "contact", key("stale"), tomasz, target_id=target, version="0")]
    )
    assert isinstance(answer, Written) and answer.version == "2"
    stored = sandbox.qbo.get(REALM, "Customer", target)
    assert (stored["PrimaryEmailAddr"]["Address"], stored["Notes"]) == ("tomasz@example.com", "edited in QBO")


def test_a_stale_delete_and_a_stale_void_are_retried_alone(sandbox: Sandbox, ledger: QboLedger) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    kept, paid_bill = (
        create_invoice(ledger, greenleaf, "S-1", "40.00"),
        create_invoice(ledger, greenleaf, "S-2", "60.00"),
    )
    draft = PaymentDraft(
        clio_payment("60.00"), greenleaf, (Settlement(paid_bill.id, Decimal("60.00")),), OPERATING
    )
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("stale-pay"), draft)])
    assert isinstance(paid, Written)
    sandbox.qbo.edit(REALM, "Invoice", kept.id, PrivateNote="touched in QBO")
    sandbox.qbo.edit(REALM, "Payment", paid.id, PrivateNote="touched in QBO")
    answers = ledger.write(
        [
            LedgerWrite("delete", "payment", key("stale-del"), None, target_id=paid.id, version="0"),
            LedgerWrite("void", "invoice", key("stale-void"), None, target_id=kept.id, version="0"),
        ]
    )
    assert answers == [Written(id=paid.id, version=None), Written(id=kept.id, version="2")]
    assert balance(sandbox, paid_bill.id) == Decimal("60.00")
    assert sandbox.qbo.get(REALM, "Invoice", kept.id)["PrivateNote"] == "Voided"


def test_linking_an_invoice_makes_the_adopted_record_equal_to_clio_s(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    found = create_invoice(ledger, greenleaf, "L-1", "10.00")
    (linked,) = ledger.write(
        [
            LedgerWrite(
                "link", "invoice", key("adopt"), bill_draft(greenleaf, "L-1", "75.00"), target_id=found.id
            )
        ]
    )
    assert isinstance(linked, Written) and (linked.id, linked.version) == (found.id, "1")
    assert Decimal(sandbox.qbo.get(REALM, "Invoice", found.id)["TotalAmt"]) == Decimal("75.00")


def test_a_429_for_the_whole_batch_raises(sandbox: Sandbox, ledger: QboLedger) -> None:
    sandbox.state.faults.add(FaultRule("429", method="POST", path="/batch$", times=-1))
    with pytest.raises(RateLimitedError):
        ledger.write([LedgerWrite("create", "contact", key("rl"), contact("r", "Rate Limited"))])
    assert "Rate Limited" not in {c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")}


def test_an_unknown_product_or_account_stops_before_anything_is_sent(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    fee = line("1")
    draft = InvoiceDraft(invoice(lines=(fee,)), greenleaf, (MappedLine(fee, "No Such Service"),))
    writes = [
        LedgerWrite("create", "contact", key("first"), contact("f", "Never Sent")),
        LedgerWrite("create", "invoice", key("unmapped"), draft),
    ]
    with pytest.raises(MappingMissingError, match="No Such Service"):
        ledger.write(writes)
    payment = PaymentDraft(
        clio_payment("10.00"), greenleaf, (Settlement("1", Decimal("10.00")),), "Petty Cash"
    )
    with pytest.raises(MappingMissingError, match="Petty Cash"):
        ledger.write([LedgerWrite("create", "payment", key("petty"), payment)])
    assert "Never Sent" not in {c["DisplayName"] for c in sandbox.qbo.records(REALM, "Customer")}


# -- payments, credits, voids, deletes -------------------------------------------------------------------


def test_a_payment_settles_the_invoice_into_the_deposit_account(sandbox: Sandbox, ledger: QboLedger) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-100", "712.50")
    draft = PaymentDraft(
        clio_payment("712.50", "CHECK-000000000000000000042"),
        greenleaf,
        (Settlement(bill.id, Decimal("712.50")),),
        OPERATING,
    )
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("pay"), draft)])
    assert isinstance(paid, Written) and paid.version == "0"
    assert balance(sandbox, bill.id) == 0
    payment = sandbox.qbo.get(REALM, "Payment", paid.id)
    operating = next(a["Id"] for a in sandbox.qbo.records(REALM, "Account") if a["Name"] == OPERATING)
    assert (Decimal(payment["TotalAmt"]), payment["DepositToAccountRef"]["value"]) == (
        Decimal("712.50"),
        operating,
    )
    assert payment["PaymentRefNum"] == "CHECK-000000000000000"
    assert f"[ledgerlink {key('pay')}]" in payment["PrivateNote"]


def test_a_payment_without_deposit_account_lands_in_undeposited_funds(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-101", "300.00")
    draft = PaymentDraft(clio_payment("100.00", None), greenleaf, (Settlement(bill.id, Decimal("100.00")),))
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("undeposited"), draft)])
    assert isinstance(paid, Written)
    assert balance(sandbox, bill.id) == Decimal("200.00")
    payment = sandbox.qbo.get(REALM, "Payment", paid.id)
    undeposited = next(
        a["Id"] for a in sandbox.qbo.records(REALM, "Account") if a["Name"] == "Undeposited Funds"
    )
    assert payment.get("DepositToAccountRef", {}).get("value", undeposited) == undeposited
    assert "PaymentRefNum" not in payment


def test_updating_a_payment_replaces_its_lines(sandbox: Sandbox, ledger: QboLedger) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    first, second = (
        create_invoice(ledger, greenleaf, "P-102", "100.00"),
        create_invoice(ledger, greenleaf, "P-103", "50.00"),
    )
    draft = PaymentDraft(
        clio_payment("100.00"), greenleaf, (Settlement(first.id, Decimal("100.00")),), OPERATING
    )
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("pay2"), draft)])
    assert isinstance(paid, Written)
    moved = PaymentDraft(
        clio_payment("50.00"), greenleaf, (Settlement(second.id, Decimal("50.00")),), OPERATING
    )
    (updated,) = ledger.write([LedgerWrite("update", "payment", key("pay2u"), moved, paid.id, paid.version)])
    assert isinstance(updated, Written) and updated.version == "1"
    assert (balance(sandbox, first.id), balance(sandbox, second.id)) == (Decimal("100.00"), 0)


def test_deleting_a_payment_restores_the_invoice_balance(sandbox: Sandbox, ledger: QboLedger) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-104", "250.00")
    draft = PaymentDraft(
        clio_payment("250.00"), greenleaf, (Settlement(bill.id, Decimal("250.00")),), OPERATING
    )
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("pay3"), draft)])
    assert isinstance(paid, Written) and balance(sandbox, bill.id) == 0
    (deleted,) = ledger.write([LedgerWrite("delete", "payment", key("pay3d"), None, target_id=paid.id)])
    assert deleted == Written(id=paid.id, version=None)
    assert balance(sandbox, bill.id) == Decimal("250.00")
    assert paid.id not in {p["Id"] for p in sandbox.qbo.records(REALM, "Payment")}


def test_a_credit_memo_applied_by_a_zero_payment_reduces_the_invoice_balance(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-105", "500.00")
    credit = clio_credit("120.00")
    (memo,) = ledger.write(
        [
            LedgerWrite(
                "create", "credit_note", key("cm"), CreditNoteDraft(credit, greenleaf, "Legal Services")
            )
        ]
    )
    assert isinstance(memo, Written)
    stored = sandbox.qbo.get(REALM, "CreditMemo", memo.id)
    assert (Decimal(stored["TotalAmt"]), stored.get("DocNumber")) == (Decimal("120.00"), None)
    assert balance(sandbox, bill.id) == Decimal("500.00")  # a credit memo alone applies to nothing
    application = CreditApplicationDraft(
        credit, greenleaf, memo.id, (Settlement(bill.id, Decimal("120.00")),)
    )
    (applied,) = ledger.write([LedgerWrite("create", "credit_application", key("cma"), application)])
    assert isinstance(applied, Written)
    assert balance(sandbox, bill.id) == Decimal("380.00")
    zero = sandbox.qbo.get(REALM, "Payment", applied.id)
    assert Decimal(zero["TotalAmt"]) == 0
    assert {t["TxnType"] for ln in zero["Line"] for t in ln["LinkedTxn"]} == {"Invoice", "CreditMemo"}


def test_voiding_an_invoice_keeps_it_at_zero(sandbox: Sandbox, ledger: QboLedger) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-106", "80.00")
    (voided,) = ledger.write([LedgerWrite("void", "invoice", key("void"), None, target_id=bill.id)])
    assert isinstance(voided, Written) and voided.id == bill.id and voided.version == "1"
    stored = sandbox.qbo.get(REALM, "Invoice", bill.id)
    assert (Decimal(stored["TotalAmt"]), Decimal(stored["Balance"]), stored["PrivateNote"]) == (
        0,
        0,
        "Voided",
    )


def test_deleting_and_voiding_what_is_gone_answers_qbo_s_610(sandbox: Sandbox, ledger: QboLedger) -> None:
    answers = ledger.write(
        [
            LedgerWrite("delete", "invoice", key("gone1"), None, target_id="9999"),
            LedgerWrite("void", "invoice", key("gone2"), None, target_id="9998", version="0"),
        ]
    )
    assert [a.code for a in answers if isinstance(a, ApiError)] == ["610", "610"]


# -- reads -----------------------------------------------------------------------------------------------


def test_us_settings_and_missing_accounts(ledger: QboLedger) -> None:
    assert ledger.settings() == LedgerSettings(custom_numbers=True, computes_tax=False, country="US")
    assert ledger.missing_accounts({OPERATING, "Undeposited Funds", "Petty Cash"}) == {"Petty Cash"}


def test_customers_read_back_phone_address_and_names(sandbox: Sandbox, ledger: QboLedger) -> None:
    sandbox.qbo.add(
        REALM,
        "Customer",
        {
            "DisplayName": "Ada Lovelace",
            "GivenName": "Ada",
            "FamilyName": "Lovelace",
            "PrimaryPhone": {"FreeFormNumber": "555-0199"},
            "BillAddr": {"Line1": "12 St James's Sq", "City": "London", "Country": "GB"},
        },
    )
    ada = next(c for c in ledger.customers() if c.display_name == "Ada Lovelace")
    assert (ada.phone, ada.given_name, ada.family_name) == ("555-0199", "Ada", "Lovelace")
    assert ada.address == Address(street="12 St James's Sq", city="London", country="GB")
    assert ledger.find_customer("Ada Lovelace") == ada


def test_changes_see_a_customer_edited_in_qbo_and_a_deleted_payment(
    sandbox: Sandbox, ledger: QboLedger
) -> None:
    greenleaf = customer_id(sandbox, "Greenleaf Nursery Supply")
    bill = create_invoice(ledger, greenleaf, "P-107", "90.00")
    draft = PaymentDraft(
        clio_payment("90.00"), greenleaf, (Settlement(bill.id, Decimal("90.00")),), OPERATING
    )
    (paid,) = ledger.write([LedgerWrite("create", "payment", key("pay4"), draft)])
    assert isinstance(paid, Written)
    sandbox.state.clock.advance(2)  # QBO stamps whole seconds: what came before is clearly before
    since = sandbox_now(sandbox)
    sandbox.state.clock.advance(2)
    tomasz = customer_id(sandbox, "Tomasz Kowalczyk")
    sandbox.qbo.edit(REALM, "Customer", tomasz, PrimaryEmailAddr={"Address": "tk@example.com"})
    sandbox.qbo.delete(REALM, "Payment", paid.id)

    changes = ledger.changes(since, ["invoice", "payment"])
    assert changes is not None
    (edited,) = changes.customers
    assert (edited.id, edited.email, edited.version) == (tomasz, "tk@example.com", "1")
    assert changes.versions["payment"] == {paid.id: None}
    assert set(changes.versions) == {"invoice", "payment"}


def test_changes_further_back_than_30_days_are_none_without_asking(sandbox: Sandbox) -> None:
    now = datetime(2026, 4, 1, 12, tzinfo=UTC)
    unused = QboLedger(cast(QboClient, object()), now=lambda: now)  # any call would fail
    assert unused.changes(now - timedelta(days=30), ["invoice"]) is None
    assert unused.changes(now - timedelta(days=29, hours=23, minutes=30), ["invoice"]) is None


# -- a company that computes tax -----------------------------------------------------------------------


CA_REALM = "4620816365212345678"


def canadian_ledger(sandbox: Sandbox, realm: str, *, zero_rated: bool = True) -> tuple[QboLedger, str]:
    """A Canadian company using sales tax (GST, HST and maybe a zero-rated code) with one client."""
    emu = sandbox.qbo
    emu.add_company(realm, f"Hartwell Toronto {realm}", country="CA")
    emu.set_preference(realm, "TaxPrefs", "UsingSalesTax", True)
    emu.set_preference(realm, "SalesFormsPrefs", "CustomTxnNumbers", True)
    income = emu.add(realm, "Account", {"Name": "Fees", "AccountType": "Income"})
    emu.add(
        realm,
        "Item",
        {"Name": "Legal Services", "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}},
    )
    emu.add_tax_code(realm, "GST", [emu.add_tax_rate(realm, "GST", 5)])
    emu.add_tax_code(realm, "HST ON", [emu.add_tax_rate(realm, "HST ON", 13)])
    if zero_rated:
        emu.add_tax_code(realm, "Zero-rated", [emu.add_tax_rate(realm, "GST zero-rated", 0)])
    client = emu.add(realm, "Customer", {"DisplayName": "Maple Holdings"})
    token = StaticToken(sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", realm).access_token)
    qbo = QboClient.connect(sandbox.urls.qbo_api, realm, token, sleep=SandboxSleep(sandbox))
    return QboLedger(qbo, now=lambda: sandbox_now(sandbox)), client["Id"]


@pytest.fixture
def ca_ledger(sandbox: Sandbox) -> tuple[QboLedger, str]:
    return canadian_ledger(sandbox, CA_REALM)


def test_a_non_us_company_computes_tax_on_tax_coded_invoices(ca_ledger: tuple[QboLedger, str]) -> None:
    ledger, maple = ca_ledger
    settings = ledger.settings()
    assert (settings.country, settings.computes_tax, settings.custom_numbers) == ("CA", True, True)
    assert {(c.name, c.rate) for c in settings.tax_codes} == {
        ("GST", Decimal("5")),
        ("HST ON", Decimal("13")),
        ("Zero-rated", Decimal("0")),
    }
    hst = next(c for c in settings.tax_codes if c.name == "HST ON")
    draft = replace_tax(bill_draft(maple, "T-1", "412.50", tax_code=hst.id), Decimal("53.63"))
    (written,) = ledger.write([LedgerWrite("create", "invoice", key("taxed"), draft)])
    assert isinstance(written, Written) and written.tax == Decimal("53.63")  # 13% of 412.50, to the cent


def test_a_credit_note_in_a_non_us_company_uses_the_zero_rate_code(
    sandbox: Sandbox, ca_ledger: tuple[QboLedger, str]
) -> None:
    ledger, maple = ca_ledger
    zero = next(c for c in ledger.settings().tax_codes if c.name == "Zero-rated")
    draft = CreditNoteDraft(clio_credit("50.00"), maple, "Legal Services")
    (memo,) = ledger.write([LedgerWrite("create", "credit_note", key("ca-cm"), draft)])
    assert isinstance(memo, Written)
    stored = sandbox.qbo.get(CA_REALM, "CreditMemo", memo.id)
    assert stored["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"] == zero.id
    assert Decimal(stored["TotalAmt"]) == Decimal("50.00")


def replace_tax(draft: InvoiceDraft, expected: Decimal) -> InvoiceDraft:
    return InvoiceDraft(draft.invoice, draft.customer_id, draft.lines, expected_tax=expected)


# -- explanations --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "detail", "cause", "remedy_part"),
    [
        ("620", "TxnID Cannot Be Linked", "other_customers_invoice", "same client"),
        ("6000", "The amount applied exceeds the open balance", "over_applied", "by hand"),
        ("6000", "You must set a transaction amount", "business_rule", "reason given above"),
        ("6540", "This transaction has been deposited.", "deposited", "un-deposit it in QBO or leave it"),
        (
            "610",
            "Object Not Found: Another user has deleted this transaction.",
            "linked_record_deleted",
            "deleted",
        ),
        (
            "610",
            "Something you're trying to use has been made inactive.",
            "inactive_reference",
            "active again",
        ),
        ("2500", "Invalid Reference Id : TaxCode element id 99 not found", "invalid_tax_code", "tax_codes"),
        ("2500", "Invalid Reference Id : Accounts element id 7 not found", "invalid_reference", "mapping"),
        (NO_ZERO_TAX_CODE, None, "no_zero_tax_code", "0% tax code"),
    ],
)
def test_refusals_are_explained_with_a_cause_and_a_remedy(
    code: str, detail: str | None, cause: str, remedy_part: str
) -> None:
    ledger = QboLedger(cast(QboClient, object()))
    explained = ledger.explain(
        ValidationError("refused", status=400, code=code, detail=detail), label="Payment 1"
    )
    assert explained.cause == cause
    assert remedy_part in explained.remedy
    assert explained.message.startswith("QuickBooks said: refused")


def test_a_credit_note_is_refused_before_sending_when_no_tax_code_charges_nothing(sandbox: Sandbox) -> None:
    ledger, maple = canadian_ledger(sandbox, "4620816365200000001", zero_rated=False)
    draft = CreditNoteDraft(clio_credit("50.00"), maple, "Legal Services")
    (answer,) = ledger.write([LedgerWrite("create", "credit_note", key("no-zero"), draft)])
    assert isinstance(answer, ApiError) and answer.code == NO_ZERO_TAX_CODE
    assert sandbox.qbo.records("4620816365200000001", "CreditMemo") == []


def test_segments_batch_thirty_at_a_time_and_send_each_void_alone() -> None:
    def w(op: str) -> LedgerWrite:
        return LedgerWrite(op, "invoice", key(op), target_id="1")

    writes = [w("create")] * 31 + [w("void"), w("update"), w("void"), w("void")]
    assert segments(writes) == [list(range(30)), [30], [31], [32], [33], [34]]
    assert segments([]) == []
