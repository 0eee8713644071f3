"""What a doctor check says: ✓ (fine), ✗ (a sync would fail or post wrongly) or ! (worth knowing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ok", "fail", "warn"]

SETUP = "Setup"
BOOKS = "QuickBooks Online"
XERO = "Xero"
MAPPING = "Mapping"
CONTACTS = "Contacts"
STORE = "Store"
# The order the sections are shown in, whatever order the checks ran in.
SECTIONS = (SETUP, BOOKS, XERO, MAPPING, CONTACTS, STORE)


@dataclass(frozen=True)
class Check:
    """One line of `ledgerlink doctor`; ``check`` is a stable name scripts can key on (``--json``)."""

    status: Status
    title: str
    remedy: str = ""
    section: str = SETUP
    check: str = ""


def ok(check: str, section: str, title: str) -> Check:
    return Check("ok", title, section=section, check=check)


def fail(check: str, section: str, title: str, remedy: str) -> Check:
    return Check("fail", title, remedy, section=section, check=check)


def warn(check: str, section: str, title: str, remedy: str = "") -> Check:
    return Check("warn", title, remedy, section=section, check=check)


def by_section(checks: list[Check]) -> list[tuple[str, list[Check]]]:
    """The checks grouped by section in the order of SECTIONS (unknown sections last), empty ones left out."""
    order = list(SECTIONS) + [c.section for c in checks if c.section not in SECTIONS]
    groups = [(name, [c for c in checks if c.section == name]) for name in dict.fromkeys(order)]
    return [(name, group) for name, group in groups if group]


def exit_code(checks: list[Check]) -> int:
    """0 when nothing failed (warnings do not fail), 1 otherwise."""
    return 1 if any(c.status == "fail" for c in checks) else 0
