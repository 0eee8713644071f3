"""Xero's error answers, whatever their shape, as :class:`~ledgerlink.errors.ApiError` s.

Xero answers errors in several shapes (``reference/xero.md`` §1), so the mapper reads any of them:

- identity / OAuth: ``{"error": "invalid_grant", "error_description"?}``
- problem details: ``{"Title", "Status", "Detail", "Instance"}`` (also lower-case, as on newer APIs)
- Accounting validation: ``{"ErrorNumber", "Type", "Message", "Elements": [{"ValidationErrors": [...]}]}``
- the same as XML ``<ApiException>``, and plain text when the API is offline.

By status::

    400         → ValidationError     the record or request was refused; messages in ``detail``
    401 / 403   → ApiError            with a reconnect remedy (the transport refreshes a 401 first);
                                      a 401 with ``WWW-Authenticate: … insufficient_scope`` names the scope
    404         → NotFoundError
    429         → RateLimitedError    ``code`` names the limit (``X-Rate-Limit-Problem``), Retry-After
                                      (a *day* limit never gets this far: the tenant's limiter raises
                                      :class:`DailyLimitReached` on seeing it: nothing sleeps through a day)
    anything else → ApiError          (the transport retries 500/502/503/504 where that is safe)

Every text that reaches an error is passed through :func:`ledgerlink.http.redact`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from xml.etree import ElementTree

import httpx

from ledgerlink.errors import ApiError, NotFoundError, RateLimitedError, SystemicError, ValidationError
from ledgerlink.http import redact, retry_after_seconds

RECONNECT_REMEDY = "Reconnect with `ledgerlink connect xero` and pick the organisation again."
DEFAULT_RETRY_AFTER = 60.0
SCOPE_REMEDY = (
    'Set [xero] scopes = "granular" (apps created on or after 2 March 2026) or "broad" (older apps) to match '
    "your Xero app, then run `ledgerlink connect xero` again to grant the scope."
)


class DailyLimitReached(SystemicError):
    """The organisation's daily call budget is spent (or would be by what the pass still needs).

    Systemic (exit 3): nothing in this pass can reach Xero for that organisation any more, and
    sleeping until the window reopens would hold the store lock for hours. The next pass resumes.
    """

    default_remedy = (
        "Xero allows each organisation a fixed number of calls per day; run `ledgerlink sync` again "
        "after the daily window reopens: the pass resumes where this one stopped."
    )

    def __init__(
        self, message: str, *, remaining: int, needed: int = 1, retry_after: float | None = None
    ) -> None:
        remedy = None
        if retry_after is not None:
            hours = retry_after / 3600
            when = (
                f"in about {hours:.1f} h" if hours >= 1 else f"in about {max(1, round(retry_after / 60))} min"
            )
            remedy = (
                f"Xero reopens this organisation's daily budget {when}; run `ledgerlink sync` again "
                "then: the pass resumes where this one stopped."
            )
        super().__init__(message, remedy=remedy)
        self.remaining = remaining
        self.needed = needed
        self.retry_after = retry_after


@dataclass(frozen=True)
class XeroFault:
    """What an error body says, whichever shape it came in."""

    message: str | None = None
    code: str | None = None
    detail: str | None = None
    instance: str | None = None


def _text(value: Any) -> str | None:
    return str(value) if value not in (None, "") else None


def _field(body: Mapping[str, Any], name: str) -> Any:
    """``body[name]`` in Xero's PascalCase or the problem-details camelCase spelling."""
    return body.get(name, body.get(name[:1].lower() + name[1:]))


def _validation_messages(elements: Any) -> list[str]:
    messages: list[str] = []
    for element in elements if isinstance(elements, list) else []:
        errors = element.get("ValidationErrors") if isinstance(element, Mapping) else None
        for error in errors if isinstance(errors, list) else []:
            message = error.get("Message") if isinstance(error, Mapping) else None
            if message:
                messages.append(str(message))
    return messages


def fault_from_json(body: Any) -> XeroFault | None:
    """The fault a decoded JSON error body describes, or None when it is none of Xero's shapes."""
    if not isinstance(body, Mapping):
        return None
    if isinstance(body.get("error"), str):
        return XeroFault(code=body["error"], detail=_text(body.get("error_description")))
    if "ErrorNumber" in body or "Elements" in body:
        messages = _validation_messages(body.get("Elements"))
        return XeroFault(
            message=_text(body.get("Message")),
            code=_text(body.get("Type")),
            detail="; ".join(messages) or None,
        )
    if _field(body, "Title") is not None or _field(body, "Detail") is not None:
        return XeroFault(
            message=_text(_field(body, "Title")),
            detail=_text(_field(body, "Detail")),
            instance=_text(_field(body, "Instance")),
        )
    return None


def fault_from_xml(text: str) -> XeroFault | None:
    """The fault of a legacy ``<ApiException>`` body, or None."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        return None
    if root.tag != "ApiException":
        return None
    messages = [error.findtext("Message") for error in root.iter("ValidationError")]
    return XeroFault(
        message=root.findtext("Message") or None,
        code=root.findtext("Type") or None,
        detail="; ".join(m for m in messages if m) or None,
    )


def _fault(response: httpx.Response) -> XeroFault:
    try:
        fault = fault_from_json(json.loads(response.content, parse_float=Decimal))
    except ValueError:
        fault = fault_from_xml(response.text)
    if fault is None:
        fault = XeroFault(detail=_text(response.text.strip()[:500]))
    return fault


def map_error(response: httpx.Response) -> ApiError:
    """The transport's ``error_mapper`` for every Xero endpoint (see the module docstring)."""
    status = response.status_code
    fault = _fault(response)
    request = response.request
    summary = f"Xero answered {status} to {request.method} {request.url.path}"
    if fault.message:
        summary += f": {fault.message}"
    kw: dict[str, Any] = {
        "status": status,
        "code": fault.code,
        "detail": redact(fault.detail) if fault.detail else None,
        "request_id": fault.instance,
    }
    if status == 429:
        problem = response.headers.get("X-Rate-Limit-Problem")
        kw["code"] = problem or kw["code"]
        wait = retry_after_seconds(response, DEFAULT_RETRY_AFTER)
        return RateLimitedError(redact(summary), retry_after=wait, **kw)
    if status == 400:
        return ValidationError(redact(summary), **kw)
    if status == 404:
        return NotFoundError(redact(summary), **kw)
    challenge = response.headers.get("WWW-Authenticate", "")
    if status == 401 and "insufficient_scope" in challenge:
        scope = re.search(r'scope="([^"]+)"', challenge)
        needed = f" ({scope.group(1)})" if scope else ""
        kw["code"] = "insufficient_scope"
        return ApiError(
            redact(f"{summary}: the Xero consent lacks the scope this needs{needed}"),
            remedy=SCOPE_REMEDY,
            **kw,
        )
    if status in (401, 403):
        return ApiError(redact(summary), remedy=RECONNECT_REMEDY, **kw)
    return ApiError(redact(summary), **kw)


__all__ = ["DailyLimitReached", "XeroFault", "fault_from_json", "fault_from_xml", "map_error"]
