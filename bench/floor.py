"""The floor: the fewest calls the rate limits allow for a first sync's work, and the time they take.

Clio is read in pages of at most 200 (reference/clio.md §1.4), one stream after another; QBO is
written in ``/batch`` calls of at most 30 operations (qbo.md §3.1). So, for a firm:

- Clio reads = Σ over the streams a first sync must read of max(1, ⌈records / 200⌉): contacts,
  bills, line items, the activities behind the lines, valid and voided allocations (payments and
  credit notes), trust bank accounts and transactions, plus the billing settings (one request).
- QBO writes = ⌈records written / 30⌉ batch calls. QBO reads (the company's items, accounts and
  customers to match) are left out of the floor: they are few and not what binds.

Times, at ``scale`` (every rate multiplied by it): Clio ``reads / (50·scale)`` minutes; QBO
``batches / (40·scale)`` minutes (the batch limit binds long before 500 calls a minute does).
The floor is the larger of the two — the binding limit — which assumes Clio is read while QBO
is written; a pass that reads everything before it writes cannot go below their sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

PAGE = 200
BATCH = 30
CLIO_PER_MINUTE = 50
QBO_BATCH_PER_MINUTE = 40


def pages(records: int) -> int:
    return max(1, math.ceil(records / PAGE))


@dataclass(frozen=True)
class Floor:
    clio_calls: int
    qbo_batches: int
    clio_seconds: float
    qbo_seconds: float

    @property
    def seconds(self) -> float:
        """The binding limit's time (the two services used at once)."""
        return max(self.clio_seconds, self.qbo_seconds)

    @property
    def binding(self) -> str:
        return "Clio" if self.clio_seconds >= self.qbo_seconds else "QBO"

    @property
    def serial_seconds(self) -> float:
        """Reading all of Clio, then writing all of QBO."""
        return self.clio_seconds + self.qbo_seconds


def clio_reads(firm: dict[str, Any]) -> int:
    """Fewest Clio requests that read what a first sync needs of ``firm`` (a FirmSize.as_dict())."""
    allocations = firm["payments"] + firm["credit_notes"]
    return (
        pages(firm["contacts"])
        + pages(firm["bills_total"])
        + pages(firm["line_items"])
        + pages(firm["activities"])
        + pages(allocations)  # valid allocations
        + 1  # voided allocations (none in a fresh firm: one empty page)
        + 1  # trust bank accounts
        + pages(firm["trust_transactions"])
        + 1  # billing settings (tax)
    )


def floor(firm: dict[str, Any], written: int, scale: float) -> Floor:
    """The floor of a first sync of ``firm`` that wrote ``written`` records, at ``scale``."""
    clio = clio_reads(firm)
    batches = math.ceil(written / BATCH)
    clio_seconds = clio / (CLIO_PER_MINUTE * scale) * 60
    qbo_seconds = batches / QBO_BATCH_PER_MINUTE / scale * 60
    return Floor(clio, batches, clio_seconds, qbo_seconds)
