"""The QBO emulator's journal entries, purchases (trust cheques) and account balances over real HTTP.

ledgerlink posts Clio trust transactions as JournalEntries (trust bank ↔ trust liability, the client
on the liability line) and trust cheques as Purchases waiting in QBO's print queue, then reads
balances back. These tests pin what the emulator holds a client to (reference §2.5, §2.12, §2.13,
§1.4-§1.6, §3.1, §3.2, §4).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import (
    QBO_TRUST_BANK,
    QBO_TRUST_LIABILITY,
    TRUST_CHEQUE_VENDOR,
)
from ledgerlink.sandbox.qbo_seed import OPERATING_ACCOUNT, add_trust_accounts
from tests.contract.test_qbo_emulator import REALM, Api, cdc_lists, customer_id, fault, iso

Body = dict[str, Any]


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", REALM).access_token)
    yield client
    client.http.close()


def account_id(api: Api, name: str) -> str:
    (row,) = api.rows(f"SELECT * FROM Account WHERE Name = '{name}' AND Active IN (true, false)")
    return str(row["Id"])


def vendor_id(api: Api, name: str) -> str:
    (row,) = api.rows(f"SELECT * FROM Vendor WHERE DisplayName = '{name}'")
    return str(row["Id"])


def bayside(api: Api) -> str:
    return customer_id(api, "Bayside Yacht Club")


def greenleaf(api: Api) -> str:
    return customer_id(api, "Greenleaf Nursery Supply")


def je_line(posting: str, account: str, amount: Any, *, customer: str | None = None, **extra: Any) -> Body:
    detail: Body = {"PostingType": posting, "AccountRef": {"value": account}}
    if customer is not None:
        detail["Entity"] = {"Type": "Customer", "EntityRef": {"value": customer}}
    return {
        "DetailType": "JournalEntryLineDetail",
        "Amount": amount,
        "JournalEntryLineDetail": detail,
        **extra,
    }


def trust_entry(api: Api, amount: Any, customer: str, *, money_in: bool = True, **extra: Any) -> Body:
    """Money into trust: debit the trust bank, credit the liability with the client (out: the reverse)."""
    bank, liability = account_id(api, QBO_TRUST_BANK), account_id(api, QBO_TRUST_LIABILITY)
    first, second = ("Debit", "Credit") if money_in else ("Credit", "Debit")
    return {
        "Line": [
            je_line(first, bank, amount, Description="Retainer"),
            je_line(second, liability, amount, customer=customer, Description="Retainer"),
        ],
        **extra,
    }


def expense_line(account: str, amount: Any, *, customer: str | None = None, **detail: Any) -> Body:
    fields: Body = {"AccountRef": {"value": account}, **detail}
    if customer is not None:
        fields["CustomerRef"] = {"value": customer}
    return {
        "DetailType": "AccountBasedExpenseLineDetail",
        "Amount": amount,
        "AccountBasedExpenseLineDetail": fields,
    }


def trust_cheque(api: Api, amount: Any, customer: str, **extra: Any) -> Body:
    """A cheque to print, paid from the trust bank to the court clerk, charged to the client's liability."""
    return {
        "PaymentType": "Check",
        "PrintStatus": "NeedToPrint",
        "AccountRef": {"value": account_id(api, QBO_TRUST_BANK)},
        "EntityRef": {"value": vendor_id(api, TRUST_CHEQUE_VENDOR)},
        "Line": [expense_line(account_id(api, QBO_TRUST_LIABILITY), amount, customer=customer)],
        **extra,
    }


def balance(api: Api, name: str) -> tuple[Decimal, Decimal]:
    (row,) = api.rows(f"SELECT * FROM Account WHERE Name = '{name}'")
    return Decimal(row["CurrentBalance"]), Decimal(row["CurrentBalanceWithSubAccounts"])


# -- JournalEntry --------------------------------------------------------------------------------------


