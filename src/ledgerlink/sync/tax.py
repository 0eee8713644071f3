"""Sales tax: how Clio's tax reaches the ledger, and the checks that keep both sides charging the same.

Which way depends on the ledger company (``LedgerSettings.computes_tax``):

- **US companies** do not get the tax computed by the ledger (QBO's US engine would recompute it from
  addresses and could differ from Clio's by design). As the product ledgerlink replaces does, the
  tax "comes over as an individual line item" on ``mapping.tax``: one line with the bill's whole
  tax (``aggregate_line_item_taxes``, Clio's default), or one line per taxed charge with the bill's
  rounding difference on the last one, so the invoice still ties to Clio's total to the cent.
- **Non-US companies**: Clio's TAX lines are dropped and every line carries the ledger tax code of
  its *slot* (which of Clio's taxes apply to it: primary, secondary, both or neither); the ledger
  computes the tax, and the engine compares it with what Clio charged (:func:`tax_mismatch_error`).
  :func:`check_tax_rates` warns when a mapped code's rate is not Clio's rate for that slot.

Assumptions:

- Clio's secondary tax is charged on the line amounts, like the primary tax (not on the amount plus
  the primary tax): the emulator's ``bill_totals`` computes it that way and the reference says
  nothing of how ``secondary_tax_rule`` changes the arithmetic.
- When Clio's secondary tax is switched off, Clio charges no secondary tax: the expected rate of
  the ``secondary`` slot is 0 and that of ``both`` is the primary rate.
- A ``[mapping.tax_codes]`` value names a ledger tax code by its name (case and spacing ignored) or,
  failing that, by its id.
- A bill whose lines carry no per-line tax (Clio sent none) but that has tax gets one tax line, as
  in the aggregated mode, even when per-line tax lines are asked for: there is nothing to spread.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from ledgerlink.config import TaxCodeMapping
from ledgerlink.domain import Invoice, InvoiceLine, LineKind, TaxSettings
from ledgerlink.errors import RecordError
from ledgerlink.sync.ports import LedgerSettings, TaxCode, fold

ZERO = Decimal("0.00")
SETTINGS_PATH = "Settings → Billing"


class TaxSlot(StrEnum):
    """Which of Clio's taxes apply to a line; the value is the ``[mapping.tax_codes]`` key."""

    PRIMARY = "primary"
    SECONDARY = "secondary"
    BOTH = "both"
    EXEMPT = "exempt"


@dataclass(frozen=True)
class TaxTreatment:
    """How the ledger company takes Clio's tax: as invoice lines (US) or as tax codes (non-US)."""

    computes_tax: bool = False
    aggregate_line_item_taxes: bool = True
    codes: tuple[TaxCode, ...] = ()

    @classmethod
    def of(cls, settings: LedgerSettings, *, aggregate_line_item_taxes: bool) -> TaxTreatment:
        return cls(settings.computes_tax, aggregate_line_item_taxes, settings.tax_codes)


def slot_of(line: InvoiceLine) -> TaxSlot:
    """The slot of a charge. Interest is never taxed by Clio, whatever its flags say."""
    if line.kind is LineKind.INTEREST:
        return TaxSlot.EXEMPT
    if line.taxable and line.secondary_taxable:
        return TaxSlot.BOTH
    if line.taxable:
        return TaxSlot.PRIMARY
    if line.secondary_taxable:
        return TaxSlot.SECONDARY
    return TaxSlot.EXEMPT


def charges(invoice: Invoice) -> tuple[InvoiceLine, ...]:
    """Every line of a bill except Clio's tax lines."""
    return tuple(line for line in invoice.lines if line.kind is not LineKind.TAX)


def _sum(amounts: Iterable[Decimal]) -> Decimal:
    return sum(amounts, ZERO)


# -- US: tax as invoice lines -------------------------------------------------------------------


