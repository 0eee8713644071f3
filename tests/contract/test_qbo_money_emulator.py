"""The QBO emulator's money over real HTTP: payments, credit memos, balances and non-US sales tax.

Issue 4 posts Clio payments and credit notes to QBO; these tests pin the rules the emulator holds
a client to (reference §2.6-§2.9, §5.3): what a payment may apply, how balances follow, and how a
non-US company computes tax.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from ledgerlink.sandbox import Sandbox
from tests.contract.test_qbo_emulator import REALM, Api, an_invoice, customer_id, fault

CA_REALM = "9341452000000001"


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", REALM).access_token)
    yield client
    client.http.close()


def read(api: Api, entity: str, record_id: str) -> dict[str, Any]:
    response = api.get(f"/{entity.lower()}/{record_id}")
    assert response.status_code == 200, response.text
    return dict(response.json(parse_float=Decimal)[entity])


def line(txn_id: str, amount: float | str, txn_type: str = "Invoice") -> dict[str, Any]:
    return {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


def a_payment(customer: str, total: float | str, *lines: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"CustomerRef": {"value": customer}, "TotalAmt": total, "Line": list(lines), **extra}


def a_credit_memo(customer: str, amount: float, **extra: Any) -> dict[str, Any]:
    sales_line = {
        "DetailType": "SalesItemLineDetail",
        "Amount": amount,
        "Description": "Courtesy discount on bill 17",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}},
    }
    return {"CustomerRef": {"value": customer}, "Line": [sales_line], **extra}


def bayside(api: Api) -> str:
    return customer_id(api, "Bayside Yacht Club")


def balance_of(api: Api, customer: str) -> Decimal:
    return Decimal(read(api, "Customer", customer)["Balance"])


# -- payments --------------------------------------------------------------------------------------


def test_a_payment_on_one_invoice_settles_it_and_lands_in_undeposited_funds(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create(
        "Payment",
        a_payment(bayside(api), 417.10, line(invoice["Id"], 417.10), PaymentRefNum="CLIO-PMT-88"),
    )
    assert payment["UnappliedAmt"] == 0 and payment["TotalAmt"] == Decimal("417.10")
    assert payment["Line"] == [
        {"Amount": Decimal("417.10"), "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}
    ]
    assert payment["ProcessPayment"] is False and payment["PaymentRefNum"] == "CLIO-PMT-88"
    undeposited = api.rows("SELECT * FROM Account WHERE AccountSubType = 'UndepositedFunds'")
    assert payment["DepositToAccountRef"] == {"value": undeposited[0]["Id"], "name": "Undeposited Funds"}
    paid = read(api, "Invoice", invoice["Id"])
    assert paid["Balance"] == 0 and paid["TotalAmt"] == Decimal("417.10")
    assert paid["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert balance_of(api, bayside(api)) == 0


def test_a_payment_split_over_two_invoices_leaves_the_rest_open_and_queries_see_it(api: Api) -> None:
    first = api.create("Invoice", an_invoice(api))
    second = api.create("Invoice", an_invoice(api))
    api.create("Payment", a_payment(bayside(api), 500, line(first["Id"], 417.10), line(second["Id"], 82.90)))
    open_rows = api.rows("SELECT * FROM Invoice WHERE Balance > '0'")
    assert [(row["Id"], row["Balance"]) for row in open_rows] == [(second["Id"], Decimal("334.20"))]
    assert read(api, "Invoice", first["Id"])["Balance"] == 0
    assert balance_of(api, bayside(api)) == Decimal("334.20")


def test_money_beyond_the_lines_stays_unapplied_and_credits_the_customer(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create("Payment", a_payment(bayside(api), 500, line(invoice["Id"], 417.10)))
    assert payment["UnappliedAmt"] == Decimal("82.90")
    assert balance_of(api, bayside(api)) == Decimal("-82.90")
    unapplied = api.create("Payment", a_payment(bayside(api), 25))
    assert (unapplied["UnappliedAmt"], unapplied["Line"]) == (Decimal("25.00"), [])


def test_a_line_cannot_apply_more_than_the_invoice_still_has_open(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    api.create("Payment", a_payment(bayside(api), 400, line(invoice["Id"], 400)))
    error = fault(api.post("/payment", a_payment(bayside(api), 20, line(invoice["Id"], 20))))
    assert error["code"] == "6000"
    assert f"applies 20.00 to Invoice {invoice['Id']}, but only 17.10 is open" in error["Detail"]
    assert api.post("/payment", a_payment(bayside(api), 17.10, line(invoice["Id"], 17.10))).status_code == 200


def test_lines_applying_more_than_the_payment_total_are_refused(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    error = fault(api.post("/payment", a_payment(bayside(api), 100, line(invoice["Id"], 200))))
    assert error["code"] == "6000" and "TotalAmt is only 100.00" in error["Detail"]


def test_linking_another_customers_invoice_is_620(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    other = customer_id(api, "Greenleaf Nursery Supply")
    response = api.post("/payment", a_payment(other, 10, line(invoice["Id"], 10)))
    error = fault(response)
    assert (response.status_code, error["code"], error["Message"]) == (400, "620", "TxnID Cannot Be Linked")
    assert error["element"] == "Payment.Line.LinkedTxn.TxnId"


def test_linking_a_missing_transaction_is_610_and_other_txn_types_are_refused(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    assert fault(api.post("/payment", a_payment(bayside(api), 10, line("9999", 10))))["code"] == "610"
    estimate = fault(api.post("/payment", a_payment(bayside(api), 10, line(invoice["Id"], 10, "Estimate"))))
    assert estimate["code"] == "2170"
    as_memo = fault(api.post("/payment", a_payment(bayside(api), 10, line(invoice["Id"], 10, "CreditMemo"))))
    assert as_memo["code"] == "610"  # no credit memo has that id


def test_a_payment_needs_a_customer_an_amount_and_short_references(api: Api) -> None:
    no_customer = a_payment(bayside(api), 10)
    del no_customer["CustomerRef"]
    assert fault(api.post("/payment", no_customer))["Detail"] == (
        "Required parameter CustomerRef is missing in the request"
    )
    no_total = a_payment(bayside(api), 10)
    del no_total["TotalAmt"]
    assert fault(api.post("/payment", no_total))["element"] == "TotalAmt"
    long_ref = fault(api.post("/payment", a_payment(bayside(api), 10, PaymentRefNum="R" * 22)))
    assert (long_ref["code"], long_ref["element"]) == ("2050", "PaymentRefNum")
    long_note = fault(api.post("/payment", a_payment(bayside(api), 10, PrivateNote="n" * 4001)))
    assert (long_note["code"], long_note["element"]) == ("2050", "PrivateNote")
    assert fault(api.post("/payment", a_payment(bayside(api), -5)))["code"] == "6000"
    card = fault(api.post("/payment", a_payment(bayside(api), 10, ProcessPayment=True)))
    assert card["code"] == "500"


def test_a_payment_deposits_only_to_an_existing_bank_or_current_asset_account(api: Api) -> None:
    accounts = {a["Name"]: a["Id"] for a in api.rows("SELECT * FROM Account")}
    to_income = a_payment(bayside(api), 10, DepositToAccountRef={"value": accounts["Legal Fee Income"]})
    assert fault(api.post("/payment", to_income))["code"] == "6000"
    to_nowhere = fault(
        api.post("/payment", a_payment(bayside(api), 10, DepositToAccountRef={"value": "999"}))
    )
    assert (to_nowhere["code"], to_nowhere["element"]) == ("2500", "DepositToAccountRef")
    to_bank = api.create(
        "Payment", a_payment(bayside(api), 10, DepositToAccountRef={"value": accounts["Operating Checking"]})
    )
    assert to_bank["DepositToAccountRef"] == {
        "value": accounts["Operating Checking"],
        "name": "Operating Checking",
    }


def test_an_update_replaces_the_payment_lines_wholesale(api: Api) -> None:
    first = api.create("Invoice", an_invoice(api))
    second = api.create("Invoice", an_invoice(api))
    payment = api.create(
        "Payment", a_payment(bayside(api), 500, line(first["Id"], 400), line(second["Id"], 100))
    )
    updated = api.create(
        "Payment",
        {"Id": payment["Id"], "SyncToken": "0", "sparse": True, "Line": [line(first["Id"], 417.10)]},
    )
    assert updated["SyncToken"] == "1" and len(updated["Line"]) == 1
    assert updated["UnappliedAmt"] == Decimal("82.90")
    assert read(api, "Invoice", first["Id"])["Balance"] == 0
    assert read(api, "Invoice", second["Id"])["Balance"] == Decimal("417.10")
    assert read(api, "Invoice", second["Id"])["LinkedTxn"] == []


def test_deleting_a_payment_releases_the_invoice_balance(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create("Payment", a_payment(bayside(api), 417.10, line(invoice["Id"], 417.10)))
    deleted = api.post("/payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.json()["Payment"] == {"domain": "QBO", "status": "Deleted", "Id": payment["Id"]}
    restored = read(api, "Invoice", invoice["Id"])
    assert (restored["Balance"], restored["LinkedTxn"]) == (Decimal("417.10"), [])
    assert balance_of(api, bayside(api)) == Decimal("417.10")


def test_voiding_a_payment_uses_update_include_void_and_releases_the_invoice(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create("Payment", a_payment(bayside(api), 417.10, line(invoice["Id"], 417.10)))
    wrong_form = api.post("/payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="void")
    assert fault(wrong_form)["code"] == "500"
    voided = api.create(
        "Payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    )
    assert (voided["SyncToken"], voided["TotalAmt"], voided["UnappliedAmt"], voided["PrivateNote"]) == (
        "1",
        0,
        0,
        "Voided",
    )
    assert read(api, "Invoice", invoice["Id"])["Balance"] == Decimal("417.10")
    assert (
        fault(api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, include="void"))["code"] == "500"
    )


def test_an_invoice_a_payment_applies_to_cannot_be_deleted_voided_or_cut_below_it(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create("Payment", a_payment(bayside(api), 300, line(invoice["Id"], 300)))
    for operation in ("delete", "void"):
        error = fault(api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation=operation))
        assert error["code"] == "6000" and "unlink the payments first" in error["Detail"]
    smaller = an_invoice(api, Id=invoice["Id"], SyncToken="0", sparse=True)
    smaller["Line"] = smaller["Line"][1:]  # 42.10 left, 300 applied
    assert fault(api.post("/invoice", smaller))["code"] == "6000"
    api.post("/payment", {"Id": payment["Id"], "SyncToken": "0"}, operation="delete")
    assert (
        api.post("/invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    )


def test_a_batch_creates_payments_answering_each_by_its_bid(api: Api) -> None:
    first = api.create("Invoice", an_invoice(api))
    second = api.create("Invoice", an_invoice(api))
    other = customer_id(api, "Greenleaf Nursery Supply")
    response = api.post(
        "/batch",
        {
            "BatchItemRequest": [
                {
                    "bId": "p1",
                    "operation": "create",
                    "Payment": a_payment(bayside(api), 417.10, line(first["Id"], 417.10)),
                },
                {"bId": "p2", "operation": "create", "Payment": a_payment(other, 5, line(second["Id"], 5))},
                {
                    "bId": "p3",
                    "operation": "create",
                    "Payment": a_payment(bayside(api), 17.10, line(second["Id"], 17.10)),
                },
            ]
        },
    )
    assert response.status_code == 200
    results = {item["bId"]: item for item in response.json(parse_float=Decimal)["BatchItemResponse"]}
    assert results["p1"]["Payment"]["Line"][0]["LinkedTxn"] == [{"TxnId": first["Id"], "TxnType": "Invoice"}]
    assert results["p2"]["Fault"]["Error"][0]["code"] == "620"
    assert results["p3"]["Payment"]["TotalAmt"] == Decimal("17.10")
    assert read(api, "Invoice", second["Id"])["Balance"] == Decimal("400.00")


# -- credit memos ----------------------------------------------------------------------------------


def test_a_credit_memo_is_a_sales_form_with_remaining_credit(api: Api) -> None:
    memo = api.create("CreditMemo", a_credit_memo(bayside(api), 100))
    assert (memo["TotalAmt"], memo["Balance"], memo["RemainingCredit"]) == (Decimal("100.00"),) * 3
    assert [line["DetailType"] for line in memo["Line"]] == ["SalesItemLineDetail", "SubTotalLineDetail"]
    assert "DueDate" not in memo and memo["LinkedTxn"] == []
    api.create("Invoice", an_invoice(api))
    assert balance_of(api, bayside(api)) == Decimal("317.10")  # open credit lowers what is owed
    due = fault(api.post("/creditmemo", a_credit_memo(bayside(api), 5, DueDate="2030-01-01")))
    assert due["code"] == "2010"


def test_a_zero_total_payment_applies_a_credit_memo_to_an_invoice(api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    memo = api.create("CreditMemo", a_credit_memo(bayside(api), 100))
    application = api.create(
        "Payment", a_payment(bayside(api), 0, line(invoice["Id"], 100), line(memo["Id"], 100, "CreditMemo"))
    )
    assert (application["TotalAmt"], application["UnappliedAmt"]) == (0, 0)
    assert read(api, "Invoice", invoice["Id"])["Balance"] == Decimal("317.10")
    applied = read(api, "CreditMemo", memo["Id"])
    assert (applied["RemainingCredit"], applied["Balance"]) == (0, 0)
    assert applied["LinkedTxn"] == [{"TxnId": application["Id"], "TxnType": "Payment"}]
    assert balance_of(api, bayside(api)) == Decimal("317.10")
    again = fault(
        api.post(
            "/payment", a_payment(bayside(api), 0, line(invoice["Id"], 1), line(memo["Id"], 1, "CreditMemo"))
        )
    )
    assert again["code"] == "6000" and "only 0.00 is open" in again["Detail"]
    gone = fault(api.post("/creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="delete"))
    assert gone["code"] == "6000"


def test_credit_memos_share_the_invoice_doc_number_space(api: Api) -> None:
    memo = api.create("CreditMemo", a_credit_memo(bayside(api), 10, DocNumber="CN-17"))
    error = fault(api.post("/invoice", an_invoice(api, DocNumber="CN-17")))
    assert error["code"] == "6140"
    assert error["Detail"].endswith(
        f"DocNumber=CN-17 is assigned to TxnType=Credit Memo with TxnId={memo['Id']}"
    )
    invoice = api.create("Invoice", an_invoice(api, DocNumber="INV-17"))
    back = fault(api.post("/creditmemo", a_credit_memo(bayside(api), 10, DocNumber="INV-17")))
    assert back["Detail"].endswith(f"TxnType=Invoice with TxnId={invoice['Id']}")


def test_an_unapplied_credit_memo_can_be_deleted_but_not_voided(api: Api) -> None:
    memo = api.create("CreditMemo", a_credit_memo(bayside(api), 10))
    assert (
        fault(api.post("/creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="void"))["code"]
        == "500"
    )
    assert (
        api.post("/creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="delete").status_code == 200
    )


# -- edits made in QBO itself ------------------------------------------------------------------------


def test_an_edit_in_qbo_bumps_the_version_and_recomputes_balances(sandbox: Sandbox, api: Api) -> None:
    invoice = api.create("Invoice", an_invoice(api))
    payment = api.create("Payment", a_payment(bayside(api), 417.10, line(invoice["Id"], 417.10)))
    sandbox.state.clock.advance(5)
    edited = sandbox.qbo.edit(REALM, "Payment", payment["Id"], TotalAmt=Decimal("500"))
    assert edited["SyncToken"] == "1" and edited["UnappliedAmt"] == Decimal("82.90")
    assert edited["MetaData"]["LastUpdatedTime"] > payment["MetaData"]["LastUpdatedTime"]
    assert balance_of(api, bayside(api)) == Decimal("-82.90")
    edited = sandbox.qbo.edit(REALM, "Payment", payment["Id"], Line=[line(invoice["Id"], "100")])
    assert read(api, "Invoice", invoice["Id"])["Balance"] == Decimal("317.10")


# -- non-US sales tax ------------------------------------------------------------------------------


@dataclass
class Canada:
    """A Canadian firm's books: GST 5% and PST 7%, coded alone and together."""

    api: Api
    customer: str
    item: str
    gst_code: str
    gst_pst_code: str
    gst_rate: str
    pst_rate: str

    def invoice(self, *lines: tuple[float, str], **extra: Any) -> dict[str, Any]:
        return {
            "CustomerRef": {"value": self.customer},
            "GlobalTaxCalculation": "TaxExcluded",
            "Line": [
                {
                    "DetailType": "SalesItemLineDetail",
                    "Amount": amount,
                    "SalesItemLineDetail": {"ItemRef": {"value": self.item}, "TaxCodeRef": {"value": code}},
                }
                for amount, code in lines
            ],
            **extra,
        }


