"""``python -m bench.run``: one measured run — a firm's first sync, then an idle pass — as one JSON line.

It starts :mod:`bench.serve` (the sandbox and its firm) as a child process, so this process holds
only ledgerlink: its CPU time (``getrusage(RUSAGE_SELF)``, user + system, every thread) and peak
RSS (``ru_maxrss``) are the sync's. Each run is a fresh process, so the peak is this firm's.
Connecting (the OAuth code flow) happens before the clock starts: a firm does it once.
``--target`` picks the books: QuickBooks Online (the demo company) or Xero (the demo organisation).
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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import httpx

from bench.gate import COUNTS_PATH
from ledgerlink.config import Config, load_config
from ledgerlink.demo import Target, scripted_browser
from ledgerlink.providers.xero import XeroClient, XeroLimiter
from ledgerlink.providers.xero.connections import XeroTenant
from ledgerlink.runtime import tune_garbage_collector
from ledgerlink.sandbox.demo_firm import XERO_ORG_TENANT_ID
from ledgerlink.workspace import Workspace


class PacedWorkspace(Workspace):
    """A workspace whose Xero calls are paced at the sandbox's scaled minute limit.

    ledgerlink paces Xero at the documented 60 calls a minute and has no setting for it (Xero's limit
    cannot be raised), so at ``--scale`` the benchmark builds the organisation's limiter itself,
    exactly as :meth:`Workspace.xero_client` does but with the scaled rate.
    """

    def __init__(self, config: Config, *, xero_calls_per_minute: int) -> None:
        super().__init__(config)
        self.xero_calls_per_minute = xero_calls_per_minute

    def xero_client(self, tenant_id: str, *, sleep: Callable[[float], None] = time.sleep) -> XeroClient:
        limiter = XeroLimiter(tenant_id=tenant_id, calls_per_minute=self.xero_calls_per_minute, sleep=sleep)
        api_base = self.config.xero.api_base
        return XeroClient.connect(api_base, tenant_id, self.session("xero"), limiter=limiter, sleep=sleep)


def _demo_organisation(tenants: Sequence[XeroTenant]) -> XeroTenant:
    """The consent covers the sandbox's two organisations; the firm's books are the demo one."""
    return next(t for t in tenants if t.tenant_id == XERO_ORG_TENANT_ID)


def connect(workspace: Workspace, target: Target) -> None:
    """Connect Clio and the target's books through the OAuth code flow, as a firm does once."""
    workspace.connect("clio", open_url=scripted_browser)
    if target == "xero":
        workspace.connect(
            "xero", open_url=scripted_browser, confirm=lambda q: True, choose_tenant=_demo_organisation
        )
    else:
        workspace.connect("qbo", open_url=scripted_browser)


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
    diff["max_xero_in_flight"] = after["max_xero_in_flight"]
    return diff


def _measure(name: str, workspace: Workspace, base: str, profile: Path | None = None) -> dict[str, Any]:
    tune_garbage_collector()  # as the CLI does
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
    target: Target = "qbo",
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ledgerlink-bench-", dir=store_dir) as tmp:
        workdir = Path(tmp)
        command = [sys.executable, "-m", "bench.serve", "--bills", str(bills), "--seed", str(seed)]
        command += ["--scale", str(scale), "--latency-ms", str(latency_ms), "--workdir", str(workdir)]
        command += ["--unlimited"] if unlimited else []
        command += ["--target", target]
        with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as server:
            stdout: IO[str] | None = server.stdout
            assert stdout is not None and server.stdin is not None
            ready = json.loads(stdout.readline())
            try:
                config_path = workdir / "config.toml"
                config_path.write_text(ready["config"], encoding="utf-8")
                rss_before = _peak_rss_mb()
                paced = PacedWorkspace(
                    load_config(config_path), xero_calls_per_minute=ready["xero_calls_per_minute"]
                )
                with paced as workspace:
                    connect(workspace, target)
                    first = _measure("first", workspace, ready["base"], profile)
                    idle = _measure("idle", workspace, ready["base"])
            finally:
                server.stdin.close()
                server.wait(timeout=30)
    return {
        "target": target,
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
    parser.add_argument("--target", choices=("qbo", "xero"), default="qbo", help="the books synced into")
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
        target=args.target,
    )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
