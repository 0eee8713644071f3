"""Xero's identity server and its connections endpoint, auto-approving and strict.

Behaves like the real service as ``reference/xero.md`` §1 and §6 describe it::

    /xero/identity  GET  /connect/authorize    → 302 redirect_uri?code=…&state=…
                    POST /connect/token        form; authorization_code / refresh_token grants
                    POST /connect/revocation   form ``token=<refresh token>``; 200
    /xero/api       GET  /connections          Bearer; JSON array of the user's connections
                    DELETE /connections/{id}   Bearer; 204, or 404 for an unknown id

Apps are ``state.xero_apps`` (:class:`~ledgerlink.sandbox.state.XeroApp`): a confidential app
authenticates at the token and revocation endpoints with HTTP Basic *or* ``client_id`` +
``client_secret`` in the form; an "Auth Code with PKCE" app (no secret) sends only ``client_id``
and must use PKCE. The sandbox's one Xero user (:data:`~ledgerlink.sandbox.demo_firm.XERO_USER_ID`)
approves every well-formed request at once. The consent covers the organisations in
``state.xero_orgs`` — or only the tenant ids in the test switch ``state.xero_consent_orgs`` —
and connects each of them to the app under a new authentication event id (``authEventId``).
A test declines consent with ``state.oauth_decline = True`` or the query parameter ``deny=1``.

Tokens come from the shared :class:`~ledgerlink.sandbox.state.TokenRegistry`, which implements
Xero's lifetimes: 30-minute JWT-shaped access tokens carrying ``authentication_event_id``,
refresh tokens rotated on every refresh, dead after 60 days unused, and the 30-minute grace period
of the previous refresh token.

Assumptions
-----------
The reference leaves these open; the sandbox follows RFC 6749 / 7009 / 7636 / 8252 and is strict:

- Redirect URIs: https, or http only on the host ``localhost`` (``127.0.0.1`` and ``::1`` are
  refused, reference §6), and registered with the app. A registered ``http://localhost`` URI
  matches whatever port the request names (RFC 8252 §7.3), so a listener on port 0 works;
  https URIs match exactly. Whether Xero compares localhost ports is unknown. A bad redirect URI
  or an unknown ``client_id`` is a 400 JSON error page, never a redirect.
- Authorization codes live :data:`AUTH_CODE_TTL` (5 minutes) on the sandbox clock and are spent by
  the first token request that presents them, even a failed one. PKCE accepts only ``S256``; a
  confidential app may use PKCE too (ledgerlink always does), a PKCE app must.
- Scopes: an unknown scope, or none, is ``invalid_scope``. An app created on or after 2026-03-02
  asking for ``accounting.transactions``, ``accounting.transactions.read`` or
  ``accounting.reports.read`` gets ``invalid_scope``. Without ``offline_access`` the token answer
  has no ``refresh_token``. Scopes other than ``openid profile email offline_access`` need an
  organisation: with none to connect, the user is taken to decline (``access_denied``). No
  ``id_token`` is issued, even for ``openid`` (ledgerlink never asks for it).
- Authorization errors after the client and redirect URI are verified are redirected as
  ``error`` + ``error_description`` + ``state``. Token and revocation endpoint errors are bodies
  of just ``{"error": "<code>"}`` (the shape the reference shows for ``invalid_grant``), status 400,
  except ``invalid_client`` which is 401 (with ``WWW-Authenticate: Basic`` when Basic was tried).
  Sending a client secret both ways, or any secret for a PKCE app, is refused.
- Grace period, as read here: after a rotation, presenting the previous refresh token within 30
  minutes answers with the *same* access and refresh token the rotation produced — the lost
  response, replayed — not with yet another pair; ``expires_in`` then counts what is left of that
  access token's life. Once the new refresh token has itself been used, the client evidently
  received it, and the previous one is dead at once. Each refresh (not a replay) gives the new
  refresh token a fresh 60 days. An access token dies when its grant is refreshed.
- A refresh request's optional ``scope`` must be within the consented scopes (RFC 6749 §6); the
  answer's ``scope`` is always the consented one.
- Revocation takes a refresh token (current, or previous within grace); it ends that grant and
  disconnects every organisation the user connected to the app. Other grants of the same user
  keep working but see no connections. An unknown token, or one issued to another app, answers 200
  and changes nothing (RFC 7009 §2.2); a live access token is ``unsupported_token_type``.
- Connections are per (app, user, organisation). Every consent covering an organisation sets the
  connection's ``authEventId`` and ``updatedDateUtc``; reconnecting after a disconnect keeps its
  ``id`` and ``createdDateUtc``. Dates are UTC with seven fractional digits and no zone, as in the
  identity spec's example. ``GET /connections`` lists the token user's connections of the token's
  app, oldest first; ``/Connections`` is the same route (Xero's paths are case-insensitive).
  A token minted without a consent (directly from the registry in tests) acts for the one user.
- ``/connections`` errors are problem bodies ``{"Title","Status","Detail","Instance"}`` (§1):
  401 ``TokenExpired: token expired at MM/dd/yyyy HH:mm:ss`` for an expired Xero token, else
  ``AuthenticationUnsuccessful``; 404 ``Connection not found``. Each answer carries
  ``X-AppMinLimit-Remaining`` from a per-app minute window (``settings.xero_app_per_minute``);
  over it, 429 with ``Retry-After`` and ``X-Rate-Limit-Problem: appminute``.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ledgerlink.sandbox.demo_firm import (
    XERO_ORG_NAME,
    XERO_ORG_TENANT_ID,
    XERO_TRUST_ORG_NAME,
    XERO_TRUST_ORG_TENANT_ID,
    XERO_USER_ID,
)
from ledgerlink.sandbox.oauth import (
    AuthorizationCodes,
    OAuthRefusal,
    invalid_grant,
    invalid_request,
    parse_basic_credentials,
    parse_form,
    redirect_uri_problem,
    single_valued,
    with_query,
)
from ledgerlink.sandbox.state import Grant, SandboxState, XeroApp, XeroConnection, XeroConsent

AUTH_CODE_TTL = 300.0
IDENTITY_SCOPES = frozenset({"openid", "profile", "email", "offline_access"})
# Scopes that come with a ``.read`` twin: broad ones, then the granular ones (reference §6).
_READ_WRITE_SCOPES = (
    "accounting.transactions",
    "accounting.contacts",
    "accounting.settings",
    "accounting.attachments",
    "accounting.invoices",
    "accounting.payments",
    "accounting.banktransactions",
    "accounting.manualjournals",
    "accounting.classicexpenses",
)
_READ_ONLY_SCOPES = (
    "accounting.reports.read",
    "accounting.journals.read",
    "accounting.budgets.read",
    "accounting.reports.tenninetynine.read",
    *(
        f"accounting.reports.{report}.read"
        for report in (
            "aged",
            "balancesheet",
            "banksummary",
            "budgetsummary",
            "executivesummary",
            "profitandloss",
            "trialbalance",
            "taxreports",
        )
    ),
)
ORGANISATION_SCOPES = frozenset(
    (
        *_READ_WRITE_SCOPES,
        *(f"{scope}.read" for scope in _READ_WRITE_SCOPES),
        *_READ_ONLY_SCOPES,
        "paymentservices",
    )
)
# Broad scopes an app created on or after 2026-03-02 may not ask for (reference §6).
RETIRED_BROAD_SCOPES = frozenset(
    {"accounting.transactions", "accounting.transactions.read", "accounting.reports.read"}
)
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


# ---------------------------------------------------------------------------------------------
# Pure checks


def redirect_problem(uri: str, app: XeroApp) -> str | None:
    """Why Xero would refuse ``uri`` as the app's redirect URI, or None when it accepts it."""
    problem = redirect_uri_problem(uri, https_off_loopback=True)
    if problem:
        return problem
    parts = urlsplit(uri)
    if parts.scheme == "http" and parts.hostname != "localhost":
        return "redirect_uri must use https; plain http is allowed only on localhost (not 127.0.0.1)"
    if not any(_same_redirect(uri, registered) for registered in app.redirect_uris):
        return "redirect_uri is not registered for this app"
    return None


