"""Which ledger Product/Service each kind of Clio charge is posted to.

Resolution order for a line: its category's own mapping, then the default for its kind
(time entries / expense entries), else the line is unmapped and its bill cannot be synced.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledgerlink.config import MappingConfig
from ledgerlink.domain import InvoiceLine, LineKind


@dataclass(frozen=True)
class Unmapped:
    """Why a line has no Product/Service, and the config key that would fix it."""

    what: str  # "expense category “Courier”"
    key: str  # 'mapping.expense_categories."Courier"'
    example: str  # a line of TOML to add


def _toml_key(name: str) -> str:
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# Stands for the value to write in an example config line; the flows name it for the ledger.
PLACEHOLDER = "<Product/Service name>"


def item_for(line: InvoiceLine, mapping: MappingConfig) -> str | Unmapped:
    """The Product/Service name for ``line``, or why there is none."""
    if line.kind is LineKind.TIME:
        per_category, default, table, noun = (
            mapping.activity_categories,
            mapping.time_entries,
            "activity_categories",
            "activity category",
        )
    elif line.kind is LineKind.EXPENSE:
        per_category, default, table, noun = (
            mapping.expense_categories,
            mapping.expense_entries,
            "expense_categories",
            "expense category",
        )
    else:
        single = {
            LineKind.TAX: mapping.tax,
            LineKind.INTEREST: mapping.interest,
            LineKind.DISCOUNT: mapping.discount,
        }[line.kind]
        if single:
            return single
        key = f"mapping.{line.kind.value}"
        return Unmapped(f"{line.kind.value} lines", key, f'{line.kind.value} = "{PLACEHOLDER}"')
    if line.category and line.category in per_category:
        return per_category[line.category]
    if default:
        return default
    if line.category:
        key = f"mapping.{table}.{_toml_key(line.category)}"
        return Unmapped(
            f"{noun} “{line.category}”",
            key,
            f'[mapping.{table}] {_toml_key(line.category)} = "{PLACEHOLDER}"',
        )
    default_key = "time_entries" if line.kind is LineKind.TIME else "expense_entries"
    return Unmapped(
        f"{line.kind.value} entries without a category",
        f"mapping.{default_key}",
        f'{default_key} = "{PLACEHOLDER}"',
    )


def configured_items(mapping: MappingConfig) -> dict[str, str]:
    """Every Product/Service name the config mentions, with the key path that names it."""
    found: dict[str, str] = {}
    for key in ("time_entries", "expense_entries", "tax", "interest", "discount", "credit_notes"):
        value = getattr(mapping, key)
        if value:
            found.setdefault(value, f"mapping.{key}")
    for table in ("activity_categories", "expense_categories"):
        for category, item in getattr(mapping, table).items():
            found.setdefault(item, f"mapping.{table}.{_toml_key(category)}")
    return found


def configured_accounts(mapping: MappingConfig) -> dict[str, str]:
    """Every ledger account name the config mentions, with the key path that names it."""
    return {mapping.payment_account: "mapping.payment_account"} if mapping.payment_account else {}
