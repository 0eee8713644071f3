"""The OAuth 2.0 authorization servers of Clio and Intuit, auto-approving and strict.

Both approve every well-formed authorization request at once (there is no login page) and then
behave like the real token endpoints in ``reference/clio.md`` §4 and ``reference/qbo.md`` §6:

    Clio    GET  /authorize            → 302 redirect_uri?code=…&state=…
            POST /token                form body; client_id + client_secret in the body
            POST /deauthorize          Bearer header + form field ``token``
    Intuit  GET  /authorize            → 302 redirect_uri?code=…&state=…&realmId=…
            POST /v1/tokens/bearer     form body; HTTP Basic client authentication
            POST /v1/tokens/revoke     JSON ``{"token": …}``; HTTP Basic client authentication

Tokens come from the shared :class:`~ledgerlink.sandbox.state.TokenRegistry`, so the API emulators
accept exactly what these servers issue; Intuit refresh tokens rotate, Clio's are reusable.
A test declines consent with ``state.oauth_decline = True`` or the query parameter ``deny=1``;
on Intuit, ``realm_hint=<realm id>`` picks the company (default: the first in ``state.qbo_companies``).

Assumptions
-----------
Where the reference is silent, these servers follow RFC 6749 / 7636 / 7009 and are strict:

- Authorization codes live :data:`AUTH_CODE_TTL` seconds (RFC 6749's recommended maximum; Clio only
  says "short-lived") and are spent by the first token request that presents them, even a failed
  one, so a stolen code cannot be used to guess a PKCE verifier.
- PKCE: only ``S256`` is accepted. A ``code_verifier`` for a code issued without a challenge is
  refused (a downgrade), as is a missing verifier for a code issued with one.
- Redirect URIs are not matched against a registration list (the sandbox has none; a loopback
  listener on port 0 could not be registered). Clio accepts any http(s) URL; Intuit accepts https,
  or http only on a loopback host, as Intuit requires HTTPS for real redirect URIs.
- An unknown ``client_id`` or a bad redirect URI is answered with a 400 JSON error and no redirect
  (RFC 6749 §4.1.2.1 forbids redirecting to an unverified URI). Other authorization errors are
  redirected as ``error=…&state=…``; with no QBO company to pick, ``error=access_denied``.
- Token endpoint errors are ``{"error", "error_description"}``. Clio: unknown ``client_id`` → 400
  ``invalid_client``, wrong or missing secret → 401 ``invalid_client``. Intuit: any failure of Basic
  client authentication → 401 ``invalid_client`` with ``WWW-Authenticate: Basic`` (RFC 6749 §5.2).
  An unknown ``grant_type`` → 400 ``unsupported_grant_type``; a repeated parameter → 400
  ``invalid_request``.
- Clio's deauthorize answers 200 with an empty body; a missing or dead bearer token → 401
  ``invalid_token`` (the shape of Clio's documented OAuth 401).
- Intuit's revoke answers 200 with an empty body, also for a token it does not know (RFC 7009 §2.2).
  It does not check which client the token was issued to. Every Intuit answer carries an
  ``intuit_tid`` header, as the real service does.
- A Clio grant is for the demo firm's account :data:`~ledgerlink.sandbox.demo_firm.CLIO_ACCOUNT_ID`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ledgerlink.sandbox.demo_firm import CLIO_ACCOUNT_ID
from ledgerlink.sandbox.state import Grant, Provider, SandboxState

AUTH_CODE_TTL = 600.0
QBO_ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"
QBO_REFRESH_TOKEN_TTL = 100 * 24 * 3600  # Intuit: 100-day rolling validity
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_FORM = "application/x-www-form-urlencoded"


# ---------------------------------------------------------------------------------------------
# Refusals and pure checks


class OAuthRefusal(Exception):
    """An error answer of an OAuth endpoint: status, RFC 6749 error code, description."""

    def __init__(self, status: int, error: str, description: str, *, basic_challenge: bool = False) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description
        self.basic_challenge = basic_challenge


def invalid_request(description: str) -> OAuthRefusal:
    return OAuthRefusal(400, "invalid_request", description)


def invalid_grant(description: str) -> OAuthRefusal:
    return OAuthRefusal(400, "invalid_grant", description)


def single_valued(pairs: list[tuple[str, str]]) -> dict[str, str]:
    """The parameters as a dict; refuses any parameter given twice (RFC 6749 §3.1, §3.2)."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if key in params:
            raise invalid_request(f"parameter {key!r} is repeated")
        params[key] = value
    return params


