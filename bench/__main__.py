"""``python -m bench [--bills N ...] [--scale S] [--latency-ms L] [--json PATH] [--markdown PATH]``.

For each firm size: one run under the rate limits (scaled by ``--scale``) for calls, wall time and
the floor, and one run with every limit and latency off for ledgerlink's own CPU time and peak
RSS. Each run is its own process (:mod:`bench.run`), with the sandbox in another (:mod:`bench.serve`).
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

from bench.floor import Floor, floor

COLUMNS = (
    "bills",
    "Clio calls / floor",
    "QBO calls / floor",
    "429s",
    "wall s",
    "floor s",
    "wall/floor",
    "CPU ms/bill",
    "peak RSS MB",
    "idle pass",
)


def measured_run(
    bills: int, *, seed: int, scale: float, latency_ms: int, unlimited: bool, store_dir: Path | None
) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.run", "--bills", str(bills), "--seed", str(seed)]
    command += ["--scale", str(scale), "--latency-ms", str(latency_ms)]
    command += ["--unlimited"] if unlimited else []
    command += ["--store-dir", str(store_dir)] if store_dir else []
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-4000:])
        raise SystemExit(f"{' '.join(command[1:])} failed with exit code {done.returncode}")
    out = done.stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def summarize(limited: dict[str, Any], unlimited: dict[str, Any]) -> dict[str, Any]:
    """One row of the table, from the limited and the unlimited run of one firm."""
    first, idle = limited["passes"]
    free_first = unlimited["passes"][0]
    scale = limited["scale"]
    bound: Floor = floor(limited["firm"], first["written"], scale)
    requests = first["requests"]
    return {
        "bills": limited["bills"],
        "firm": limited["firm"],
        "scale": scale,
        "latency_ms": limited["latency_ms"],
        "written": first["written"],
        "tally": first["tally"],
        "clio_calls": requests.get("clio", 0),
        "clio_floor_calls": bound.clio_calls,
        "qbo_calls": requests.get("qbo", 0),
        "qbo_batch_calls": sum(v for k, v in first["paths"].items() if k.endswith("/batch")),
        "qbo_floor_calls": bound.qbo_batches,
        "throttled": first["throttled"],
        "wall_seconds": first["seconds"],
        "floor_seconds": bound.seconds,
        "floor_binding": bound.binding,
        "floor_clio_seconds": bound.clio_seconds,
        "floor_qbo_seconds": bound.qbo_seconds,
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
    idle = row["idle_requests"]
    throttled = ", ".join(f"{k} {v}" for k, v in sorted(row["throttled"].items())) or "0"
    return [
        f"{row['bills']:,}",
        f"{row['clio_calls']} / {row['clio_floor_calls']}",
        f"{row['qbo_calls']} ({row['qbo_batch_calls']} batch) / {row['qbo_floor_calls']}",
        throttled,
        f"{row['wall_seconds']:.1f}",
        f"{row['floor_seconds']:.1f} ({row['floor_binding']})",
        f"{row['wall_over_floor']:.2f}",
        f"{row['cpu_ms_per_bill']:.2f}",
        f"{row['peak_rss_mb']:.0f}",
        f"Clio {idle.get('clio', 0)}, QBO {idle.get('qbo', 0)}; {row['idle_seconds']:.2f} s",
    ]


def render(rows: list[dict[str, Any]]) -> Table:
    scale = rows[0]["scale"] if rows else 1
    table = Table(
        title=f"First sync and idle pass — limits × {scale:g} (Clio {50 * scale:g}/min, QBO /batch "
        f"{40 * scale:g}/min × 30 ops, 10 concurrent), latency {rows[0]['latency_ms'] if rows else 0} ms, "
        f"store in {rows[0]['store_dir'] if rows else '?'}",
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
        common: dict[str, Any] = {
            "seed": args.seed,
            "scale": args.scale,
            "latency_ms": args.latency_ms,
            "store_dir": args.store_dir,
        }
        with console.status(f"{bills:,} bills: first sync and idle pass under the limits…"):
            limited = measured_run(bills, unlimited=False, **common)
        with console.status(f"{bills:,} bills: again with every limit off, for CPU time and RSS…"):
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
