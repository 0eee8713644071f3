"""Serve the emulators over real HTTP on 127.0.0.1.

One uvicorn server, one port, the emulators mounted under prefixes::

    /clio/oauth/...        Clio OAuth (authorize, token, deauthorize)
    /clio/api/v4/...       Clio Manage API v4
    /qbo/oauth2/...        Intuit OAuth (authorize, v1/tokens/bearer, v1/tokens/revoke)
    /qbo/v3/company/...    QuickBooks Online Accounting API v3
    /xero/identity/...     Xero identity (connect/authorize, connect/token, connect/revocation)
    /xero/api/api.xro/2.0/...  Xero Accounting API (api.xero.com/api.xro/2.0)
    /xero/api/...          api.xero.com (connections)

Fault injection (latency, 429, 5xx, timeouts, token expiry, response dropped after commit; each
by chance if asked) is a middleware in front of all of them; rate limits, auth and error bodies
are each emulator's own.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from ledgerlink.sandbox.clio import ClioEmulator
from ledgerlink.sandbox.demo_firm import XERO_ORG_TENANT_ID
from ledgerlink.sandbox.oauth import build_clio_oauth_app, build_qbo_oauth_app
from ledgerlink.sandbox.qbo import QboEmulator, throttled
from ledgerlink.sandbox.state import SandboxState
from ledgerlink.sandbox.xero import XeroEmulator
from ledgerlink.sandbox.xero_identity import (
    build_xero_connections_app,
    build_xero_identity_app,
    seed_xero_organisations,
)

Seed = Literal["demo", "empty"]


class FaultMiddleware:
    """Applies :class:`~ledgerlink.sandbox.state.FaultRule` s to requests before the emulators."""

    def __init__(self, app: ASGIApp, state: SandboxState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        settings = self.state.settings
        self.state.request_log.append((scope["method"], scope["path"]))
        if settings.latency_ms:
            await asyncio.sleep(settings.latency_ms / 1000)
        request = Request(scope)
        rule = self.state.faults.take(request.method, request.url.path)
        if rule is None:
            await self.app(scope, receive, send)
            return
        if rule.kind == "latency":
            await asyncio.sleep(rule.latency_ms / 1000)
            await self.app(scope, receive, send)
        elif rule.kind == "expire_tokens":
            self.state.tokens.expire_all_access_tokens()
            await self.app(scope, receive, send)
        elif rule.kind == "drop_after_commit":

            async def swallow(message: MutableMapping[str, Any]) -> None:  # the emulator's answer is lost
                return None

            await self.app(scope, receive, swallow)
            await Response("Bad Gateway", status_code=502)(scope, receive, send)
        elif rule.kind == "timeout":
            await self._answer_too_late(scope, receive, send, rule.latency_ms)
        elif rule.kind == "401":
            # A token this host does not know: what another Clio region answers (reference/clio.md §4).
            await JSONResponse(
                {
                    "error": "invalid_token",
                    "error_description": "The access token provided is expired, revoked, "
                    "malformed or invalid for other reasons.",
                },
                status_code=401,
            )(scope, receive, send)
        elif rule.kind == "429":
            await rate_limited(request.url.path, rule.retry_after)(scope, receive, send)
        else:
            await Response("Service Unavailable (injected)", status_code=int(rule.kind))(scope, receive, send)

    async def _answer_too_late(self, scope: Scope, receive: Receive, send: Send, hold_ms: int) -> None:
        """Apply the request, then keep its answer until the client hangs up (or ``hold_ms`` pass)."""
        answer: list[MutableMapping[str, Any]] = []

        async def keep(message: MutableMapping[str, Any]) -> None:
            answer.append(message)

        await self.app(scope, receive, keep)

        async def hung_up() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass  # the rest of a body the emulator did not read

        try:
            await asyncio.wait_for(hung_up(), timeout=hold_ms / 1000 if hold_ms else HOLD_LIMIT)
        except TimeoutError:
            for message in answer:  # the client was still waiting: it gets the answer, late
                await send(message)


# How long a "timeout" fault without its own latency holds an answer for a client that never hangs
# up: longer than any read timeout a test sets, short enough that stopping the sandbox never waits long.
HOLD_LIMIT = 5.0


def rate_limited(path: str, retry_after: int) -> Response:
    """An injected 429 in the shape of the service ``path`` belongs to, asking for ``retry_after`` s."""
    headers = {"Retry-After": str(retry_after)}
    if path.startswith("/xero/"):
        # Xero's problem body, and the limit named (reference/xero.md §5); "minute": the per-minute one.
        body: dict[str, Any] = {
            "Title": "Too Many Requests",
            "Status": 429,
            "Detail": "Rate limit exceeded: minute",
            "Instance": str(uuid.uuid4()),
        }
        headers["X-Rate-Limit-Problem"] = "minute"
    elif path.startswith("/qbo/"):
        body = {**throttled().envelope(), "time": datetime.now(UTC).isoformat(timespec="milliseconds")}
    else:
        message = f"Rate limit exceeded. Retry in {retry_after} seconds."
        body = {"error": {"type": "RateLimited", "message": message}}
    return JSONResponse(body, status_code=429, headers=headers)


@dataclass(frozen=True)
class SandboxUrls:
    base: str

    @property
    def clio_api(self) -> str:
        return f"{self.base}/clio/api/v4"

    @property
    def clio_oauth(self) -> str:
        return f"{self.base}/clio/oauth"

    @property
    def qbo_api(self) -> str:
        return f"{self.base}/qbo/v3"

    @property
    def qbo_oauth(self) -> str:
        return f"{self.base}/qbo/oauth2"

    @property
    def xero_identity(self) -> str:
        return f"{self.base}/xero/identity"

    @property
    def xero_api(self) -> str:
        return f"{self.base}/xero/api"

    @property
    def xero_accounting(self) -> str:
        """The Accounting API base URL (``https://api.xero.com/api.xro/2.0`` in production)."""
        return f"{self.base}/xero/api/api.xro/2.0"


class Sandbox:
    """The emulated Clio + QBO world, served on loopback until :meth:`stop`.

    Usable as a context manager. ``port=0`` picks a free port.
    """

    def __init__(
        self,
        state: SandboxState | None = None,
        *,
        seed: Seed = "demo",
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.state = state or SandboxState()
        self.clio = ClioEmulator(self.state)
        self.qbo = QboEmulator(self.state)
        self.xero = XeroEmulator(self.state)
        if seed == "demo":
            from ledgerlink.sandbox.seed import seed_demo_firm

            seed_demo_firm(self.clio, self.qbo)
            seed_xero_organisations(self.state)
            self.xero.open_demo_books(XERO_ORG_TENANT_ID)  # the demo firm's chart (xero_demo)
        self._host = host
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.urls = SandboxUrls("")

    def asgi_app(self) -> ASGIApp:
        app = Starlette(
            routes=[
                Mount("/clio/oauth", app=build_clio_oauth_app(self.state)),
                Mount("/clio/api/v4", app=self.clio.app),
                Mount("/qbo/oauth2", app=build_qbo_oauth_app(self.state)),
                Mount("/qbo/v3", app=self.qbo.app),
                Mount("/xero/identity", app=build_xero_identity_app(self.state)),
                # Before /xero/api, which would otherwise take these paths.
                Mount("/xero/api/api.xro/2.0", app=self.xero.app),
                Mount("/xero/api", app=build_xero_connections_app(self.state)),
            ]
        )
        return FaultMiddleware(app, self.state)

    def start(self) -> Sandbox:
        config = uvicorn.Config(
            self.asgi_app(),
            host=self._host,
            port=self._port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="ledgerlink-sandbox", daemon=True)
        thread.start()
        for _ in range(500):
            if server.started:
                break
            if not thread.is_alive():
                raise RuntimeError(f"sandbox could not start on {self._host}:{self._port}")
            threading.Event().wait(0.01)
        else:
            raise RuntimeError("sandbox did not start within 5 seconds")
        port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread
        self.urls = SandboxUrls(f"http://{self._host}:{port}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Block until interrupted (``ledgerlink sandbox serve``)."""
        if self._thread is None:
            self.start()
        assert self._thread is not None
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
