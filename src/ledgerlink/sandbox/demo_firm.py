"""Names shared by the Clio and QBO halves of the seeded demo firm.

The demo firm deliberately provokes two per-record errors: an expense category with no
Product/Service mapping, and a Clio client whose name is already a QBO vendor.
"""

from __future__ import annotations

FIRM_NAME = "Hartwell & Osei LLP"
CLIO_ACCOUNT_ID = "1001"
QBO_REALM_ID = "9130357766450196"
QBO_COMPANY_NAME = "Hartwell & Osei LLP (Books)"

# Clio activity categories (activity_descriptions) and expense categories of the demo firm.
ACTIVITY_CATEGORIES = ("Research", "Court Appearance", "Drafting", "Client Meeting", "Correspondence")
EXPENSE_CATEGORIES = ("Filing Fees", "Travel", "Photocopies", "Expert Witness", "Process Server Fees")
# The one expense category the demo config leaves unmapped.
UNMAPPED_EXPENSE_CATEGORY = "Process Server Fees"

# QBO Products/Services (Type=Service) of the demo company, and what the demo config maps to them.
QBO_ITEMS = (
    "Legal Services",
    "Court Appearances",
    "Filing Fees",
    "Travel Expenses",
    "Reimbursable Expenses",
    "Expert Fees",
    "Sales Tax",
    "Interest Charges",
    "Discounts & Credits",
)
TIME_ITEM = "Legal Services"
ACTIVITY_ITEM_MAP = {"Court Appearance": "Court Appearances"}
EXPENSE_ITEM_MAP = {
    "Filing Fees": "Filing Fees",
    "Travel": "Travel Expenses",
    "Photocopies": "Reimbursable Expenses",
    "Expert Witness": "Expert Fees",
}
TAX_ITEM = "Sales Tax"
INTEREST_ITEM = "Interest Charges"
CREDIT_ITEM = "Discounts & Credits"
# Every n-th unpaid bill with a balance gets a courtesy credit note in Clio (the demo shows credits).
CREDIT_NOTE_EVERY = 9

# A Clio client whose name a QBO vendor already holds (QBO fault 6240 on create).
VENDOR_CONFLICT_NAME = "Metro Court Reporters LLC"
# A Clio client that already exists in QBO as an (inactive) customer: ledgerlink must link, not duplicate.
EXISTING_CUSTOMER_NAME = "Dana Whitfield"
EXISTING_CUSTOMER_EMAIL = "dana.whitfield@example.com"
# A QBO employee (DisplayName unique across lists applies to employees too).
QBO_EMPLOYEE_NAME = "Priya Raman"
QBO_VENDORS = (VENDOR_CONFLICT_NAME, "City Courier Co", "State Bar Association")

# Xero: the organisations (tenants) the sandbox's one Xero user can connect, and that user.
XERO_ORG_NAME = "Hartwell & Osei LLP (Xero)"
XERO_ORG_TENANT_ID = "4f5c6b1e-2d3a-4e8f-9a0b-1c2d3e4f5a6b"
XERO_TRUST_ORG_NAME = "Hartwell & Osei Trust Co"
XERO_TRUST_ORG_TENANT_ID = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
XERO_USER_ID = "0d6f1c2b-7e8a-4b9c-a1d2-e3f4a5b6c7d8"

# Trust: the Clio trust account and the QBO trust bank / trust liability pair it is posted to, and
# the vendor a trust cheque is written to ("Pay to:" on the disbursement).
CLIO_TRUST_ACCOUNT = "IOLTA Trust Account"
QBO_TRUST_BANK = "Client Trust Account"
QBO_TRUST_LIABILITY = "Client Trust Liability"
TRUST_CHEQUE_VENDOR = "Superior Court Clerk"
TRUST_START_DATE = "2026-01-01"