def us_tax_lines(invoice: Invoice, *, aggregate: bool) -> tuple[InvoiceLine, ...]:
    """The bill's lines with Clio's tax lines regrouped: one in all, or one per taxed charge.

    The new tax lines stand where Clio's first tax line stood, and always add up to Clio's tax
    lines exactly (the bill's tax), so the invoice ties out to Clio's total.
    """
    clio_tax = [line for line in invoice.lines if line.kind is LineKind.TAX]
    if not clio_tax:
        return invoice.lines
    per_charge = () if aggregate else _per_charge_tax(invoice, _sum(t.amount for t in clio_tax))
    replacement = per_charge or (_one_tax_line(invoice, clio_tax),)
    lines: list[InvoiceLine] = []
    for line in invoice.lines:
        if line.kind is not LineKind.TAX:
            lines.append(line)
        elif line is clio_tax[0]:
            lines.extend(replacement)
    return tuple(lines)


def _one_tax_line(invoice: Invoice, clio_tax: Sequence[InvoiceLine]) -> InvoiceLine:
    """Clio's tax lines as one: a lone line is kept as it is ("Tax"); two become "GST + PST"."""
    if len(clio_tax) == 1:
        return clio_tax[0]
    total = _sum(t.amount for t in clio_tax)
    names = dict.fromkeys(t.description for t in clio_tax if t.description)
    return InvoiceLine(
        source_id=f"{invoice.source_id}:tax",
        kind=LineKind.TAX,
        description=" + ".join(names) or "Tax",
        amount=total,
        unit_price=total,
        date=clio_tax[0].date,
    )


def _per_charge_tax(invoice: Invoice, bill_tax: Decimal) -> tuple[InvoiceLine, ...]:
    """One "Tax on <charge>" line per taxed charge; the rounding difference goes on the last."""
    taxed = [line for line in charges(invoice) if line.tax + line.secondary_tax != 0]
    if not taxed:
        return ()
    lines = [
        InvoiceLine(
            source_id=f"{line.source_id}:tax",
            kind=LineKind.TAX,
            description=f"Tax on {line.description or f'charge {line.source_id}'}",
            amount=line.tax + line.secondary_tax,
            unit_price=line.tax + line.secondary_tax,
            date=line.date,
        )
        for line in taxed
    ]
    # Clio rounds the bill's tax once, on the sum of the taxable lines; rounding each line's tax
    # apart can drift a cent or two from it. The last line absorbs the drift.
    difference = bill_tax - _sum(line.amount for line in lines)
    if difference:
        last = lines[-1]
        lines[-1] = replace(last, amount=last.amount + difference, unit_price=last.amount + difference)
    return tuple(lines)


# -- non-US: tax codes --------------------------------------------------------------------------


def find_code(name: str, codes: Iterable[TaxCode]) -> TaxCode | None:
    """The ledger tax code a config value names: by name (folded), else by id."""
    codes = list(codes)
    wanted = fold(name)
    return next((c for c in codes if fold(c.name) == wanted), None) or next(
        (c for c in codes if c.id == name.strip()), None
    )


def codes_for(
    slots: Collection[TaxSlot], mapping: TaxCodeMapping, codes: Sequence[TaxCode], *, ledger_title: str
) -> dict[TaxSlot, TaxCode] | RecordError:
    """The ledger tax code of every slot a bill needs, or why a bill cannot be coded."""
    found: dict[TaxSlot, TaxCode] = {}
    problems: list[str] = []
    for slot in sorted(slots, key=list(TaxSlot).index):
        name = getattr(mapping, slot.value)
        code = find_code(name, codes) if name else None
        if not name:
            problems.append(
                f"no tax code is mapped for {_slot_words(slot)} ([mapping.tax_codes] {slot.value})"
            )
        elif code is None:
            problems.append(
                f"[mapping.tax_codes] {slot.value} names “{name}”, which is not a {ledger_title} tax code"
            )
        elif not code.active:
            problems.append(
                f"[mapping.tax_codes] {slot.value} names “{name}”, which is inactive in {ledger_title}"
            )
        else:
            found[slot] = code
    if problems:
        return RecordError(
            cause="unmapped_tax",
            message="This bill cannot be coded for tax: " + "; ".join(problems) + ".",
            remedy=f"Set the missing keys in the [mapping.tax_codes] section to active {ledger_title} tax "
            'codes (e.g. [mapping.tax_codes] primary = "GST"), then run sync again.',
            retryable=False,
        )
    return found