@pytest.fixture
def canada(sandbox: Sandbox) -> Iterator[Canada]:
    emu = sandbox.qbo
    emu.add_company(CA_REALM, "Tremblay & Singh Avocats", country="CA")
    income = emu.add(CA_REALM, "Account", {"Name": "Legal Fee Income", "AccountType": "Income"})
    item = emu.add(
        CA_REALM,
        "Item",
        {"Name": "Legal Services", "Type": "Service", "IncomeAccountRef": {"value": income["Id"]}},
    )
    customer = emu.add(CA_REALM, "Customer", {"DisplayName": "Gagnon Holdings"})
    gst, pst = emu.add_tax_rate(CA_REALM, "GST", 5), emu.add_tax_rate(CA_REALM, "PST (BC)", Decimal("7"))
    books = Canada(
        Api(sandbox, sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", CA_REALM).access_token, CA_REALM),
        customer=customer["Id"],
        item=item["Id"],
        gst_code=emu.add_tax_code(CA_REALM, "GST", [gst]),
        gst_pst_code=emu.add_tax_code(CA_REALM, "GST/PST BC", [gst, pst]),
        gst_rate=gst,
        pst_rate=pst,
    )
    yield books
    books.api.http.close()


def test_a_non_us_invoice_computes_tax_per_rate_rounded_half_up_to_the_cent(canada: Canada) -> None:
    invoice = canada.api.create(
        "Invoice", canada.invoice((39.60, canada.gst_code), (60.50, canada.gst_pst_code))
    )
    detail = invoice["TxnTaxDetail"]
    assert detail["TaxLine"] == [
        {
            "Amount": Decimal("5.01"),  # 100.10 x 5% = 5.005, half-up (banker's rounding would give 5.00)
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": canada.gst_rate},
                "PercentBased": True,
                "TaxPercent": Decimal("5"),
                "NetAmountTaxable": Decimal("100.10"),
            },
        },
        {
            "Amount": Decimal("4.24"),  # 60.50 x 7% = 4.235
            "DetailType": "TaxLineDetail",
            "TaxLineDetail": {
                "TaxRateRef": {"value": canada.pst_rate},
                "PercentBased": True,
                "TaxPercent": Decimal("7"),
                "NetAmountTaxable": Decimal("60.50"),
            },
        },
    ]
    assert detail["TotalTax"] == Decimal("9.25")
    assert invoice["TotalAmt"] == invoice["Balance"] == Decimal("109.35")
    assert invoice["Line"][-1] == {
        "Amount": Decimal("100.10"),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["CurrencyRef"] == {"value": "CAD", "name": "Canadian Dollar"}
    assert balance_of(canada.api, canada.customer) == Decimal("109.35")


def test_a_client_sent_tax_detail_is_replaced_by_the_computed_one(canada: Canada) -> None:
    body = canada.invoice((100, canada.gst_code), TxnTaxDetail={"TotalTax": 1})
    assert canada.api.create("Invoice", body)["TxnTaxDetail"]["TotalTax"] == Decimal("5.00")


def test_every_non_us_sales_line_needs_an_active_tax_code(canada: Canada) -> None:
    body = canada.invoice((100, canada.gst_code))
    del body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]
    assert fault(canada.api.post("/invoice", body))["code"] == "6000"
    for code in ("99", "TAX"):
        error = fault(canada.api.post("/invoice", canada.invoice((100, code))))
        assert (error["code"], error["Message"]) == ("2500", "Invalid Reference Id")
    memo = canada.invoice((100, "NON"))
    assert fault(canada.api.post("/creditmemo", memo))["code"] == "2500"


