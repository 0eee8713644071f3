"""What the QBO → Clio hard-cost import needs of QuickBooks Online (seed 002), checked by `doctor`.

Seed 002: the import needs QuickBooks Online Plus or Advanced and "Track expenses and items by
customer" turned on; the account chosen in Clio's setting must be one the firm's expenses are
entered on. The reference (qbo.md §2.15) names the preference ``VendorAndPurchasesPrefs.
TrackingByCustomer`` (with ``BillableExpenseTracking`` beside it).

Assumptions: the plan (Plus/Advanced) is not readable from the API fields the reference lists, so
the preference stands for it (it is an option of those plans). An "expense-type" account is one
whose AccountType is Expense, Other Expense or Cost of Goods Sold.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ledgerlink.config import HardCostImportConfig
from ledgerlink.doctor.model import BOOKS, Check, fail, ok
from ledgerlink.sync.ports import LedgerAccount

TRACK_BY_CUSTOMER_STEPS = (
    "in QuickBooks Online (Plus or Advanced): Settings (gear) → Account and Settings → Expenses → "
    "Bills and expenses → turn on “Track expenses and items by customer” → Save → Done"
)
EXPENSE_TYPES = frozenset({"Expense", "Other Expense", "Cost of Goods Sold"})


def hard_cost_checks(
    settings: HardCostImportConfig, purchase_prefs: Mapping[str, Any], account: LedgerAccount | None
) -> list[Check]:
    """✓/✗ for the preference and the account the import reads; nothing when the import is off."""
    if not settings.enabled:
        return []
    checks: list[Check] = []
    if purchase_prefs.get("TrackingByCustomer") is True:
        checks.append(ok("import.track_by_customer", BOOKS, "“Track expenses and items by customer” is on"))
    else:
        checks.append(
            fail(
                "import.track_by_customer",
                BOOKS,
                "“Track expenses and items by customer” is off: expenses cannot be tagged with a customer, "
                "so no hard cost can be imported",
                TRACK_BY_CUSTOMER_STEPS,
            )
        )
    name = settings.qbo_account
    if not name or account is None or not account.active:
        checks.append(
            fail(
                "import.hard_cost_account",
                BOOKS,
                f"the hard-cost account '{name}' is not an active QuickBooks Online account"
                if name
                else "[import.hard_costs] qbo_account is not set",
                "set [import.hard_costs] qbo_account to the expense account your hard costs are entered on "
                "(e.g. “Reimbursable Expenses”), or create it in QuickBooks Online",
            )
        )
    elif account.type not in EXPENSE_TYPES:
        checks.append(
            fail(
                "import.hard_cost_account",
                BOOKS,
                f"the hard-cost account '{name}' is a {account.type} account, not an expense account",
                "choose an Expense (or Other Expense / Cost of Goods Sold) account in "
                "[import.hard_costs] qbo_account",
            )
        )
    else:
        checks.append(ok("import.hard_cost_account", BOOKS, f"hard costs are imported from '{name}'"))
    return checks
