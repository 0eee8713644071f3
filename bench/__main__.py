"""``python -m bench [--bills N ...] [--target T] [--scale S] [--latency-ms L] [--json P] [--markdown P]``.

For each firm size and each ledger (QuickBooks Online, Xero, or both: the same generated firm):
one run under the rate limits (scaled by ``--scale``) for calls, wall time and the floor, and one
run with every limit and latency off for ledgerlink's own CPU time and peak RSS. Each run is its
own process (:mod:`bench.run`), with the sandbox in another (:mod:`bench.serve`).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.floor import Floor, qbo_floor, xero_floor

TARGETS = {"qbo": ("qbo",), "xero": ("xero",), "both": ("qbo", "xero")}
LEDGERS = {"qbo": "QBO", "xero": "Xero"}
COLUMNS = (
    "bills",
    "ledger",
    "Clio calls / floor",
    "ledger calls / floor",
    "429s",
    "wall s",
    "floor s",
    "wall/floor",
    "CPU ms/bill",
    "peak RSS MB",
    "idle pass",
)


def measured_run(
    bills: int,
    *,
    target: str,
    seed: int,
    scale: float,
    latency_ms: int,
    unlimited: bool,
    store_dir: Path | None,
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.run", "--bills", str(bills), "--seed", str(seed)]
    command += ["--target", target, "--scale", str(scale), "--latency-ms", str(latency_ms)]
    command += ["--unlimited"] if unlimited else []
    command += ["--store-dir", str(store_dir)] if store_dir else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[1:])} failed with exit code {done.returncode}")
    out = done.stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def ledger_floor(limited: dict[str, Any]) -> Floor:
    """The floor of the limited run's first pass, for the ledger it synced into."""
    first = limited["passes"][0]
    if limited["target"] == "xero":
        return xero_floor(limited["firm"], first["tally"], limited["scale"], limited["latency_ms"])
    return qbo_floor(limited["firm"], first["written"], limited["scale"])


def write_calls(target: str, paths: dict[str, int]) -> int:
    """The calls that wrote: QBO's ``/batch`` calls, Xero's PUTs, POSTs and DELETEs."""
    if target == "xero":
        return sum(
            v for k, v in paths.items() if k.startswith(("PUT /xero/", "POST /xero/", "DELETE /xero/"))
        )
    return sum(v for k, v in paths.items() if k.endswith("/batch"))


def summarize(limited: dict[str, Any], unlimited: dict[str, Any]) -> dict[str, Any]:
    """One row of the table, from the limited and the unlimited run of one firm into one ledger."""
    first, idle = limited["passes"]
    free_first = unlimited["passes"][0]
    target = limited["target"]
    bound = ledger_floor(limited)
    requests = first["requests"]
    return {
        "bills": limited["bills"],
        "target": target,
        "ledger": bound.ledger,
        "firm": limited["firm"],
        "scale": limited["scale"],
        "latency_ms": limited["latency_ms"],
        "written": first["written"],
        "tally": first["tally"],
        "clio_calls": requests.get("clio", 0),
        "clio_floor_calls": bound.clio_calls,
        "ledger_calls": requests.get(target, 0),
        "ledger_write_calls": write_calls(target, first["paths"]),
        "ledger_floor_calls": bound.ledger_calls,
        "ledger_max_in_flight": first[f"max_{target}_in_flight"],
        "throttled": first["throttled"],
        "wall_seconds": first["seconds"],
        "floor_seconds": bound.seconds,
        "floor_binding": bound.binding,
        "floor_clio_seconds": bound.clio_seconds,
        "floor_ledger_seconds": bound.ledger_seconds,
        "floor_in_flight_seconds": bound.in_flight_seconds,
        "wall_over_floor": first["seconds"] / bound.seconds,
        "cpu_ms_per_bill": free_first["cpu_seconds"] * 1000 / limited["bills"],
        "cpu_seconds_unlimited": free_first["cpu_seconds"],
        "wall_seconds_unlimited": free_first["seconds"],
        "peak_rss_mb": max(limited["peak_rss_mb"], unlimited["peak_rss_mb"]),
        "store_dir": limited["store_dir"],
        "idle_seconds": idle["seconds"],
        "idle_requests": idle["requests"],
        "idle_paths": idle["paths"],
        "runs": {"limited": limited, "unlimited": unlimited},
    }


