"""The demo firm's QuickBooks company: chart of accounts, Products/Services, vendors, an employee, customers.

Names shared with the Clio half live in :mod:`ledgerlink.sandbox.demo_firm`. Two of them exist to
provoke the demo's per-record errors: a vendor named like a Clio client (6240 on create) and an
inactive customer ledgerlink must link to rather than duplicate. The chart holds the trust pair
Clio's trust sync needs (a Bank account of detail type TrustAccounts and an Other Current
Liability of detail type TrustAccountsLiabilities, reference §2.5) beside a plain checking
account, and the vendors include the court clerk trust cheques are written to.
"""

from __future__ import annotations

from ledgerlink.sandbox.demo_firm import (
    EXISTING_CUSTOMER_EMAIL,
    EXISTING_CUSTOMER_NAME,
    QBO_COMPANY_NAME,
    QBO_EMPLOYEE_NAME,
    QBO_ITEMS,
    QBO_REALM_ID,
    QBO_TRUST_BANK,
    QBO_TRUST_LIABILITY,
    QBO_VENDORS,
    TAX_ITEM,
    TRUST_CHEQUE_VENDOR,
)
from ledgerlink.sandbox.qbo import QboEmulator

LEGAL_FEE_INCOME = "Legal Fee Income"
REIMBURSED_EXPENSE_INCOME = "Reimbursed Expense Income"
SALES_TAX_PAYABLE = "Sales Tax Payable"
OPERATING_ACCOUNT = "Operating Checking"
TRUST_BANK_ACCOUNT = QBO_TRUST_BANK
TRUST_LIABILITY_ACCOUNT = QBO_TRUST_LIABILITY

# (Name, AccountType, AccountSubType); Undeposited Funds comes with every company (add_company).
ACCOUNTS = (
    (LEGAL_FEE_INCOME, "Income", "ServiceFeeIncome"),
    (REIMBURSED_EXPENSE_INCOME, "Income", "OtherPrimaryIncome"),
    ("Accounts Receivable", "Accounts Receivable", "AccountsReceivable"),
    (OPERATING_ACCOUNT, "Bank", "Checking"),
    (SALES_TAX_PAYABLE, "Other Current Liability", "SalesTaxPayable"),
)

# Every vendor of the demo company: the shared ones and the court clerk trust cheques are paid to.
VENDORS = tuple(dict.fromkeys((*QBO_VENDORS, TRUST_CHEQUE_VENDOR)))

# Items whose income is the recovery of costs rather than fees.
REIMBURSEMENT_ITEMS = frozenset({"Filing Fees", "Travel Expenses", "Reimbursable Expenses", "Expert Fees"})

# Active customers with nothing to do with the Clio demo firm: ledgerlink must leave them alone.
UNRELATED_CUSTOMERS = (
    {"DisplayName": "Bayside Yacht Club", "CompanyName": "Bayside Yacht Club"},
    {"DisplayName": "Greenleaf Nursery Supply", "CompanyName": "Greenleaf Nursery Supply"},
    {"DisplayName": "Tomasz Kowalczyk", "GivenName": "Tomasz", "FamilyName": "Kowalczyk"},
)


def add_trust_accounts(
    emu: QboEmulator,
    realm_id: str,
    *,
    bank: str = TRUST_BANK_ACCOUNT,
    liability: str = TRUST_LIABILITY_ACCOUNT,
    bank_detail: str = "TrustAccounts",
) -> tuple[str, str]:
    """Add a trust bank account and its trust liability account; return their ids (bank, liability).

    ``bank_detail`` is the bank account's detail type (AccountSubType): another Bank detail type
    such as ``"Checking"`` builds the misconfigured company a trust sync must refuse to post to.
    """
    bank_account = emu.add_account(realm_id, bank, "Bank", bank_detail)
    liability_account = emu.add_account(
        realm_id, liability, "Other Current Liability", "TrustAccountsLiabilities"
    )
    return str(bank_account["Id"]), str(liability_account["Id"])


def seed_qbo_demo(emu: QboEmulator) -> None:
    """Create the demo firm's QBO company in a fresh emulator."""
    realm = QBO_REALM_ID
    emu.add_company(realm, QBO_COMPANY_NAME, country="US")
    emu.set_preference(realm, "SalesFormsPrefs", "CustomTxnNumbers", True)
    emu.set_preference(realm, "TaxPrefs", "UsingSalesTax", False)

    account_ids: dict[str, str] = {}
    for name, account_type, sub_type in ACCOUNTS:
        account_ids[name] = str(emu.add_account(realm, name, account_type, sub_type)["Id"])
    add_trust_accounts(emu, realm)

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

    for vendor_name in VENDORS:
        emu.add_vendor(realm, vendor_name)

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
