"""The one HTTP transport every provider client shares.

It owns what is the same for every API: bearer auth with one refresh on 401, pacing from the
server's rate-limit headers, Retry-After on 429, tenacity retries only where a retry cannot
duplicate an effect (safe reads, and writes that carry an idempotency key), and redaction of
tokens from every log line and exception. What differs per API — error bodies, envelopes — is
the client's business: it passes an ``error_mapper``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt

from ledgerlink import failpoints
from ledgerlink.errors import ApiError, AuthError, RateLimitedError, TransportError

log = logging.getLogger("ledgerlink.http")

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})

# ---------------------------------------------------------------------------------------------
# Redaction


_secrets: set[str] = set()
_secrets_lock = threading.Lock()
_PATTERNS = [
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]+"),
    re.compile(r"(?i)((?:access|refresh)_token[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"(?i)(client_secret[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"(?i)((?:[?&])code=)[^&\s]+"),
]


def register_secret(value: str | None) -> None:
    """Remember a token so that it is masked wherever it would be printed or logged."""
    if value and len(value) >= 8:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """Mask bearer tokens, refresh tokens, client secrets and auth codes in ``text``."""
    # Known secrets go first: a shape pattern that stops at an unusual character would otherwise
    # mask only a token's prefix and leave the rest of it where the exact match can no longer see it.
    with _secrets_lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, "***")
    for pattern in _PATTERNS:
        text = pattern.sub(r"\1***", text)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that rewrites every record's message through :func:`redact`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = ()
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    target = logger or logging.getLogger("ledgerlink")
    if not any(isinstance(f, RedactingFilter) for f in target.filters):
        target.addFilter(RedactingFilter())
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


# ---------------------------------------------------------------------------------------------
# Auth and pacing


class TokenSource(Protocol):
    """What the transport needs from the auth layer."""

    def access_token(self) -> str:
        """A currently valid access token (refreshing first if it is about to expire)."""
        ...

    def refresh(self, rejected: str) -> str:
        """The server rejected ``rejected``: refresh (once, single-flight) and return the new token.

        Raises AuthError when refreshing is impossible (refresh token revoked or expired).
        """
        ...


WaitListener = Callable[[str, float], None]
_wait_listeners: list[WaitListener] = []


def add_wait_listener(listener: WaitListener) -> Callable[[], None]:
    """Be told ``(api name, seconds)`` before ledgerlink sleeps for a rate limit; returns the remover.

    Progress displays use it to show "waiting 12 s for Clio's rate limit" instead of looking stuck.
    """
    _wait_listeners.append(listener)
    return lambda: _wait_listeners.remove(listener) if listener in _wait_listeners else None


def tell_waiting(name: str, seconds: float) -> None:
    """Tell the wait listeners that `name` is about to sleep `seconds` for a rate limit."""
    for listener in list(_wait_listeners):
        listener(name, seconds)


@dataclass
class RateLimiter:
    """Client-side pacing for one API and one token.

    ``per_second`` spaces requests evenly (QBO: 10/s per realm). Server-announced windows
    (``X-RateLimit-Remaining`` / ``X-RateLimit-Reset``, Clio) make the next request wait for the
    window to reset once the budget is spent.
    """

    per_second: float | None = None
    sleep: Callable[[float], None] = time.sleep
    name: str = ""  # the API it paces, as wait listeners are told it (set by the Transport)
    monotonic: Callable[[], float] = time.monotonic
    wall: Callable[[], float] = time.time
    _next_at: float = 0.0
    _blocked_until_wall: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before_request(self) -> None:
        with self._lock:
            wait = 0.0
            if self._blocked_until_wall:
                wait = max(wait, self._blocked_until_wall - self.wall())
                self._blocked_until_wall = 0.0
            if self.per_second:
                now = self.monotonic()
                wait = max(wait, self._next_at - now)
                self._next_at = max(now, self._next_at) + 1.0 / self.per_second
        if wait > 0:
            log.debug("pacing: waiting %.2fs for the rate-limit window", wait)
            if wait >= 1.0:  # pacing between requests is not worth telling anyone about
                tell_waiting(self.name, wait)
            self.sleep(wait)

    def observe(self, response: httpx.Response) -> None:
        remaining = response.headers.get("X-RateLimit-Remaining")
        reset = response.headers.get("X-RateLimit-Reset")
        if remaining is None or reset is None:
            return
        try:
            if int(remaining) <= 0:
                with self._lock:
                    self._blocked_until_wall = float(reset)
        except ValueError:
            return


def retry_after_seconds(response: httpx.Response, default: float = 60.0) -> float:
    """Seconds to wait from a 429's Retry-After header (seconds form), else ``default``."""
    value = response.headers.get("Retry-After")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def default_error_mapper(response: httpx.Response) -> ApiError:
    text = response.text[:500]
    return ApiError(
        f"HTTP {response.status_code} from {response.request.url.host}",
        status=response.status_code,
        detail=redact(text),
    )


