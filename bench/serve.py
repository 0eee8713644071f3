"""``python -m bench.serve``: the sandbox with a benchmark firm, in a process of its own.

The sync being measured runs in another process, so that process's CPU time and peak RSS are
ledgerlink's alone, not the emulators'. This one builds the firm and the books of ``--target``
(QuickBooks or Xero), starts the sandbox behind the :class:`~bench.gate.Gate`, prints one JSON
line (``base`` URL, the ledgerlink ``config`` for it, the firm's size, seconds spent seeding, the
Xero calls a minute to pace at) and serves until its stdin closes.

Limits are scaled by raising rates, not shortening windows: at ``--scale 10`` Clio allows 500
requests a minute, QBO 100/s, 5,000/min and 400 batch calls a minute, and ledgerlink paces QBO at
80/s; Xero allows 600 calls a minute per organisation (and 100,000 per app) and ledgerlink paces
at 600. Concurrency limits (QBO 10, Xero 5 in flight) are not rates and stay as documented.
Xero's daily budget (5,000 calls per organisation) is raised out of reach: a day is not a window
a benchmark can wait through, and the floor counts calls, so it would only stop the pass early.
A run then takes a tenth of the time; wall/floor is unchanged as long as latency and CPU are
small against the floor. ``--unlimited`` turns every limit (and latency) off.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import sys
import time
from pathlib import Path

from starlette.types import ASGIApp, Receive, Scope, Send

from bench.firm import build_firm
from ledgerlink.demo import Target, demo_config
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox.seed import SEED_AGE_SECONDS

CLIO_PER_MINUTE = 50
QBO_PER_SECOND = 10
QBO_PER_MINUTE = 500
QBO_BATCH_PER_MINUTE = 40
QBO_CONCURRENT = 10
# ledgerlink's default QBO pacing (config qbo.requests_per_second).
QBO_PACE_PER_SECOND = 8.0
UNLIMITED = 10**9
# Xero's documented limits are the sandbox's defaults (reference/xero.md §5): 60 calls a minute and
# 5 in flight per organisation, 10,000 a minute per app, 5,000 a day per organisation.
XERO = SandboxSettings()


class GatedSandbox(Sandbox):
    """The sandbox behind the benchmark's gate (counts, QBO batch and concurrency limits)."""

    def __init__(self, state: SandboxState, *, scale: float, limited: bool) -> None:
        super().__init__(state, seed="empty")
        self.scale, self.limited = scale, limited

    def asgi_app(self) -> ASGIApp:
        from bench.gate import Gate

        if not self.limited:
            return Gate(super().asgi_app(), batch_per_minute=None, concurrent=None)
        batch = round(QBO_BATCH_PER_MINUTE * self.scale)
        return Gate(super().asgi_app(), batch_per_minute=batch, concurrent=QBO_CONCURRENT)


class ProfiledSandbox(GatedSandbox):
    """The gated sandbox with its requests under ``profiler``.

    Every emulator endpoint is a coroutine on the server's one event-loop thread, so enabling the
    profiler there, on the first request, sees all of the requests' work.
    """

    def __init__(
        self, state: SandboxState, *, scale: float, limited: bool, profiler: cProfile.Profile
    ) -> None:
        super().__init__(state, scale=scale, limited=limited)
        self.profiler = profiler

    def asgi_app(self) -> ASGIApp:
        app, profiler, enabled = super().asgi_app(), self.profiler, False

        async def profiled(scope: Scope, receive: Receive, send: Send) -> None:
            nonlocal enabled
            if not enabled:
                profiler.enable()
                enabled = True
            await app(scope, receive, send)

        return profiled


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def settings_for(scale: float, *, limited: bool, latency_ms: int) -> SandboxSettings:
    if not limited:
        return SandboxSettings(
            latency_ms=0,
            clio_rate_limit=UNLIMITED,
            qbo_per_second=UNLIMITED,
            qbo_per_minute=UNLIMITED,
            xero_app_per_minute=UNLIMITED,
            xero_per_minute=UNLIMITED,
            xero_per_day=UNLIMITED,
            xero_concurrent=UNLIMITED,
        )
    return SandboxSettings(
        latency_ms=latency_ms,
        clio_rate_limit=round(CLIO_PER_MINUTE * scale),
        clio_rate_window=60,
        qbo_per_second=round(QBO_PER_SECOND * scale),
        qbo_per_minute=round(QBO_PER_MINUTE * scale),
        xero_app_per_minute=round(XERO.xero_app_per_minute * scale),
        xero_per_minute=xero_per_minute(scale, limited=True),
        xero_per_day=UNLIMITED,  # raised so it never binds (see the module docstring)
        xero_concurrent=XERO.xero_concurrent,
    )


def xero_per_minute(scale: float, *, limited: bool) -> int:
    """Xero's per-organisation minute limit at ``scale``; ledgerlink paces at the limit (its default)."""
    return round(XERO.xero_per_minute * scale) if limited else UNLIMITED


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--bills", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--target", choices=("qbo", "xero"), default="qbo", help="the books synced into")
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="PATH",
        default=os.environ.get("BENCH_SERVE_PROFILE"),
        help="cProfile the seeding and every request into PATH (default: $BENCH_SERVE_PROFILE, "
        "which reaches the sandbox that python -m bench.run starts)",
    )
    args = parser.parse_args(argv)

    limited = not args.unlimited
    target: Target = args.target
    state = SandboxState(settings=settings_for(args.scale, limited=limited, latency_ms=args.latency_ms))
    box = GatedSandbox(state, scale=args.scale, limited=limited)
    profiler = cProfile.Profile() if args.profile is not None else None
    if profiler is not None:  # a sandbox like the one above, its seeding and requests profiled
        box = ProfiledSandbox(state, scale=args.scale, limited=limited, profiler=profiler)
        profiler.enable()
    cpu_before_seed = _cpu_seconds()
    started = time.perf_counter()
    # Stamped an hour in the past, as a firm's existing data is (see ledgerlink.sandbox.seed).
    state.clock.advance(-SEED_AGE_SECONDS)
    try:
        size = build_firm(box, bills=args.bills, seed=args.seed, target=target)
    finally:
        state.clock.advance(SEED_AGE_SECONDS)
    seeded = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
    cpu_after_seed = _cpu_seconds()
    box.start()
    pace = QBO_PACE_PER_SECOND * args.scale if limited else float(UNLIMITED)
    config = demo_config(box, args.workdir, qbo_requests_per_second=pace, target=target)
    line = {
        "base": box.urls.base,
        "config": config,
        "firm": size.as_dict(),
        "seed_seconds": seeded,
        "xero_calls_per_minute": xero_per_minute(args.scale, limited=limited),
    }
    print(json.dumps(line), flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes the pipe
    finally:
        box.stop()
        # The sandbox's own CPU, on stderr: bench.run reads only the first line of stdout.
        cpu = {"seed": cpu_after_seed - cpu_before_seed, "serve": _cpu_seconds() - cpu_after_seed}
        print(json.dumps({"sandbox_cpu_seconds": cpu}), file=sys.stderr, flush=True)
        if profiler is not None:
            profiler.dump_stats(args.profile)


if __name__ == "__main__":
    main()
