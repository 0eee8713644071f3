"""Shared fixtures: a live sandbox on loopback and tokens minted straight from its registry."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from ledgerlink.providers.clio import ClioClient
from ledgerlink.sandbox import Sandbox, SandboxSettings, SandboxState
from ledgerlink.sandbox.demo_firm import QBO_REALM_ID


class StaticToken:
    """A TokenSource with a fixed token (refresh is not expected in contract tests)."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.refreshes = 0

    def access_token(self) -> str:
        return self.token

    def refresh(self, rejected: str) -> str:
        from ledgerlink.errors import AuthError

        self.refreshes += 1
        raise AuthError("static token cannot be refreshed")


class PathRecorder(httpx.HTTPTransport):
    """A real HTTP transport that remembers the last path segment of every request (e.g. "bills.json")."""

    def __init__(self) -> None:
        super().__init__()
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path.rsplit("/", 1)[-1])
        return super().handle_request(request)


def sandbox_clio_client(box: Sandbox, recorder: httpx.BaseTransport | None = None) -> ClioClient:
    """A ClioClient on the sandbox with a token minted straight from its registry."""
    token = StaticToken(box.state.tokens.issue("clio", "sandbox-clio-app", None).access_token)
    return ClioClient.connect(box.urls.clio_api, token, http_transport=recorder)


def fast_settings() -> SandboxSettings:
    """Production-shaped limits, but wide enough that tests never wait on a window."""
    return SandboxSettings(clio_rate_limit=100_000, qbo_per_second=100_000, qbo_per_minute=1_000_000)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A freshly seeded demo firm served on 127.0.0.1 for one test."""
    with Sandbox(SandboxState(settings=fast_settings()), seed="demo") as box:
        yield box


@pytest.fixture
def empty_sandbox() -> Iterator[Sandbox]:
    with Sandbox(SandboxState(settings=fast_settings()), seed="empty") as box:
        yield box


@pytest.fixture
def clio_token(sandbox: Sandbox) -> StaticToken:
    return StaticToken(sandbox.state.tokens.issue("clio", "sandbox-clio-app", None).access_token)


@pytest.fixture
def qbo_token(sandbox: Sandbox) -> StaticToken:
    return StaticToken(sandbox.state.tokens.issue("qbo", "sandbox-qbo-app", QBO_REALM_ID).access_token)
