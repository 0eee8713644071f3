"""Xero connections: which organisations (tenants) a grant reaches, and disconnecting one.

After the code exchange, ``GET https://api.xero.com/connections`` lists the organisations the
user has connected to the app; every Accounting API call then names one of them in the
``xero-tenant-id`` header. ``?authEventId=`` narrows the list to the organisations one consent
connected — the access token carries that id as its ``authentication_event_id`` claim
(:func:`auth_event_id_of`). ``DELETE /connections/{id}`` disconnects one organisation by its
*connection* id, not its tenant id (``reference/xero.md`` §1, §6).

Both calls go through the shared :class:`~ledgerlink.http.Transport` with
:func:`ledgerlink.providers.xero.errors.map_error`. Given a bare access token, a 401 is an
AuthError (reconnect); given a :class:`~ledgerlink.http.TokenSource` (an ``OAuthSession``), the
transport refreshes once first. Token values never appear in an error or a log line.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticValidationError

from ledgerlink.errors import ApiError, AuthError, NotFoundError
from ledgerlink.http import TokenSource, Transport, register_secret
from ledgerlink.providers.xero.errors import RECONNECT_REMEDY, map_error


class XeroTenant(BaseModel):
    """One connected organisation, as ``GET /connections`` describes it. Times are UTC."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    connection_id: str = Field(alias="id")
    tenant_id: str = Field(alias="tenantId")
    tenant_name: str | None = Field(default=None, alias="tenantName")
    tenant_type: str = Field(alias="tenantType")
    created_at: datetime = Field(alias="createdDateUtc")
    updated_at: datetime | None = Field(default=None, alias="updatedDateUtc")
    auth_event_id: str | None = Field(default=None, alias="authEventId")

    @field_validator("created_at", "updated_at")
    @classmethod
    def _utc(cls, value: datetime | None) -> datetime | None:
        # Xero writes these in UTC without a zone ("2019-12-07T18:46:19.5165400").
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value

    @property
    def reconnected(self) -> bool:
        """True when the organisation was disconnected and connected again since it first was."""
        return self.updated_at is not None and self.updated_at != self.created_at


class _GivenToken:
    """A TokenSource for one access token: nothing to refresh it with, so a 401 means reconnect."""

    def __init__(self, token: str) -> None:
        register_secret(token)
        self._token = token

    def access_token(self) -> str:
        return self._token

    def refresh(self, rejected: str) -> str:
        raise AuthError("Xero rejected the access token (expired or revoked).", remedy=RECONNECT_REMEDY)


def _transport(
    connections_url: str,
    access_token: str | TokenSource,
    http_transport: httpx.BaseTransport | None,
    sleep: Callable[[float], None],
) -> Transport:
    auth = _GivenToken(access_token) if isinstance(access_token, str) else access_token
    return Transport(
        connections_url,
        name="Xero",
        auth=auth,
        headers={"Accept": "application/json"},
        error_mapper=map_error,
        sleep=sleep,
        http_transport=http_transport,
    )


def list_tenants(
    connections_url: str,
    access_token: str | TokenSource,
    *,
    auth_event_id: str | None = None,
    http_transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[XeroTenant]:
    """The organisations connected to the app for the token's user (only one consent's, if named).

    ``connections_url`` is ``https://api.xero.com/connections`` or the sandbox's
    (``XeroConfig.connections_url``). Raises AuthError when the token is refused, ApiError when
    Xero answers with an error or with something that is not a list of connections.
    """
    params = {"authEventId": auth_event_id} if auth_event_id else None
    with _transport(connections_url, access_token, http_transport, sleep) as transport:
        response = transport.request("GET", connections_url, params=params)
    return parse_connections(response)


def parse_connections(response: httpx.Response) -> list[XeroTenant]:
    """The tenants of a ``GET /connections`` answer; ApiError when it is not a list of connections."""
    try:
        body: Any = response.json()
        if not isinstance(body, list):
            raise ValueError("not a JSON array")
        return [XeroTenant.model_validate(item) for item in body]
    except (ValueError, PydanticValidationError) as exc:
        problem = f"{exc.error_count()} invalid field(s)" if isinstance(exc, PydanticValidationError) else exc
        raise ApiError(
            f"Xero's /connections answer is not a list of connections ({problem}).",
            status=response.status_code,
        ) from None


def remove_connection(
    connections_url: str,
    access_token: str | TokenSource,
    connection_id: str,
    *,
    http_transport: httpx.BaseTransport | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Disconnect one organisation by its connection id; False when Xero no longer knew it.

    Repeating a disconnect cannot do harm, so the request may be retried after a lost answer;
    the 404 such a retry meets means the first attempt worked.
    """
    url = f"{connections_url.rstrip('/')}/{quote(connection_id, safe='')}"
    with _transport(connections_url, access_token, http_transport, sleep) as transport:
        try:
            transport.request("DELETE", url, idempotent=True)
        except NotFoundError:
            return False
    return True


def auth_event_id_of(access_token: str) -> str | None:
    """The ``authentication_event_id`` claim of a Xero access token (a JWT), read without verifying.

    None when the token is not a JWT or has no such claim. Only for filtering ``/connections``:
    nothing is trusted on the strength of it.
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    value = claims.get("authentication_event_id") if isinstance(claims, dict) else None
    return value if isinstance(value, str) and value else None


__all__ = ["XeroTenant", "auth_event_id_of", "list_tenants", "parse_connections", "remove_connection"]
