"""The floor: the fewest calls the rate limits allow for a first sync's work, and the time they take.

Clio is read in pages of at most 200 (reference/clio.md §1.4), one stream after another; QBO is
written in ``/batch`` calls of at most 30 operations (qbo.md §3.1); Xero in requests of at most 50
elements (xero.md §5). So, for a firm:

- Clio reads = Σ over the streams a first sync must read of max(1, ⌈records / 200⌉): contacts,
  bills, line items, the activities behind the lines, valid and voided allocations (payments and
  credit notes), trust bank accounts and transactions, plus the billing settings (one request).
  Trust is never synced into Xero (its config is refused), so a Xero sync reads no trust streams.
- QBO writes = ⌈records written / 30⌉ batch calls. QBO reads (the company's items, accounts and
  customers to match) are left out of the floor: they are few and not what binds.
- Xero calls: every call, read or write, counts against the organisation's 60 a minute and 5 in
  flight, so reads are in. Reads: the organisation, its chart of accounts, and one page each of
  its contacts and invoices to match against (a new organisation holds less than a page). Writes,
  per kind and operation: ⌈records / 50⌉ for contacts, invoices, payments and credit notes (a Clio
  payment of N bills is N Xero payments; the bench's pay one bill each), and one call per credit
  application: a credit note's allocations are their own call, not batchable across notes
  (xero.md §2.5). Spend Money (hard costs) is off in the bench's config, so it adds nothing.

Times, at ``scale`` (every rate multiplied by it): Clio ``reads / (50·scale)`` minutes; QBO
``batches / (40·scale)`` minutes (the batch limit binds long before 500 calls a minute does);
Xero ``calls / (60·scale)`` minutes, and with ``latency_ms`` per call no less than
``calls · latency / 5`` (never more than 5 in flight; concurrency is not scaled).
The floor is the larger of these — the binding limit — which assumes Clio is read while the
ledger is written; a pass that reads everything before it writes cannot go below their sum.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PAGE = 200
BATCH = 30
CLIO_PER_MINUTE = 50
QBO_BATCH_PER_MINUTE = 40
XERO_PER_MINUTE = 60
XERO_CONCURRENT = 5
XERO_ELEMENTS = 50
XERO_READS = 4  # organisation, chart of accounts, a page of contacts, a page of invoices
XERO_BATCHED = frozenset({"contact", "invoice", "payment", "credit_note"})
XERO_ONE_EACH = frozenset({"credit_application"})
WRITTEN = ("created", "updated", "linked", "voided", "deleted")  # the outcomes that were a write


def pages(records: int) -> int:
    return max(1, math.ceil(records / PAGE))


@dataclass(frozen=True)
class Floor:
    """The calls a first sync needs and the time each limit takes to allow them.

    ``ledger_calls``: QBO's ``/batch`` calls, or every Xero call. ``in_flight_seconds``: the time
    the ledger's concurrency limit allows them in at the run's latency (0 when not counted).
    """

    ledger: str
    clio_calls: int
    ledger_calls: int
    clio_seconds: float
    ledger_seconds: float
    in_flight_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """The binding limit's time (the two services used at once)."""
        return max(self.clio_seconds, self.ledger_seconds, self.in_flight_seconds)

    @property
    def binding(self) -> str:
        if self.clio_seconds >= max(self.ledger_seconds, self.in_flight_seconds):
            return "Clio"
        return self.ledger if self.ledger_seconds >= self.in_flight_seconds else f"{self.ledger} in flight"

    @property
    def serial_seconds(self) -> float:
        """Reading all of Clio, then writing all of the ledger."""
        return self.clio_seconds + max(self.ledger_seconds, self.in_flight_seconds)


def clio_reads(firm: dict[str, Any], *, trust: bool = True) -> int:
    """Fewest Clio requests that read what a first sync needs of ``firm`` (a FirmSize.as_dict())."""
    allocations = firm["payments"] + firm["credit_notes"]
    trust_reads = 1 + pages(firm["trust_transactions"]) if trust else 0  # bank accounts, transactions
    return (
        pages(firm["contacts"])
        + pages(firm["bills_total"])
        + pages(firm["line_items"])
        + pages(firm["activities"])
        + pages(allocations)  # allocations, valid and voided in one read
        + trust_reads
        + 1  # billing settings (tax)
    )


def clio_seconds(reads: int, scale: float) -> float:
    return reads / (CLIO_PER_MINUTE * scale) * 60


def qbo_floor(firm: dict[str, Any], written: int, scale: float) -> Floor:
    """The floor of a first sync of ``firm`` into QBO that wrote ``written`` records, at ``scale``."""
    clio = clio_reads(firm)
    batches = math.ceil(written / BATCH)
    qbo_seconds = batches / QBO_BATCH_PER_MINUTE / scale * 60
    return Floor("QBO", clio, batches, clio_seconds(clio, scale), qbo_seconds)


def xero_writes(tally: Mapping[str, Mapping[str, int]]) -> int:
    """Fewest Xero write calls for a pass's ``tally`` (kind → outcome → records)."""
    calls = 0
    for kind, outcomes in tally.items():
        for outcome in WRITTEN:
            records = outcomes.get(outcome, 0)
            if kind in XERO_ONE_EACH:
                calls += records
            elif kind in XERO_BATCHED:
                calls += math.ceil(records / XERO_ELEMENTS)
            elif records:
                raise ValueError(f"the Xero floor does not know how a {kind!r} is written")
    return calls


def xero_floor(
    firm: dict[str, Any], tally: Mapping[str, Mapping[str, int]], scale: float, latency_ms: float
) -> Floor:
    """The floor of a first sync of ``firm`` into Xero that wrote ``tally``, at ``scale`` and latency."""
    clio = clio_reads(firm, trust=False)
    calls = XERO_READS + xero_writes(tally)
    xero_seconds = calls / (XERO_PER_MINUTE * scale) * 60
    in_flight = calls * latency_ms / 1000 / XERO_CONCURRENT
    return Floor("Xero", clio, calls, clio_seconds(clio, scale), xero_seconds, in_flight)
