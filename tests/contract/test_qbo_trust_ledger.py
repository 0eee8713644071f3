"""QboLedger's trust side against the sandbox: postings and cheques written, printed, read back as books."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import httpx
import pytest

from ledgerlink.domain import TrustKind, TrustTransaction
from ledgerlink.errors import ApiError, MappingMissingError
from ledgerlink.providers.qbo import QboClient
from ledgerlink.providers.qbo.ledger import QboLedger
from ledgerlink.providers.qbo.writes import CHEQUE_PRINTED
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import QBO_REALM_ID
from ledgerlink.sync.ports import (
    LedgerAccount,
    LedgerWrite,
    TrustBooks,
    TrustChequeDraft,
    TrustPostingDraft,
    Written,
    fold,
)
from tests.conftest import StaticToken

REALM = QBO_REALM_ID
BANK = "Hartwell Client Trust"
LIABILITY = "Hartwell Trust Liability"
PAYEE = "Alameda County Recorder"


@dataclass(frozen=True)
class Company:
    """The demo company with a trust account pair, a payee vendor and two clients."""

    bank_id: str
    liability_id: str
    vendor_id: str
    greenleaf: str
    tomasz: str


@pytest.fixture
def ledger(sandbox: Sandbox, qbo_token: StaticToken) -> Iterator[QboLedger]:
    with QboClient.connect(sandbox.urls.qbo_api, REALM, qbo_token) as client:
        yield QboLedger(client, now=lambda: sandbox_now(sandbox))


@pytest.fixture
def company(sandbox: Sandbox) -> Company:
    emu = sandbox.qbo
    bank = emu.add_account(REALM, BANK, "Bank", "TrustAccounts")
    liability = emu.add_account(REALM, LIABILITY, "Other Current Liability", "TrustAccountsLiabilities")
    vendor = emu.add_vendor(REALM, PAYEE)
    return Company(
        bank["Id"],
        liability["Id"],
        vendor["Id"],
        customer_id(sandbox, "Greenleaf"),
        customer_id(sandbox, "Tomasz"),
    )


def sandbox_now(sandbox: Sandbox) -> datetime:
    return datetime.fromtimestamp(sandbox.state.clock.now(), UTC)


def customer_id(sandbox: Sandbox, name: str) -> str:
    return str(
        next(c["Id"] for c in sandbox.qbo.records(REALM, "Customer") if c["DisplayName"].startswith(name))
    )


def key(label: str) -> str:
    """An intent key shaped like the store's (32 hex digits), readable in a failing test."""
    return label.encode().hex().ljust(32, "0")[:32]


def movement(source_id: str, kind: TrustKind, amount: str, day: date) -> TrustTransaction:
    return TrustTransaction(source_id, "7", kind, day, Decimal(amount), "42")


def posting(
    source_id: str, kind: TrustKind, amount: str, customer: str | None, day: date = date(2026, 3, 2)
) -> TrustPostingDraft:
    memo = f"Clio trust transaction {source_id}"
    return TrustPostingDraft(movement(source_id, kind, amount, day), BANK, LIABILITY, customer, memo)


def cheque(
    source_id: str,
    amount: str,
    customer: str,
    payee: str,
    payee_type: str = "Vendor",
    day: date = date(2026, 3, 6),
) -> TrustChequeDraft:
    memo = f"Clio trust cheque {source_id}"
    transaction = movement(source_id, TrustKind.DISBURSEMENT, amount, day)
    return TrustChequeDraft(transaction, BANK, LIABILITY, customer, payee, payee_type, memo)


def write_one(ledger: QboLedger, w: LedgerWrite) -> Written:
    (answer,) = ledger.write([w])
    assert isinstance(answer, Written), answer
    return answer


def journal_lines(sandbox: Sandbox, entry_id: str) -> list[tuple[str, str, Decimal, str | None]]:
    """(posting type, account id, amount, customer id) per line, as QBO stored the entry."""
    lines = sandbox.qbo.get(REALM, "JournalEntry", entry_id)["Line"]
    return [
        (
            ln["JournalEntryLineDetail"]["PostingType"],
            ln["JournalEntryLineDetail"]["AccountRef"]["value"],
            Decimal(ln["Amount"]),
            ln["JournalEntryLineDetail"].get("Entity", {}).get("EntityRef", {}).get("value"),
        )
        for ln in lines
    ]


