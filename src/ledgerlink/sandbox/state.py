"""Shared state of the sandbox: clock, settings, OAuth grants, fault rules, rate windows.

Every emulator (Clio, QBO, Xero, the OAuth servers) gets the same :class:`SandboxState`. Nothing
here speaks HTTP; the emulators do.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Literal

Provider = Literal["clio", "qbo", "xero"]


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
    # Xero (reference/xero.md §6): 30-minute access tokens; a refresh token dies after 60 days unused;
    # the previous refresh token stays usable for 30 minutes after a rotation.
    xero_access_token_ttl: int = 30 * 60
    xero_refresh_token_ttl: int = 60 * 24 * 3600
    xero_refresh_grace: int = 30 * 60
    # Xero: calls per minute per app across all tenants (§5), the only limit /connections reports.
    xero_app_per_minute: int = 10_000
    # Xero Accounting API, per (app, organisation) (§5): calls per minute, per day, and in flight.
    xero_per_minute: int = 60
    xero_per_day: int = 5000
    xero_concurrent: int = 5


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
    # Xero: the refresh token dies at this time unless used first (None: never).
    refresh_expires_at: float | None = None
    # Xero: the authentication event (one consent) the grant descends from.
    auth_event_id: str | None = None


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class _Rotation:
    """A Xero refresh that replaced a refresh token: what it produced, and when."""

    successor: Grant
    at: float


class TokenRegistry:
    """Issues, refreshes, checks and revokes tokens for every provider.

    QBO rotates the refresh token on every refresh (the old one stops working); Clio's refresh
    token is long-lived and reusable. Xero rotates too, but for ``xero_refresh_grace`` seconds
    after a rotation the previous refresh token replays the pair the rotation produced (for a
    client that lost the response) until that new refresh token is itself used; a Xero refresh
    token unused for ``xero_refresh_token_ttl`` seconds is dead. Xero access tokens are
    JWT-shaped (see :meth:`_xero_access_token`); the others are opaque.
    """

    def __init__(self, clock: SandboxClock, settings: SandboxSettings) -> None:
        self._clock = clock
        self._settings = settings
        self._by_access: dict[str, Grant] = {}
        self._by_refresh: dict[str, Grant] = {}
        self._rotated: dict[str, _Rotation] = {}
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()

    def _ttl(self, provider: Provider) -> int:
        if provider == "clio":
            return self._settings.clio_access_token_ttl
        if provider == "xero":
            return self._settings.xero_access_token_ttl
        return self._settings.access_token_ttl

    def _new_grant(
        self,
        provider: Provider,
        client_id: str,
        realm_id: str | None,
        refresh_token: str,
        auth_event_id: str | None,
    ) -> Grant:
        now = self._clock.now()
        expires_at = now + self._ttl(provider)
        if provider == "xero":
            access = self._xero_access_token(client_id, auth_event_id, now, expires_at)
            refresh_expires_at: float | None = now + self._settings.xero_refresh_token_ttl
        else:
            access = f"{provider}-at-{secrets.token_urlsafe(24)}"
            refresh_expires_at = None
        return Grant(
            provider=provider,
            client_id=client_id,
            realm_id=realm_id,
            access_token=access,
            refresh_token=refresh_token,
            access_expires_at=expires_at,
            refresh_expires_at=refresh_expires_at,
            auth_event_id=auth_event_id,
        )

    def _xero_access_token(
        self, client_id: str, auth_event_id: str | None, now: float, expires_at: float
    ) -> str:
        """A JWT like Xero's: clients read ``authentication_event_id`` from it without verifying it."""
        claims: dict[str, Any] = {
            "iss": "https://identity.xero.com",
            "nbf": int(now),
            "exp": int(expires_at),
            "client_id": client_id,
            "jti": uuid.uuid4().hex,
        }
        if auth_event_id is not None:
            claims["authentication_event_id"] = auth_event_id
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = hmac.new(self._signing_key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{_b64url(signature)}"

    def issue(
        self, provider: Provider, client_id: str, realm_id: str | None, *, auth_event_id: str | None = None
    ) -> Grant:
        grant = self._new_grant(
            provider, client_id, realm_id, f"{provider}-rt-{secrets.token_urlsafe(24)}", auth_event_id
        )
        with self._lock:
            self._by_access[grant.access_token] = grant
            self._by_refresh[grant.refresh_token] = grant
        return grant

    def refresh(self, provider: Provider, client_id: str, refresh_token: str) -> Grant | None:
        """A new grant for a valid refresh token, or None (invalid_grant).

        Xero: within the grace period the previous refresh token answers with the grant its
        rotation produced, unchanged.
        """
        with self._lock:
            now = self._clock.now()
            if provider == "xero":
                replayed = self._replay(refresh_token, client_id, now)
                if replayed is not None:
                    return replayed
            old = self._by_refresh.get(refresh_token)
            if old is None or old.revoked or old.provider != provider or old.client_id != client_id:
                return None
            if old.refresh_expires_at is not None and now >= old.refresh_expires_at:
                return None
            self._by_access.pop(old.access_token, None)
            new_refresh = refresh_token
            if provider in ("qbo", "xero"):
                self._by_refresh.pop(refresh_token, None)
                new_refresh = f"{provider}-rt-{secrets.token_urlsafe(24)}"
            grant = self._new_grant(provider, client_id, old.realm_id, new_refresh, old.auth_event_id)
            self._by_access[grant.access_token] = grant
            self._by_refresh[grant.refresh_token] = grant
            if provider == "xero":
                self._rotated[refresh_token] = _Rotation(grant, now)
            return grant

    def _replay(self, refresh_token: str, client_id: str | None, now: float) -> Grant | None:
        """The grant a recent rotation of ``refresh_token`` produced, while the grace period lasts."""
        rotation = self._rotated.get(refresh_token)
        if rotation is None:
            return None
        successor = rotation.successor
        if now >= rotation.at + self._settings.xero_refresh_grace:
            del self._rotated[refresh_token]
            return None
        unused = self._by_refresh.get(successor.refresh_token) is successor
        if successor.revoked or not unused or client_id not in (None, successor.client_id):
            return None
        return successor

    def find_refresh(self, provider: Provider, refresh_token: str) -> Grant | None:
        """The live grant ``refresh_token`` belongs to (Xero: also a previous one in its grace period)."""
        with self._lock:
            grant = self._by_refresh.get(refresh_token)
            if grant is None and provider == "xero":
                grant = self._replay(refresh_token, None, self._clock.now())
            if grant is None or grant.revoked or grant.provider != provider:
                return None
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


FaultKind = Literal[
    "401", "429", "500", "503", "latency", "drop_after_commit", "timeout", "expire_tokens"
]  # fmt: skip


@dataclass
class FaultRule:
    """Inject a fault into matching requests. ``times`` counts down; -1 means forever.

    - ``drop_after_commit`` lets the emulator apply the request, then answers 502 as a gateway
      that lost the response would: the write happened but the client cannot know.
    - ``timeout`` lets the emulator apply the request, then holds its answer until the client
      gives up and hangs up (or ``latency_ms`` pass, if set, after which the answer is sent): the
      write happened and the client saw a read timeout. Tests shorten the client's read timeout
      rather than wait for the production one.
    - ``429`` answers in the shape of the service the path belongs to, with ``Retry-After:
      retry_after`` (Xero also names the limit: ``X-Rate-Limit-Problem: minute``).
    - ``expire_tokens`` expires every access token (as if an hour had passed), then lets the
      request through: it, and every request after it, meets the emulator's own 401.

    ``probability`` < 1 hits only that share of the matching requests (drawn from the seeded
    random generator of :class:`Faults`: the same seed and request order give the same faults);
    a request the draw spares does not use up one of ``times``. ``after`` lets that many matching
    requests through untouched before the rule starts to apply.
    """

    kind: FaultKind
    method: str = "*"
    path: str = ".*"
    times: int = 1
    latency_ms: int = 0
    probability: float = 1.0
    after: int = 0
    retry_after: int = 1

    def __post_init__(self) -> None:
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"a fault's probability is between 0 and 1, not {self.probability}")
        if self.after < 0 or self.retry_after < 0 or self.latency_ms < 0:
            raise ValueError("after, retry_after and latency_ms cannot be negative")

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and re.search(self.path, path) is not None