def _cells(row: dict[str, Any]) -> list[str]:
    idle, ledger = row["idle_requests"], row["ledger"]
    throttled = ", ".join(f"{k} {v}" for k, v in sorted(row["throttled"].items())) or "0"
    writes = "batch" if row["target"] == "qbo" else "writes"
    return [
        f"{row['bills']:,}",
        ledger,
        f"{row['clio_calls']} / {row['clio_floor_calls']}",
        f"{row['ledger_calls']} ({row['ledger_write_calls']} {writes}) / {row['ledger_floor_calls']}",
        throttled,
        f"{row['wall_seconds']:.1f}",
        f"{row['floor_seconds']:.1f} ({row['floor_binding']})",
        f"{row['wall_over_floor']:.2f}",
        f"{row['cpu_ms_per_bill']:.2f}",
        f"{row['peak_rss_mb']:.0f}",
        f"Clio {idle.get('clio', 0)}, {ledger} {idle.get(row['target'], 0)}; {row['idle_seconds']:.2f} s",
    ]


def limits(scale: float, targets: set[str]) -> str:
    """The scaled limits of the services in the table, for its title."""
    named = [f"Clio {50 * scale:g}/min"]
    if "qbo" in targets:
        named.append(f"QBO /batch {40 * scale:g}/min × 30 ops, 10 concurrent")
    if "xero" in targets:
        named.append(f"Xero {60 * scale:g}/min × 50 elements, 5 concurrent, no daily budget")
    return "; ".join(named)


def render(rows: list[dict[str, Any]]) -> Table:
    scale = rows[0]["scale"] if rows else 1
    latency_ms, store_dir = (rows[0]["latency_ms"], rows[0]["store_dir"]) if rows else (0, "?")
    targets = {row["target"] for row in rows}
    table = Table(
        title=f"First sync and idle pass — limits × {scale:g} ({limits(scale, targets)}), "
        f"latency {latency_ms} ms, store in {store_dir}",
        title_justify="left",
    )
    for column in COLUMNS:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(*_cells(row))
    return table


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
        ram = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except OSError:
        ram = "?"
    import os

    return {"nproc": str(os.cpu_count()), "cpu": cpu, "ram": ram, "python": platform.python_version()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--bills", type=int, action="append", help="firm size in bills (repeatable; default 1000 and 10000)"
    )
    parser.add_argument("--seed", type=int, default=20261204, help="the firm generator's seed")
    parser.add_argument(
        "--target", choices=tuple(TARGETS), default="both", help="the ledger synced into (default both)"
    )
    parser.add_argument(
        "--scale", type=float, default=10.0, help="multiply every rate limit by this (default 10)"
    )
    parser.add_argument("--latency-ms", type=int, default=0, help="simulated latency per request (default 0)")
    parser.add_argument(
        "--store-dir", type=Path, help="directory of the SQLite store (default $TMPDIR; /dev/shm: no fsync)"
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON to PATH")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the table as Markdown")
    args = parser.parse_args(argv)

    console = Console()
    if not console.is_terminal:
        console = Console(width=160)  # under `make` the output is a pipe
    rows = []
    for bills in args.bills or [1000, 10000]:
        for target in TARGETS[args.target]:
            common: dict[str, Any] = {
                "target": target,
                "seed": args.seed,
                "scale": args.scale,
                "latency_ms": args.latency_ms,
                "store_dir": args.store_dir,
            }
            into = f"{bills:,} bills into {LEDGERS[target]}"
            with console.status(f"{into}: first sync and idle pass under the limits…"):
                limited = measured_run(bills, unlimited=False, **common)
            with console.status(f"{into}: again with every limit off, for CPU time and RSS…"):
                unlimited = measured_run(bills, unlimited=True, **common)
            rows.append(summarize(limited, unlimited))
            console.print(render(rows))
    if args.json:
        payload = {"machine": machine(), "rows": rows}
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"Results written to {args.json}")
    if args.markdown:
        args.markdown.write_text(markdown(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
