"""The pure checks behind `ledgerlink doctor`: each says ✓ / ✗ / ! from what was read, with a remedy."""

from __future__ import annotations

from decimal import Decimal

from ledgerlink.config import MappingConfig, TaxCodeMapping
from ledgerlink.doctor.books import bill_number_warning_check, custom_numbers_check, numbering_check
from ledgerlink.doctor.contacts import contact_checks
from ledgerlink.doctor.mapping import account_problems, item_problems, tax_code_problems, tax_rate_checks
from ledgerlink.doctor.model import Check, by_section, exit_code
from ledgerlink.doctor.store import Schema, StoreState, schema_check
from ledgerlink.domain import Contact, TaxSettings
from ledgerlink.providers.qbo.ledger import ListEntry
from ledgerlink.sync.ports import LedgerCustomer, TaxCode

QBO = "QuickBooks Online"


def statuses(checks: list[Check]) -> list[tuple[str, str]]:
    return [(c.check, c.status) for c in checks]


# -- QuickBooks Online settings and numbering ----------------------------------------------------


def test_custom_transaction_numbers_off_fails_with_seed_000s_steps() -> None:
    assert custom_numbers_check(True, ledger_title=QBO).status == "ok"
    off = custom_numbers_check(False, ledger_title=QBO)
    assert off.status == "fail"
    assert "Sales form content" in off.remedy and "Custom transaction numbers" in off.remedy


def test_duplicate_bill_number_warning_is_always_a_note_with_the_steps() -> None:
    note = bill_number_warning_check()
    assert note.status == "warn" and "cannot be checked through the API" in note.title
    assert "Advanced → Other preferences" in note.remedy


def test_an_invoice_numbered_at_or_above_clios_next_number_fails_with_the_number_to_set() -> None:
    check = numbering_check(
        ["1041", "1040", "INV-7"], {"1": "1042", "2": "1100", "3": "900"}, (), ledger_title=QBO
    )
    assert check.status == "fail"
    assert "(1042, 1100)" in check.title and "Clio's highest bill number is 1041" in check.title
    assert check.remedy == "set Clio's next bill number to 1101 in Clio Settings → Billing"


def test_invoices_ledgerlink_created_and_lower_numbers_do_not_count() -> None:
    check = numbering_check(["1041"], {"7": "1041", "8": "5000", "9": "AB-12"}, {"8"}, ledger_title=QBO)
    assert check == Check(
        "ok",
        "bill numbers: Clio's next bill number (1042) is above every other QuickBooks Online invoice number "
        "(highest 1041)",
        section="QuickBooks Online",
        check="qbo.numbering",
    )


def test_with_no_clio_bills_any_numbered_invoice_collides_from_1() -> None:
    check = numbering_check([], {"1": "3"}, (), ledger_title=QBO)
    assert check.status == "fail" and "Clio has no bills yet" in check.title
    assert "next bill number to 4" in check.remedy


def test_clio_numbers_that_are_not_plain_numbers_are_a_note() -> None:
    assert numbering_check(["INV-1", "INV-2"], {"1": "3"}, (), ledger_title=QBO).status == "warn"


# -- mapping -----------------------------------------------------------------------------------


def entry(name: str, kind: str = "Service", *, active: bool = True, full: str | None = None) -> ListEntry:
    return ListEntry(id=name, name=name, full_name=full or name, type=kind, detail_type=None, active=active)


ITEMS = [
    entry("Legal Services"),
    entry("Old Fees", active=False),
    entry("Litigation", "Category"),
    entry("Filing", full="Costs:Filing"),
    entry("Widgets", "Inventory"),
]