class Faults:
    """The fault rules in force, tried in the order they were added; ``seed`` fixes every draw.

    Each probabilistic rule draws on its own for each matching request, in rule order, so two
    rules of 5% hit a little under 10% of requests together. Each service (the path's first
    segment: clio, qbo, xero, …) draws from its own stream, in the order its requests arrive: a
    client that reads one service while it writes another (ledgerlink reads Clio a window ahead of
    its ledger writes) still sees the same faults run after run.
    """

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._lock = threading.Lock()
        self._seed = seed
        self._streams: dict[str, random.Random] = {}
        self.injected: list[tuple[str, str, str]] = []  # (kind, method, path) of every fault applied

    def _random(self, path: str) -> random.Random:
        service = path.lstrip("/").split("/", 1)[0]
        if service not in self._streams:
            self._streams[service] = random.Random(f"{self._seed}:{service}")
        return self._streams[service]

    def add(self, rule: FaultRule) -> None:
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def reseed(self, seed: int) -> None:
        """Start the random draws again from ``seed``."""
        with self._lock:
            self._seed = seed
            self._streams.clear()

    def take(self, method: str, path: str) -> FaultRule | None:
        """The first matching rule that applies to this request, consuming one of its uses."""
        with self._lock:
            for rule in self._rules:
                if rule.times == 0 or not rule.matches(method, path):
                    continue
                if rule.after > 0:
                    rule.after -= 1
                    continue
                if rule.probability < 1.0 and self._random(path).random() >= rule.probability:
                    continue
                if rule.times > 0:
                    rule.times -= 1
                self.injected.append((rule.kind, method.upper(), path))
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


