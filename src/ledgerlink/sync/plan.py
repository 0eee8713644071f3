"""The plan of one pass: a list of Actions, computed before anything is written.

An Action says what ledgerlink will do with one source record and why. ``sync --dry-run`` prints
the plan; ``sync`` applies it. Flows build plans with pure functions; the engine applies them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from ledgerlink.errors import RecordError


class Op(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    LINK = "link"  # adopt an existing ledger record instead of creating a duplicate
    VOID = "void"  # the record was voided in Clio: void it in the ledger (it stays, at zero)
    DELETE = "delete"  # the record was deleted in Clio: delete it from the ledger
    SKIP = "skip"  # nothing to do (unchanged, out of scope)
    FAIL = "fail"  # this record cannot be synced; see error
    BLOCKED = "blocked"  # waiting on a parent record that failed


# Ops that write to the ledger.
WRITES = frozenset({Op.CREATE, Op.UPDATE, Op.LINK, Op.VOID, Op.DELETE})


@dataclass(frozen=True)
class Action:
    """One decision about one source record."""

    op: Op
    kind: str  # "contact", "invoice", ...
    source_id: str
    label: str  # how a bookkeeper recognises the record: "Bill 1043 (Dana Whitfield)"
    reason: str = ""
    payload: Any = None  # what to write: a flow-specific frozen value
    target_id: str | None = None  # the linked / matched ledger record
    content_hash: str | None = None
    error: RecordError | None = None
    notice: str | None = None  # said to the bookkeeper once done, e.g. "edited in QuickBooks; overwritten"


@dataclass
class Tally:
    """Counts of what a pass did, per kind."""

    counts: dict[str, Counter[str]] = field(default_factory=dict)

    def add(self, kind: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(kind, Counter())[outcome] += n

    def get(self, kind: str, outcome: str) -> int:
        return self.counts.get(kind, Counter())[outcome]

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {kind: dict(counter) for kind, counter in self.counts.items()}

    @property
    def writes(self) -> int:
        return sum(self.total(o) for o in ("created", "updated", "linked", "voided", "deleted"))


def _canonical(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _canonical(asdict(value))
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, StrEnum):
        return value.value
    return value


def content_hash(value: Any) -> str:
    """A stable hash of a record's content: equal content, equal hash, across processes."""
    text = json.dumps(_canonical(value), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]