def _slot_words(slot: TaxSlot) -> str:
    return {
        TaxSlot.PRIMARY: "lines taxed with Clio's primary tax only",
        TaxSlot.SECONDARY: "lines taxed with Clio's secondary tax only",
        TaxSlot.BOTH: "lines taxed with both of Clio's taxes",
        TaxSlot.EXEMPT: "untaxed lines",
    }[slot]


def expected_rate(slot: TaxSlot, tax: TaxSettings) -> Decimal:
    """The percentage Clio charges on a line of this slot."""
    secondary = tax.secondary_rate if tax.secondary_enabled else Decimal("0")
    return {
        TaxSlot.PRIMARY: tax.primary_rate,
        TaxSlot.SECONDARY: secondary,
        TaxSlot.BOTH: tax.primary_rate + secondary,
        TaxSlot.EXEMPT: Decimal("0"),
    }[slot]


def _clio_tax_words(slot: TaxSlot, tax: TaxSettings) -> str:
    secondary = f"secondary tax “{tax.secondary_name or 'Secondary tax'}”"
    if not tax.secondary_enabled:
        secondary += " (switched off)"
    return {
        TaxSlot.PRIMARY: f"primary tax “{tax.primary_name}”",
        TaxSlot.SECONDARY: secondary,
        TaxSlot.BOTH: f"primary tax “{tax.primary_name}” plus {secondary}",
        TaxSlot.EXEMPT: "untaxed lines",
    }[slot]


def _percent(rate: Decimal) -> str:
    text = format(rate.normalize(), "f")
    return f"{text}%"


def check_tax_rates(
    tax: TaxSettings,
    mapping: TaxCodeMapping,
    codes: Sequence[TaxCode],
    *,
    ledger_title: str = "QuickBooks Online",
) -> list[str]:
    """One sentence per mapped tax code whose rate is not the rate Clio charges for its slot.

    Clio's billing settings are read-only in its API, so this only reports: the firm makes the
    rates equal (in Clio or by mapping another code). Slots not configured, or naming no code,
    are left to the bills that need them (cause ``unmapped_tax``).
    """
    sentences: list[str] = []
    for slot in TaxSlot:
        name = getattr(mapping, slot.value)
        code = find_code(name, codes) if name else None
        if code is None:
            continue
        want = expected_rate(slot, tax)
        if code.rate == want:
            continue
        sentences.append(
            f"The {ledger_title} tax code “{code.name}” ([mapping.tax_codes] {slot.value}) charges "
            f"{_percent(code.rate)}, but Clio charges {_percent(want)} for {_clio_tax_words(slot, tax)} "
            f"(Clio: {SETTINGS_PATH}). Invoices taxed with it will not match Clio's bills: make the rate in "
            f"Clio equal the {ledger_title} rate, or map a {ledger_title} code with Clio's rate."
        )
    return sentences


def tax_mismatch_error(
    label: str, clio_tax: Decimal, ledger_tax: Decimal, *, ledger_title: str = "QuickBooks Online"
) -> RecordError:
    """Why an invoice whose tax the ledger computed differently from Clio is not in order."""
    return RecordError(
        cause="tax_mismatch",
        message=f"{label}: {ledger_title} computed {ledger_tax} of tax, but Clio charged {clio_tax}; the "
        "invoice does not tie out to Clio's bill.",
        remedy=f"Make the rates of the tax codes in [mapping.tax_codes] equal Clio's ({SETTINGS_PATH}), "
        "then run sync again: the invoice is corrected on the next pass.",
    )