# ---------------------------------------------------------------------------------------------
# Xero: registered apps, organisations (tenants), consents and connections


# Apps created on or after this day may only ask for granular scopes (reference/xero.md §6).
XERO_GRANULAR_ONLY_FROM = date(2026, 3, 2)


@dataclass(frozen=True)
class XeroApp:
    """A registered Xero app.

    ``client_secret`` is None for an "Auth Code with PKCE" app: it must use PKCE and identifies
    itself by ``client_id`` alone. ``created`` decides whether the broad scopes are still allowed.
    """

    name: str
    client_secret: str | None
    created: date
    redirect_uris: tuple[str, ...] = ("http://localhost:8765/callback",)

    @property
    def granular_only(self) -> bool:
        return self.created >= XERO_GRANULAR_ONLY_FROM


def default_xero_apps() -> dict[str, XeroApp]:
    """The sandbox's Xero apps: a new confidential app, a PKCE app and one made before the cut-off."""
    return {
        "sandbox-xero-app": XeroApp("ledgerlink (sandbox)", "sandbox-xero-secret", date(2026, 3, 16)),
        "sandbox-xero-pkce-app": XeroApp("ledgerlink desktop (sandbox)", None, date(2026, 4, 1)),
        "sandbox-xero-legacy-app": XeroApp(
            "ledgerlink legacy (sandbox)", "sandbox-xero-legacy-secret", date(2024, 5, 6)
        ),
    }


@dataclass(frozen=True)
class XeroOrganisation:
    tenant_id: str
    name: str
    tenant_type: str = "ORGANISATION"


@dataclass(frozen=True)
class XeroConsent:
    """One authentication event: a user consented to an app with these scopes."""

    auth_event_id: str
    client_id: str
    user_id: str
    scope: str


@dataclass(frozen=True)
class XeroConnection:
    """An app's connection to an organisation, made by a user's consent."""

    id: str
    client_id: str
    user_id: str
    tenant_id: str
    auth_event_id: str
    created_at: float
    updated_at: float
    connected: bool = True


