"""`ledgerlink errors`, `retry` and `skip`: the records that did not sync, why, and what to do.

`errors` lists each open error under the id `retry` and `skip` take, with what it holds up (the
open errors whose parent it is). `retry` runs a pass at once for the records named and says which
are fixed; `skip` parks one so passes stop sending and retrying it (its dependants stay blocked).
Parked errors are listed apart and do not make `errors` exit 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from ledgerlink.auth.tokens import provider_name
from ledgerlink.cli import output
from ledgerlink.cli.context import app_context
from ledgerlink.cli.sync import StopFlag
from ledgerlink.errors import UserError
from ledgerlink.store import Store, SyncError
from ledgerlink.sync import triage

app = typer.Typer()

LEDGER_TITLE = "QuickBooks Online"


@app.command("errors")
def errors(
    ctx: typer.Context,
    kind: Annotated[
        str | None,
        typer.Option("--kind", metavar="KIND", help=f"Only one kind of record: {', '.join(triage.KINDS)}."),
    ] = None,
    parked: Annotated[bool, typer.Option("--parked", help="Only the errors parked with `skip`.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the records that failed or are blocked: id, cause, remedy, attempts and what each blocks.

    Exit 1 if any listed error is not parked (parked ones, set aside with `skip`, do not count).
    """
    if kind is not None and kind not in triage.KINDS:
        raise UserError(
            f"There is no kind of record “{kind}”.",
            remedy=f"Use --kind with one of: {', '.join(triage.KINDS)}.",
        )
    with app_context(ctx).workspace() as workspace:
        everything = workspace.store.open_errors()
    blocks = triage.blocked_by_each(everything)
    found = [e for e in everything if (kind is None or e.kind == kind) and (e.parked or not parked)]
    failing = [e for e in found if not e.parked]
    set_aside = [e for e in found if e.parked]
    if as_json:
        output.emit_json([_as_json(e, blocks[e.id]) for e in failing + set_aside])
    elif not found:
        what = "parked errors" if parked else "open errors"
        output.console.print(f"No {what}{f' of kind {kind}' if kind else ''}: nothing needs attention.")
    else:
        if failing:
            _error_list(failing, blocks, title=f"{len(failing)} record(s) need attention")
        if set_aside:
            _error_list(
                set_aside,
                blocks,
                title=f"{len(set_aside)} parked by you: not sent or retried until `ledgerlink retry <id>`",
            )
    raise typer.Exit(1 if failing else 0)


