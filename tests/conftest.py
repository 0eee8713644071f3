"""Shared fixtures: a live sandbox on loopback and tokens minted straight from its registry."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
