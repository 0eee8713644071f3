"""The demo firm's QuickBooks company: chart of accounts, Products/Services, vendors, an employee, customers.

Names shared with the Clio half live in :mod:`ledgerlink.sandbox.demo_firm`. Two of them exist to
provoke the demo's per-record errors: a vendor named like a Clio client (6240 on create) and an
inactive customer ledgerlink must link to rather than duplicate.
"""

from __future__ import annotations

from ledgerlink.sandbox.demo_firm import (
    EXISTING_CUSTOMER_EMAIL,
    EXISTING_CUSTOMER_NAME,
    QBO_COMPANY_NAME,
    QBO_EMPLOYEE_NAME,
    QBO_ITEMS,
    QBO_REALM_ID,
    QBO_VENDORS,
    TAX_ITEM,
)
from ledgerlink.sandbox.qbo import QboEmulator

LEGAL_FEE_INCOME = "Legal Fee Income"
REIMBURSED_EXPENSE_INCOME = "Reimbursed Expense Income"
SALES_TAX_PAYABLE = "Sales Tax Payable"
OPERATING_ACCOUNT = "Operating Checking"
TRUST_BANK_ACCOUNT = "Client Trust Account (IOLTA)"
TRUST_LIABILITY_ACCOUNT = "Client Trust Liability"

# (Name, AccountType, AccountSubType); Undeposited Funds comes with every company (add_company).
ACCOUNTS = (
    (LEGAL_FEE_INCOME, "Income", "ServiceFeeIncome"),
    (REIMBURSED_EXPENSE_INCOME, "Income", "OtherPrimaryIncome"),
    ("Accounts Receivable", "Accounts Receivable", "AccountsReceivable"),
    (OPERATING_ACCOUNT, "Bank", "Checking"),
    (TRUST_BANK_ACCOUNT, "Bank", "TrustAccounts"),
    (TRUST_LIABILITY_ACCOUNT, "Other Current Liability", "TrustAccountsLiabilities"),
    (SALES_TAX_PAYABLE, "Other Current Liability", "SalesTaxPayable"),
)

# Items whose income is the recovery of costs rather than fees.
REIMBURSEMENT_ITEMS = frozenset({"Filing Fees", "Travel Expenses", "Reimbursable Expenses", "Expert Fees"})

# Active customers with nothing to do with the Clio demo firm: ledgerlink must leave them alone.
UNRELATED_CUSTOMERS = (
    {"DisplayName": "Bayside Yacht Club", "CompanyName": "Bayside Yacht Club"},
    {"DisplayName": "Greenleaf Nursery Supply", "CompanyName": "Greenleaf Nursery Supply"},
    {"DisplayName": "Tomasz Kowalczyk", "GivenName": "Tomasz", "FamilyName": "Kowalczyk"},
)


def seed_qbo_demo(emu: QboEmulator) -> None:
    """Create the demo firm's QBO company in a fresh emulator."""
    realm = QBO_REALM_ID
    emu.add_company(realm, QBO_COMPANY_NAME, country="US")
    emu.set_preference(realm, "SalesFormsPrefs", "CustomTxnNumbers", True)
    emu.set_preference(realm, "TaxPrefs", "UsingSalesTax", False)

    account_ids: dict[str, str] = {}
    for name, account_type, sub_type in ACCOUNTS:
        account = emu.add(
            realm, "Account", {"Name": name, "AccountType": account_type, "AccountSubType": sub_type}
        )
        account_ids[name] = account["Id"]

    for item_name in QBO_ITEMS:
        if item_name == TAX_ITEM:
            income = SALES_TAX_PAYABLE
        elif item_name in REIMBURSEMENT_ITEMS:
            income = REIMBURSED_EXPENSE_INCOME
        else:
            income = LEGAL_FEE_INCOME
        emu.add(
            realm,
            "Item",
            {"Name": item_name, "Type": "Service", "IncomeAccountRef": {"value": account_ids[income]}},
        )

    for vendor_name in QBO_VENDORS:
        emu.add(realm, "Vendor", {"DisplayName": vendor_name, "CompanyName": vendor_name})

    given, family = QBO_EMPLOYEE_NAME.split(" ", 1)
    emu.add(realm, "Employee", {"GivenName": given, "FamilyName": family, "DisplayName": QBO_EMPLOYEE_NAME})

    given, family = EXISTING_CUSTOMER_NAME.split(" ", 1)
    existing = emu.add(
        realm,
        "Customer",
        {
            "DisplayName": EXISTING_CUSTOMER_NAME,
            "GivenName": given,
            "FamilyName": family,
            "PrimaryEmailAddr": {"Address": EXISTING_CUSTOMER_EMAIL},
        },
    )
    emu.edit(realm, "Customer", existing["Id"], Active=False)

    for customer in UNRELATED_CUSTOMERS:
        emu.add(realm, "Customer", customer)