@app.command("retry")
def retry(
    ctx: typer.Context,
    ids: Annotated[
        list[int] | None,
        typer.Argument(metavar="ID", help="Error ids from `ledgerlink errors`.", show_default=False),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every open error that is not parked.")] = False,
) -> None:
    """Try records again now (parked ones are taken back): one pass, then which are fixed.

    Exit code: that of the pass (0 clean, 1 with record errors, 3 systemic).
    """
    if bool(ids) == every:
        raise UserError(
            "Say which errors to retry: their ids, or --all (not both).",
            remedy="Run `ledgerlink errors` for the ids, then `ledgerlink retry ID...` "
            "or `ledgerlink retry --all`.",
        )
    stop = StopFlag()
    stop.install()
    with app_context(ctx).workspace() as workspace:
        store = workspace.store
        chosen = store.open_errors(parked=False) if every else _open_by_ids(store, ids or [])
        if not chosen:
            output.console.print("No open errors to retry (parked ones are retried by id).")
            raise typer.Exit(0)
        retried = [store.request_retry(e.id) for e in chosen]
        result = workspace.sync_once(should_stop=stop)
        company = workspace.connection(workspace.target).name
        title = provider_name(workspace.target)
        output.pass_summary(result, ledger_title=title, company=company, list_problems=False)
        now_open = store.open_errors()
    output.console.print(f"Retried {len(retried)} record(s):")
    for error in retried:
        verdict, current = triage.retry_verdict(error, now_open, result.run_id)
        head = f"  #{error.id} {error.label}: "
        if verdict == "fixed":
            output.console.print(head + "fixed", markup=False)
        elif current is not None and verdict == "still failing":
            output.console.print(f"{head}still failing: {current.cause} — {current.message}", markup=False)
            output.console.print(f"    what to do: {current.remedy}", markup=False)
        else:
            output.console.print(
                head + "not tried: this pass did not reach it (it is still in `ledgerlink errors`)",
                markup=False,
            )
    if every and (left := _parked_count(now_open)):
        output.console.print(f"{left} parked error(s) left as they are; retry them by id.")
    raise typer.Exit(result.exit_code)


@app.command("skip")
def skip(
    ctx: typer.Context,
    error_id: Annotated[int, typer.Argument(metavar="ID", help="Error id from `ledgerlink errors`.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is set aside (shown with the error).")],
) -> None:
    """Park one error: its record is no longer sent or retried, until `ledgerlink retry ID`."""
    reason = reason.strip()
    if not reason:
        raise UserError(
            "The reason is empty.", remedy='Say why the record is set aside: --reason "handled by hand".'
        )
    with app_context(ctx).workspace() as workspace:
        store = workspace.store
        [error] = _open_by_ids(store, [error_id])
        if error.kind in triage.UNPARKABLE:
            raise UserError(
                f"Error #{error.id} ({error.label}) is about a trust transaction, and those are not parked: "
                "a later disbursement is checked against the client's balance counting on it being in "
                f"{LEDGER_TITLE}, so leaving it out could overdraw the client there.",
                remedy=f"Fix what the error says, then `ledgerlink retry {error.id}`.",
            )
        again = error.parked
        parked = store.park_error(error.id, reason)
        held_up = triage.dependants(parked, store.open_errors())
    verb = "Still parked, with the new reason" if again else "Parked"
    output.console.print(f"{verb}: #{parked.id} {parked.label} [{parked.cause}]: “{reason}”.", markup=False)
    output.console.print(
        "Passes no longer send or retry it, and `ledgerlink errors` lists it apart (it does not make the "
        "exit code 1).",
        markup=False,
    )
    if held_up:
        output.console.print(f"These stay blocked while it is parked ({len(held_up)}):", markup=False)
        for child in held_up:
            output.console.print(f"  #{child.id} {child.label}", markup=False)
    else:
        output.console.print("Nothing else is waiting on it.", markup=False)
    output.console.print(f"To take it back: ledgerlink retry {parked.id}", markup=False)


def _parked_count(errors: Sequence[SyncError]) -> int:
    return sum(1 for e in errors if e.parked)


def _open_by_ids(store: Store, ids: Sequence[int]) -> list[SyncError]:
    """The open errors with these ids, in the order given; a usage error naming any that is not open."""
    found = {i: store.error(i) for i in dict.fromkeys(ids)}
    unknown = [str(i) for i, e in found.items() if e is None]
    closed = [e for e in found.values() if e is not None and e.resolved_at is not None]
    if unknown:
        raise UserError(
            f"There is no error with id {', '.join(unknown)}.",
            remedy="Run `ledgerlink errors` for the ids of the open errors.",
        )
    if closed:
        which = ", ".join(f"#{e.id} ({e.label})" for e in closed)
        raise UserError(
            f"Error {which} is already resolved: its record synced or needs nothing any more.",
            remedy="Run `ledgerlink errors` for the ids of the open errors.",
        )
    return [e for e in found.values() if e is not None]


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else ""


def _as_json(error: SyncError, blocks: Sequence[SyncError]) -> dict[str, Any]:
    return {
        **asdict(error),
        "parked": error.parked,
        "blocks": [{"id": e.id, "label": e.label} for e in blocks],
    }


def _error_list(found: Sequence[SyncError], blocks: dict[int, list[SyncError]], *, title: str) -> None:
    """The errors as a table on a terminal, plain indented lines otherwise (cron mail, grep)."""
    if output.is_rich():
        table = Table(title=title, title_justify="left", show_lines=True)
        for name in ("id", "record", "cause", "what happened", "what to do", "attempts", "blocks"):
            table.add_column(name, overflow="fold", justify="right" if name == "id" else "left")
        for e in found:
            what = e.message if not e.parked else f"parked by you: {e.parked_reason}\n{e.message}"
            seen = f"{e.attempts}\nfirst {_when(e.first_seen)}\nlast {_when(e.last_seen)}"
            held_up = "\n".join(child.label for child in blocks[e.id])
            table.add_row(
                *(escape(cell) for cell in (str(e.id), e.label, e.cause, what, e.remedy, seen, held_up))
            )
        output.console.print(table)
        return
    output.console.print(f"{title}:", markup=False)
    for e in found:
        lines = [f"  #{e.id} {e.label} [{e.cause}]"]
        if e.parked:
            lines.append(f"    parked by you: {e.parked_reason} (since {_when(e.parked_at)})")
        lines += [
            f"    {e.message}",
            f"    what to do: {e.remedy}",
            f"    attempts: {e.attempts}, first seen {_when(e.first_seen)}, last seen {_when(e.last_seen)}",
        ]
        if blocks[e.id]:
            lines.append(f"    blocks: {'; '.join(f'#{c.id} {c.label}' for c in blocks[e.id])}")
        for line in lines:
            output.console.print(line, markup=False)