def _same_redirect(uri: str, registered: str) -> bool:
    given, known = urlsplit(uri), urlsplit(registered)
    if (given.scheme, given.hostname, given.path, given.query) != (
        known.scheme,
        known.hostname,
        known.path,
        known.query,
    ):
        return False
    any_port = given.scheme == "http" and given.hostname == "localhost"
    return any_port or given.port == known.port


def scope_problem(scopes: list[str], app: XeroApp) -> str | None:
    """Why Xero would refuse to grant ``scopes`` to ``app`` (``invalid_scope``), or None."""
    if not scopes:
        return "scope is required"
    unknown = [scope for scope in scopes if scope not in IDENTITY_SCOPES | ORGANISATION_SCOPES]
    if unknown:
        return f"unknown scope {unknown[0]!r}"
    retired = [scope for scope in scopes if scope in RETIRED_BROAD_SCOPES]
    if retired and app.granular_only:
        return (
            f"{retired[0]!r} is not available to apps created on or after 2 March 2026; use granular scopes"
        )
    return None


def needs_organisation(scopes: list[str]) -> bool:
    """True when the scopes reach into an organisation, so the consent must connect one."""
    return any(scope in ORGANISATION_SCOPES for scope in scopes)


def utc_text(epoch: float) -> str:
    """A time as Xero's identity API writes it: UTC, 7 fractional digits, no zone (``…T18:46:19.5165400``)."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0"


def connection_json(connection: XeroConnection, state: SandboxState) -> dict[str, Any]:
    org = state.xero_orgs.organisation(connection.tenant_id)
    return {
        "id": connection.id,
        "authEventId": connection.auth_event_id,
        "tenantId": connection.tenant_id,
        "tenantType": org.tenant_type if org else "ORGANISATION",
        "tenantName": org.name if org else None,
        "createdDateUtc": utc_text(connection.created_at),
        "updatedDateUtc": utc_text(connection.updated_at),
    }


def token_claims(token: str) -> dict[str, Any] | None:
    """The payload of a JWT-shaped token, unverified; None when it is not one."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


