"""End to end: a Canadian firm (GST 5 % + PST 7 %) whose QuickBooks computes the tax from tax codes.

The Clio emulator computes each bill's taxes the way Clio does; the QBO emulator computes them from
the tax codes ledgerlink puts on each line. Over 200 generated bills every invoice must tie out to
Clio's total to the cent, and QuickBooks' tax must equal Clio's.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledgerlink.domain import money
from ledgerlink.errors import MappingMissingError
from ledgerlink.sandbox import Sandbox, SandboxState
from tests.conftest import fast_settings
from tests.scenarios.small_firm import SmallFirm, build_small_firm

TAX_CODES = """
[mapping.tax_codes]
primary = "GST"
secondary = "PST"
both = "GST/PST"
exempt = "Exempt"
"""


def canadian_firm(box: Sandbox, workdir: Path, *, pst: str = "7") -> SmallFirm:
    firm = build_small_firm(box, workdir, country="CA", extra=TAX_CODES)
    qbo, realm = box.qbo, firm.realm
    gst = qbo.add_tax_rate(realm, "GST", "5")
    pst_rate = qbo.add_tax_rate(realm, "PST (BC)", pst)
    zero = qbo.add_tax_rate(realm, "Zero-rated", "0")
    qbo.add_tax_code(realm, "GST", [gst])
    qbo.add_tax_code(realm, "PST", [pst_rate])
    qbo.add_tax_code(realm, "GST/PST", [gst, pst_rate])
    qbo.add_tax_code(realm, "Exempt", [zero])
    box.clio.set_billing_settings(
        tax_name="GST", tax_rate=Decimal(5), use_secondary_tax=True, secondary_tax_name="PST",
        secondary_tax_rate=Decimal(7), currency="CAD",
    )  # fmt: skip
    return firm


charge = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("4000"), places=2)
bill_shapes = st.tuples(
    st.lists(st.tuples(charge, st.booleans(), st.booleans()), min_size=1, max_size=5),  # (amount, GST?, PST?)
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bills=st.lists(bill_shapes, min_size=200, max_size=200))
def test_two_hundred_taxed_bills_tie_out_to_the_cent(
    tmp_path_factory: pytest.TempPathFactory, bills: list
) -> None:
    with Sandbox(SandboxState(settings=fast_settings()), seed="empty") as box:
        firm = canadian_firm(box, tmp_path_factory.mktemp("ca"))
        client = firm.client("Chloé", "Tremblay", "chloe@example.ca")
        created = []
        for (charges,) in bills:
            bill = firm.bill(client, hours=(), tax_rate="5", secondary_tax_rate="7")
            for amount, gst, pst in charges:
                box.clio.add_line_item(
                    bill=bill["id"], kind="Service", description="Advice", quantity=Decimal(1), price=amount,
                    taxable=gst, secondary_taxable=pst,
                )  # fmt: skip
            created.append(firm.clio_bill(bill["id"]))

        result = firm.sync()

        assert result.problems == []
        invoices = {i["DocNumber"]: i for i in firm.qbo("Invoice")}
        for bill in created:
            invoice = invoices[bill["number"]]
            assert money(invoice["TotalAmt"]) == money(bill["total"]), bill["number"]
            assert money(invoice["TxnTaxDetail"]["TotalTax"]) == money(bill["total_tax"]), bill["number"]


def test_a_rate_that_differs_from_clio_stops_the_pass_before_posting(
    empty_sandbox: Sandbox, tmp_path: Path
) -> None:
    firm = canadian_firm(empty_sandbox, tmp_path, pst="7.5")
    client = firm.client("Chloé", "Tremblay")
    firm.bill(client, taxable=True, secondary_taxable=True, tax_rate="5", secondary_tax_rate="7")

    with pytest.raises(MappingMissingError) as raised:
        firm.sync()

    assert "7.5" in str(raised.value) and "7" in str(raised.value)
    assert "Settings" in str(raised.value) or "Billing" in raised.value.remedy
    assert firm.qbo("Invoice") == []


def test_an_unmapped_tax_combination_fails_only_its_bill(empty_sandbox: Sandbox, tmp_path: Path) -> None:
    firm = canadian_firm(empty_sandbox, tmp_path)
    firm.config_path.write_text(firm.config_path.read_text().replace('secondary = "PST"', 'secondary = ""'))
    client = firm.client("Chloé", "Tremblay")
    pst_only = firm.bill(client, secondary_taxable=True, tax_rate="5", secondary_tax_rate="7")
    plain = firm.bill(client, tax_rate="5", secondary_tax_rate="7")

    result = firm.sync()

    [(action, error)] = result.problems
    assert action.source_id == str(pst_only["id"]) and error.cause == "unmapped_tax"
    assert "mapping.tax_codes" in error.remedy or "mapping.tax_codes" in error.message
    assert money(firm.invoice(plain["number"])["TotalAmt"]) == money(plain["total"])