def test_a_trust_deposit_is_stored_with_names_line_ids_and_its_total(sandbox: Sandbox, api: Api) -> None:
    client = bayside(api)
    entry = api.create("JournalEntry", trust_entry(api, 1500, client, PrivateNote="ll:abc"))
    today = sandbox.qbo.company(REALM).today().isoformat()
    assert {k: entry[k] for k in ("domain", "sparse", "SyncToken", "TxnDate", "TotalAmt", "Adjustment")} == {
        "domain": "QBO",
        "sparse": False,
        "SyncToken": "0",
        "TxnDate": today,
        "TotalAmt": Decimal("1500.00"),
        "Adjustment": False,
    }
    assert entry["Line"] == [
        {
            "Id": "0",
            "Description": "Retainer",
            "Amount": Decimal("1500.00"),
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {
                "PostingType": "Debit",
                "AccountRef": {"value": account_id(api, QBO_TRUST_BANK), "name": QBO_TRUST_BANK},
            },
        },
        {
            "Id": "1",
            "Description": "Retainer",
            "Amount": Decimal("1500.00"),
            "DetailType": "JournalEntryLineDetail",
            "JournalEntryLineDetail": {
                "PostingType": "Credit",
                "AccountRef": {"value": account_id(api, QBO_TRUST_LIABILITY), "name": QBO_TRUST_LIABILITY},
                "Entity": {"Type": "Customer", "EntityRef": {"value": client, "name": "Bayside Yacht Club"}},
            },
        },
    ]
    assert entry["PrivateNote"] == "ll:abc" and entry["CurrencyRef"]["value"] == "USD"
    read = api.get(f"/journalentry/{entry['Id']}").json(parse_float=Decimal)["JournalEntry"]
    assert read == entry


def test_total_amt_is_computed_whatever_the_client_sends(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, "20.5", bayside(api), TotalAmt=999))
    assert entry["TotalAmt"] == Decimal("20.50")


