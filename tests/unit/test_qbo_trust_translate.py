"""Trust transactions → QBO journal entries and cheques, and QBO's transactions → trust books (pure)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, cast

import pytest

from ledgerlink.domain import TrustKind, TrustTransaction
from ledgerlink.errors import ValidationError
from ledgerlink.providers.qbo import QboClient, translate
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.providers.qbo.writes import CHEQUE_PRINTED, Step, against, holds
from ledgerlink.sync.ports import TrustBooks, TrustChequeDraft, TrustPostingDraft, Written

BANK, LIABILITY = "35", "36"
MEMO = "Clio trust 901 — Dana Whitfield, matter 00012-Whitfield"


def movement(kind: TrustKind, amount: str = "1250.00") -> TrustTransaction:
    return TrustTransaction("901", "7", kind, date(2026, 3, 4), Decimal(amount), "42", "Dana Whitfield")


def posting(kind: TrustKind, customer_id: str | None = "58") -> TrustPostingDraft:
    return TrustPostingDraft(
        movement(kind), "Client Trust Account", "Client Trust Liability", customer_id, MEMO
    )


def cheque(payee_id: str = "71", payee_type: str = "Vendor", memo: str = MEMO) -> TrustChequeDraft:
    return TrustChequeDraft(
        movement(TrustKind.DISBURSEMENT, "300.00"),
        "Client Trust Account",
        "Client Trust Liability",
        "58",
        payee_id,
        payee_type,
        memo,
    )


def journal_line(posting_type: str, account: str, amount: str, customer: str | None = None) -> dict[str, Any]:
    detail: dict[str, Any] = {"PostingType": posting_type, "AccountRef": {"value": account}}
    if customer is not None:
        detail["Entity"] = {"Type": "Customer", "EntityRef": {"value": customer}}
    return {
        "DetailType": "JournalEntryLineDetail",
        "Amount": Decimal(amount),
        "Description": MEMO,
        "JournalEntryLineDetail": detail,
    }


# -- journal entries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [TrustKind.DEPOSIT, TrustKind.TRANSFER_IN, TrustKind.REQUEST_PAYMENT])
def test_money_into_trust_debits_the_bank_and_credits_the_client_s_liability(kind: TrustKind) -> None:
    body = translate.journal_entry_create_body(posting(kind), BANK, LIABILITY, key="k1")
    assert body == {
        "TxnDate": "2026-03-04",
        "Line": [
            journal_line("Debit", BANK, "1250.00"),
            journal_line("Credit", LIABILITY, "1250.00", customer="58"),
        ],
        "PrivateNote": f"{MEMO} [ledgerlink k1]",
    }


@pytest.mark.parametrize("kind", [TrustKind.DISBURSEMENT, TrustKind.TRANSFER_OUT, TrustKind.BILL_PAYMENT])
def test_money_out_of_trust_debits_the_client_s_liability_and_credits_the_bank(kind: TrustKind) -> None:
    body = translate.journal_entry_fields(posting(kind), BANK, LIABILITY)
    assert body == {
        "TxnDate": "2026-03-04",
        "Line": [
            journal_line("Debit", LIABILITY, "1250.00", customer="58"),
            journal_line("Credit", BANK, "1250.00"),
        ],
    }


def test_a_posting_without_a_client_has_no_entity_and_never_a_doc_number() -> None:
    body = translate.journal_entry_create_body(posting(TrustKind.DEPOSIT, None), BANK, LIABILITY, key="k2")
    assert [line["JournalEntryLineDetail"] for line in body["Line"]] == [
        {"PostingType": "Debit", "AccountRef": {"value": BANK}},
        {"PostingType": "Credit", "AccountRef": {"value": LIABILITY}},
    ]
    assert "DocNumber" not in body


def test_an_update_of_a_posting_leaves_the_private_note_and_its_marker_alone() -> None:
    assert set(translate.journal_entry_fields(posting(TrustKind.DEPOSIT), BANK, LIABILITY)) == {
        "TxnDate",
        "Line",
    }


# -- cheques ----------------------------------------------------------------------------------------------


def test_a_cheque_to_a_vendor_is_a_check_to_print_debiting_the_client_s_liability() -> None:
    assert translate.cheque_create_body(cheque(), BANK, LIABILITY, key="c1") == {
        "PaymentType": "Check",
        "AccountRef": {"value": BANK},
        "EntityRef": {"value": "71", "type": "Vendor"},
        "TxnDate": "2026-03-04",
        "Line": [
            {
                "DetailType": "AccountBasedExpenseLineDetail",
                "Amount": Decimal("300.00"),
                "Description": MEMO,
                "AccountBasedExpenseLineDetail": {
                    "AccountRef": {"value": LIABILITY},
                    "CustomerRef": {"value": "58"},
                },
            }
        ],
        "PrintStatus": "NeedToPrint",
        "PrivateNote": f"{MEMO} [ledgerlink c1]",
    }


def test_a_cheque_to_the_client_names_the_customer_as_payee() -> None:
    body = translate.cheque_create_body(cheque("58", "Customer"), BANK, LIABILITY, key="c2")
    assert body["EntityRef"] == {"value": "58", "type": "Customer"}
    assert "DocNumber" not in body


def test_a_cheque_update_never_sends_a_print_status_or_a_note() -> None:
    fields = translate.cheque_fields(cheque(), BANK, LIABILITY)
    assert set(fields) == {"PaymentType", "AccountRef", "EntityRef", "TxnDate", "Line"}


def test_a_long_memo_is_cut_but_the_marker_is_kept_whole() -> None:
    key = "f" * 32
    long_memo = "x" * 5000
    body = translate.cheque_create_body(cheque(memo=long_memo), BANK, LIABILITY, key=key)
    assert len(body["PrivateNote"]) == translate.MAX_PRIVATE_NOTE
    assert body["PrivateNote"].endswith(translate.marker(key))
    assert len(body["Line"][0]["Description"]) == translate.MAX_DESCRIPTION
    posted = translate.journal_entry_create_body(
        TrustPostingDraft(movement(TrustKind.DEPOSIT), "B", "L", None, long_memo), BANK, LIABILITY, key=key
    )
    assert posted["PrivateNote"].endswith(translate.marker(key))


# -- printed cheques --------------------------------------------------------------------------------------


def stored_cheque(print_status: str) -> dict[str, Any]:
    fields = translate.cheque_fields(cheque(), BANK, LIABILITY)
    line = {**fields["Line"][0], "Id": "1", "LineNum": 1}
    line["AccountBasedExpenseLineDetail"] = {
        **line["AccountBasedExpenseLineDetail"],
        "BillableStatus": "NotBillable",
    }
    return {
        **fields,
        "Id": "88",
        "SyncToken": "3",
        "Line": [line],
        "EntityRef": {"value": "71", "name": "Superior Court Clerk", "type": "Vendor"},
        "PrintStatus": print_status,
        "DocNumber": "1042",
        "TotalAmt": Decimal("300.00"),
    }


def cheque_step(operation: str, amount: str = "300.00") -> Step:
    draft = cheque()
    draft = TrustChequeDraft(
        movement(TrustKind.DISBURSEMENT, amount),
        draft.bank_account,
        draft.liability_account,
        "58",
        "71",
        "Vendor",
        MEMO,
    )
    fields = translate.cheque_fields(draft, BANK, LIABILITY) if operation == "update" else {}
    return Step(0, "k", "Purchase", operation, fields, target_id="88", version="1")  # type: ignore[arg-type]


@pytest.mark.parametrize("operation", ["update", "delete"])
def test_a_printed_cheque_is_never_changed_or_deleted(operation: str) -> None:
    refused = against(cheque_step(operation, "350.00"), stored_cheque("PrintComplete"))
    assert isinstance(refused, ValidationError)
    assert (refused.code, refused.status) == (CHEQUE_PRINTED, 0)


def test_a_printed_cheque_that_already_holds_the_draft_is_adopted_without_sending() -> None:
    assert against(cheque_step("update"), stored_cheque("PrintComplete")) == Written(id="88", version="3")


def test_a_cheque_waiting_to_print_is_updated_with_its_current_version() -> None:
    step = against(cheque_step("update", "350.00"), stored_cheque("NeedToPrint"))
    assert isinstance(step, Step) and step.version == "3"
    assert step.needs_current  # a cheque's print state is read even when the version is known


def test_holds_compares_sent_values_ignoring_what_qbo_adds() -> None:
    assert holds(
        {"A": {"value": "1", "name": "x"}, "B": [{"C": Decimal("1.00"), "Id": "1"}]}, {"B": [{"C": 1}]}
    )
    assert not holds({"B": [{"C": 1}, {"C": 2}]}, {"B": [{"C": 1}]})
    assert not holds({"A": {"value": "1"}}, {"A": {"value": "2"}})


# -- reading the books back -------------------------------------------------------------------------------


def journal_entry(entry_id: str, *lines: dict[str, Any], day: str = "2026-03-04") -> dict[str, Any]:
    return {"Id": entry_id, "SyncToken": "0", "TxnDate": day, "Line": list(lines)}


def test_trust_books_sum_journal_entries_cheques_and_deposits_per_client() -> None:
    entries = [
        journal_entry(
            "1", journal_line("Debit", BANK, "1000.00"), journal_line("Credit", LIABILITY, "1000.00", "58")
        ),
        journal_entry(
            "2", journal_line("Debit", BANK, "500.00"), journal_line("Credit", LIABILITY, "500.00", "59")
        ),
        journal_entry(
            "3", journal_line("Debit", LIABILITY, "200.00", "58"), journal_line("Credit", BANK, "200.00")
        ),
        journal_entry("4", journal_line("Debit", BANK, "2.50"), journal_line("Credit", LIABILITY, "2.50")),
        journal_entry("5", journal_line("Debit", "1", "9.00"), journal_line("Credit", "2", "9.00", "58")),
    ]
    printed = stored_cheque("PrintComplete")  # 300.00 for client 58
    other_bank = {**stored_cheque("NotSet"), "Id": "89", "AccountRef": {"value": "1"}}
    other_bank["Line"] = [
        {
            "DetailType": "AccountBasedExpenseLineDetail",
            "Amount": Decimal("40.00"),
            "AccountBasedExpenseLineDetail": {"AccountRef": {"value": "60"}},
        }
    ]
    payments = [
        {
            "Id": "7",
            "SyncToken": "0",
            "CustomerRef": {"value": "58"},
            "TotalAmt": Decimal("25.00"),
            "DepositToAccountRef": {"value": BANK},
        },
        {"Id": "8", "SyncToken": "0", "CustomerRef": {"value": "58"}, "TotalAmt": Decimal("99.00")},
    ]
    books = translate.trust_books(BANK, LIABILITY, entries, [printed, other_bank], payments)
    assert books == TrustBooks(
        bank_balance=Decimal("1027.50"),  # 1000 + 500 − 200 + 2.50 − 300 + 25
        liability_balance=Decimal("1002.50"),
        by_customer={"58": Decimal("500.00"), "59": Decimal("500.00"), "": Decimal("2.50")},
    )


def test_a_client_whose_postings_net_to_zero_has_no_balance_line() -> None:
    entries = [
        journal_entry(
            "1", journal_line("Debit", BANK, "10.00"), journal_line("Credit", LIABILITY, "10.00", "58")
        ),
        journal_entry(
            "2", journal_line("Debit", LIABILITY, "10.00", "58"), journal_line("Credit", BANK, "10.00")
        ),
    ]
    assert translate.trust_books(BANK, LIABILITY, entries, []) == TrustBooks(
        Decimal("0.00"), Decimal("0.00"), {}
    )


def test_marked_records_find_each_key_s_record_by_its_marker() -> None:
    rows = [
        {"Id": "5", "SyncToken": "2", "PrivateNote": "hand-made entry"},
        {"Id": "6", "SyncToken": "0", "PrivateNote": f"{MEMO} {translate.marker('aa')}"},
        {"Id": "7", "SyncToken": "1", "PrivateNote": f"x {translate.marker('bb')}"},
    ]
    assert translate.marked_records(rows, ["aa", "bb", "cc"]) == {
        "aa": Written(id="6", version="0"),
        "bb": Written(id="7", version="1"),
    }


def test_an_account_reads_back_with_its_type_and_detail_type() -> None:
    row = {
        "Id": "35",
        "SyncToken": "0",
        "Name": "Client Trust Account",
        "AccountType": "Bank",
        "AccountSubType": "TrustAccounts",
        "Active": True,
    }
    account = translate.ledger_account(row)
    assert (account.id, account.name, account.type, account.detail_type, account.active) == (
        "35",
        "Client Trust Account",
        "Bank",
        "TrustAccounts",
        True,
    )


def test_change_capture_reports_journal_entries_and_cheques_for_the_trust_kinds() -> None:
    assert translate.cdc_entities(["trust_posting", "trust_cheque"]) == [
        "Customer",
        "JournalEntry",
        "Purchase",
    ]
    changes = translate.ledger_changes(
        {"JournalEntry": [{"Id": "1", "SyncToken": "4"}], "Purchase": [{"Id": "9", "status": "Deleted"}]},
        ["trust_posting", "trust_cheque"],
    )
    assert changes.versions == {"trust_posting": {"1": "4"}, "trust_cheque": {"9": None}}


# -- explanations -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "message", "cause", "retryable"),
    [
        (CHEQUE_PRINTED, "Cheque 88 has been printed in QuickBooks", "cheque_printed", False),
        (
            "6000",
            "Please balance debits and credits. Debits: 10.00, credits: 9.00",
            "unbalanced_entry",
            False,
        ),
        ("6000", "A check must be paid from a Bank account; Fees is Income.", "wrong_account_type", True),
        (
            "6000",
            "When you use Accounts Receivable, you must choose a customer in the Name field.",
            "missing_entity",
            True,
        ),
        ("6000", "The amount applied exceeds the open balance", "over_applied", True),
    ],
)
def test_trust_refusals_are_explained_with_a_cause_and_a_remedy(
    code: str, message: str, cause: str, retryable: bool
) -> None:
    ledger = QboLedger(cast(QboClient, object()))
    explained = ledger.explain(
        ValidationError(message, status=0 if code == CHEQUE_PRINTED else 400, code=code), label="x"
    )
    assert (explained.cause, explained.retryable) == (cause, retryable)
    assert explained.message == f"QuickBooks said: {message} (code {code})"


def test_a_printed_cheque_s_remedy_is_to_void_it_and_correct_in_clio() -> None:
    error = against(cheque_step("delete"), stored_cheque("PrintComplete"))
    assert isinstance(error, ValidationError)
    explained = QboLedger(cast(QboClient, object())).explain(error, label="Cheque")
    assert explained.remedy == (
        "void the cheque in QuickBooks Online and record the correction in Clio as a new transaction"
    )