# ---------------------------------------------------------------------------------------------
# Transport


class Transport:
    """Sends requests to one API on behalf of one connection."""

    def __init__(
        self,
        base_url: str,
        *,
        name: str,
        auth: TokenSource | None = None,
        limiter: RateLimiter | None = None,
        headers: Mapping[str, str] | None = None,
        error_mapper: Callable[[httpx.Response], ApiError] = default_error_mapper,
        timeout: float = 30.0,
        max_attempts: int = 4,
        max_retry_wait: float = 120.0,
        default_retry_after: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self._auth = auth
        self._limiter = limiter or RateLimiter(sleep=sleep)
        self._limiter.name = self._limiter.name or name
        self._error_mapper = error_mapper
        self._max_attempts = max_attempts
        self._max_retry_wait = max_retry_wait
        self._default_retry_after = default_retry_after
        self._sleep = sleep
        self._client = httpx.Client(
            base_url=base_url,
            headers=dict(headers or {}),
            timeout=timeout,
            transport=http_transport,
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Transport:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        json: Any = None,
        content: str | bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send one logical request; return the successful response or raise a LedgerlinkError.

        ``idempotent`` says whether repeating the request can duplicate an effect; it defaults
        to True for GET/HEAD/OPTIONS. Writes pass True only when they carry an idempotency key.
        """
        method = method.upper()
        repeatable = method in SAFE_METHODS if idempotent is None else idempotent

        def should_retry(exc: BaseException) -> bool:
            if isinstance(exc, RateLimitedError):
                return True  # a 429 was not processed: always safe to repeat
            if isinstance(exc, _NotSent):
                return True
            if isinstance(exc, TransportError | _RetryableStatus):
                return repeatable
            return False

        retrying = Retrying(
            stop=stop_after_attempt(self._max_attempts),
            wait=self._wait,
            retry=retry_if_exception(should_retry),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(
                        method, url, params=params, json=json, content=content, headers=headers
                    )
        except _NotSent as exc:
            raise TransportError(f"{self.name}: could not connect: {redact(str(exc.cause))}") from None
        except _RetryableStatus as exc:
            raise exc.error from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RateLimitedError):
            wait = min(exc.retry_after, self._max_retry_wait)
            tell_waiting(self.name, wait)
            return wait
        return float(min(2 ** (state.attempt_number - 1) * 0.5, 8.0))

    def _send_once(self, method: str, url: str, **kw: Any) -> httpx.Response:
        extra = dict(kw.pop("headers") or {})
        token = self._auth.access_token() if self._auth else None
        response = self._exchange(method, url, token, extra, kw)
        if response.status_code == 401 and "insufficient_scope" in response.headers.get(
            "WWW-Authenticate", ""
        ):
            # RFC 6750: the token is fine but the consent lacks a scope; refreshing cannot help.
            error = self._error_mapper(response)
            raise AuthError(str(error), remedy=error.remedy)
        if response.status_code == 401 and self._auth and token:
            log.info("%s: access token rejected; refreshing once", self.name)
            token = self._auth.refresh(token)
            response = self._exchange(method, url, token, extra, kw)
            if response.status_code == 401:
                raise AuthError(
                    f"{self.name} rejected the access token even after refreshing it.",
                    remedy=f"Reconnect with `ledgerlink connect {self.name.lower()}`.",
                )
        if response.status_code == 429:
            wait = retry_after_seconds(response, self._default_retry_after)
            error = self._error_mapper(response)
            raise RateLimitedError(
                f"{self.name} rate limit reached; retry after {wait:g}s",
                retry_after=wait,
                status=429,
                code=error.code,
                detail=error.detail,
                request_id=error.request_id,
            )
        if response.status_code >= 400:
            error = self._error_mapper(response)
            if response.status_code in RETRYABLE_STATUS:
                raise _RetryableStatus(error)
            raise error
        return response

    def _exchange(
        self, method: str, url: str, token: str | None, extra: dict[str, str], kw: dict[str, Any]
    ) -> httpx.Response:
        headers = dict(extra)
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._limiter.before_request()
        failpoints.hit(failpoints.HTTP_REQUEST)
        try:
            response = self._client.request(method, url, headers=headers, **kw)
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise _NotSent(exc) from None
        except httpx.HTTPError as exc:
            raise TransportError(f"{self.name}: {type(exc).__name__}: {redact(str(exc))}") from None
        failpoints.hit(failpoints.HTTP_RESPONSE)
        self._limiter.observe(response)
        if log.isEnabledFor(logging.DEBUG):  # redacting a URL of 200 ids costs more than sending it
            log.debug(
                "%s %s %s -> %s", self.name, method, redact(str(response.request.url)), response.status_code
            )
        return response


class _NotSent(Exception):
    """The connection failed before the request left: repeating it cannot duplicate anything."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _RetryableStatus(Exception):
    def __init__(self, error: ApiError) -> None:
        super().__init__(str(error))
        self.error = error
