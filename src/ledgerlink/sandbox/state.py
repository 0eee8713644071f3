"""Shared state of the sandbox: clock, settings, OAuth grants, fault rules, rate windows.

Every emulator (Clio, QBO, the OAuth servers) gets the same :class:`SandboxState`. Nothing here
speaks HTTP; the emulators do.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Literal

Provider = Literal["clio", "qbo"]


class SandboxClock:
    """The sandbox's notion of now. Tests move it forward instead of sleeping."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._offset += seconds


@dataclass
class SandboxSettings:
    """Switches of the sandbox. Defaults are the documented production limits."""

    latency_ms: int = 0
    # Clio: requests per token per window (Clio documents 50/min at peak, more off-peak).
    clio_rate_limit: int = 50
    clio_rate_window: int = 60
    # QBO: per realm (10/s and 500/min documented).
    qbo_per_second: int = 10
    qbo_per_minute: int = 500
    # Seconds a QBO 429 asks the client to wait (Intuit says wait 60 s).
    qbo_retry_after: int = 60
    access_token_ttl: int = 3600
    clio_access_token_ttl: int = 30 * 24 * 3600


@dataclass
class Grant:
    """One authorization: who connected which company, and the tokens issued for it."""

    provider: Provider
    client_id: str
    realm_id: str | None
    access_token: str
    refresh_token: str
    access_expires_at: float
    revoked: bool = False


class TokenRegistry:
    """Issues, refreshes, checks and revokes tokens for both providers.

    QBO rotates the refresh token on every refresh (the old one stops working); Clio's refresh
    token is long-lived and reusable.
    """

    def __init__(self, clock: SandboxClock, settings: SandboxSettings) -> None:
        self._clock = clock
        self._settings = settings
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self._lock = threading.Lock()

    def _ttl(self, provider: Provider) -> int:
        if provider == "clio":
            return self._settings.clio_access_token_ttl
        return self._settings.access_token_ttl

    def issue(self, provider: Provider, client_id: str, realm_id: str | None) -> Grant:
        ttl = self._ttl(provider)
        grant = Grant(
            provider=provider,
            client_id=client_id,
            realm_id=realm_id,
            access_token=f"{provider}-at-{secrets.token_urlsafe(24)}",
            refresh_token=f"{provider}-rt-{secrets.token_urlsafe(24)}",
            access_expires_at=self._clock.now() + ttl,
        )
        with self._lock:
            self._by_access[grant.access_token] = grant
            self._by_refresh[grant.refresh_token] = grant
        return grant

    def refresh(self, provider: Provider, client_id: str, refresh_token: str) -> Grant | None:
        """A new grant for a valid refresh token, or None (invalid_grant)."""
        with self._lock:
            old = self._by_refresh.get(refresh_token)
            if old is None or old.revoked or old.provider != provider or old.client_id != client_id:
                return None
            self._by_access.pop(old.access_token, None)
            ttl = self._ttl(provider)
            new_refresh = refresh_token
            if provider == "qbo":
                self._by_refresh.pop(refresh_token, None)
                new_refresh = f"{provider}-rt-{secrets.token_urlsafe(24)}"
            grant = Grant(
                provider=provider,
                client_id=client_id,
                realm_id=old.realm_id,
                access_token=f"{provider}-at-{secrets.token_urlsafe(24)}",
                refresh_token=new_refresh,
                access_expires_at=self._clock.now() + ttl,
            )
            self._by_access[grant.access_token] = grant
            self._by_refresh[grant.refresh_token] = grant
            return grant

    def check(self, provider: Provider, authorization: str | None) -> Grant | None:
        """The live grant behind an ``Authorization: Bearer`` header, or None."""
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        token = authorization[7:].strip()
        with self._lock:
            grant = self._by_access.get(token)
        if grant is None or grant.revoked or grant.provider != provider:
            return None
        if grant.access_expires_at <= self._clock.now():
            return None
        return grant

    def revoke(self, token: str) -> bool:
        with self._lock:
            grant = self._by_access.get(token) or self._by_refresh.get(token)
            if grant is None:
                return False
            grant.revoked = True
            return True

    def expire_all_access_tokens(self) -> None:
        """Test switch: every access token is now expired (refresh tokens still work)."""
        with self._lock:
            for grant in self._by_access.values():
                grant.access_expires_at = 0.0


FaultKind = Literal["429", "500", "503", "latency", "drop_after_commit"]


@dataclass
class FaultRule:
    """Inject a fault into matching requests. ``times`` counts down; -1 means forever.

    ``drop_after_commit`` lets the emulator apply the request, then answers 502 as a gateway
    that lost the response would: the write happened but the client cannot know.
    """

    kind: FaultKind
    method: str = "*"
    path: str = ".*"
    times: int = 1
    latency_ms: int = 0

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and re.search(self.path, path) is not None


class Faults:
    def __init__(self) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.times != 0 and rule.matches(method, path):
                    if rule.times > 0:
                        rule.times -= 1
                    return rule
        return None


class RateWindow:
    """Fixed-window request counter keyed by token or realm, on the sandbox clock."""

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._windows: dict[tuple[str, int], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int, window: int) -> tuple[bool, int, float]:
        """Count one request. Returns (allowed, remaining, reset_epoch)."""
        now = self._clock.now()
        with self._lock:
            start, count = self._windows.get((key, window), (now, 0))
            if now >= start + window:
                start, count = now, 0
            allowed = count < limit
            if allowed:
                count += 1
            self._windows[(key, window)] = (start, count)
            return allowed, max(0, limit - count), start + window


@dataclass
class SandboxState:
    clock: SandboxClock = field(default_factory=SandboxClock)
    settings: SandboxSettings = field(default_factory=SandboxSettings)
    faults: Faults = field(default_factory=Faults)
    tokens: TokenRegistry = field(init=False)
    rates: RateWindow = field(init=False)
    # Registered OAuth apps: client_id -> client_secret, per provider.
    clio_apps: dict[str, str] = field(default_factory=lambda: {"sandbox-clio-app": "sandbox-clio-secret"})
    qbo_apps: dict[str, str] = field(default_factory=lambda: {"sandbox-qbo-app": "sandbox-qbo-secret"})
    # Companies the emulators hold, filled by them: QBO realm id -> company name; Clio account id -> firm.
    qbo_companies: dict[str, str] = field(default_factory=dict)
    clio_accounts: dict[str, str] = field(default_factory=dict)
    # Test switch: the auto-approving OAuth servers decline consent (redirect with error=access_denied).
    oauth_decline: bool = False

    def __post_init__(self) -> None:
        self.tokens = TokenRegistry(self.clock, self.settings)
        self.rates = RateWindow(self.clock)