# ---------------------------------------------------------------------------------------------
# Answers


def _error_page(error: str, description: str) -> Response:
    return JSONResponse({"error": error, "error_description": description}, status_code=400)


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    return RedirectResponse(with_query(uri, params), status_code=302)


def _refusal(refusal: OAuthRefusal) -> Response:
    """A token/revocation endpoint error: just the error code, as Xero sends it."""
    headers = dict(_NO_STORE)
    if refusal.basic_challenge:
        headers["WWW-Authenticate"] = 'Basic realm="identity.xero.com"'
    return JSONResponse({"error": refusal.error}, status_code=refusal.status, headers=headers)


def _invalid_client(description: str, *, basic: bool) -> OAuthRefusal:
    return OAuthRefusal(401, "invalid_client", description, basic_challenge=basic)


def _problem(status: int, title: str, detail: str, headers: Mapping[str, str] | None = None) -> Response:
    body = {"Title": title, "Status": status, "Detail": detail, "Instance": str(uuid.uuid4())}
    return JSONResponse(body, status_code=status, headers=headers)


# ---------------------------------------------------------------------------------------------
# The identity server


@dataclass(frozen=True)
class _AuthorizeRequest:
    client_id: str
    app: XeroApp
    redirect_uri: str
    state: str | None
    params: dict[str, str]

    def refuse(self, error: str, description: str) -> Response:
        answer = {"error": error, "error_description": description}
        if self.state is not None:
            answer["state"] = self.state
        return _redirect(self.redirect_uri, answer)