def test_a_non_us_sales_form_needs_a_supported_global_tax_calculation(canada: Canada) -> None:
    body = canada.invoice((100, canada.gst_code))
    del body["GlobalTaxCalculation"]
    missing = fault(canada.api.post("/invoice", body))
    assert (missing["code"], missing["element"]) == ("2020", "GlobalTaxCalculation")
    assert (
        fault(
            canada.api.post("/invoice", canada.invoice((100, canada.gst_code), GlobalTaxCalculation="Gross"))
        )["code"]
        == "2170"
    )
    inclusive = canada.invoice((100, canada.gst_code), GlobalTaxCalculation="TaxInclusive")
    assert fault(canada.api.post("/invoice", inclusive))["code"] == "500"
    untaxed = canada.api.create(
        "Invoice", canada.invoice((100, canada.gst_code), GlobalTaxCalculation="NotApplicable")
    )
    assert (untaxed["TxnTaxDetail"], untaxed["TotalAmt"]) == ({"TotalTax": 0}, Decimal("100.00"))


def test_a_taxed_credit_memo_applied_by_a_zero_payment_nets_against_the_invoice(canada: Canada) -> None:
    invoice = canada.api.create("Invoice", canada.invoice((200, canada.gst_pst_code)))
    memo = canada.api.create("CreditMemo", canada.invoice((50, canada.gst_pst_code)))
    assert (invoice["TotalAmt"], memo["TotalAmt"]) == (Decimal("224.00"), Decimal("56.00"))
    canada.api.create(
        "Payment", a_payment(canada.customer, 0, line(invoice["Id"], 56), line(memo["Id"], 56, "CreditMemo"))
    )
    assert read(canada.api, "Invoice", invoice["Id"])["Balance"] == Decimal("168.00")
    assert balance_of(canada.api, canada.customer) == Decimal("168.00")


