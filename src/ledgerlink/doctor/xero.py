"""Doctor checks for a Xero target (seed 004): what the chart of accounts must hold, what Xero cannot do.

Pure functions over what was read: the mapped account codes Xero lacks (or cannot use), the
accounts the payment and hard-cost settings name, and the settings a bookkeeper should know about
(appending Clio ids to contact names; no trust sync into Xero).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from ledgerlink.config import Config
from ledgerlink.doctor.model import MAPPING, XERO, Check, fail, ok, warn
from ledgerlink.sync.ports import LedgerAccount

CODES_REMEDY = (
    "in Xero's chart of accounts give the account a code (Clio and ledgerlink only see accounts with a "
    "code), keep it active and of a revenue type, or fix the code in [mapping]"
)


def mapping_checks(wanted: Mapping[str, str], unusable: Collection[str]) -> list[Check]:
    """Every account code [mapping] names exists in Xero, is active and can take sales."""
    if not wanted:
        return [
            fail(
                "mapping.items",
                MAPPING,
                "[mapping] names no Xero account code: no bill can be posted",
                'map Clio\'s charges in the config, e.g. [mapping] time_entries = "200"',
            )
        ]
    problems = [
        fail(
            f"mapping.item.{code}",
            MAPPING,
            f"account code “{code}” ({wanted[code]}) is missing, archived, without a code or not a sales "
            "account in Xero",
            CODES_REMEDY,
        )
        for code in sorted(unusable)
    ]
    return problems or [ok("mapping.items", MAPPING, f"{len(wanted)} mapped account code(s) exist in Xero")]


def payment_account_check(config: Config, missing: bool) -> Check:
    """Seed 004: "Match Clio payments to Xero bank account"; empty is "None" (payments are not synced)."""
    code = config.mapping.payment_account
    if not code or not config.sync.payments:
        return warn(
            "mapping.payment_account",
            MAPPING,
            "payments are not synced to Xero (mapping.payment_account is empty: Clio's “None”)",
            "set mapping.payment_account to the code of the Xero bank account payments go into, "
            "if you want them",
        )
    if missing:
        return fail(
            "mapping.payment_account",
            MAPPING,
            f"payments: Xero has no active bank account with code “{code}”",
            "fix mapping.payment_account, or give the bank account that code in Xero's chart of accounts",
        )
    return ok("mapping.payment_account", MAPPING, f"payments go into Xero bank account {code}")


def hard_cost_checks(config: Config, accounts: Mapping[str, LedgerAccount]) -> list[Check]:
    """Seed 004's "Sync Hard Costs": a start date, a bank account to spend from, an expense account."""
    settings = config.xero.hard_costs
    if not settings.enabled:
        return []
    checks: list[Check] = []
    if settings.start_date is None:
        checks.append(
            fail(
                "xero.hard_costs.start_date",
                XERO,
                "hard costs: no start date ([xero.hard_costs] start_date)",
                "set the first day whose hard costs should become Spend Money in Xero",
            )
        )
    for key, code, wanted_type in (
        ("bank_account", settings.bank_account, "BANK"),
        ("expense_account", settings.expense_account, None),
    ):
        account = accounts.get(code) if code else None
        if account is None or not account.active:
            checks.append(
                fail(
                    f"xero.hard_costs.{key}",
                    XERO,
                    f"hard costs: [xero.hard_costs] {key} “{code}” is not an active Xero account code",
                    "name an account by its code in Xero's chart of accounts",
                )
            )
        elif wanted_type is not None and account.type != wanted_type:
            checks.append(
                fail(
                    f"xero.hard_costs.{key}",
                    XERO,
                    f"hard costs: account {code} ({account.name}) is a {account.type} account, "
                    "not a bank account",
                    "Spend Money comes out of a bank account: name a BANK account's code",
                )
            )
    if not checks:
        checks.append(
            ok(
                "xero.hard_costs",
                XERO,
                f"hard costs from {settings.start_date} become Spend Money from {settings.bank_account} to "
                f"{settings.expense_account}; every hard cost needs a vendor in Clio",
            )
        )
    return checks


def contact_name_check(config: Config) -> Check:
    """Xero refuses a second contact with the same name; appending the Clio id avoids it."""
    if config.xero.append_contact_id:
        return ok("xero.contact_ids", XERO, "Clio ids are appended to contact names (no same-name refusals)")
    return warn(
        "xero.contact_ids",
        XERO,
        "Clio ids are not appended to contact names: two Clio contacts with the same name cannot both be "
        "created in Xero",
        "set [xero] append_contact_id = true, or rename one of the contacts in Clio when Xero refuses it",
    )


def trust_check(config: Config) -> list[Check]:
    """Seed 004: Xero cannot receive trust/client account transactions."""
    if not config.trust.accounts:
        return []
    return [
        warn(
            "xero.trust",
            XERO,
            "trust accounts are not synced into Xero (a limitation of Xero)",
            "use `ledgerlink report trust` and Clio's trust reports to keep the trust records",
        )
    ]