def build_xero_identity_app(state: SandboxState) -> Starlette:
    """Xero's identity server (login.xero.com / identity.xero.com), mounted at ``/xero/identity``."""
    codes = AuthorizationCodes(state)

    async def authorize(request: Request) -> Response:
        read = _read_authorize_request(request, state)
        if isinstance(read, Response):
            return read
        refused = _refuse_authorization(read, state)
        if refused is not None:
            return refused
        scope = read.params["scope"]
        try:
            tenant_ids = _consented_tenants(state) if needs_organisation(scope.split()) else []
        except OAuthRefusal as refusal:
            return read.refuse(refusal.error, refusal.description)
        consent = state.xero_orgs.consent(read.client_id, XERO_USER_ID, scope, tenant_ids)
        # The code's realm slot carries the consent's authentication event to the token request.
        challenge = read.params.get("code_challenge") or None
        code = codes.issue(read.client_id, read.redirect_uri, challenge, consent.auth_event_id)
        answer = {"code": code}
        if read.state is not None:
            answer["state"] = read.state
        return _redirect(read.redirect_uri, answer)

    async def token(request: Request) -> Response:
        try:
            form = parse_form(await request.body(), request.headers.get("content-type"))
            client_id = _authenticate(state, request.headers.get("authorization"), form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                grant = _exchange_code(state, codes, form, client_id)
            elif grant_type == "refresh_token":
                grant = _refresh(state, form, client_id)
            elif not grant_type:
                raise invalid_request("grant_type is required")
            else:
                raise OAuthRefusal(400, "unsupported_grant_type", f"grant_type {grant_type!r}")
        except OAuthRefusal as refusal:
            return _refusal(refusal)
        return _token_answer(state, grant)

    async def revocation(request: Request) -> Response:
        try:
            form = parse_form(await request.body(), request.headers.get("content-type"))
            client_id = _authenticate(state, request.headers.get("authorization"), form)
            presented = form.get("token")
            if not presented:
                raise invalid_request("token is required")
            _revoke(state, client_id, presented)
        except OAuthRefusal as refusal:
            return _refusal(refusal)
        return Response(status_code=200, headers=_NO_STORE)

    return Starlette(
        routes=[
            Route("/connect/authorize", authorize, methods=["GET"]),
            Route("/connect/token", token, methods=["POST"]),
            Route("/connect/revocation", revocation, methods=["POST"]),
        ]
    )


def _read_authorize_request(request: Request, state: SandboxState) -> _AuthorizeRequest | Response:
    """The verified app and redirect URI, or the error page shown instead of a redirect."""
    try:
        params = single_valued(list(request.query_params.multi_items()))
    except OAuthRefusal as refusal:
        return _error_page(refusal.error, refusal.description)
    client_id = params.get("client_id", "")
    app = state.xero_apps.get(client_id)
    if app is None:
        return _error_page("invalid_client", "unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    problem = redirect_problem(redirect_uri, app)
    if problem:
        return _error_page("invalid_request", problem)
    return _AuthorizeRequest(client_id, app, redirect_uri, params.get("state"), params)


def _refuse_authorization(read: _AuthorizeRequest, state: SandboxState) -> Response | None:
    """The error redirect for a request Xero would not approve, or None."""
    params = read.params
    if params.get("response_type") != "code":
        return read.refuse("unsupported_response_type", "response_type must be code")
    challenge = params.get("code_challenge")
    if challenge and params.get("code_challenge_method") != "S256":
        return read.refuse("invalid_request", "code_challenge_method must be S256")
    if "code_challenge_method" in params and not challenge:
        return read.refuse("invalid_request", "code_challenge is missing")
    if read.app.client_secret is None and not challenge:
        return read.refuse("invalid_request", "this app uses PKCE: code_challenge is required")
    problem = scope_problem(params.get("scope", "").split(), read.app)
    if problem:
        return read.refuse("invalid_scope", problem)
    if state.oauth_decline or params.get("deny") == "1":
        return read.refuse("access_denied", "the user declined to authorize the application")
    return None


def _consented_tenants(state: SandboxState) -> list[str]:
    """The tenant ids the user's consent connects; ``access_denied`` when there is none to pick."""
    known = [org.tenant_id for org in state.xero_orgs.organisations()]
    chosen = known if state.xero_consent_orgs is None else list(state.xero_consent_orgs)
    missing = [tenant_id for tenant_id in chosen if tenant_id not in known]
    if missing:
        raise OAuthRefusal(400, "access_denied", f"the user has no Xero organisation {missing[0]}")
    if not chosen:
        raise OAuthRefusal(400, "access_denied", "the user has no Xero organisation to connect")
    return chosen


def _authenticate(state: SandboxState, authorization: str | None, form: Mapping[str, str]) -> str:
    """The client_id of a request that authenticates as a registered app (see the module docstring)."""
    basic = authorization is not None and authorization.lower().startswith("basic ")
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    secret: str | None
    if basic:
        credentials = parse_basic_credentials(authorization)
        if credentials is None:
            raise _invalid_client("malformed Basic credentials", basic=True)
        if form_secret is not None:
            raise invalid_request("use one client authentication method, not two")
        if form_id is not None and form_id != credentials[0]:
            raise _invalid_client("client_id differs between header and body", basic=True)
        client_id, secret = credentials
    elif form_id:
        client_id, secret = form_id, form_secret
    else:
        raise _invalid_client("client authentication is required", basic=False)
    app = state.xero_apps.get(client_id)
    if app is None:
        raise _invalid_client("unknown client", basic=basic)
    if app.client_secret is None:
        if basic or secret is not None:
            raise _invalid_client("this PKCE app has no secret: send client_id alone", basic=basic)
    elif secret is None or not secrets.compare_digest(secret, app.client_secret):
        raise _invalid_client("client authentication failed", basic=basic)
    return client_id


def _exchange_code(
    state: SandboxState, codes: AuthorizationCodes, form: Mapping[str, str], client_id: str
) -> Grant:
    code, redirect_uri = form.get("code"), form.get("redirect_uri")
    if not code:
        raise invalid_request("code is required")
    if not redirect_uri:
        raise invalid_request("redirect_uri is required")
    issued = codes.redeem(
        code, client_id=client_id, redirect_uri=redirect_uri, verifier=form.get("code_verifier")
    )
    if state.clock.now() > issued.issued_at + AUTH_CODE_TTL:
        raise invalid_grant("authorization code has expired")
    return state.tokens.issue("xero", client_id, None, auth_event_id=issued.realm_id)


def _refresh(state: SandboxState, form: Mapping[str, str], client_id: str) -> Grant:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        raise invalid_request("refresh_token is required")
    grant = state.tokens.refresh("xero", client_id, refresh_token)
    if grant is None:
        raise invalid_grant("refresh token is invalid, expired, revoked or already rotated")
    asked = form.get("scope")
    if asked is not None:
        granted = set(_consent_of(state, grant).scope.split())
        if not set(asked.split()) <= granted:
            raise OAuthRefusal(400, "invalid_scope", "scope exceeds the consented scopes")
    return grant


def _revoke(state: SandboxState, client_id: str, presented: str) -> None:
    grant = state.tokens.find_refresh("xero", presented)
    if grant is None:
        if state.tokens.check("xero", f"Bearer {presented}") is not None:
            raise OAuthRefusal(400, "unsupported_token_type", "only refresh tokens can be revoked")
        return  # unknown: nothing to do (RFC 7009 §2.2)
    if grant.client_id != client_id:
        return  # another app's token: not this client's to revoke, and not to be confirmed either
    state.tokens.revoke(grant.refresh_token)
    state.xero_orgs.disconnect_user(client_id, _consent_of(state, grant).user_id)


def _consent_of(state: SandboxState, grant: Grant) -> XeroConsent:
    """The consent a grant descends from; a grant minted without one acts for the sandbox's user."""
    consent = state.xero_orgs.consent_of(grant.auth_event_id)
    return consent or XeroConsent(grant.auth_event_id or "", grant.client_id, XERO_USER_ID, "")


def _token_answer(state: SandboxState, grant: Grant) -> Response:
    scope = _consent_of(state, grant).scope
    body: dict[str, Any] = {
        "access_token": grant.access_token,
        "expires_in": max(0, round(grant.access_expires_at - state.clock.now())),
        "token_type": "Bearer",
    }
    if "offline_access" in scope.split():
        body["refresh_token"] = grant.refresh_token
    body["scope"] = scope
    return JSONResponse(body, headers=_NO_STORE)


# ---------------------------------------------------------------------------------------------
# /connections


def build_xero_connections_app(state: SandboxState) -> Starlette:
    """``GET /connections`` and ``DELETE /connections/{id}`` of api.xero.com, mounted at ``/xero/api``."""

    async def list_connections(request: Request) -> Response:
        caller = _caller(request, state)
        if isinstance(caller, Response):
            return caller
        grant, user_id, headers = caller
        found = state.xero_orgs.connections(
            grant.client_id, user_id, auth_event_id=request.query_params.get("authEventId")
        )
        return JSONResponse([connection_json(c, state) for c in found], headers=headers)

    async def delete_connection(request: Request) -> Response:
        caller = _caller(request, state)
        if isinstance(caller, Response):
            return caller
        grant, user_id, headers = caller
        if not state.xero_orgs.disconnect(grant.client_id, user_id, request.path_params["id"]):
            return _problem(404, "Not Found", "Connection not found", headers)
        return Response(status_code=204, headers=headers)

    return Starlette(
        routes=[
            Route("/connections", list_connections, methods=["GET"]),
            Route("/Connections", list_connections, methods=["GET"]),
            Route("/connections/{id}", delete_connection, methods=["DELETE"]),
            Route("/Connections/{id}", delete_connection, methods=["DELETE"]),
        ]
    )


def _caller(request: Request, state: SandboxState) -> tuple[Grant, str, dict[str, str]] | Response:
    """(grant, user id, rate headers) of a request with a live Xero token, or the error answer."""
    authorization = request.headers.get("authorization")
    grant = state.tokens.check("xero", authorization)
    if grant is None:
        return _problem(401, "Unauthorized", _why_unauthorized(authorization, state))
    allowed, remaining, reset = state.rates.hit(
        f"xero-app:{grant.client_id}", state.settings.xero_app_per_minute, 60
    )
    headers = {"X-AppMinLimit-Remaining": str(remaining)}
    if not allowed:
        wait = max(1, math.ceil(reset - state.clock.now()))
        limited = {**headers, "Retry-After": str(wait), "X-Rate-Limit-Problem": "appminute"}
        return _problem(429, "Too Many Requests", "Rate limit exceeded", limited)
    return grant, _consent_of(state, grant).user_id, headers


def _why_unauthorized(authorization: str | None, state: SandboxState) -> str:
    token = (authorization or "")[7:].strip() if (authorization or "").lower().startswith("bearer ") else ""
    claims = token_claims(token) if token else None
    expiry = claims.get("exp") if claims else None
    if isinstance(expiry, int) and expiry <= state.clock.now():
        when = datetime.fromtimestamp(expiry, UTC).strftime("%m/%d/%Y %H:%M:%S")
        return f"TokenExpired: token expired at {when}"
    return "AuthenticationUnsuccessful"


# ---------------------------------------------------------------------------------------------
# Seed


def seed_xero_organisations(state: SandboxState) -> None:
    """The demo firm's two Xero organisations, for the tenant picker to choose from."""
    state.xero_orgs.add(XERO_ORG_NAME, tenant_id=XERO_ORG_TENANT_ID)
    state.xero_orgs.add(XERO_TRUST_ORG_NAME, tenant_id=XERO_TRUST_ORG_TENANT_ID)


__all__ = [
    "AUTH_CODE_TTL",
    "ORGANISATION_SCOPES",
    "RETIRED_BROAD_SCOPES",
    "build_xero_connections_app",
    "build_xero_identity_app",
    "connection_json",
    "needs_organisation",
    "redirect_problem",
    "scope_problem",
    "seed_xero_organisations",
    "token_claims",
    "utc_text",
]