def parse_form(body: bytes, content_type: str | None) -> dict[str, str]:
    """The fields of a form-encoded request body; anything else is an ``invalid_request``."""
    if (content_type or "").split(";")[0].strip().lower() != _FORM:
        raise invalid_request(f"the request body must be {_FORM}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise invalid_request("the request body is not UTF-8") from None
    return single_valued(parse_qsl(text, keep_blank_values=True))


def parse_basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """(client_id, client_secret) from an ``Authorization: Basic`` header, or None."""
    if not authorization or not authorization.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def redirect_uri_problem(uri: str, *, https_off_loopback: bool) -> str | None:
    """Why ``uri`` cannot be a redirect URI, or None when it can."""
    parts = urlsplit(uri)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "redirect_uri must be an absolute http(s) URL"
    if parts.fragment:
        return "redirect_uri must not contain a fragment"
    if https_off_loopback and parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        return "redirect_uri must use https (http is allowed only on localhost / 127.0.0.1)"
    return None


def with_query(uri: str, params: Mapping[str, str]) -> str:
    """``uri`` with ``params`` appended to its query string."""
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def s256_challenge(verifier: str) -> str:
    """The PKCE S256 code challenge of ``verifier`` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


# ---------------------------------------------------------------------------------------------
# Authorization codes


@dataclass
class AuthorizationCode:
    """What a code was issued for; the token request must match it."""

    client_id: str
    redirect_uri: str
    code_challenge: str | None
    realm_id: str | None
    issued_at: float


class AuthorizationCodes:
    """The codes one authorization server issued: single-use, short-lived on the sandbox clock."""

    def __init__(self, state: SandboxState) -> None:
        self._state = state
        self._codes: dict[str, AuthorizationCode] = {}
        self._lock = threading.Lock()

    def issue(
        self, client_id: str, redirect_uri: str, code_challenge: str | None, realm_id: str | None
    ) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = AuthorizationCode(
                client_id, redirect_uri, code_challenge, realm_id, self._state.clock.now()
            )
        return code

    def redeem(
        self, code: str, *, client_id: str, redirect_uri: str, verifier: str | None
    ) -> AuthorizationCode:
        """The code's authorization, spending the code; ``invalid_grant`` when it does not fit."""
        with self._lock:
            issued = self._codes.pop(code, None)
        if issued is None:
            raise invalid_grant("authorization code is invalid or was already used")
        if self._state.clock.now() > issued.issued_at + AUTH_CODE_TTL:
            raise invalid_grant("authorization code has expired")
        if issued.client_id != client_id:
            raise invalid_grant("authorization code was issued to another client")
        if issued.redirect_uri != redirect_uri:
            raise invalid_grant("redirect_uri does not match the one used in the authorization request")
        if issued.code_challenge is None:
            if verifier is not None:
                raise invalid_grant("code_verifier given but the authorization request had no code_challenge")
        elif verifier is None:
            raise invalid_request("code_verifier is required for this authorization code")
        elif not _PKCE_VERIFIER.match(verifier):
            raise invalid_request("code_verifier must be 43-128 characters of [A-Za-z0-9._~-]")
        elif s256_challenge(verifier) != issued.code_challenge:
            raise invalid_grant("code_verifier does not match the code_challenge")
        return issued


# ---------------------------------------------------------------------------------------------
# The authorization endpoint (shared by both providers)


@dataclass(frozen=True)
class AuthorizeRequest:
    client_id: str
    redirect_uri: str
    state: str | None
    params: dict[str, str]


def _json_error(
    status: int, error: str, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


def _redirect(uri: str, params: Mapping[str, str]) -> Response:
    return RedirectResponse(with_query(uri, params), status_code=302)


def _redirect_error(request: AuthorizeRequest, error: str, description: str) -> Response:
    params = {"error": error, "error_description": description}
    if request.state is not None:
        params["state"] = request.state
    return _redirect(request.redirect_uri, params)


def _read_authorize_request(
    request: Request, apps: Mapping[str, str], *, https_off_loopback: bool
) -> AuthorizeRequest | Response:
    """The verified client and redirect URI, or the error page shown instead of a redirect."""
    try:
        params = single_valued(list(request.query_params.multi_items()))
    except OAuthRefusal as refusal:
        return _json_error(400, refusal.error, refusal.description)
    client_id = params.get("client_id", "")
    if client_id not in apps:
        return _json_error(400, "invalid_client", "unknown client_id")
    redirect_uri = params.get("redirect_uri", "")
    problem = redirect_uri_problem(redirect_uri, https_off_loopback=https_off_loopback)
    if problem:
        return _json_error(400, "invalid_request", problem)
    return AuthorizeRequest(client_id, redirect_uri, params.get("state"), params)


def _check_common(request: AuthorizeRequest, state: SandboxState) -> Response | None:
    """The redirect for a request both providers refuse alike, or None."""
    params = request.params
    if params.get("response_type") != "code":
        return _redirect_error(request, "unsupported_response_type", "response_type must be code")
    if "code_challenge" in params and params.get("code_challenge_method") != "S256":
        return _redirect_error(request, "invalid_request", "code_challenge_method must be S256")
    if "code_challenge_method" in params and not params.get("code_challenge"):
        return _redirect_error(request, "invalid_request", "code_challenge is missing")
    if state.oauth_decline or params.get("deny") == "1":
        return _redirect_error(request, "access_denied", "the user declined to authorize the application")
    return None


# ---------------------------------------------------------------------------------------------
# Token endpoint plumbing


def _token_response(body: dict[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    no_store = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
    return JSONResponse(body, headers=no_store)


def _refusal_response(refusal: OAuthRefusal, headers: Mapping[str, str] | None = None) -> Response:
    extra = dict(headers or {})
    if refusal.basic_challenge:
        extra["WWW-Authenticate"] = 'Basic realm="oauth"'
    return _json_error(refusal.status, refusal.error, refusal.description, extra)


def _expires_in(grant: Grant, state: SandboxState) -> int:
    return max(0, round(grant.access_expires_at - state.clock.now()))


def _redeem_code(codes: AuthorizationCodes, form: Mapping[str, str], client_id: str) -> AuthorizationCode:
    code = form.get("code")
    redirect_uri = form.get("redirect_uri")
    if not code:
        raise invalid_request("code is required")
    if not redirect_uri:
        raise invalid_request("redirect_uri is required")
    return codes.redeem(
        code, client_id=client_id, redirect_uri=redirect_uri, verifier=form.get("code_verifier")
    )


def _refresh(state: SandboxState, provider: Provider, form: Mapping[str, str], client_id: str) -> Grant:
    refresh_token = form.get("refresh_token")
    if not refresh_token:
        raise invalid_request("refresh_token is required")
    grant = state.tokens.refresh(provider, client_id, refresh_token)
    if grant is None:
        raise invalid_grant("Incorrect or invalid refresh token")
    return grant


def _unsupported_grant(grant_type: str | None) -> OAuthRefusal:
    if not grant_type:
        return invalid_request("grant_type is required")
    return OAuthRefusal(400, "unsupported_grant_type", f"grant_type {grant_type!r} is not supported")


# ---------------------------------------------------------------------------------------------
# Clio


def build_clio_oauth_app(state: SandboxState) -> Starlette:
    """Clio's authorization server, mounted at ``/clio/oauth``."""
    codes = AuthorizationCodes(state)

    async def authorize(request: Request) -> Response:
        read = _read_authorize_request(request, state.clio_apps, https_off_loopback=False)
        if isinstance(read, Response):
            return read
        refused = _check_common(read, state)
        if refused is not None:
            return refused
        code = codes.issue(
            read.client_id, read.redirect_uri, read.params.get("code_challenge"), CLIO_ACCOUNT_ID
        )
        answer = {"code": code}
        if read.state is not None:
            answer["state"] = read.state
        return _redirect(read.redirect_uri, answer)

    def authenticate(form: Mapping[str, str]) -> str:
        client_id = form.get("client_id", "")
        if client_id not in state.clio_apps:
            raise OAuthRefusal(400, "invalid_client", "unknown client_id")
        if not secrets.compare_digest(form.get("client_secret", ""), state.clio_apps[client_id]):
            raise OAuthRefusal(401, "invalid_client", "client authentication failed")
        return client_id

    async def token(request: Request) -> Response:
        try:
            form = parse_form(await request.body(), request.headers.get("content-type"))
            client_id = authenticate(form)
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                issued = _redeem_code(codes, form, client_id)
                grant = state.tokens.issue("clio", client_id, issued.realm_id)
            elif grant_type == "refresh_token":
                grant = _refresh(state, "clio", form, client_id)
            else:
                raise _unsupported_grant(grant_type)
        except OAuthRefusal as refusal:
            return _refusal_response(refusal)
        return _token_response(
            {
                "token_type": "bearer",
                "access_token": grant.access_token,
                "expires_in": _expires_in(grant, state),
                "refresh_token": grant.refresh_token,
            }
        )

    async def deauthorize(request: Request) -> Response:
        grant = state.tokens.check("clio", request.headers.get("authorization"))
        if grant is None:
            return _json_error(
                401,
                "invalid_token",
                "The access token provided is expired, revoked, malformed or invalid for other reasons.",
            )
        try:
            form = parse_form(await request.body(), request.headers.get("content-type"))
            revoked = form.get("token")
            if not revoked:
                raise invalid_request("token is required")
            if revoked not in (grant.access_token, grant.refresh_token):
                raise invalid_request("token does not belong to the authorization in the Bearer header")
        except OAuthRefusal as refusal:
            return _refusal_response(refusal)
        state.tokens.revoke(revoked)
        return Response(status_code=200)

    return Starlette(
        routes=[
            Route("/authorize", authorize, methods=["GET"]),
            Route("/token", token, methods=["POST"]),
            Route("/deauthorize", deauthorize, methods=["POST"]),
        ]
    )


# ---------------------------------------------------------------------------------------------
# Intuit


def _intuit_tid() -> dict[str, str]:
    return {"intuit_tid": secrets.token_hex(16)}


def build_qbo_oauth_app(state: SandboxState) -> Starlette:
    """Intuit's authorization server, mounted at ``/qbo/oauth2``."""
    codes = AuthorizationCodes(state)

    async def authorize(request: Request) -> Response:
        read = _read_authorize_request(request, state.qbo_apps, https_off_loopback=True)
        if isinstance(read, Response):
            return read
        refused = _check_common(read, state)
        if refused is not None:
            return refused
        scopes = read.params.get("scope", "").split()
        if QBO_ACCOUNTING_SCOPE not in scopes:
            return _redirect_error(read, "invalid_scope", f"scope must include {QBO_ACCOUNTING_SCOPE}")
        hint = read.params.get("realm_hint")
        if hint is not None and hint not in state.qbo_companies:
            return _redirect_error(read, "access_denied", f"the user has no QuickBooks Online company {hint}")
        realm_id = hint or next(iter(state.qbo_companies), None)
        if realm_id is None:
            return _redirect_error(
                read, "access_denied", "the user has no QuickBooks Online company to connect"
            )
        code = codes.issue(read.client_id, read.redirect_uri, read.params.get("code_challenge"), realm_id)
        answer = {"code": code}
        if read.state is not None:
            answer["state"] = read.state
        answer["realmId"] = realm_id
        return _redirect(read.redirect_uri, answer)

    def authenticate(request: Request) -> str:
        credentials = parse_basic_credentials(request.headers.get("authorization"))
        if credentials is None:
            raise OAuthRefusal(
                401, "invalid_client", "HTTP Basic client authentication is required", basic_challenge=True
            )
        client_id, client_secret = credentials
        expected = state.qbo_apps.get(client_id)
        if expected is None or not secrets.compare_digest(client_secret, expected):
            raise OAuthRefusal(401, "invalid_client", "client authentication failed", basic_challenge=True)
        return client_id

    async def bearer(request: Request) -> Response:
        try:
            client_id = authenticate(request)
            form = parse_form(await request.body(), request.headers.get("content-type"))
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                issued = _redeem_code(codes, form, client_id)
                grant = state.tokens.issue("qbo", client_id, issued.realm_id)
            elif grant_type == "refresh_token":
                grant = _refresh(state, "qbo", form, client_id)
            else:
                raise _unsupported_grant(grant_type)
        except OAuthRefusal as refusal:
            return _refusal_response(refusal, _intuit_tid())
        return _token_response(
            {
                "token_type": "bearer",
                "access_token": grant.access_token,
                "expires_in": _expires_in(grant, state),
                "refresh_token": grant.refresh_token,
                "x_refresh_token_expires_in": QBO_REFRESH_TOKEN_TTL,
            },
            _intuit_tid(),
        )

    async def revoke(request: Request) -> Response:
        try:
            authenticate(request)
            token = _json_token_field(await request.body(), request.headers.get("content-type"))
        except OAuthRefusal as refusal:
            return _refusal_response(refusal, _intuit_tid())
        state.tokens.revoke(token)
        return Response(status_code=200, headers=_intuit_tid())

    return Starlette(
        routes=[
            Route("/authorize", authorize, methods=["GET"]),
            Route("/v1/tokens/bearer", bearer, methods=["POST"]),
            Route("/v1/tokens/revoke", revoke, methods=["POST"]),
        ]
    )


def _json_token_field(body: bytes, content_type: str | None) -> str:
    """The ``token`` of Intuit's JSON revoke body."""
    if (content_type or "").split(";")[0].strip().lower() != "application/json":
        raise invalid_request("the request body must be application/json")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise invalid_request("the request body is not valid JSON") from None
    token = payload.get("token") if isinstance(payload, dict) else None
    if not isinstance(token, str) or not token:
        raise invalid_request("token is required")
    return token


__all__ = [
    "AUTH_CODE_TTL",
    "QBO_ACCOUNTING_SCOPE",
    "AuthorizationCodes",
    "OAuthRefusal",
    "build_clio_oauth_app",
    "build_qbo_oauth_app",
    "parse_basic_credentials",
    "parse_form",
    "redirect_uri_problem",
    "s256_challenge",
    "with_query",
]
