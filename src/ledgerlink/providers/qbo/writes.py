"""How :class:`~ledgerlink.providers.qbo.ledger.QboLedger` carries out a list of writes.

1. The ledger turns every write into a :class:`Step` (entity, operation, body) before anything is
   sent; :class:`StepRunner` takes it from there.
2. Steps that need the record's current state (a version the engine does not know, a customer to
   reactivate, a cheque that may have been printed) read it first, with one ``Id IN (...)`` query
   per entity. What the state settles is answered without sending: a customer already active, a
   printed cheque that already holds the draft (or, when it does not, the CHEQUE_PRINTED refusal).
3. Creates, updates and deletes go out in ``/batch`` calls of at most 30, in input order, under a
   ``requestid`` derived from the items' keys (a resent batch replays instead of writing twice,
   §3.1, §4). Invoice voids go one by one with the item's key as ``requestid``.
4. An item refused with 5010 (stale SyncToken) is re-read and sent again alone, once: Clio owns
   these records, so its version wins (unless the fresh state settles it, as in 2). Any other
   refusal is that item's ApiError; a transport failure or a 429 of the whole call raises.

Assumptions:

- A printed cheque (``PrintStatus`` "PrintComplete", §2.13) is paper in someone's hand: ledgerlink
  never changes or deletes it. An update or link whose body the cheque already holds changes
  nothing, so it is answered with the cheque as it is instead of being refused.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, TypeVar

from ledgerlink.errors import ApiError, ConflictError, RateLimitedError, ValidationError
from ledgerlink.providers.qbo import translate
from ledgerlink.providers.qbo.client import MAX_BATCH_ITEMS, BatchItem, QboClient
from ledgerlink.providers.qbo.wire import bare_name
from ledgerlink.sync.ports import LedgerWrite, Written

CHEQUE_PRINTED = "CHEQUE_PRINTED"
# Entities whose current state decides whether an update or delete may be sent at all.
STATEFUL = frozenset({"Purchase"})

T = TypeVar("T")
Operation = Literal["create", "update", "reactivate", "delete", "void"]
Answer = Written | ApiError


def written(record: Mapping[str, Any], entity: str) -> Written:
    """The id and version QBO answered; for a customer also the customer as QBO now holds it."""
    customer = translate.ledger_customer(record, bare_name=True) if entity == "Customer" else None
    return Written(id=str(record["Id"]), version=version_of(record), customer=customer)


def version_of(record: Mapping[str, Any]) -> str | None:
    return str(record.get("SyncToken", "")) or None


@dataclass(frozen=True)
class Step:
    """One write as one QBO operation: ``fields`` is the body without ``Id``/``SyncToken``."""

    index: int
    key: str
    entity: str
    operation: Operation
    fields: Mapping[str, Any]
    target_id: str | None = None
    version: str | None = None

    @property
    def needs_current(self) -> bool:
        """Whether the record must be read first: its version is unknown, or its state decides the write."""
        if self.operation == "reactivate":
            return True
        return self.operation != "create" and (self.version is None or self.entity in STATEFUL)


def segments(writes: Sequence[LedgerWrite]) -> list[list[int]]:
    """Input positions grouped as sent: batches of at most 30 in order, each invoice void alone.

    Derived from the writes only (never from what a read found), so the same writes always form
    the same batches under the same requestids.
    """
    groups: list[list[int]] = []
    batch: list[int] = []
    for index, w in enumerate(writes):
        if w.op == "void":
            groups.extend([batch, [index]] if batch else [[index]])
            batch = []
            continue
        batch.append(index)
        if len(batch) == MAX_BATCH_ITEMS:
            groups.append(batch)
            batch = []
    return [*groups, batch] if batch else groups


def holds(record: Any, wanted: Any) -> bool:
    """Whether ``record`` already carries every value of ``wanted`` (a body QBO would apply sparsely)."""
    if isinstance(wanted, Mapping):
        return isinstance(record, Mapping) and all(
            name in record and holds(record[name], value) for name, value in wanted.items()
        )
    if isinstance(wanted, list | tuple):
        return (
            isinstance(record, list)
            and len(record) == len(wanted)
            and all(holds(have, want) for have, want in zip(record, wanted, strict=True))
        )
    return bool(record == wanted)


def cheque_printed(step: Step) -> ApiError:
    return ValidationError(
        f"Cheque {step.target_id} has been printed in QuickBooks; ledgerlink will not "
        f"{'delete' if step.operation == 'delete' else 'change'} it",
        status=0,
        code=CHEQUE_PRINTED,
    )


def against(step: Step, record: Mapping[str, Any]) -> Step | Answer:
    """The step as the record's current state makes it: carrying its version, or already answered."""
    if step.operation == "reactivate":
        if record.get("Active", True) is True:
            return written(record, step.entity)
        fields = {"Active": True, "DisplayName": bare_name(str(record.get("DisplayName", "")))}
        return replace(step, version=version_of(record), fields=fields)
    if step.entity == "Purchase" and record.get("PrintStatus") == translate.PRINT_COMPLETE:
        if step.operation == "update" and holds(record, step.fields):
            return written(record, step.entity)
        return cheque_printed(step)
    return replace(step, version=version_of(record))


