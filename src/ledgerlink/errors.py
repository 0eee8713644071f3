"""The one exception tree of ledgerlink.

Every error a user can meet says what went wrong (``str(err)``) and what to do about it
(``err.remedy``). The CLI prints those two lines instead of a traceback. The tree::

    LedgerlinkError
    ├── UserError                 bad input from the person at the keyboard            exit 2
    │   └── ConfigError           the config file: names file, key path, expectation   exit 2
    ├── SystemicError             the pass cannot go on at all                         exit 3
    │   ├── AuthError             token missing, expired, revoked: reconnect
    │   ├── LockHeldError         another pass holds the store lock
    │   ├── MassChangeError       the circuit breaker: a pass would rewrite too much at once
    │   └── MappingMissingError   a configured Product/Service/account is not in the ledger
    ├── ApiError                  an API answered with an error (status, code, message, request id)
    │   ├── RateLimitedError      429 / throttled; carries retry_after seconds
    │   ├── ConflictError         stale version (QBO 5010, Clio 412)
    │   ├── NotFoundError         404 / QBO 610
    │   └── ValidationError       the API refused the record (4xx, QBO 2000-6999)
    └── TransportError            network failure, timeout, dropped response

``RecordError`` is not raised across the pass: it is the value a flow records in ``sync_errors``.
"""

from __future__ import annotations

from dataclasses import dataclass


class LedgerlinkError(Exception):
    """Root of every error ledgerlink raises on purpose."""

    exit_code = 3
    default_remedy = "Run `ledgerlink doctor` or re-run with --verbose for details."

    def __init__(self, message: str, *, remedy: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.remedy = remedy or self.default_remedy


class UserError(LedgerlinkError):
    exit_code = 2
    default_remedy = "Run `ledgerlink --help` for the usage."


class ConfigError(UserError):
    default_remedy = "Fix the config file (see examples/config.toml for every key) and run again."


class SystemicError(LedgerlinkError):
    exit_code = 3


class AuthError(SystemicError):
    default_remedy = "Reconnect with `ledgerlink connect <provider>`."


class LockHeldError(SystemicError):
    default_remedy = "Another pass is running; wait for it, or if it crashed, the lock expires by itself."


class MassChangeError(SystemicError):
    default_remedy = "See the change with `ledgerlink sync --dry-run`; if meant, add --allow-mass-change."


class MappingMissingError(SystemicError):
    default_remedy = "Create the Product/Service in the ledger or change the mapping in the config."


class TransportError(LedgerlinkError):
    default_remedy = "Check the network connection; ledgerlink retries on the next pass."


class ApiError(LedgerlinkError):
    """An API answered with an error status or an error body."""

    default_remedy = "See the API's message above; fix the record in the source and ledgerlink retries it."

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        detail: str | None = None,
        request_id: str | None = None,
        remedy: str | None = None,
    ) -> None:
        super().__init__(message, remedy=remedy)
        self.status = status
        self.code = code
        self.detail = detail
        self.request_id = request_id

    def __str__(self) -> str:
        parts = [self.message]
        if self.code:
            parts.append(f"(code {self.code})")
        if self.detail and self.detail != self.message:
            parts.append(f"— {self.detail}")
        if self.request_id:
            parts.append(f"[request {self.request_id}]")
        return " ".join(parts)


class RateLimitedError(ApiError):
    default_remedy = "The API's rate limit was reached; ledgerlink waits and retries, or run again later."

    def __init__(self, message: str, *, retry_after: float, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after = retry_after


class ConflictError(ApiError):
    default_remedy = "The record changed on the other side while syncing; the next pass re-reads it."


class NotFoundError(ApiError):
    default_remedy = "The referenced record is missing or inactive; check it exists and is active."


class ValidationError(ApiError):
    pass


@dataclass(frozen=True)
class RecordError:
    """Why one source record could not be synced: what a row of `ledgerlink errors` shows."""

    cause: str
    message: str
    remedy: str
    retryable: bool = True
    blocked_by: str | None = None
