"""Mapping checks: what ``[mapping]`` names exists in the ledger, is active and is of a usable type.

A sync looks Products/Services and accounts up by their exact name (``Name`` or, for a sub-item,
``FullyQualifiedName``), so these checks do too; a name that matches only when case or spacing is
ignored is a problem, shown with the ledger's spelling. Tax codes are looked up as a sync does
(:func:`ledgerlink.sync.tax.find_code`).

Assumptions:

- An invoice line can carry a Service, Non-inventory or Inventory item; a Category only groups
  items and a Group (bundle) is sold through a group line, so neither can stand on a sales line
  (qbo.md §2.4 lists the types; that these two cannot be sold on a line is an inference).
- Payments are deposited only to a Bank or Other Current Asset account (the sandbox refuses any
  other with 6000, as QuickBooks' own payment form offers only those).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ledgerlink.config import MappingConfig
from ledgerlink.doctor.model import MAPPING, Check, fail, ok, warn
from ledgerlink.domain import TaxSettings
from ledgerlink.providers.qbo.ledger import ListEntry
from ledgerlink.sync import tax
from ledgerlink.sync.ports import TaxCode, fold

LINE_ITEM_TYPES = ("Service", "NonInventory", "Inventory")
DEPOSIT_ACCOUNT_TYPES = ("Bank", "Other Current Asset")
ITEMS_SCREEN = "Sales → Products and services"
ACCOUNTS_SCREEN = "Accounting → Chart of accounts"


def _a(kind: str) -> str:
    """“a Category”, “an Income”: the article a type name takes."""
    kind = kind or "typeless"
    return f"{'an' if kind[0].lower() in 'aeiou' else 'a'} {kind}"


def _named(entries: Sequence[ListEntry], name: str) -> ListEntry | None:
    """The entry a sync would use for ``name``: exact Name or FullyQualifiedName, an active one first."""
    found = [e for e in entries if name in (e.name, e.full_name)]
    return next((e for e in found if e.active), found[0] if found else None)


def _spelled_like(entries: Sequence[ListEntry], name: str) -> str:
    near = next((e.full_name for e in entries if fold(name) in (fold(e.name), fold(e.full_name))), None)
    return f" (did you mean “{near}”? names must match exactly)" if near else ""


def item_problems(wanted: Mapping[str, str], items: Sequence[ListEntry], *, ledger_title: str) -> list[Check]:
    """One ✗ per mapped Product/Service that is missing, inactive or not sellable on an invoice line.

    ``wanted``: name → the config key naming it (:func:`ledgerlink.sync.mapping.configured_items`).
    """
    problems: list[Check] = []
    for name, key in sorted(wanted.items(), key=lambda pair: pair[1]):
        item = _named(items, name)
        what = f"Product/Service “{name}” ({key})"
        if item is None:
            problems.append(
                fail(
                    "mapping.items",
                    MAPPING,
                    f"{what} does not exist in {ledger_title}{_spelled_like(items, name)}",
                    f"create it in {ledger_title} ({ITEMS_SCREEN}) or fix {key} in the config",
                )
            )
        elif not item.active:
            problems.append(
                fail(
                    "mapping.items",
                    MAPPING,
                    f"{what} is inactive in {ledger_title}",
                    f"make it active again in {ledger_title} ({ITEMS_SCREEN}) or map another one in {key}",
                )
            )
        elif item.type not in LINE_ITEM_TYPES:
            problems.append(
                fail(
                    "mapping.items",
                    MAPPING,
                    f"{what} is {_a(item.type)} item, which cannot be sold on an invoice line",
                    f"map a Service (or Non-inventory) item in {key}",
                )
            )
    return problems


def account_problems(name: str, key: str, accounts: Sequence[ListEntry], *, ledger_title: str) -> list[Check]:
    """The payment account: missing, inactive, or not an account a payment can be deposited to."""
    account = _named(accounts, name)
    what = f"account “{name}” ({key})"
    if account is None:
        return [
            fail(
                "mapping.payment_account",
                MAPPING,
                f"{what} does not exist in {ledger_title}{_spelled_like(accounts, name)}",
                f"create it in {ledger_title} ({ACCOUNTS_SCREEN}) or fix {key} (leave it empty for "
                "Undeposited Funds)",
            )
        ]
    if not account.active:
        return [
            fail(
                "mapping.payment_account",
                MAPPING,
                f"{what} is inactive in {ledger_title}",
                f"make it active again in {ledger_title} or change {key}",
            )
        ]
    if account.type not in DEPOSIT_ACCOUNT_TYPES:
        return [
            fail(
                "mapping.payment_account",
                MAPPING,
                f"{what} is {_a(account.type)} account; payments can only be deposited to a "
                "Bank or Other Current Asset account",
                f"name a Bank or Other Current Asset account in {key} (or leave it empty for "
                "Undeposited Funds)",
            )
        ]
    return []


def tax_code_problems(
    mapping: MappingConfig, codes: Sequence[TaxCode], *, computes_tax: bool, ledger_title: str
) -> list[Check]:
    """``[mapping.tax_codes]``: each named code exists and is active where the ledger computes tax."""
    named = mapping.tax_codes.named()
    if not computes_tax:
        if not named:
            return []
        return [
            warn(
                "mapping.tax_codes",
                MAPPING,
                f"[mapping.tax_codes] is not used: this {ledger_title} company does not compute sales tax "
                "(a US company, or sales tax is off), so Clio's tax goes on mapping.tax lines",
                "remove [mapping.tax_codes] from the config, or turn sales tax on in QuickBooks Online if "
                "it should compute the tax",
            )
        ]
    if not named:
        return [
            fail(
                "mapping.tax_codes",
                MAPPING,
                f"[mapping.tax_codes] names no tax code, but this {ledger_title} company computes sales tax: "
                "every invoice line needs one",
                'map Clio\'s taxes to tax codes, e.g. [mapping.tax_codes] primary = "GST", exempt = "Exempt"',
            )
        ]
    problems: list[Check] = []
    for slot, name in named.items():
        code = tax.find_code(name, codes)
        where = f"[mapping.tax_codes] {slot}"
        if code is None:
            known = ", ".join(f"“{c.name}”" for c in codes if c.active) or "none"
            problems.append(
                fail(
                    "mapping.tax_codes",
                    MAPPING,
                    f"tax code “{name}” ({where}) is not a {ledger_title} tax code (active codes: {known})",
                    f"fix {where} in the config",
                )
            )
        elif not code.active:
            problems.append(
                fail(
                    "mapping.tax_codes",
                    MAPPING,
                    f"tax code “{name}” ({where}) is inactive in {ledger_title}",
                    f"make it active again in {ledger_title}'s sales tax settings or map another code",
                )
            )
    return problems


def mapping_summary(items: int, payment_account: str, tax_codes: int) -> Check:
    """The one ✓ line when nothing mapped is wrong."""
    parts = [f"{items} Product(s)/Service(s)"]
    parts.append(f"the payment account “{payment_account}”" if payment_account else "")
    parts.append(f"{tax_codes} tax code(s)" if tax_codes else "")
    shown = ", ".join(p for p in parts if p)
    return ok("mapping", MAPPING, f"mapping: {shown} exist, are active and of the right type")


def tax_rate_checks(
    clio: TaxSettings, mapping: MappingConfig, codes: Sequence[TaxCode], *, ledger_title: str
) -> list[Check]:
    """Clio's tax rates against the mapped codes' rates, as every pass checks them before writing."""
    problems = tax.check_tax_rates(clio, mapping.tax_codes, codes, ledger_title=ledger_title)
    if not problems:
        rates = f"{clio.primary_name} {clio.primary_rate.normalize():f}%"
        if clio.secondary_enabled:
            rates += f", {clio.secondary_name or 'secondary tax'} {clio.secondary_rate.normalize():f}%"
        return [
            ok("mapping.tax_rates", MAPPING, f"tax rates: the mapped tax codes charge Clio's rates ({rates})")
        ]
    remedy = (
        "make the rates equal on both sides (Clio's billing settings cannot be changed through its API) "
        "or map other tax codes in [mapping.tax_codes]; until then every sync stops before posting"
    )
    return [fail("mapping.tax_rates", MAPPING, sentence, remedy) for sentence in problems]
