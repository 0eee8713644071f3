"""ASGI middleware in front of the whole sandbox: counts every request, and adds QBO's batch limits.

The sandbox emulates Clio's request window and QBO's 10/s and 500/min per company, but not QBO's
``/batch`` limit (40 calls a minute per company and app, reference/qbo.md §3.1) nor its 10
concurrent requests (I-2016). The benchmark's floor counts both, so this gate enforces both,
answering 429 with QBO's throttle fault (3001) exactly as a throttled request is answered: no
Retry-After header, as from Intuit. Xero's limits (60 a minute, 5 in flight, the day's budget)
are the sandbox's own (:mod:`ledgerlink.sandbox.xero`): the gate only counts Xero's calls and the
most it saw in flight at once. ``GET /bench/counts`` reads the counts (it is not counted).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import MutableMapping
from typing import Any, Literal

from starlette.types import ASGIApp, Receive, Scope, Send

from ledgerlink.sandbox.qbo import throttled

Service = Literal["clio", "qbo", "xero", "oauth"]
COUNTS_PATH = "/bench/counts"
# Which service a request went to, by the prefix the sandbox mounts it under.
SERVICE_PREFIXES: tuple[tuple[str, Service], ...] = (
    ("/clio/api/", "clio"),
    ("/qbo/v3/", "qbo"),
    ("/clio/oauth/", "oauth"),
    ("/qbo/oauth2/", "oauth"),
    ("/xero/api/", "xero"),  # the Accounting API and /connections (api.xero.com)
    ("/xero/identity/", "oauth"),
)
_REALM = re.compile(r"^/qbo/v3/company/([^/]+)/")
# Xero names records by GUID in the path (a credit note's allocations): counted as one path.
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def service_of(path: str) -> Service | None:
    """The emulated service a request path belongs to, or None for anything else."""
    for prefix, service in SERVICE_PREFIXES:
        if path.startswith(prefix):
            return service
    return None


class Gate:
    """Counts requests (per service, per ``METHOD path``, 429s) and applies QBO's batch limits.

    ``batch_per_minute`` None (and ``concurrent`` None) turn the limits off.
    """

    def __init__(self, app: ASGIApp, *, batch_per_minute: int | None, concurrent: int | None) -> None:
        self.app = app
        self.batch_per_minute = batch_per_minute
        self.concurrent = concurrent
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.paths: Counter[str] = Counter()
        self._in_flight: Counter[str] = Counter()
        self._windows: dict[str, tuple[float, int]] = {}
        self.max_in_flight = 0
        self._xero_in_flight = 0
        self.max_xero_in_flight = 0

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": dict(self.requests),
                "throttled": dict(self.throttled),
                "paths": dict(self.paths),
                "max_qbo_in_flight": self.max_in_flight,
                "max_xero_in_flight": self.max_xero_in_flight,
            }

    def _admit_qbo(self, realm: str, batch: bool) -> bool:
        """Count one QBO request in; False when a limit refuses it."""
        with self._lock:
            if self.concurrent is not None and self._in_flight[realm] >= self.concurrent:
                return False
            if batch and self.batch_per_minute is not None:
                now = time.monotonic()
                start, used = self._windows.get(realm, (now, 0))
                if now >= start + 60:
                    start, used = now, 0
                if used >= self.batch_per_minute:
                    return False
                self._windows[realm] = (start, used + 1)
            self._in_flight[realm] += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight[realm])
            return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == COUNTS_PATH:
            body = json.dumps(self.snapshot()).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        service = service_of(path)
        if service is None:
            await self.app(scope, receive, send)
            return
        with self._lock:
            self.requests[service] += 1
            counted = _GUID.sub("{id}", path) if service == "xero" else path
            self.paths[f"{scope['method']} {counted}"] += 1
            if service == "xero":
                self._xero_in_flight += 1
                self.max_xero_in_flight = max(self.max_xero_in_flight, self._xero_in_flight)
        realm_match = _REALM.match(path) if service == "qbo" else None
        realm = realm_match.group(1) if realm_match else None
        if realm is not None and not self._admit_qbo(realm, path.endswith("/batch")):
            with self._lock:
                self.throttled[service] += 1
            body = json.dumps({**throttled().envelope(), "time": "2026-12-04T00:00:00.000-08:00"}).encode()
            headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def counting_send(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                with self._lock:
                    self.throttled[service] += 1
            await send(message)

        try:
            await self.app(scope, receive, counting_send)
        finally:
            with self._lock:
                if realm is not None:
                    self._in_flight[realm] -= 1
                if service == "xero":
                    self._xero_in_flight -= 1
