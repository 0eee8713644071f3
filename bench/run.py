"""``python -m bench.run``: one measured run — a firm's first sync, then an idle pass — as one JSON line.

It starts :mod:`bench.serve` (the sandbox and its firm) as a child process, so this process holds
only ledgerlink: its CPU time (``getrusage(RUSAGE_SELF)``, user + system, every thread) and peak
RSS (``ru_maxrss``) are the sync's. Each run is a fresh process, so the peak is this firm's.
Connecting (the OAuth code flow) happens before the clock starts: a firm does it once.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import IO, Any

import httpx

from bench.gate import COUNTS_PATH
from ledgerlink.config import load_config
from ledgerlink.demo import scripted_browser
from ledgerlink.workspace import Workspace


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _counts(base: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(base + COUNTS_PATH, timeout=30).json()
    return answer


def _since(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    diff: dict[str, Any] = {}
    for key in ("requests", "throttled", "paths"):
        delta = Counter(after[key])
        delta.subtract(before[key])
        diff[key] = {k: v for k, v in delta.items() if v}
    diff["max_qbo_in_flight"] = after["max_qbo_in_flight"]
    return diff


def _measure(name: str, workspace: Workspace, base: str, profile: Path | None = None) -> dict[str, Any]:
    before, cpu = _counts(base), _cpu()
    started = time.perf_counter()
    if profile is None:
        result = workspace.sync_once()
    else:
        with cProfile.Profile() as profiler:
            result = workspace.sync_once()
        profiler.dump_stats(profile)
    seconds = time.perf_counter() - started
    cpu = _cpu() - cpu
    return {
        "pass": name,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "exit_code": result.exit_code,
        "written": result.tally.writes,
        "tally": result.tally.as_dict(),
        **_since(_counts(base), before),
    }


def run(
    *,
    bills: int,
    seed: int,
    scale: float,
    latency_ms: int,
    unlimited: bool,
    store_dir: Path | None = None,
    profile: Path | None = None,
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ledgerlink-bench-", dir=store_dir) as tmp:
        workdir = Path(tmp)
        command = [sys.executable, "-m", "bench.serve", "--bills", str(bills), "--seed", str(seed)]
        command += ["--scale", str(scale), "--latency-ms", str(latency_ms), "--workdir", str(workdir)]
        command += ["--unlimited"] if unlimited else []
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as server:
            stdout: IO[str] | None = server.stdout
            assert stdout is not None and server.stdin is not None
            ready = json.loads(stdout.readline())
            try:
                config_path = workdir / "config.toml"
                config_path.write_text(ready["config"], encoding="utf-8")
                rss_before = _peak_rss_mb()
                with Workspace(load_config(config_path)) as workspace:
                    workspace.connect("clio", open_url=scripted_browser)
                    workspace.connect("qbo", open_url=scripted_browser)
                    first = _measure("first", workspace, ready["base"], profile)
                    idle = _measure("idle", workspace, ready["base"])
            finally:
                server.stdin.close()
                server.wait(timeout=30)
    return {
        "bills": bills,
        "seed": seed,
        "scale": None if unlimited else scale,
        "latency_ms": 0 if unlimited else latency_ms,
        "unlimited": unlimited,
        "store_dir": str(store_dir or tempfile.gettempdir()),
        "firm": ready["firm"],
        "seed_seconds": ready["seed_seconds"],
        "rss_before_sync_mb": rss_before,
        "peak_rss_mb": _peak_rss_mb(),
        "passes": [first, idle],
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--bills", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--store-dir", type=Path, help="where the SQLite store lives (default: $TMPDIR)")
    parser.add_argument("--profile", type=Path, metavar="PATH", help="cProfile the first pass into PATH")
    args = parser.parse_args(argv)
    result = run(
        bills=args.bills,
        seed=args.seed,
        scale=args.scale,
        latency_ms=args.latency_ms,
        unlimited=args.unlimited,
        store_dir=args.store_dir,
        profile=args.profile,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