# -- writing -----------------------------------------------------------------------------------------------


def test_postings_and_cheques_are_created_updated_linked_and_deleted_in_one_batch(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    g, t = company.greenleaf, company.tomasz
    first = ledger.write(
        [
            LedgerWrite(
                "create", "trust_posting", key("je-upd"), posting("1", TrustKind.DEPOSIT, "1000.00", g)
            ),
            LedgerWrite(
                "create", "trust_posting", key("je-del"), posting("2", TrustKind.DEPOSIT, "50.00", t)
            ),
            LedgerWrite(
                "create", "trust_posting", key("je-lnk"), posting("3", TrustKind.DEPOSIT, "70.00", t)
            ),
            LedgerWrite("create", "trust_cheque", key("ch-upd"), cheque("4", "300.00", g, company.vendor_id)),
            LedgerWrite("create", "trust_cheque", key("ch-del"), cheque("5", "20.00", t, company.vendor_id)),
            LedgerWrite("create", "trust_cheque", key("ch-lnk"), cheque("6", "30.00", t, t, "Customer")),
        ]
    )
    je_upd, je_del, je_lnk, ch_upd, ch_del, ch_lnk = first
    assert all(isinstance(a, Written) for a in first)
    assert isinstance(je_upd, Written) and isinstance(je_del, Written) and isinstance(je_lnk, Written)
    assert isinstance(ch_upd, Written) and isinstance(ch_del, Written) and isinstance(ch_lnk, Written)

    answers = ledger.write(
        [
            LedgerWrite(
                "create", "trust_posting", key("je-new"), posting("7", TrustKind.BILL_PAYMENT, "80.00", g)
            ),
            LedgerWrite(
                "update",
                "trust_posting",
                key("je-upd2"),
                posting("1", TrustKind.DEPOSIT, "1500.00", g),
                je_upd.id,
                je_upd.version,
            ),
            LedgerWrite("delete", "trust_posting", key("je-del2"), None, je_del.id, je_del.version),
            LedgerWrite(
                "link",
                "trust_posting",
                key("je-lnk2"),
                posting("3", TrustKind.DEPOSIT, "75.00", t),
                je_lnk.id,
            ),
            LedgerWrite("create", "trust_cheque", key("ch-new"), cheque("8", "45.00", g, company.vendor_id)),
            LedgerWrite(
                "update",
                "trust_cheque",
                key("ch-upd2"),
                cheque("4", "350.00", g, company.vendor_id),
                ch_upd.id,
                ch_upd.version,
            ),
            LedgerWrite("delete", "trust_cheque", key("ch-del2"), None, ch_del.id),
            LedgerWrite(
                "link", "trust_cheque", key("ch-lnk2"), cheque("6", "35.00", t, t, "Customer"), ch_lnk.id
            ),
        ]
    )
    je_new, je_upd2, je_del2, je_lnk2, ch_new, ch_upd2, ch_del2, ch_lnk2 = answers
    assert all(isinstance(a, Written) for a in answers), answers
    assert (je_del2, ch_del2) == (Written(je_del.id, None), Written(ch_del.id, None))
    assert isinstance(je_new, Written) and isinstance(ch_new, Written)
    assert (je_upd2, je_lnk2, ch_upd2, ch_lnk2) == (
        Written(je_upd.id, "1"),
        Written(je_lnk.id, "1"),
        Written(ch_upd.id, "1"),
        Written(ch_lnk.id, "1"),
    )

    bank, liability = company.bank_id, company.liability_id
    assert journal_lines(sandbox, je_new.id) == [
        ("Debit", liability, Decimal("80.00"), g),
        ("Credit", bank, Decimal("80.00"), None),
    ]
    assert journal_lines(sandbox, je_upd.id) == [
        ("Debit", bank, Decimal("1500.00"), None),
        ("Credit", liability, Decimal("1500.00"), g),
    ]
    assert Decimal(sandbox.qbo.get(REALM, "JournalEntry", je_lnk.id)["TotalAmt"]) == Decimal("75.00")
    assert {r["Id"] for r in sandbox.qbo.records(REALM, "JournalEntry")}.isdisjoint({je_del.id})
    assert {r["Id"] for r in sandbox.qbo.records(REALM, "Purchase")}.isdisjoint({ch_del.id})

    created = sandbox.qbo.get(REALM, "JournalEntry", je_new.id)
    assert created["PrivateNote"] == f"Clio trust transaction 7 [ledgerlink {key('je-new')}]"
    assert "DocNumber" not in created or not created["DocNumber"]
    updated = sandbox.qbo.get(REALM, "JournalEntry", je_upd.id)
    assert updated["PrivateNote"].endswith(
        f"[ledgerlink {key('je-upd')}]"
    )  # the creating write's marker stays

    new_cheque = sandbox.qbo.get(REALM, "Purchase", ch_new.id)
    assert (new_cheque["PaymentType"], new_cheque["PrintStatus"], new_cheque["AccountRef"]["value"]) == (
        "Check",
        "NeedToPrint",
        bank,
    )
    assert new_cheque["EntityRef"]["value"] == company.vendor_id
    detail = new_cheque["Line"][0]["AccountBasedExpenseLineDetail"]
    assert (detail["AccountRef"]["value"], detail["CustomerRef"]["value"]) == (liability, g)
    updated_cheque = sandbox.qbo.get(REALM, "Purchase", ch_upd.id)
    assert (Decimal(updated_cheque["TotalAmt"]), updated_cheque["PrintStatus"]) == (
        Decimal("350.00"),
        "NeedToPrint",
    )
    linked_cheque = sandbox.qbo.get(REALM, "Purchase", ch_lnk.id)
    assert (linked_cheque["EntityRef"]["value"], Decimal(linked_cheque["TotalAmt"])) == (t, Decimal("35.00"))


def test_a_printed_cheque_is_refused_before_sending_and_explained(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    draft = cheque("9", "125.00", company.greenleaf, company.vendor_id)
    written = write_one(ledger, LedgerWrite("create", "trust_cheque", key("print"), draft))
    (printed,) = sandbox.qbo.print_cheques(REALM, [written.id], first_number=5001)
    changed = cheque("9", "150.00", company.greenleaf, company.vendor_id)

    answers = ledger.write(
        [
            LedgerWrite("update", "trust_cheque", key("print-u"), changed, written.id, printed["SyncToken"]),
            LedgerWrite("delete", "trust_cheque", key("print-d"), None, written.id, printed["SyncToken"]),
            LedgerWrite("link", "trust_cheque", key("print-l"), draft, written.id),
        ]
    )
    refused_update, refused_delete, adopted = answers
    assert isinstance(refused_update, ApiError) and isinstance(refused_delete, ApiError)
    assert (refused_update.code, refused_delete.code, refused_update.status) == (CHEQUE_PRINTED,) * 2 + (0,)
    assert adopted == Written(written.id, printed["SyncToken"])  # already what Clio says: nothing to send
    stored = sandbox.qbo.get(REALM, "Purchase", written.id)
    assert (stored["SyncToken"], Decimal(stored["TotalAmt"]), stored["DocNumber"]) == (
        printed["SyncToken"],
        Decimal("125.00"),
        "5001",
    )
    explained = ledger.explain(refused_update, label="Trust cheque 9")
    assert (explained.cause, explained.retryable) == ("cheque_printed", False)
    assert "void the cheque in QuickBooks Online" in explained.remedy


class PrintBeforeBatch(httpx.HTTPTransport):
    """Real HTTP, except that someone prints the cheque in QBO just before ledgerlink's batch arrives."""

    def __init__(self, sandbox: Sandbox, cheque_id: str) -> None:
        super().__init__()
        self.sandbox, self.cheque_id, self.printed = sandbox, cheque_id, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/batch") and not self.printed:
            self.printed = True
            self.sandbox.qbo.print_cheques(REALM, [self.cheque_id])
        return super().handle_request(request)


def test_a_cheque_printed_after_it_was_read_is_still_never_changed(
    sandbox: Sandbox, ledger: QboLedger, qbo_token: StaticToken, company: Company
) -> None:
    draft = cheque("10", "60.00", company.tomasz, company.vendor_id)
    written = write_one(ledger, LedgerWrite("create", "trust_cheque", key("late"), draft))
    printer = PrintBeforeBatch(sandbox, written.id)
    changed = cheque("10", "65.00", company.tomasz, company.vendor_id)
    with QboClient.connect(sandbox.urls.qbo_api, REALM, qbo_token, http_transport=printer) as client:
        late = QboLedger(client, now=lambda: sandbox_now(sandbox))
        (answer,) = late.write([LedgerWrite("update", "trust_cheque", key("late-u"), changed, written.id)])
    assert printer.printed  # the batch met a stale SyncToken; the re-read found the cheque printed
    assert isinstance(answer, ApiError) and answer.code == CHEQUE_PRINTED
    assert Decimal(sandbox.qbo.get(REALM, "Purchase", written.id)["TotalAmt"]) == Decimal("60.00")


def test_an_account_missing_from_the_company_stops_the_write(ledger: QboLedger, company: Company) -> None:
    draft = TrustPostingDraft(
        movement("11", TrustKind.DEPOSIT, "5.00", date(2026, 3, 2)),
        "No Such Trust Bank",
        LIABILITY,
        None,
        "m",
    )
    with pytest.raises(MappingMissingError, match="No Such Trust Bank"):
        ledger.write([LedgerWrite("create", "trust_posting", key("missing"), draft)])


def test_qbo_refuses_a_cheque_paid_from_a_non_bank_account_and_it_is_explained(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    draft = TrustChequeDraft(
        movement("12", TrustKind.DISBURSEMENT, "5.00", date(2026, 3, 2)),
        LIABILITY,  # a liability account as the paying account: QBO refuses the cheque
        LIABILITY,
        company.greenleaf,
        company.vendor_id,
        "Vendor",
        "m",
    )
    (refused,) = ledger.write([LedgerWrite("create", "trust_cheque", key("wrong-type"), draft)])
    assert isinstance(refused, ApiError)
    assert ledger.explain(refused, label="Trust cheque 12").cause == "wrong_account_type"


# -- reading -----------------------------------------------------------------------------------------------


def test_trust_books_sum_the_postings_per_client_up_to_the_day_asked(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    g, t = company.greenleaf, company.tomasz
    answers = ledger.write(
        [
            LedgerWrite(
                "create",
                "trust_posting",
                key("b1"),
                posting("1", TrustKind.DEPOSIT, "1000.00", g, date(2026, 3, 2)),
            ),
            LedgerWrite(
                "create",
                "trust_posting",
                key("b2"),
                posting("2", TrustKind.REQUEST_PAYMENT, "500.00", t, date(2026, 3, 3)),
            ),
            LedgerWrite(
                "create",
                "trust_posting",
                key("b3"),
                posting("3", TrustKind.DEPOSIT, "1.25", None, date(2026, 3, 3)),
            ),
            LedgerWrite(
                "create",
                "trust_posting",
                key("b4"),
                posting("4", TrustKind.BILL_PAYMENT, "200.00", g, date(2026, 3, 5)),
            ),
            LedgerWrite(
                "create",
                "trust_cheque",
                key("b5"),
                cheque("5", "300.00", t, company.vendor_id, day=date(2026, 3, 6)),
            ),
        ]
    )
    assert all(isinstance(a, Written) for a in answers)

    assert ledger.trust_books(BANK, LIABILITY, date(2026, 3, 4)) == TrustBooks(
        Decimal("1501.25"),
        Decimal("1501.25"),
        {g: Decimal("1000.00"), t: Decimal("500.00"), "": Decimal("1.25")},
    )
    books = ledger.trust_books(BANK, LIABILITY, date(2026, 3, 31))
    assert books == TrustBooks(
        Decimal("1001.25"),
        Decimal("1001.25"),
        {g: Decimal("800.00"), t: Decimal("200.00"), "": Decimal("1.25")},
    )
    bank = sandbox.qbo.get(REALM, "Account", company.bank_id)
    liability = sandbox.qbo.get(REALM, "Account", company.liability_id)
    assert (Decimal(bank["CurrentBalance"]), Decimal(liability["CurrentBalance"])) == (
        books.bank_balance,
        books.liability_balance,
    )
    assert ledger.trust_books(BANK, LIABILITY, date(2026, 3, 1)) == TrustBooks(
        Decimal("0.00"), Decimal("0.00"), {}
    )


def test_find_marked_finds_what_an_unfinished_write_created_on_its_day(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    g = company.greenleaf
    first = write_one(
        ledger, LedgerWrite("create", "trust_posting", key("m1"), posting("1", TrustKind.DEPOSIT, "10.00", g))
    )
    later = date(2026, 3, 9)
    second = write_one(
        ledger,
        LedgerWrite("create", "trust_posting", key("m2"), posting("2", TrustKind.DEPOSIT, "20.00", g, later)),
    )
    paid = write_one(
        ledger, LedgerWrite("create", "trust_cheque", key("m3"), cheque("3", "5.00", g, company.vendor_id))
    )
    sandbox.qbo.add(
        REALM,
        "JournalEntry",
        {
            "TxnDate": "2026-03-02",
            "PrivateNote": "typed by hand",
            "Line": [
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": 3,
                    "JournalEntryLineDetail": {
                        "PostingType": "Debit",
                        "AccountRef": {"value": company.bank_id},
                    },
                },
                {
                    "DetailType": "JournalEntryLineDetail",
                    "Amount": 3,
                    "JournalEntryLineDetail": {
                        "PostingType": "Credit",
                        "AccountRef": {"value": company.liability_id},
                    },
                },
            ],
        },
    )

    wanted = {key("m1"): date(2026, 3, 2), key("m2"): later, key("never"): date(2026, 3, 2), key("m3"): later}
    assert ledger.find_marked("trust_posting", wanted) == {key("m1"): first, key("m2"): second}
    assert ledger.find_marked("trust_cheque", {key("m3"): date(2026, 3, 6), key("m1"): date(2026, 3, 2)}) == {
        key("m3"): paid
    }
    assert ledger.find_marked("trust_cheque", {key("m3"): date(2026, 3, 7)}) == {}  # the wrong day


def test_accounts_are_read_with_their_types_active_or_not(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    retired = sandbox.qbo.add_account(REALM, "Old Trust Bank", "Bank", "TrustAccounts")
    sandbox.qbo.edit(REALM, "Account", retired["Id"], Active=False)
    found = ledger.accounts({BANK, LIABILITY, "Old Trust Bank", "Nowhere Savings"})
    assert found == {
        BANK: LedgerAccount(company.bank_id, BANK, "Bank", "TrustAccounts"),
        LIABILITY: LedgerAccount(
            company.liability_id, LIABILITY, "Other Current Liability", "TrustAccountsLiabilities"
        ),
        "Old Trust Bank": LedgerAccount(
            retired["Id"], "Old Trust Bank", "Bank", "TrustAccounts", active=False
        ),
    }


def test_vendors_are_the_active_ones_by_folded_name(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    gone = sandbox.qbo.add_vendor(REALM, "Retired Process Server")
    sandbox.qbo.edit(REALM, "Vendor", gone["Id"], Active=False)
    vendors = ledger.vendors()
    assert vendors[fold(PAYEE)] == company.vendor_id
    assert fold("Retired Process Server") not in vendors
    assert all(name == fold(name) for name in vendors)


def test_changes_see_a_posting_edited_and_a_cheque_deleted_in_qbo(
    sandbox: Sandbox, ledger: QboLedger, company: Company
) -> None:
    g = company.greenleaf
    edited = write_one(
        ledger, LedgerWrite("create", "trust_posting", key("c1"), posting("1", TrustKind.DEPOSIT, "10.00", g))
    )
    untouched = write_one(
        ledger, LedgerWrite("create", "trust_posting", key("c2"), posting("2", TrustKind.DEPOSIT, "5.00", g))
    )
    gone = write_one(
        ledger, LedgerWrite("create", "trust_cheque", key("c3"), cheque("3", "5.00", g, company.vendor_id))
    )
    sandbox.state.clock.advance(2)  # QBO stamps whole seconds: what came before is clearly before
    since = sandbox_now(sandbox)
    sandbox.state.clock.advance(2)
    sandbox.qbo.edit(REALM, "JournalEntry", edited.id, PrivateNote="edited in QBO")
    sandbox.qbo.delete(REALM, "Purchase", gone.id)

    changes = ledger.changes(since, ["trust_posting", "trust_cheque"])
    assert changes is not None
    assert changes.versions == {"trust_posting": {edited.id: "1"}, "trust_cheque": {gone.id: None}}
    assert untouched.id not in changes.versions["trust_posting"]