def test_each_mapped_item_missing_inactive_or_not_sellable_is_one_failure() -> None:
    wanted = {
        "Legal Services": "mapping.time_entries",
        "legal services": "mapping.expense_entries",
        "Old Fees": "mapping.interest",
        "Litigation": "mapping.tax",
        "Costs:Filing": "mapping.discount",
        "Widgets": "mapping.credit_notes",
    }
    problems = item_problems(wanted, ITEMS, ledger_title=QBO)
    assert [p.title for p in problems] == [
        "Product/Service “legal services” (mapping.expense_entries) does not exist in QuickBooks Online "
        "(did you mean “Legal Services”? names must match exactly)",
        "Product/Service “Old Fees” (mapping.interest) is inactive in QuickBooks Online",
        "Product/Service “Litigation” (mapping.tax) is a Category item, which cannot be sold on an invoice "
        "line",
    ]
    assert all(p.status == "fail" and p.remedy for p in problems)


def test_the_payment_account_must_exist_be_active_and_take_deposits() -> None:
    accounts = [entry("Operating", "Bank"), entry("Fees", "Income"), entry("Old Bank", "Bank", active=False)]
    key = "mapping.payment_account"
    assert account_problems("Operating", key, accounts, ledger_title=QBO) == []
    [income] = account_problems("Fees", key, accounts, ledger_title=QBO)
    assert "is an Income account; payments can only be deposited" in income.title
    [inactive] = account_problems("Old Bank", key, accounts, ledger_title=QBO)
    assert inactive.title.endswith("is inactive in QuickBooks Online")
    [missing] = account_problems("Trust", key, accounts, ledger_title=QBO)
    assert "does not exist" in missing.title and "Undeposited Funds" in missing.remedy


CODES = (
    TaxCode("1", "GST", Decimal(5)),
    TaxCode("2", "Exempt", Decimal(0)),
    TaxCode("3", "HST", Decimal(13), active=False),
)


def test_mapped_tax_codes_must_exist_and_be_active_where_the_ledger_computes_tax() -> None:
    mapping = MappingConfig(tax_codes=TaxCodeMapping(primary="GST", secondary="HST", exempt="Zero"))
    problems = tax_code_problems(mapping, CODES, computes_tax=True, ledger_title=QBO)
    assert [p.title for p in problems] == [
        "tax code “HST” ([mapping.tax_codes] secondary) is inactive in QuickBooks Online",
        "tax code “Zero” ([mapping.tax_codes] exempt) is not a QuickBooks Online tax code (active codes: "
        "“GST”, “Exempt”)",
    ]
    [none] = tax_code_problems(MappingConfig(), CODES, computes_tax=True, ledger_title=QBO)
    assert none.status == "fail" and "names no tax code" in none.title
    [unused] = tax_code_problems(mapping, CODES, computes_tax=False, ledger_title=QBO)
    assert unused.status == "warn"
    assert tax_code_problems(MappingConfig(), (), computes_tax=False, ledger_title=QBO) == []


def test_tax_rates_are_compared_as_every_pass_compares_them() -> None:
    mapping = MappingConfig(tax_codes=TaxCodeMapping(primary="GST", exempt="Exempt"))
    clio = TaxSettings(primary_name="GST", primary_rate=Decimal(5))
    [fine] = tax_rate_checks(clio, mapping, CODES, ledger_title=QBO)
    assert fine.status == "ok" and "(GST 5%)" in fine.title
    [wrong] = tax_rate_checks(
        TaxSettings(primary_name="GST", primary_rate=Decimal(6)), mapping, CODES, ledger_title=QBO
    )
    assert wrong.status == "fail" and "charges 5%, but Clio charges 6%" in wrong.title


# -- contacts ----------------------------------------------------------------------------------


def person(source_id: str, name: str, email: str | None = None) -> Contact:
    return Contact(source_id=source_id, name=name, email=email)


def customer(id_: str, name: str, *, active: bool = True, email: str | None = None) -> LedgerCustomer:
    shown = name if active else f"{name} (deleted)"
    return LedgerCustomer(id=id_, display_name=shown, email=email, active=active)


def run_contacts(
    clients: list[Contact],
    customers: list[LedgerCustomer],
    holders: dict[str, str] | None = None,
    links: dict[str, str] | None = None,
) -> list[Check]:
    return contact_checks(
        clients,
        links or {},
        customers,
        holders or {},
        display_name=lambda c: c.name,
        ledger_title=QBO,
    )


