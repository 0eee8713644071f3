"""``python -m bench.serve``: the sandbox with a benchmark firm, in a process of its own.

The sync being measured runs in another process, so that process's CPU time and peak RSS are
ledgerlink's alone, not the emulators'. This one builds the firm, starts the sandbox behind the
:class:`~bench.gate.Gate`, prints one JSON line (``base`` URL, the ledgerlink ``config`` for it,
the firm's size, seconds spent seeding) and serves until its stdin closes.

Limits are scaled by raising rates, not shortening windows: at ``--scale 10`` Clio allows 500
requests a minute, QBO 100/s, 5,000/min and 400 batch calls a minute, and ledgerlink paces QBO at
80/s. A run then takes a tenth of the time; wall/floor is unchanged as long as latency and CPU
are small against the floor. ``--unlimited`` turns every limit (and latency) off.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from starlette.types import ASGIApp

from bench.firm import build_firm
from ledgerlink.demo import demo_config
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


def settings_for(scale: float, *, limited: bool, latency_ms: int) -> SandboxSettings:
    if not limited:
        return SandboxSettings(
            latency_ms=0, clio_rate_limit=UNLIMITED, qbo_per_second=UNLIMITED, qbo_per_minute=UNLIMITED
        )
    return SandboxSettings(
        latency_ms=latency_ms,
        clio_rate_limit=round(CLIO_PER_MINUTE * scale),
        clio_rate_window=60,
        qbo_per_second=round(QBO_PER_SECOND * scale),
        qbo_per_minute=round(QBO_PER_MINUTE * scale),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.serve", description=__doc__)
    parser.add_argument("--bills", type=int, required=True)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--unlimited", action="store_true")
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args(argv)

    limited = not args.unlimited
    state = SandboxState(settings=settings_for(args.scale, limited=limited, latency_ms=args.latency_ms))
    box = GatedSandbox(state, scale=args.scale, limited=limited)
    started = time.perf_counter()
    # Stamped an hour in the past, as a firm's existing data is (see ledgerlink.sandbox.seed).
    state.clock.advance(-SEED_AGE_SECONDS)
    try:
        size = build_firm(box.clio, box.qbo, bills=args.bills, seed=args.seed)
    finally:
        state.clock.advance(SEED_AGE_SECONDS)
    seeded = time.perf_counter() - started
    box.start()
    pace = QBO_PACE_PER_SECOND * args.scale if limited else float(UNLIMITED)
    config = demo_config(box, args.workdir, qbo_requests_per_second=pace)
    line = {"base": box.urls.base, "config": config, "firm": size.as_dict(), "seed_seconds": seeded}
    print(json.dumps(line), flush=True)
    try:
        sys.stdin.read()  # until the benchmark closes the pipe
    finally:
        box.stop()


if __name__ == "__main__":
    main()
