"""``python -m bench [--latency-ms N] [--json PATH]``: time the demo firm's first and second sync."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.first_sync import Benchmark, PassMeasure, run_first_sync


def _requests(measure: PassMeasure, service: str) -> str:
    """Requests to one service, with the 429s among them when there were any."""
    total, throttled = measure.requests.requests[service], measure.requests.throttled[service]
    return f"{total} ({throttled} × 429)" if throttled else str(total)


def render(bench: Benchmark) -> Table:
    """The passes as a table: what was written, how long it took, what it asked of each service."""
    s = bench.settings
    limits = (
        f"Clio {s.clio_rate_limit}/{s.clio_rate_window}s, QBO {s.qbo_per_second}/s and {s.qbo_per_minute}/min"
    )
    table = Table(
        title=f"First sync of the demo firm — {s.latency_ms} ms latency per request, {limits}",
        title_justify="left",
    )
    for column in ("pass", "records written", "seconds", "records/second", "Clio requests", "QBO requests"):
        table.add_column(column, justify="left" if column == "pass" else "right", no_wrap=True)
    for p in bench.passes:
        rate = "—" if p.records_per_second is None else f"{p.records_per_second:.1f}"
        table.add_row(
            p.name, str(p.written), f"{p.seconds:.1f}", rate, _requests(p, "clio"), _requests(p, "qbo")
        )
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--latency-ms", type=int, default=80, help="simulated latency per request (default 80, a WAN)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    args = parser.parse_args(argv)

    console = Console()
    if not console.is_terminal:
        # Under `make` or in CI the output is a pipe, which rich would squeeze into 80 columns.
        console = Console(width=110)
    with console.status("Syncing the demo firm twice against the sandbox…"):
        bench = run_first_sync(latency_ms=args.latency_ms)
    console.print(render(bench))
    if args.json:
        args.json.write_text(json.dumps(bench.as_dict(), indent=2) + "\n", encoding="utf-8")
        console.print(f"Results written to {args.json}")


if __name__ == "__main__":
    main()
