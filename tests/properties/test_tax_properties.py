"""Tax properties: whatever the bill, the ledger's tax equals Clio's to the cent.

Bills are generated with Clio's primary tax at 5% and secondary tax at 7%, random taxable flags
and amounts; Clio's side is computed by the emulator's own arithmetic (``bill_totals``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from ledgerlink.config import MappingConfig, TaxCodeMapping
from ledgerlink.domain import Invoice, LineKind
from ledgerlink.sync.flows.invoices import draft_invoice
from ledgerlink.sync.ports import InvoiceDraft
from ledgerlink.sync.tax import TaxTreatment, us_tax_lines
from tests.factories import clio_bill, tax_codes, taxed_line

CENT = Decimal("0.01")
MAPPING = MappingConfig(
    time_entries="Legal Services",
    tax="Sales Tax",
    interest="Interest Charges",
    tax_codes=TaxCodeMapping(primary="GST", secondary="PST", both="GST/PST", exempt="Exempt"),
)
# The rates each of tax_codes() charges, as QBO holds them: a combined code is its rates together.
RATES_OF_CODE = {"3": (Decimal("5"),), "4": (Decimal("7"),), "5": (Decimal("5"), Decimal("7")), "6": ()}
NON_US = TaxTreatment(computes_tax=True, codes=tax_codes())

charge = st.tuples(
    st.integers(min_value=0, max_value=2_000_000).map(lambda cents: Decimal(cents) / 100),
    st.booleans(),
    st.booleans(),
)


@st.composite
def bills(draw: st.DrawFn) -> Invoice:
    charges = [
        taxed_line(str(n), str(amount), taxable=primary, secondary_taxable=secondary)
        for n, (amount, primary, secondary) in enumerate(draw(st.lists(charge, min_size=1, max_size=15)))
    ]
    interest = draw(st.sampled_from(["0.00", "0.00", "1.25", "17.40"]))
    return clio_bill(charges, interest=interest)


def qbo_tax(draft: InvoiceDraft) -> Decimal:
    """Tax as QBO computes it: per rate, the rounded rate of the sum of the lines coded with it."""
    rates = sorted({rate for code in RATES_OF_CODE.values() for rate in code})
    total = Decimal("0.00")
    for rate in rates:
        net = sum(
            (m.line.amount for m in draft.lines if rate in RATES_OF_CODE[m.tax_code or ""]), Decimal("0.00")
        )
        total += (net * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return total


@settings(max_examples=300, deadline=None)
@given(bills())
def test_non_us_tax_computed_by_the_ledger_from_the_coded_lines_equals_clios(bill: Invoice) -> None:
    draft = draft_invoice(bill, "C1", MAPPING, max_number=21, tax=NON_US)
    assert isinstance(draft, InvoiceDraft), draft
    assert draft.expected_tax == bill.total_tax
    assert qbo_tax(draft) == bill.total_tax
    assert sum((m.line.amount for m in draft.lines), Decimal("0.00")) + draft.expected_tax == bill.total


@settings(max_examples=300, deadline=None)
@given(bills())
def test_us_per_charge_tax_lines_always_add_up_to_clios_tax(bill: Invoice) -> None:
    lines = us_tax_lines(bill, aggregate=False)
    taxes = [line for line in lines if line.kind is LineKind.TAX]
    assert sum((t.amount for t in taxes), Decimal("0.00")) == bill.total_tax
    assert sum((line.amount for line in lines), Decimal("0.00")) == bill.total
    taxed = [c for c in bill.lines if c.kind is not LineKind.TAX and c.tax + c.secondary_tax != 0]
    assert len(taxes) == (len(taxed) or (1 if bill.total_tax else 0))


@settings(max_examples=200, deadline=None)
@given(bills())
def test_us_aggregated_tax_is_one_line_with_clios_whole_tax(bill: Invoice) -> None:
    draft = draft_invoice(bill, "C1", MAPPING, max_number=21)
    assert isinstance(draft, InvoiceDraft), draft
    taxes = [m for m in draft.lines if m.line.kind is LineKind.TAX]
    assert [m.line.amount for m in taxes] == ([bill.total_tax] if bill.total_tax else [])
    assert all(m.item == "Sales Tax" for m in taxes)
    assert sum((m.line.amount for m in draft.lines), Decimal("0.00")) == bill.total