def test_tax_codes_and_rates_can_be_read_and_queried_but_not_written(canada: Canada) -> None:
    codes = {code["Name"]: code for code in canada.api.rows("SELECT * FROM TaxCode")}
    assert set(codes) == {"GST", "GST/PST BC"}
    both = codes["GST/PST BC"]
    assert (both["TaxGroup"], both["Taxable"], both["Active"]) == (True, True, True)
    assert both["SalesTaxRateList"]["TaxRateDetail"] == [
        {
            "TaxRateRef": {"value": canada.gst_rate, "name": "GST"},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        },
        {
            "TaxRateRef": {"value": canada.pst_rate, "name": "PST (BC)"},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 1,
        },
    ]
    assert codes["GST"]["TaxGroup"] is False
    rate = read(canada.api, "TaxRate", canada.pst_rate)
    assert (rate["Name"], rate["RateValue"], rate["Active"]) == ("PST (BC)", Decimal("7"), True)
    assert read(canada.api, "TaxCode", canada.gst_code)["Name"] == "GST"
    assert fault(canada.api.post("/taxcode", {"Name": "HST"}))["code"] == "500"
    assert fault(canada.api.post("/taxrate", {"Name": "HST", "RateValue": 13}))["code"] == "500"
    prefs = canada.api.get("/preferences").json()["Preferences"]
    assert prefs["TaxPrefs"]["UsingSalesTax"] is True
    assert prefs["CurrencyPrefs"]["HomeCurrency"] == {"value": "CAD"}


def test_us_companies_keep_the_tax_and_non_pseudo_codes_and_compute_no_tax(api: Api) -> None:
    body = an_invoice(api)
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "TAX"}
    invoice = api.create("Invoice", body)
    assert invoice["TxnTaxDetail"] == {"TotalTax": 0} and invoice["TotalAmt"] == Decimal("417.10")
    body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "3"}
    assert fault(api.post("/invoice", body))["code"] == "6100"