class XeroOrgs:
    """The Xero organisations of the sandbox, the consents apps received and the connections made.

    A connection belongs to (app, user, organisation). Each consent that covers an organisation
    (re)connects it: the connection keeps its id and created time, and takes the consent's
    ``auth_event_id`` and the current time as updated time. Disconnecting hides it.
    """

    def __init__(self, clock: SandboxClock) -> None:
        self._clock = clock
        self._orgs: dict[str, XeroOrganisation] = {}
        self._consents: dict[str, XeroConsent] = {}
        self._connections: dict[tuple[str, str, str], XeroConnection] = {}
        self._lock = threading.Lock()

    def add(
        self, name: str, *, tenant_id: str | None = None, tenant_type: str = "ORGANISATION"
    ) -> XeroOrganisation:
        org = XeroOrganisation(tenant_id or str(uuid.uuid4()), name, tenant_type)
        with self._lock:
            self._orgs[org.tenant_id] = org
        return org

    def organisations(self) -> list[XeroOrganisation]:
        with self._lock:
            return list(self._orgs.values())

    def organisation(self, tenant_id: str) -> XeroOrganisation | None:
        with self._lock:
            return self._orgs.get(tenant_id)

    def consent(self, client_id: str, user_id: str, scope: str, tenant_ids: list[str]) -> XeroConsent:
        """Record a consent (a new authentication event) and connect the app to ``tenant_ids``."""
        given = XeroConsent(str(uuid.uuid4()), client_id, user_id, scope)
        now = self._clock.now()
        with self._lock:
            unknown = [tenant_id for tenant_id in tenant_ids if tenant_id not in self._orgs]
            if unknown:
                raise KeyError(f"no Xero organisation {unknown[0]}")
            self._consents[given.auth_event_id] = given
            for tenant_id in tenant_ids:
                key = (client_id, user_id, tenant_id)
                known = self._connections.get(key)
                if known is None:
                    known = XeroConnection(
                        str(uuid.uuid4()), client_id, user_id, tenant_id, given.auth_event_id, now, now
                    )
                self._connections[key] = replace(
                    known, auth_event_id=given.auth_event_id, updated_at=now, connected=True
                )
        return given

    def consent_of(self, auth_event_id: str | None) -> XeroConsent | None:
        with self._lock:
            return self._consents.get(auth_event_id or "")

    def connections(
        self, client_id: str, user_id: str, *, auth_event_id: str | None = None
    ) -> list[XeroConnection]:
        """The user's live connections of the app, oldest first (only one consent's, if named)."""
        with self._lock:
            found = [
                c
                for c in self._connections.values()
                if c.connected and c.client_id == client_id and c.user_id == user_id
            ]
        if auth_event_id is not None:
            found = [c for c in found if c.auth_event_id == auth_event_id]
        return sorted(found, key=lambda c: c.created_at)

    def disconnect(self, client_id: str, user_id: str, connection_id: str) -> bool:
        """Disconnect one of the user's connections of the app; False when there is no such live one."""
        with self._lock:
            for key, known in self._connections.items():
                if known.id == connection_id and known.connected and key[:2] == (client_id, user_id):
                    self._connections[key] = replace(known, connected=False)
                    return True
        return False

    def disconnect_user(self, client_id: str, user_id: str) -> int:
        """Disconnect every connection the user made for the app; how many there were."""
        with self._lock:
            live = [k for k, c in self._connections.items() if c.connected and k[:2] == (client_id, user_id)]
            for key in live:
                self._connections[key] = replace(self._connections[key], connected=False)
        return len(live)

    def connected(self, client_id: str, tenant_id: str) -> bool:
        """True when some user has the app connected to the organisation (the API's tenant check)."""
        with self._lock:
            return any(
                c.connected and c.client_id == client_id and c.tenant_id == tenant_id
                for c in self._connections.values()
            )


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
    # Xero: registered apps, and the organisations with the apps' connections to them.
    xero_apps: dict[str, XeroApp] = field(default_factory=default_xero_apps)
    xero_orgs: XeroOrgs = field(init=False)
    # Test switch: the tenant ids the Xero consent covers (None: every organisation in xero_orgs).
    xero_consent_orgs: list[str] | None = None
    # Every request the sandbox received, in order, as (method, path): what tests read to prove a
    # command sent nothing (a dry run) or only reads.
    request_log: list[tuple[str, str]] = field(default_factory=list)

    def writes_received(self) -> list[tuple[str, str]]:
        """The requests that could have changed something: anything but a read.

        QBO queries are ``POST .../query`` (and ``/batch`` of queries only is not told apart: it counts).
        """
        return [
            (m, p)
            for m, p in self.request_log
            if m not in ("GET", "HEAD", "OPTIONS") and not (m == "POST" and p.endswith("/query"))
        ]

    def __post_init__(self) -> None:
        self.tokens = TokenRegistry(self.clock, self.settings)
        self.rates = RateWindow(self.clock)
        self.xero_orgs = XeroOrgs(self.clock)