def test_a_sparse_update_keeps_the_lines_and_a_full_update_replaces_them(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, 100, bayside(api), PrivateNote="first"))
    noted = api.create(
        "JournalEntry", {"Id": entry["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "second"}
    )
    assert (noted["SyncToken"], noted["PrivateNote"], noted["Line"]) == ("1", "second", entry["Line"])
    replaced = api.create(
        "JournalEntry", {"Id": entry["Id"], "SyncToken": "1", **trust_entry(api, 250, greenleaf(api))}
    )
    assert replaced["TotalAmt"] == Decimal("250.00") and "PrivateNote" not in replaced
    assert replaced["Line"][1]["JournalEntryLineDetail"]["Entity"]["EntityRef"]["value"] == greenleaf(api)
    stale = api.post(
        "/journalentry", {"Id": entry["Id"], "SyncToken": "1", "sparse": True, "PrivateNote": "x"}
    )
    assert (stale.status_code, fault(stale)["code"]) == (400, "5010")


def test_an_update_keeps_the_ids_of_the_lines_it_sends_back_and_numbers_new_ones_after_them(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, 100, bayside(api)))
    sent_back = [{**line, "Amount": str(line["Amount"])} for line in entry["Line"]]
    lines = [*sent_back, je_line("Debit", account_id(api, QBO_TRUST_BANK), 0)]
    updated = api.create("JournalEntry", {"Id": entry["Id"], "SyncToken": "0", "sparse": True, "Line": lines})
    assert [line["Id"] for line in updated["Line"]] == ["0", "1", "2"]


def test_deleting_a_journal_entry_answers_deleted_and_it_is_gone(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, 100, bayside(api)))
    deleted = api.post("/journalentry", {"Id": entry["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["JournalEntry"] == {"domain": "QBO", "status": "Deleted", "Id": entry["Id"]}
    assert fault(api.get(f"/journalentry/{entry['Id']}"))["code"] == "610"
    assert api.rows(f"SELECT * FROM JournalEntry WHERE Id = '{entry['Id']}'") == []
    again = api.post("/journalentry", {"Id": entry["Id"], "SyncToken": "0"}, operation="delete")
    assert fault(again)["code"] == "610"


def test_a_journal_entry_cannot_be_voided(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, 100, bayside(api)))
    response = api.post("/journalentry", {"Id": entry["Id"], "SyncToken": "0"}, operation="void")
    assert (response.status_code, fault(response)["code"]) == (400, "500")


def test_journal_entries_are_queried_by_id_date_and_number_a_page_at_a_time(api: Api) -> None:
    client = bayside(api)
    made = [
        api.create(
            "JournalEntry", trust_entry(api, 10 + n, client, TxnDate=f"2026-02-0{n}", DocNumber=f"T-{n}")
        )
        for n in range(1, 5)
    ]
    ids = [entry["Id"] for entry in made]
    assert [
        r["Id"] for r in api.rows(f"select * from JournalEntry where Id in ('{ids[0]}', '{ids[2]}')")
    ] == [
        ids[0],
        ids[2],
    ]
    assert [r["Id"] for r in api.rows("select * from JournalEntry where TxnDate = '2026-02-02'")] == [ids[1]]
    assert [r["Id"] for r in api.rows("select * from JournalEntry where TxnDate <= '2026-02-03'")] == ids[:3]
    assert [r["Id"] for r in api.rows("select * from JournalEntry where DocNumber = 'T-4'")] == [ids[3]]
    page = api.query("select * from JournalEntry where TxnDate <= '2026-02-04' STARTPOSITION 2 MAXRESULTS 2")
    body = page.json()["QueryResponse"]
    assert ([r["Id"] for r in body["JournalEntry"]], body["startPosition"], body["maxResults"]) == (
        ids[1:3],
        2,
        2,
    )
    refused = api.query("select * from JournalEntry where PrivateNote = 'x'")
    assert (refused.status_code, fault(refused)["code"]) == (400, "4001")


def test_the_same_requestid_posts_a_journal_entry_once(sandbox: Sandbox, api: Api) -> None:
    body = trust_entry(api, 75, bayside(api))
    first = api.post("/journalentry", body, requestid="ll-trust_posting-9")
    again = api.post("/journalentry", body, requestid="ll-trust_posting-9")
    assert again.json() == first.json() and first.status_code == 200
    assert len(sandbox.qbo.records(REALM, "JournalEntry")) == 1


def _with_line(change: Callable[[Body], None]) -> Callable[[Api], Body]:
    def build(api: Api) -> Body:
        body = trust_entry(api, 100, bayside(api))
        change(body["Line"][1])
        return body

    return build


def _detail(**changes: Any) -> Callable[[Body], None]:
    return lambda line: line["JournalEntryLineDetail"].update(changes)


@pytest.mark.parametrize(
    ("build", "code", "detail_part"),
    [
        (lambda api: {"Line": []}, "2020", "Required parameter Line is missing"),
        (
            lambda api: {"Line": trust_entry(api, 100, bayside(api))["Line"][:1]},
            "6000",
            "Business Validation Error: Fill out at least two detail lines to continue.",
        ),
        (
            _with_line(lambda line: line.update(Amount=90)),
            "6000",
            "Please balance debits and credits. Total debits 100.00, total credits 90.00.",
        ),
        (_with_line(lambda line: line.update(Amount=-100)), "6000", "cannot be negative"),
        (_with_line(lambda line: line.update(Amount="100.001")), "2010", "at most two decimal places"),
        (_with_line(lambda line: line.update(DetailType="DescriptionOnly")), "2010", "DescriptionOnly"),
        (_with_line(lambda line: line.pop("JournalEntryLineDetail")), "2020", "JournalEntryLineDetail"),
        (_with_line(lambda line: line["JournalEntryLineDetail"].pop("PostingType")), "2020", "PostingType"),
        (_with_line(_detail(PostingType="Credits")), "2170", "Credits is not valid for PostingType"),
        (
            _with_line(lambda line: line["JournalEntryLineDetail"].pop("AccountRef")),
            "2020",
            "Required parameter AccountRef is missing in the request",
        ),
        (_with_line(_detail(AccountRef={"value": "999"})), "2500", "Accounts element id 999 not found"),
        (
            _with_line(_detail(Entity={"Type": "Job", "EntityRef": {"value": "1"}})),
            "2170",
            "Job is not valid for Entity.Type",
        ),
        (
            _with_line(_detail(Entity={"Type": "Customer", "EntityRef": {"value": "999"}})),
            "2500",
            "Names element id 999 not found",
        ),
        (_with_line(_detail(Entity={"EntityRef": {"value": "1"}})), "2020", "Entity.Type"),
        (_with_line(_detail(ClassRef={"value": "3"})), "2500", "Class element id 3 not found"),
        (_with_line(_detail(TaxCodeRef={"value": "NON"})), "500", "tax on journal entry lines"),
        (lambda api: trust_entry(api, 1, bayside(api), DocNumber="D" * 22), "2050", "Max:21"),
        (lambda api: trust_entry(api, 1, bayside(api), PrivateNote="n" * 4001), "2050", "Max:4,000"),
    ],
)
def test_a_journal_entry_the_service_would_refuse_is_refused(
    api: Api, build: Callable[[Api], Body], code: str, detail_part: str
) -> None:
    response = api.post("/journalentry", build(api))
    error = fault(response)
    assert (response.status_code, error["code"]) == (400, code)
    assert detail_part in error["Detail"]


def test_a_party_must_exist_in_the_list_its_type_names_and_be_active(sandbox: Sandbox, api: Api) -> None:
    court = vendor_id(api, TRUST_CHEQUE_VENDOR)
    wrong_list = trust_entry(api, 10, court)  # a vendor's id under Type Customer
    assert f"Names element id {court} not found" in fault(api.post("/journalentry", wrong_list))["Detail"]
    as_vendor = trust_entry(api, 10, bayside(api))
    as_vendor["Line"][1]["JournalEntryLineDetail"]["Entity"] = {
        "Type": "Vendor",
        "EntityRef": {"value": court},
    }
    entity = api.create("JournalEntry", as_vendor)["Line"][1]["JournalEntryLineDetail"]["Entity"]
    assert entity == {"Type": "Vendor", "EntityRef": {"value": court, "name": TRUST_CHEQUE_VENDOR}}
    tomasz = customer_id(api, "Tomasz Kowalczyk")
    sandbox.qbo.edit(REALM, "Customer", tomasz, Active=False)
    assert fault(api.post("/journalentry", trust_entry(api, 10, tomasz)))["code"] == "610"
    liability = account_id(api, QBO_TRUST_LIABILITY)
    sandbox.qbo.edit(REALM, "Account", liability, Active=False)
    assert fault(api.post("/journalentry", trust_entry(api, 10, bayside(api))))["code"] == "610"


def test_receivable_lines_need_a_customer_and_payable_lines_a_vendor(sandbox: Sandbox, api: Api) -> None:
    receivable = account_id(api, "Accounts Receivable")
    payable = sandbox.qbo.add_account(REALM, "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable")[
        "Id"
    ]
    bank = account_id(api, OPERATING_ACCOUNT)
    no_customer = {"Line": [je_line("Debit", receivable, 5), je_line("Credit", bank, 5)]}
    assert fault(api.post("/journalentry", no_customer))["Detail"] == (
        "Business Validation Error: "
        "When you use Accounts Receivable, you must choose a customer in the Name field."
    )
    customer_on_payable = {
        "Line": [je_line("Debit", bank, 5), je_line("Credit", payable, 5, customer=bayside(api))]
    }
    error = fault(api.post("/journalentry", customer_on_payable))
    assert (error["code"], error["Detail"]) == (
        "6000",
        "Business Validation Error: "
        "When you use Accounts Payable, you must choose a vendor in the Name field.",
    )
    with_customer = {
        "Line": [je_line("Debit", receivable, 5, customer=bayside(api)), je_line("Credit", bank, 5)]
    }
    assert api.create("JournalEntry", with_customer)["TotalAmt"] == Decimal("5.00")


# -- Purchase ------------------------------------------------------------------------------------------


def test_a_trust_cheque_is_stored_to_print_with_its_payee_type_found_and_names_filled(api: Api) -> None:
    client = bayside(api)
    cheque = api.create("Purchase", trust_cheque(api, "312.40", client, PrivateNote="ll:chq"))
    court = vendor_id(api, TRUST_CHEQUE_VENDOR)
    assert {k: cheque[k] for k in ("PaymentType", "PrintStatus", "TotalAmt", "AccountRef", "EntityRef")} == {
        "PaymentType": "Check",
        "PrintStatus": "NeedToPrint",
        "TotalAmt": Decimal("312.40"),
        "AccountRef": {"value": account_id(api, QBO_TRUST_BANK), "name": QBO_TRUST_BANK},
        "EntityRef": {"value": court, "name": TRUST_CHEQUE_VENDOR, "type": "Vendor"},
    }
    assert cheque["Line"] == [
        {
            "Id": "1",
            "Amount": Decimal("312.40"),
            "DetailType": "AccountBasedExpenseLineDetail",
            "AccountBasedExpenseLineDetail": {
                "AccountRef": {"value": account_id(api, QBO_TRUST_LIABILITY), "name": QBO_TRUST_LIABILITY},
                "CustomerRef": {"value": client, "name": "Bayside Yacht Club"},
                "BillableStatus": "NotBillable",
                "TaxCodeRef": {"value": "NON"},
            },
        }
    ]
    assert "DocNumber" not in cheque
    assert api.get(f"/purchase/{cheque['Id']}").json(parse_float=Decimal)["Purchase"] == cheque


def test_a_cheque_to_the_client_names_the_customer_as_payee(api: Api) -> None:
    client = bayside(api)
    body = trust_cheque(api, 50, client, EntityRef={"value": client, "type": "Customer"})
    payee = api.create("Purchase", body)["EntityRef"]
    assert payee == {"value": client, "name": "Bayside Yacht Club", "type": "Customer"}


def test_print_status_is_kept_by_a_sparse_update_and_reset_by_a_full_one(api: Api) -> None:
    cheque = api.create("Purchase", trust_cheque(api, 50, bayside(api)))
    noted = api.create("Purchase", {"Id": cheque["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "m"})
    assert (noted["PrintStatus"], noted["PrivateNote"]) == ("NeedToPrint", "m")
    full = {k: v for k, v in trust_cheque(api, 60, bayside(api)).items() if k != "PrintStatus"}
    replaced = api.create("Purchase", {"Id": cheque["Id"], "SyncToken": "1", **full})
    assert (replaced["PrintStatus"], replaced["TotalAmt"]) == ("NotSet", Decimal("60.00"))


def _purchase(**changes: Any) -> Callable[[Api], Body]:
    return lambda api: {**trust_cheque(api, 10, bayside(api)), **changes}


def _purchase_line(**changes: Any) -> Callable[[Api], Body]:
    def build(api: Api) -> Body:
        body = trust_cheque(api, 10, bayside(api))
        body["Line"][0]["AccountBasedExpenseLineDetail"].update(changes)
        return body

    return build


def _without(key: str) -> Callable[[Api], Body]:
    return lambda api: {k: v for k, v in trust_cheque(api, 10, bayside(api)).items() if k != key}


@pytest.mark.parametrize(
    ("build", "code", "detail_part"),
    [
        (_without("PaymentType"), "2020", "Required parameter PaymentType is missing"),
        (_purchase(PaymentType="Cheque"), "2170", "Cheque is not valid for PaymentType"),
        (_without("AccountRef"), "2020", "Required parameter AccountRef is missing"),
        (_purchase(AccountRef={"value": "999"}), "2500", "Accounts element id 999 not found"),
        (_without("Line"), "2020", "Required parameter Line is missing"),
        (_purchase(PrintStatus="Printed"), "2170", "Printed is not valid for PrintStatus"),
        (_purchase(EntityRef={"value": "999"}), "2500", "Names element id 999 not found"),
        (
            _purchase(EntityRef={"value": "1", "type": "Other"}),
            "2170",
            "Other is not valid for EntityRef.type",
        ),
        (_purchase(DocNumber="9" * 22), "2050", "Max:21"),
        (_purchase(ClassRef={"value": "1"}), "2010", "Unrecognized field"),
        (_purchase(DepartmentRef={"value": "4"}), "2500", "Department element id 4 not found"),
        (_purchase(Credit=True), "6000", "Only a credit card purchase can be a credit"),
        (_purchase_line(AccountRef=None), "2020", "Required parameter AccountRef is missing"),
        (_purchase_line(CustomerRef={"value": "999"}), "2500", "Names element id 999 not found"),
        (_purchase_line(BillableStatus="Maybe"), "2170", "Maybe is not valid for BillableStatus"),
        (_purchase_line(TaxCodeRef={"value": "GST"}), "6100", "TAX or NON"),
        (
            lambda api: {
                **trust_cheque(api, 10, bayside(api)),
                "Line": [{"DetailType": "SalesItemLineDetail"}],
            },
            "2010",
            "not a purchase line type",
        ),
    ],
)
def test_a_purchase_the_service_would_refuse_is_refused(
    api: Api, build: Callable[[Api], Body], code: str, detail_part: str
) -> None:
    response = api.post("/purchase", build(api))
    error = fault(response)
    assert (response.status_code, error["code"]) == (400, code)
    assert detail_part in error["Detail"]


def test_a_billable_line_needs_a_customer(api: Api) -> None:
    body = trust_cheque(api, 10, bayside(api))
    body["Line"] = [expense_line(account_id(api, QBO_TRUST_LIABILITY), 10, BillableStatus="Billable")]
    error = fault(api.post("/purchase", body))
    assert error["code"] == "6000" and "needs a customer" in error["Detail"]


def test_each_kind_of_purchase_is_paid_from_its_own_kind_of_account(sandbox: Sandbox, api: Api) -> None:
    card = sandbox.qbo.add_account(REALM, "Firm Visa", "Credit Card", "CreditCard")["Id"]
    liability = account_id(api, QBO_TRUST_LIABILITY)
    cheque_on_card = fault(
        api.post("/purchase", trust_cheque(api, 10, bayside(api), AccountRef={"value": card}))
    )
    assert cheque_on_card["code"] == "6000"
    assert "A check must be paid from a Bank account; Firm Visa is Credit Card." in cheque_on_card["Detail"]
    from_liability = fault(
        api.post("/purchase", trust_cheque(api, 10, bayside(api), AccountRef={"value": liability}))
    )
    assert "must be paid from a Bank account" in from_liability["Detail"]
    charge = {
        "PaymentType": "CreditCard",
        "AccountRef": {"value": card},
        "Line": [expense_line(liability, 10)],
    }
    assert api.create("Purchase", charge)["Credit"] is False
    on_bank = {**charge, "AccountRef": {"value": account_id(api, OPERATING_ACCOUNT)}}
    assert "Credit Card account" in fault(api.post("/purchase", on_bank))["Detail"]
    cash = {**on_bank, "PaymentType": "Cash"}
    assert "PrintStatus" not in api.create("Purchase", cash)
    cash_to_print = fault(api.post("/purchase", {**cash, "PrintStatus": "NeedToPrint"}))
    assert cash_to_print["code"] == "6000" and "checks only" in cash_to_print["Detail"]


def test_an_item_line_charges_the_items_expense_account_and_checks_its_math(
    sandbox: Sandbox, api: Api
) -> None:
    fees = sandbox.qbo.add_account(REALM, "Court Fees", "Expense", "LegalProfessionalFees")["Id"]
    income = account_id(api, "Legal Fee Income")
    item = sandbox.qbo.add(
        REALM,
        "Item",
        {
            "Name": "Filing",
            "Type": "Service",
            "IncomeAccountRef": {"value": income},
            "ExpenseAccountRef": {"value": fees},
        },
    )["Id"]
    line = {
        "DetailType": "ItemBasedExpenseLineDetail",
        "Amount": 45,
        "ItemBasedExpenseLineDetail": {"ItemRef": {"value": item}, "Qty": 3, "UnitPrice": 15},
    }
    cash = {
        "PaymentType": "Cash",
        "AccountRef": {"value": account_id(api, OPERATING_ACCOUNT)},
        "Line": [line],
    }
    stored = api.create("Purchase", cash)
    assert stored["Line"][0]["ItemBasedExpenseLineDetail"]["ItemRef"] == {"value": item, "name": "Filing"}
    assert balance(api, "Court Fees") == (Decimal("45.00"), Decimal("45.00"))
    line["Amount"] = 44
    assert fault(api.post("/purchase", cash))["code"] == "6070"
    bare = sandbox.qbo.add(
        REALM, "Item", {"Name": "No Cost", "Type": "Service", "IncomeAccountRef": {"value": income}}
    )
    line.update(Amount=45, ItemBasedExpenseLineDetail={"ItemRef": {"value": bare["Id"]}})
    error = fault(api.post("/purchase", cash))
    assert error["code"] == "6000" and "no expense account" in error["Detail"]


def test_purchases_are_queried_by_type_date_and_total_but_not_by_account(api: Api) -> None:
    client = bayside(api)
    cheque = api.create("Purchase", trust_cheque(api, 40, client, TxnDate="2026-03-01"))
    later = api.create("Purchase", trust_cheque(api, 60, client, TxnDate="2026-03-05"))
    by_type = api.rows("select * from Purchase where PaymentType = 'Check' and TxnDate <= '2026-03-02'")
    assert [r["Id"] for r in by_type] == [cheque["Id"]]
    assert [r["Id"] for r in api.rows("select * from Purchase where TotalAmt > '50'")] == [later["Id"]]
    for where in ("AccountRef = '1'", "EntityRef = '1'"):
        response = api.query(f"select * from Purchase where {where}")
        assert (response.status_code, fault(response)["code"]) == (400, "4001"), where


def test_a_purchase_is_deleted_not_voided(api: Api) -> None:
    cheque = api.create("Purchase", trust_cheque(api, 40, bayside(api)))
    void = api.post("/purchase", {"Id": cheque["Id"], "SyncToken": "0"}, operation="void")
    assert fault(void)["code"] == "500"
    deleted = api.post("/purchase", {"Id": cheque["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["Purchase"] == {"domain": "QBO", "status": "Deleted", "Id": cheque["Id"]}
    assert fault(api.get(f"/purchase/{cheque['Id']}"))["code"] == "610"


def test_the_same_requestid_writes_a_cheque_once(sandbox: Sandbox, api: Api) -> None:
    body = trust_cheque(api, 40, bayside(api))
    first = api.post("/purchase", body, requestid="ll-trust_cheque-3")
    again = api.post("/purchase", body, requestid="ll-trust_cheque-3")
    assert (again.status_code, again.json()) == (200, first.json())
    assert len(sandbox.qbo.records(REALM, "Purchase")) == 1


# -- the print queue -----------------------------------------------------------------------------------


def test_printing_takes_cheques_from_the_queue_and_numbers_them_per_bank_account(
    sandbox: Sandbox, api: Api
) -> None:
    client = bayside(api)
    first, second = (api.create("Purchase", trust_cheque(api, n, client)) for n in (10, 20))
    printed = sandbox.qbo.print_cheques(REALM, [second["Id"], first["Id"]], first_number=5001)
    assert [(p["Id"], p["DocNumber"], p["PrintStatus"], p["SyncToken"]) for p in printed] == [
        (second["Id"], "5001", "PrintComplete", "1"),
        (first["Id"], "5002", "PrintComplete", "1"),
    ]
    third = api.create("Purchase", trust_cheque(api, 30, client))
    assert sandbox.qbo.print_cheques(REALM, [third["Id"]])[0]["DocNumber"] == "5003"
    elsewhere = api.create(
        "Purchase", trust_cheque(api, 30, client, AccountRef={"value": account_id(api, OPERATING_ACCOUNT)})
    )
    assert sandbox.qbo.print_cheques(REALM, [elsewhere["Id"]])[0]["DocNumber"] == "1"
    read = api.get(f"/purchase/{first['Id']}").json()["Purchase"]
    assert (read["PrintStatus"], read["DocNumber"], read["SyncToken"]) == ("PrintComplete", "5002", "1")


def test_only_cheques_waiting_to_print_can_be_printed(sandbox: Sandbox, api: Api) -> None:
    waiting = api.create("Purchase", trust_cheque(api, 10, bayside(api)))
    not_queued = api.create("Purchase", trust_cheque(api, 10, bayside(api), PrintStatus="NotSet"))
    with pytest.raises(ValueError, match="not a check waiting to be printed"):
        sandbox.qbo.print_cheques(REALM, [waiting["Id"], not_queued["Id"]])
    assert sandbox.qbo.get(REALM, "Purchase", waiting["Id"])["PrintStatus"] == "NeedToPrint"  # all or none
    sandbox.qbo.print_cheques(REALM, [waiting["Id"]])
    with pytest.raises(ValueError):
        sandbox.qbo.print_cheques(REALM, [waiting["Id"]])


# -- balances ------------------------------------------------------------------------------------------


def test_balances_follow_journal_entries_cheques_and_deposited_payments(sandbox: Sandbox, api: Api) -> None:
    ada, ben = bayside(api), greenleaf(api)
    api.create("JournalEntry", trust_entry(api, 1000, ada))
    api.create("JournalEntry", trust_entry(api, 250, ben))
    api.create("Purchase", trust_cheque(api, "300.25", ada))
    refund = api.create("JournalEntry", trust_entry(api, 100, ben, money_in=False))
    operating = account_id(api, OPERATING_ACCOUNT)
    api.create(
        "Payment",
        {"CustomerRef": {"value": ada}, "TotalAmt": 80, "DepositToAccountRef": {"value": operating}},
    )
    assert balance(api, QBO_TRUST_BANK) == (Decimal("849.75"), Decimal("849.75"))
    assert balance(api, QBO_TRUST_LIABILITY) == (Decimal("849.75"), Decimal("849.75"))
    assert balance(api, OPERATING_ACCOUNT)[0] == Decimal("80.00")
    api.post("/journalentry", {"Id": refund["Id"], "SyncToken": "0"}, operation="delete")
    assert balance(api, QBO_TRUST_BANK)[0] == Decimal("949.75")
    positive = api.rows("select * from Account where CurrentBalance > '900'")
    assert {r["Name"] for r in positive} == {QBO_TRUST_BANK, QBO_TRUST_LIABILITY}


def test_a_card_charge_raises_the_card_liability_and_a_card_credit_lowers_it(
    sandbox: Sandbox, api: Api
) -> None:
    card = sandbox.qbo.add_account(REALM, "Firm Visa", "Credit Card", "CreditCard")["Id"]
    fees = sandbox.qbo.add_account(REALM, "Court Fees", "Expense", "LegalProfessionalFees")["Id"]
    charge = {"PaymentType": "CreditCard", "AccountRef": {"value": card}, "Line": [expense_line(fees, 70)]}
    api.create("Purchase", charge)
    api.create("Purchase", {**charge, "Credit": True, "Line": [expense_line(fees, 20)]})
    assert balance(api, "Firm Visa")[0] == Decimal("50.00")
    assert balance(api, "Court Fees")[0] == Decimal("50.00")


def test_a_parent_account_adds_its_sub_accounts_balances(sandbox: Sandbox, api: Api) -> None:
    bank = account_id(api, QBO_TRUST_BANK)
    sub = sandbox.qbo.add_account(
        REALM, "Trust Sub-ledger", "Bank", "TrustAccounts", SubAccount=True, ParentRef={"value": bank}
    )["Id"]
    liability = account_id(api, QBO_TRUST_LIABILITY)
    client = bayside(api)
    api.create(
        "JournalEntry",
        {"Line": [je_line("Debit", sub, 40), je_line("Credit", liability, 40, customer=client)]},
    )
    api.create("JournalEntry", trust_entry(api, 10, client))
    assert balance(api, QBO_TRUST_BANK) == (Decimal("10.00"), Decimal("50.00"))
    assert balance(api, "Trust Sub-ledger") == (Decimal("40.00"), Decimal("40.00"))


# -- batch and change data capture ---------------------------------------------------------------------


def test_a_batch_writes_journal_entries_and_cheques_with_per_item_faults(api: Api) -> None:
    entry = api.create("JournalEntry", trust_entry(api, 100, bayside(api)))
    unbalanced = trust_entry(api, 5, bayside(api))
    unbalanced["Line"][0]["Amount"] = 6
    response = api.post(
        "/batch",
        {
            "BatchItemRequest": [
                {"bId": "je", "operation": "create", "JournalEntry": trust_entry(api, 20, greenleaf(api))},
                {"bId": "chq", "operation": "create", "Purchase": trust_cheque(api, 15, greenleaf(api))},
                {"bId": "bad", "operation": "create", "JournalEntry": unbalanced},
                {
                    "bId": "upd",
                    "operation": "update",
                    "JournalEntry": {"Id": entry["Id"], "SyncToken": "0", "sparse": True, "PrivateNote": "b"},
                },
                {"bId": "del", "operation": "delete", "JournalEntry": {"Id": entry["Id"], "SyncToken": "0"}},
                {"bId": "q", "Query": "select * from Purchase"},
            ]
        },
    )
    assert response.status_code == 200
    results = {item["bId"]: item for item in response.json(parse_float=Decimal)["BatchItemResponse"]}
    assert results["je"]["JournalEntry"]["TotalAmt"] == Decimal("20.00")
    assert results["chq"]["Purchase"]["PrintStatus"] == "NeedToPrint"
    assert results["bad"]["Fault"]["Error"][0]["code"] == "6000"
    assert results["upd"]["JournalEntry"]["PrivateNote"] == "b"
    assert results["del"]["Fault"]["Error"][0]["code"] == "5010"  # the update moved it on
    assert results["q"]["QueryResponse"] == {}  # items cannot see the cheque created above


def test_cdc_reports_new_edited_and_deleted_journal_entries_and_cheques(sandbox: Sandbox, api: Api) -> None:
    since = iso(sandbox.qbo.company(REALM).moment() - timedelta(minutes=1))
    kept = api.create("JournalEntry", trust_entry(api, 100, bayside(api)))
    dropped = api.create("JournalEntry", trust_entry(api, 50, bayside(api)))
    api.post("/journalentry", {"Id": dropped["Id"], "SyncToken": "0"}, operation="delete")
    cheque = api.create("Purchase", trust_cheque(api, 40, bayside(api)))
    sandbox.state.clock.advance(5)
    sandbox.qbo.print_cheques(REALM, [cheque["Id"]])
    entries, purchases = cdc_lists(api.get("/cdc", entities="JournalEntry,Purchase", changedSince=since))
    assert [e["Id"] for e in entries["JournalEntry"]] == [kept["Id"], dropped["Id"]]
    assert entries["JournalEntry"][1]["status"] == "Deleted"
    (printed,) = purchases["Purchase"]
    assert (printed["Id"], printed["PrintStatus"], printed["SyncToken"]) == (
        cheque["Id"],
        "PrintComplete",
        "1",
    )


# -- the demo company and the helpers scenario tests build companies with ------------------------------


def test_the_demo_company_has_the_trust_pair_a_plain_bank_and_the_court_vendor(api: Api) -> None:
    accounts = {a["Name"]: (a["AccountType"], a["AccountSubType"]) for a in api.rows("select * from Account")}
    assert accounts[QBO_TRUST_BANK] == ("Bank", "TrustAccounts")
    assert accounts[QBO_TRUST_LIABILITY] == ("Other Current Liability", "TrustAccountsLiabilities")
    assert accounts[OPERATING_ACCOUNT] == ("Bank", "Checking")
    assert vendor_id(api, TRUST_CHEQUE_VENDOR)
    assert all(Decimal(a["CurrentBalance"]) == 0 for a in api.rows("select * from Account"))


def test_helpers_build_a_company_whose_trust_bank_has_the_wrong_detail_type(sandbox: Sandbox) -> None:
    sandbox.qbo.add_company("777", "Misconfigured LLP")
    bank, liability = add_trust_accounts(sandbox.qbo, "777", bank_detail="Checking")
    assert sandbox.qbo.get("777", "Account", bank)["AccountSubType"] == "Checking"
    assert sandbox.qbo.get("777", "Account", liability)["AccountType"] == "Other Current Liability"
    vendor = sandbox.qbo.add_vendor("777", TRUST_CHEQUE_VENDOR)
    assert (vendor["DisplayName"], vendor["CompanyName"]) == (TRUST_CHEQUE_VENDOR, TRUST_CHEQUE_VENDOR)


def test_an_account_detail_type_must_belong_to_its_type(api: Api) -> None:
    response = api.post(
        "/account", {"Name": "Odd Trust", "AccountType": "Bank", "AccountSubType": "TrustAccountsLiabilities"}
    )
    assert (response.status_code, fault(response)["code"]) == (400, "2170")
