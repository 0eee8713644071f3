"""The first sync of the seeded demo firm, then a second pass that should write nothing.

What is measured, per pass: wall-clock seconds, records written (created, updated or linked in
QuickBooks Online) and the HTTP requests each emulated service answered, of which how many were
refused with 429 (each one is a wait the rate limits imposed). The sandbox runs with the documented
production limits (:class:`~ledgerlink.sandbox.SandboxSettings` defaults) plus ``latency_ms`` per
request, and ledgerlink is configured exactly as ``ledgerlink demo`` configures it, pacing included.

Connecting (OAuth code flow, identifying both companies) happens before the clock starts: a firm
does it once, and it is not part of the sync.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections import Counter
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from ledgerlink.config import load_config
from ledgerlink.demo import demo_config, scripted_browser
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sync.engine import PassResult
from ledgerlink.workspace import Workspace

Service = Literal["clio", "qbo", "oauth"]

# Which service a request went to, by the prefix the sandbox mounts it under.
SERVICE_PREFIXES: tuple[tuple[str, Service], ...] = (
    ("/clio/api/", "clio"),
    ("/qbo/v3/", "qbo"),
    ("/clio/oauth/", "oauth"),
    ("/qbo/oauth2/", "oauth"),
)


def service_of(path: str) -> Service | None:
    """The emulated service a request path belongs to, or None for anything else."""
    for prefix, service in SERVICE_PREFIXES:
        if path.startswith(prefix):
            return service
    return None


@dataclass(frozen=True)
class RequestCounts:
    """Requests answered per service, and how many of them were 429 Too Many Requests."""

    requests: Counter[str] = field(default_factory=Counter)
    throttled: Counter[str] = field(default_factory=Counter)

    def since(self, earlier: RequestCounts) -> RequestCounts:
        """The requests counted after ``earlier`` was taken."""
        return RequestCounts(self.requests - earlier.requests, self.throttled - earlier.throttled)


class RequestCounter:
    """ASGI middleware counting the responses of each emulated service.

    It sits in front of the whole sandbox (fault and latency middleware included), so it sees every
    request the client sent, including the ones refused by a rate limit.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._counts = RequestCounts()
        # The server counts on its own thread while the benchmark reads on the main one.
        self._lock = threading.Lock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = service_of(scope["path"]) if scope["type"] == "http" else None
        if service is None:
            await self.app(scope, receive, send)
            return

        async def counting_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                with self._lock:
                    self._counts.requests[service] += 1
                    if message["status"] == 429:
                        self._counts.throttled[service] += 1
            await send(message)

        await self.app(scope, receive, counting_send)

    def snapshot(self) -> RequestCounts:
        """A copy of the counts so far."""
        with self._lock:
            return RequestCounts(Counter(self._counts.requests), Counter(self._counts.throttled))


class CountingSandbox(Sandbox):
    """The sandbox, with every response counted by :class:`RequestCounter`."""

    def __init__(self, state: SandboxState) -> None:
        super().__init__(state, seed="demo")
        self.counter: RequestCounter | None = None

    def asgi_app(self) -> ASGIApp:
        self.counter = RequestCounter(super().asgi_app())
        return self.counter

    def counts(self) -> RequestCounts:
        if self.counter is None:
            raise RuntimeError("the sandbox has not been started")
        return self.counter.snapshot()


@dataclass(frozen=True)
class PassMeasure:
    """What one sync pass cost."""

    name: str
    seconds: float
    written: int
    tally: dict[str, dict[str, int]]
    requests: RequestCounts

    @property
    def records_per_second(self) -> float | None:
        """Records written per second; None for a pass that wrote nothing."""
        return self.written / self.seconds if self.written and self.seconds > 0 else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pass": self.name,
            "records_written": self.written,
            "seconds": round(self.seconds, 3),
            "records_per_second": None
            if self.records_per_second is None
            else round(self.records_per_second, 2),
            "clio_requests": self.requests.requests["clio"],
            "qbo_requests": self.requests.requests["qbo"],
            "oauth_requests": self.requests.requests["oauth"],
            "clio_throttled": self.requests.throttled["clio"],
            "qbo_throttled": self.requests.throttled["qbo"],
            "tally": self.tally,
        }


@dataclass(frozen=True)
class Benchmark:
    """Both passes, and the conditions they ran under."""

    settings: SandboxSettings
    qbo_requests_per_second: float
    passes: tuple[PassMeasure, ...]

    def as_dict(self) -> dict[str, Any]:
        s = self.settings
        return {
            "conditions": {
                "latency_ms": s.latency_ms,
                "clio_rate_limit": f"{s.clio_rate_limit}/{s.clio_rate_window}s per token",
                "qbo_rate_limit": f"{s.qbo_per_second}/s and {s.qbo_per_minute}/min per company",
                "client_qbo_requests_per_second": self.qbo_requests_per_second,
            },
            "passes": [p.as_dict() for p in self.passes],
        }


def _measure(name: str, workspace: Workspace, box: CountingSandbox) -> PassMeasure:
    before = box.counts()
    started = time.perf_counter()
    result: PassResult = workspace.sync_once()
    seconds = time.perf_counter() - started
    return PassMeasure(name, seconds, result.tally.writes, result.tally.as_dict(), box.counts().since(before))


def run_first_sync(*, latency_ms: int = 80, qbo_requests_per_second: float = 8.0) -> Benchmark:
    """Sync the seeded demo firm twice under production-shaped limits; what each pass cost."""
    settings = SandboxSettings(latency_ms=latency_ms)
    box = CountingSandbox(SandboxState(settings=settings))
    with tempfile.TemporaryDirectory(prefix="ledgerlink-bench-") as tmp, box:
        workdir = Path(tmp)
        config_path = workdir / "config.toml"
        config_path.write_text(
            demo_config(box, workdir, qbo_requests_per_second=qbo_requests_per_second), encoding="utf-8"
        )
        with Workspace(load_config(config_path)) as workspace:
            workspace.connect("clio", open_url=scripted_browser)
            workspace.connect("qbo", open_url=scripted_browser)
            first = _measure("first", workspace, box)
            second = _measure("second (no-op)", workspace, box)
    return Benchmark(settings, qbo_requests_per_second, (first, second))