class StepRunner:
    """Sends planned steps to one company: reads what they need, batches, retries stale items once."""

    def __init__(self, client: QboClient, *, computes_tax: Callable[[], bool]) -> None:
        self._client = client
        self._computes_tax = computes_tax

    def run(self, writes: Sequence[LedgerWrite], planned: Sequence[Step | ApiError]) -> list[Answer]:
        """Carry out ``planned`` (one step or refusal per write) in input order; one answer per write."""
        current = self._current([s for s in planned if isinstance(s, Step) and s.needs_current])
        answers: dict[int, Answer] = {}
        for segment in segments(writes):
            ready: dict[int, Step] = {}
            for index in segment:
                step = self._ready(planned[index], current)
                if isinstance(step, Step):
                    ready[index] = step
                else:
                    answers[index] = step
            if writes[segment[0]].op == "void":
                answers.update({index: self._void(step) for index, step in ready.items()})
            else:
                answers.update(self._send([writes[index].key for index in segment], segment, ready))
        return [answers[index] for index in range(len(writes))]

    def _current(self, steps: Sequence[Step]) -> dict[tuple[str, str], dict[str, Any] | ApiError]:
        """The current record behind each step that needs it: one query per entity, reads for the rest."""
        wanted: dict[str, list[str]] = {}
        for step in steps:
            if step.target_id is not None and step.target_id not in wanted.setdefault(step.entity, []):
                wanted[step.entity].append(step.target_id)
        found: dict[tuple[str, str], dict[str, Any] | ApiError] = {}
        for entity, ids in wanted.items():
            active = "Active IN (true, false)" if entity == "Customer" else None
            for row in self._client.query_in(entity, "Id", ids, where=active):
                found[(entity, str(row["Id"]))] = row
            for record_id in ids:
                if (entity, record_id) not in found:  # gone: let QBO say so (610) in its own words
                    found[(entity, record_id)] = guarded(partial(self._client.read, entity, record_id))
        return found

    @staticmethod
    def _ready(
        step: Step | ApiError, current: Mapping[tuple[str, str], dict[str, Any] | ApiError]
    ) -> Step | Answer:
        """The step with the version it must carry, or its answer when nothing is left to send."""
        if isinstance(step, ApiError) or not step.needs_current or step.target_id is None:
            return step
        record = current[(step.entity, step.target_id)]
        return record if isinstance(record, ApiError) else against(step, record)

    def _send(
        self, keys: Sequence[str], segment: Sequence[int], ready: Mapping[int, Step]
    ) -> dict[int, Answer]:
        """One ``/batch`` call for a segment's steps still to send; stale items are retried alone, once.

        The requestid and the bIds come from the whole segment, whatever is left to send in it: a
        repeated call then names the same batch and gets its first answers back (§3.1, §4).
        """
        steps = {f"b{position}": ready[index] for position, index in enumerate(segment) if index in ready}
        if not steps:
            return {}
        items = [batch_item(bid, step) for bid, step in steps.items()]
        results = self._client.batch(items, request_id=translate.batch_request_id(keys))
        answers: dict[int, Answer] = {}
        for result in results:
            step = steps[result.bid]
            if isinstance(result.error, ConflictError) and step.operation != "create":
                answers[step.index] = self._retry_stale(step)
            elif result.error is not None:
                answers[step.index] = result.error
            elif result.record is None:
                answers[step.index] = ApiError(
                    f"QuickBooks answered batch item {result.bid} without a record", status=200
                )
            else:
                answers[step.index] = self._answer(step, result.record)
        return answers

    def _void(self, step: Step) -> Answer:
        assert step.target_id is not None and step.version is not None
        target, version = step.target_id, step.version
        try:
            return self._answer(step, self._client.void_invoice(target, version, request_id=step.key))
        except ConflictError:
            return self._retry_stale(step)
        except RateLimitedError:
            raise
        except ApiError as error:
            return error

    def _retry_stale(self, step: Step) -> Answer:
        """Re-read a record that changed under us and send the same change again, alone (Clio wins)."""
        assert step.target_id is not None
        target, request_id = step.target_id, f"{step.key[:48]}-r"

        def again() -> Answer:
            fresh = against(step, self._client.read(step.entity, target))
            if not isinstance(fresh, Step):
                return fresh
            version = str(fresh.version)
            if step.operation == "delete":
                self._client.delete(step.entity, target, version, request_id=request_id)
                return Written(id=target, version=None)
            if step.operation == "void":
                return self._answer(step, self._client.void_invoice(target, version, request_id=request_id))
            body = {"Id": target, "SyncToken": version, **fresh.fields}
            return self._answer(step, self._client.update(step.entity, body, request_id=request_id))

        return guarded(again)

    def _answer(self, step: Step, record: Mapping[str, Any]) -> Written:
        if step.operation == "delete":
            return Written(id=str(record.get("Id") or step.target_id), version=None)
        answer = written(record, step.entity)
        if step.entity == "Invoice" and step.operation in ("create", "update") and self._computes_tax():
            return replace(answer, tax=translate.computed_tax(record))
        return answer


def batch_item(bid: str, step: Step) -> BatchItem:
    if step.operation == "create":
        return BatchItem.create(bid, step.entity, step.fields)
    if step.target_id is None or step.version is None:
        raise ValueError(f"a {step.operation} needs the record's id and version")
    if step.operation == "delete":
        return BatchItem.delete(bid, step.entity, step.target_id, step.version)
    return BatchItem.update(
        bid, step.entity, {"Id": step.target_id, "SyncToken": step.version, **step.fields}
    )


def guarded(call: Callable[[], T]) -> T | ApiError:
    """``call()``, or the ApiError QBO answered; a rate limit still stops the whole write."""
    try:
        return call()
    except RateLimitedError:
        raise
    except ApiError as error:
        return error
