"""Sales tax: tax lines for US companies, tax codes for the rest, and the rate checks."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from ledgerlink.config import TaxCodeMapping
from ledgerlink.domain import InvoiceLine, LineKind, TaxSettings
from ledgerlink.errors import RecordError
from ledgerlink.sync.ports import TaxCode
from ledgerlink.sync.tax import (
    TaxSlot,
    check_tax_rates,
    codes_for,
    find_code,
    slot_of,
    tax_mismatch_error,
    us_tax_lines,
)
from tests.factories import clio_bill, line, tax_codes, taxed_line

CANADA = TaxSettings("GST", Decimal("5"), "PST", Decimal("7"), secondary_enabled=True)
MAPPED = TaxCodeMapping(primary="GST", secondary="PST", both="GST/PST", exempt="Exempt")


def amounts(lines: tuple[InvoiceLine, ...]) -> list[tuple[str, str, Decimal]]:
    return [(ln.kind.value, ln.description, ln.amount) for ln in lines]


def test_slot_follows_the_two_taxable_flags_and_interest_is_never_taxed() -> None:
    assert slot_of(taxed_line(taxable=True, secondary_taxable=True)) is TaxSlot.BOTH
    assert slot_of(taxed_line(taxable=True)) is TaxSlot.PRIMARY
    assert slot_of(taxed_line(taxable=False, secondary_taxable=True)) is TaxSlot.SECONDARY
    assert slot_of(taxed_line(taxable=False)) is TaxSlot.EXEMPT
    assert slot_of(taxed_line(kind=LineKind.INTEREST, taxable=True)) is TaxSlot.EXEMPT


def test_aggregated_taxes_become_one_line_named_after_both_taxes_in_place_of_clios_two() -> None:
    bill = clio_bill(
        [taxed_line("1", "100.00", secondary_taxable=True), taxed_line("2", "40.00", taxable=False)],
        interest="3.00",
    )
    lines = us_tax_lines(bill, aggregate=True)
    assert amounts(lines) == [
        ("time", "time line 1", Decimal("100.00")),
        ("time", "time line 2", Decimal("40.00")),
        ("tax", "GST + PST", Decimal("12.00")),
        ("interest", "Interest", Decimal("3.00")),
    ]
    assert sum(ln.amount for ln in lines) == bill.total


def test_a_single_tax_line_is_kept_exactly_as_clio_sent_it() -> None:
    bill = clio_bill([taxed_line("1", "100.00")])
    assert us_tax_lines(bill, aggregate=True) == bill.lines


def test_a_bill_without_tax_is_left_alone_in_both_modes() -> None:
    bill = clio_bill([taxed_line("1", "100.00", taxable=False)])
    assert us_tax_lines(bill, aggregate=True) == bill.lines
    assert us_tax_lines(bill, aggregate=False) == bill.lines


def test_per_charge_tax_lines_carry_each_charges_tax_and_the_rounding_difference_on_the_last() -> None:
    # 5% of 10.10 is 0.505 → 0.51 per line (1.53), but Clio rounds once: 5% of 30.30 = 1.515 → 1.52.
    charges = [taxed_line(str(n), "10.10") for n in (1, 2, 3)]
    bill = clio_bill(charges, rates=("5", "0"))
    lines = us_tax_lines(bill, aggregate=False)
    assert amounts(lines)[3:] == [
        ("tax", "Tax on time line 1", Decimal("0.51")),
        ("tax", "Tax on time line 2", Decimal("0.51")),
        ("tax", "Tax on time line 3", Decimal("0.50")),
    ]
    assert sum(ln.amount for ln in lines if ln.kind is LineKind.TAX) == bill.total_tax == Decimal("1.52")
    assert sum(ln.amount for ln in lines) == bill.total


def test_per_charge_tax_adds_both_taxes_of_a_charge_and_skips_untaxed_charges() -> None:
    bill = clio_bill(
        [taxed_line("1", "100.00", secondary_taxable=True), taxed_line("2", "80.00", taxable=False)]
    )
    lines = us_tax_lines(bill, aggregate=False)
    assert amounts(lines)[2:] == [("tax", "Tax on time line 1", Decimal("12.00"))]


def test_per_charge_mode_without_per_line_taxes_from_clio_falls_back_to_one_tax_line() -> None:
    bill = clio_bill([taxed_line("1", "100.00", secondary_taxable=True)])
    bare = replace(bill, lines=(line("1", amount="100.00"), *bill.lines[1:]))
    lines = us_tax_lines(bare, aggregate=False)
    assert amounts(lines)[1:] == [("tax", "GST + PST", Decimal("12.00"))]


def test_tax_codes_are_found_by_name_ignoring_case_or_by_id() -> None:
    codes = tax_codes()
    assert find_code("gst/pst", codes) == codes[2]
    assert find_code("6", codes) == codes[3]
    assert find_code("HST", codes) is None


def test_every_needed_slot_resolves_to_its_code() -> None:
    found = codes_for(
        {TaxSlot.PRIMARY, TaxSlot.EXEMPT}, MAPPED, tax_codes(), ledger_title="QuickBooks Online"
    )
    assert found == {TaxSlot.PRIMARY: tax_codes()[0], TaxSlot.EXEMPT: tax_codes()[3]}


def test_unconfigured_unknown_or_inactive_codes_name_their_config_key() -> None:
    codes = (*tax_codes()[:3], TaxCode("6", "Exempt", Decimal("0"), active=False))
    mapping = TaxCodeMapping(primary="GST", secondary="", both="HST", exempt="Exempt")
    error = codes_for(set(TaxSlot), mapping, codes, ledger_title="QuickBooks Online")
    assert isinstance(error, RecordError) and error.cause == "unmapped_tax"
    assert "[mapping.tax_codes] secondary)" in error.message
    assert "[mapping.tax_codes] both names “HST”, which is not a QuickBooks Online tax code" in error.message
    assert "[mapping.tax_codes] exempt names “Exempt”, which is inactive" in error.message
    assert "primary" not in error.message
    assert "[mapping.tax_codes]" in error.remedy and error.retryable is False


def test_rates_that_match_clio_raise_no_warning() -> None:
    assert check_tax_rates(CANADA, MAPPED, tax_codes()) == []


def test_a_rate_that_differs_from_clio_is_one_sentence_naming_both_rates_and_where_to_look() -> None:
    codes = (TaxCode("3", "GST", Decimal("5.5")), *tax_codes()[1:])
    [warning] = check_tax_rates(CANADA, MAPPED, codes)
    assert "“GST”" in warning and "[mapping.tax_codes] primary" in warning
    assert "charges 5.5%" in warning and "Clio charges 5%" in warning
    assert "Settings → Billing" in warning


def test_the_both_slot_expects_the_sum_of_clios_rates_and_exempt_expects_zero() -> None:
    codes = (*tax_codes()[:2], TaxCode("5", "GST/PST", Decimal("13")), TaxCode("6", "Exempt", Decimal("1")))
    warnings = check_tax_rates(CANADA, MAPPED, codes)
    assert len(warnings) == 2
    assert "charges 13%, but Clio charges 12%" in warnings[0]
    assert "charges 1%, but Clio charges 0% for untaxed lines" in warnings[1]


def test_with_clios_secondary_tax_off_the_secondary_slot_expects_no_tax() -> None:
    primary_only = TaxSettings("GST", Decimal("5"), "PST", Decimal("7"), secondary_enabled=False)
    warnings = check_tax_rates(primary_only, MAPPED, tax_codes())
    assert [w.split(" charges ")[1].split(",")[0] for w in warnings] == ["7%", "12%"]
    assert all("switched off" in w for w in warnings)


def test_unconfigured_or_unknown_codes_are_left_to_the_bills_that_need_them() -> None:
    mapping = TaxCodeMapping(primary="HST")
    assert check_tax_rates(CANADA, mapping, tax_codes()) == []


def test_tax_mismatch_names_both_amounts() -> None:
    error = tax_mismatch_error("Bill 1043 (Dana Whitfield)", Decimal("12.00"), Decimal("12.01"))
    assert error.cause == "tax_mismatch"
    assert "Bill 1043" in error.message and "12.01" in error.message and "12.00" in error.message
    assert "[mapping.tax_codes]" in error.remedy
