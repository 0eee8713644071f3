"""The demo firm's Xero organisation: its chart of accounts and the account codes the demo maps to.

The demo firm maps its Clio charges to QBO Products/Services by name
(:mod:`ledgerlink.sandbox.demo_firm`); a Xero target maps the same charges to **account codes**.
:data:`XERO_DEMO_MAPPING` gives, for every Product/Service name the demo maps in QBO, the code of
the Xero account standing for it, so the demo's config for Xero is the QBO one with codes.

The chart is the sandbox's default chart (:func:`ledgerlink.sandbox.xero_records.default_accounts`)
plus a law firm's income accounts, a sales-tax liability, an expense account and a second bank
account for hard costs (Spend Money).

Assumptions:

- Collected sales tax is a liability (CURRLIAB), as a US firm books it when the ledger does not
  compute tax; reimbursed expenses are income (OTHERINCOME), credit notes a contra-revenue
  account (REVENUE).
"""

from __future__ import annotations

from typing import Any

from ledgerlink.sandbox import demo_firm as firm

XERO_DEMO_PAYMENT_ACCOUNT = "090"  # Business Bank Account (the default chart's bank)
XERO_DEMO_HARD_COST_BANK = "091"  # Operating Account: hard costs are paid from it
XERO_DEMO_HARD_COST_EXPENSE = "493"  # Client Disbursements

# (code, name, Type, TaxType): added to the default chart in the demo organisation.
DEMO_ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("091", "Operating Account", "BANK", "NONE"),
    ("210", "Legal Fees", "REVENUE", "NONE"),
    ("215", "Court Appearance Fees", "REVENUE", "NONE"),
    ("220", "Interest Income", "OTHERINCOME", "NONE"),
    ("230", "Discounts & Credits Given", "REVENUE", "NONE"),
    ("240", "Filing Fees Recovered", "OTHERINCOME", "NONE"),
    ("241", "Travel Recovered", "OTHERINCOME", "NONE"),
    ("242", "Reimbursable Expenses Recovered", "OTHERINCOME", "NONE"),
    ("243", "Expert Fees Recovered", "OTHERINCOME", "NONE"),
    ("820", "Sales Tax Payable", "CURRLIAB", "NONE"),
    ("493", "Client Disbursements", "EXPENSE", "NONE"),
)

XERO_DEMO_MAPPING: dict[str, str] = {
    firm.TIME_ITEM: "210",
    firm.ACTIVITY_ITEM_MAP["Court Appearance"]: "215",
    firm.INTEREST_ITEM: "220",
    firm.CREDIT_ITEM: "230",
    firm.TAX_ITEM: "820",
    firm.EXPENSE_ITEM_MAP["Filing Fees"]: "240",
    firm.EXPENSE_ITEM_MAP["Travel"]: "241",
    firm.EXPENSE_ITEM_MAP["Photocopies"]: "242",
    firm.EXPENSE_ITEM_MAP["Expert Witness"]: "243",
}


def demo_accounts() -> list[dict[str, Any]]:
    """The accounts the demo organisation has beyond the default chart, as ``store_account`` takes them."""
    return [
        {"Code": code, "Name": name, "Type": kind, "TaxType": tax} for code, name, kind, tax in DEMO_ACCOUNTS
    ]


__all__ = [
    "DEMO_ACCOUNTS",
    "XERO_DEMO_HARD_COST_BANK",
    "XERO_DEMO_HARD_COST_EXPENSE",
    "XERO_DEMO_MAPPING",
    "XERO_DEMO_PAYMENT_ACCOUNT",
    "demo_accounts",
]