def test_a_client_named_like_a_vendor_or_employee_fails() -> None:
    checks = run_contacts(
        [person("1", "Metro Reporters"), person("2", "Priya  Raman")],
        [],
        {"metro reporters": "vendor", "priya raman": "employee"},
    )
    assert statuses(checks) == [("contacts.name_held", "fail")] * 2
    assert "held by a QuickBooks Online vendor" in checks[0].title
    assert "rename the employee" in checks[1].remedy


def test_an_inactive_customer_of_the_same_name_is_a_note() -> None:
    [note] = run_contacts([person("1", "Dana Whitfield")], [customer("6", "Dana Whitfield", active=False)])
    assert note.status == "warn" and "inactive customer" in note.title and "id 6" in note.title


def test_customers_named_alike_are_a_note_with_or_without_a_client() -> None:
    alike = [customer("3", "Lee Chan"), customer("9", "lee  chan")]
    [with_client] = run_contacts([person("1", "Lee Chan")], alike)
    assert with_client.check == "contacts.duplicate_customers" and "links the client to the first, id 3" in (
        with_client.title
    )
    [without] = run_contacts([], alike)
    assert without.status == "warn" and "customers named alike" in without.title


def test_an_other_email_or_a_customer_linked_elsewhere_fails_like_the_sync() -> None:
    email = run_contacts(
        [person("1", "Sam Okafor", "sam@a.com")], [customer("4", "Sam Okafor", email="sam@b.com")]
    )
    assert statuses(email) == [("contacts.email_differs", "fail")]
    taken = run_contacts(
        [person("1", "Sam Okafor"), person("2", "Sam Okafor")],
        [customer("4", "Sam Okafor")],
        links={"2": "4"},
    )
    assert statuses(taken) == [("contacts.linked_elsewhere", "fail")]


def test_two_unlinked_clio_clients_of_one_name_fail() -> None:
    checks = run_contacts([person("1", "Ann Lee"), person("2", "ann lee")], [])
    assert statuses(checks) == [("contacts.clio_duplicates", "fail")]


def test_no_clash_is_one_line_counting_the_unlinked_clients() -> None:
    checks = run_contacts(
        [person("1", "New Client"), person("2", "Old Client"), person("3", "Same Person", "s@x.com")],
        [customer("8", "Old Client"), customer("9", "Same Person", email="S@x.com")],
        links={"2": "8"},
    )
    assert statuses(checks) == [("contacts", "ok")]
    assert "2 Clio client(s) not yet in QuickBooks Online" in checks[0].title


# -- store and rendering -----------------------------------------------------------------------

SCHEMA = Schema(head="0002", known=frozenset({"0001", "0002"}))


def test_store_schema_up_to_date_older_newer_missing_unreadable() -> None:
    assert schema_check(StoreState("s.sqlite", "0002"), SCHEMA).status == "ok"
    older = schema_check(StoreState("s.sqlite", "0001"), SCHEMA)
    assert older.status == "warn" and "older than this ledgerlink's rev 0002" in older.title
    newer = schema_check(StoreState("s.sqlite", "0007"), SCHEMA)
    assert newer.status == "fail" and "made by a newer ledgerlink" in newer.title
    assert "upgrade ledgerlink" in newer.remedy
    assert schema_check(StoreState("s.sqlite"), SCHEMA).status == "warn"
    assert schema_check(StoreState("pg", error="no route"), SCHEMA).status == "fail"


def test_sections_keep_their_order_and_only_failures_fail() -> None:
    checks = [
        Check("warn", "w", section="Store"),
        Check("ok", "a", section="Contacts"),
        Check("ok", "b", section="Setup"),
    ]
    assert [name for name, _ in by_section(checks)] == ["Setup", "Contacts", "Store"]
    assert exit_code(checks) == 0
    assert exit_code([*checks, Check("fail", "x")]) == 1
