"""QuickBooks Online settings seed 000 asks for, and invoice numbers that would collide with Clio's.

Seed 000 ("QuickBooks Online Suggested Settings") asks for two settings before linking, and for
Clio's first bill number to be above the last QuickBooks invoice number, "because both systems
will automatically number your first invoice as number 1".

Assumptions:

- The reference documents no API field for "Warn me when I enter a bill number that's already been
  used" (qbo.md §2.15 lists the Preferences read; none is that setting), so it cannot be checked:
  doctor always shows it as "!" with the seed's steps rather than guess a field.
- Clio's API does not expose the next bill number (clio.md §3.8 lists the billing settings); it is
  taken as one above the highest plain-number bill Clio has. Numbers with letters ("INV-7") are
  not compared on either side.
- A QuickBooks invoice that ledgerlink created is linked in the store (link kind ``invoice``); any
  other invoice was numbered outside ledgerlink and may collide.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

from ledgerlink.doctor.model import BOOKS, Check, fail, ok, warn

CUSTOM_NUMBERS_STEPS = (
    "in QuickBooks Online: Settings (gear) → Account and Settings → Sales → Sales form content (pencil) → "
    "tick “Custom transaction numbers” → Save"
)
BILL_NUMBER_WARNING_STEPS = (
    "in QuickBooks Online: Settings (gear) → Account and Settings → Advanced → Other preferences (pencil) → "
    "tick “Warn me when I enter a bill number that's already been used for that supplier” → Save"
)
NEXT_NUMBER_SETTING = "Clio Settings → Billing"
SHOWN_NUMBERS = 5


def custom_numbers_check(custom_numbers: bool, *, ledger_title: str) -> Check:
    """Without custom transaction numbers QuickBooks renumbers every invoice: ledgerlink creates none."""
    if custom_numbers:
        return ok("qbo.custom_numbers", BOOKS, "Custom transaction numbers is on")
    return fail(
        "qbo.custom_numbers",
        BOOKS,
        f"Custom transaction numbers is off: {ledger_title} would number invoices itself, so no bill can be "
        "synced with Clio's number",
        CUSTOM_NUMBERS_STEPS,
    )


def bill_number_warning_check() -> Check:
    return warn(
        "qbo.duplicate_bill_warning",
        BOOKS,
        "“Warn me when I enter a bill number that's already been used” cannot be checked through the API",
        BILL_NUMBER_WARNING_STEPS + " (seed 000 asks for it; check it by hand)",
    )


def plain_number(text: str) -> int | None:
    """The number a document number is, when it is only digits ("1042"); None for "INV-7"."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() else None


def numbering_check(
    clio_numbers: Iterable[str],
    ledger_invoices: Mapping[str, str],
    ours: Collection[str],
    *,
    ledger_title: str,
) -> Check:
    """Whether an invoice numbered outside ledgerlink sits at or above Clio's next bill number.

    ``ledger_invoices``: ledger invoice id → number; ``ours``: the ids ledgerlink created (linked).
    Such an invoice makes the Clio bill that later gets its number fail as ``duplicate_number``.
    """
    clio_numbers = list(clio_numbers)
    clio = [n for n in map(plain_number, clio_numbers) if n is not None]
    if clio_numbers and not clio:
        return warn(
            "qbo.numbering",
            BOOKS,
            f"bill numbers: Clio's bills are not numbered with plain numbers (e.g. “{clio_numbers[0]}”), so "
            f"they were not compared with {ledger_title}'s invoice numbers",
            f"make sure no {ledger_title} invoice has a number Clio will give a bill",
        )
    highest = max(clio, default=0)
    next_number = highest + 1
    theirs = sorted(
        {
            n
            for id_, number in ledger_invoices.items()
            if id_ not in ours and (n := plain_number(number)) is not None
        }
    )
    clashing = [n for n in theirs if n >= next_number]
    clio_words = f"Clio's highest bill number is {highest}" if clio else "Clio has no bills yet"
    if clashing:
        shown = ", ".join(map(str, clashing[:SHOWN_NUMBERS])) + (
            " …" if len(clashing) > SHOWN_NUMBERS else ""
        )
        return fail(
            "qbo.numbering",
            BOOKS,
            f"bill numbers: {ledger_title} has {len(clashing)} invoice(s) numbered {next_number} or above "
            f"({shown}) that ledgerlink did not create, and {clio_words}: the Clio bills that get those "
            "numbers will collide with them and not sync",
            f"set Clio's next bill number to {clashing[-1] + 1} in {NEXT_NUMBER_SETTING}",
        )
    if not theirs:
        return ok(
            "qbo.numbering",
            BOOKS,
            f"bill numbers: no {ledger_title} invoice was numbered outside ledgerlink; {clio_words}",
        )
    return ok(
        "qbo.numbering",
        BOOKS,
        f"bill numbers: Clio's next bill number ({next_number}) is above every other {ledger_title} invoice "
        f"number (highest {theirs[-1]})",
    )
