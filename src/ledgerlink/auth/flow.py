"""The OAuth 2.0 authorization-code flow with state and PKCE (S256): ``ledgerlink connect``.

1. Build the authorization URL (authlib) with a fresh ``state`` and a PKCE S256 challenge.
2. Get the browser's redirect back: either a loopback listener on the redirect URI catches it
   (``open_url`` shows the URL in a browser), or — ``--no-browser`` — the person pastes the URL
   their browser ended on (``paste_redirect``).
3. Check ``state``, turn ``error=access_denied`` into "consent was declined", exchange the code
   (with the PKCE verifier) for tokens and return them as a :class:`TokenSet`. For QuickBooks
   Online the company comes with the redirect as ``realmId``.

Saving the tokens is the caller's business (``connect`` puts them in the token store).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx
from authlib.common.security import generate_token

from ledgerlink.auth.loopback import LoopbackReceiver
from ledgerlink.auth.session import (
    ClientAuth,
    OAuth2Client,
    OAuthError,
    oauth_refusal,
    token_endpoint_client,
    token_endpoint_unreachable,
)
from ledgerlink.auth.tokens import Provider, TokenSet, provider_name
from ledgerlink.errors import AuthError, ConfigError

log = logging.getLogger("ledgerlink.auth")

PKCE_VERIFIER_LENGTH = 64  # RFC 7636: 43..128 characters


def authorize(
    provider: Provider,
    *,
    authorize_url: str,
    token_url: str,
    client_id: str,
    client_secret: str,
    redirect_uri: str,
    scope: str | None,
    client_auth: ClientAuth,
    open_url: Callable[[str], object] | None,
    paste_redirect: Callable[[str], str] | None = None,
    timeout: float = 300,
    clock: Callable[[], float] = time.time,
    http_transport: httpx.BaseTransport | None = None,
) -> TokenSet:
    """The tokens of a new connection, after the person consented in their browser.

    With ``paste_redirect`` (the ``--no-browser`` path) it is called with the URL to show and
    returns the redirect URL the person pasted; otherwise a loopback listener on ``redirect_uri``
    (127.0.0.1 or localhost; port 0 picks a free port) waits up to ``timeout`` seconds after
    ``open_url(url)``. Raises AuthError when the answer is forged, declined or refused, and
    ConfigError when ``redirect_uri`` cannot be listened on.
    """
    verifier = generate_token(PKCE_VERIFIER_LENGTH)

    def client_for(uri: str) -> OAuth2Client:
        return token_endpoint_client(
            client_id,
            client_secret,
            client_auth,
            http_transport=http_transport,
            redirect_uri=uri,
            scope=scope,
            code_challenge_method="S256",
        )

    if paste_redirect is not None:
        with client_for(redirect_uri) as client:
            url, state = client.create_authorization_url(authorize_url, code_verifier=verifier)
            answer = paste_redirect(url).strip()
            return _finish(provider, client, answer, state, verifier, token_url, clock)

    if open_url is None:
        raise TypeError("authorize() needs open_url (browser) or paste_redirect (--no-browser)")
    with _listen(provider, redirect_uri) as receiver, client_for(receiver.redirect_uri) as client:
        url, state = client.create_authorization_url(authorize_url, code_verifier=verifier)
        open_url(url)
        redirected = receiver.wait(timeout)
        if redirected is None:
            raise AuthError(
                f"No answer from the browser within {timeout:g} seconds; {provider_name(provider)} "
                "was not connected.",
                remedy=f"Run `ledgerlink connect {provider}` again, or `ledgerlink connect {provider} "
                "--no-browser` to paste the address instead.",
            )
        return _finish(provider, client, redirected, state, verifier, token_url, clock)


def _listen(provider: Provider, redirect_uri: str) -> LoopbackReceiver:
    """A started loopback listener for ``redirect_uri``, or the error that explains why not."""
    try:
        receiver = LoopbackReceiver(redirect_uri)
    except ValueError as exc:
        # Xero refuses 127.0.0.1 redirect URIs (reference/xero.md §6): suggest localhost there.
        example = "http://localhost:8765/callback" if provider == "xero" else "http://127.0.0.1:8765/callback"
        raise ConfigError(
            f"{provider}.redirect_uri {redirect_uri!r}: {exc}.",
            remedy=f"Use e.g. {example} (registered with {provider_name(provider)}), "
            "or connect with --no-browser.",
        ) from None
    try:
        return receiver.start()
    except OSError as exc:
        raise ConfigError(
            f"Cannot listen on {redirect_uri} for the browser's answer ({exc.strerror or exc}).",
            remedy="Free that port, or pick another in redirect_uri (and register it), or use --no-browser.",
        ) from None


def redirect_parameters(redirect_url: str) -> dict[str, str]:
    """The query parameters of the URL the browser was redirected to (first value of each)."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(urlsplit(redirect_url).query, keep_blank_values=True):
        params.setdefault(key, value)
    return params


def check_redirect(provider: Provider, params: dict[str, str], expected_state: str) -> str:
    """The authorization code from a redirect that belongs to this sign-in and was granted.

    AuthError on a state mismatch (a forged or stale answer), a declined consent, or any other
    error the authorization server sent back.
    """
    name = provider_name(provider)
    again = f"Run `ledgerlink connect {provider}` again"
    if not secrets.compare_digest(params.get("state", ""), expected_state):
        raise AuthError(
            f"The answer from the browser does not belong to this {name} sign-in (state mismatch); "
            "it was ignored.",
            remedy=f"{again} and finish it in the browser window it opens.",
        )
    error = params.get("error")
    description = params.get("error_description", "")
    if error == "access_denied":
        raise AuthError(
            f"The {name} consent was declined{': ' + description if description else ''}; "
            "ledgerlink is not connected.",
            remedy=f"{again} and allow access (an administrator of the firm's {name} account must do it).",
        )
    if error:
        raise AuthError(
            f"{name} refused the authorization ({error}{': ' + description if description else ''}).",
            remedy=f"{again}; if it keeps failing check {provider}.client_id and {provider}.redirect_uri.",
        )
    code = params.get("code")
    if not code:
        raise AuthError(
            f"The answer from {name} has no authorization code.",
            remedy=f"{again} and paste the full address the browser ended on.",
        )
    return code


def _finish(
    provider: Provider,
    client: OAuth2Client,
    redirect_url: str,
    state: str,
    verifier: str,
    token_url: str,
    clock: Callable[[], float],
) -> TokenSet:
    params = redirect_parameters(redirect_url)
    code = check_redirect(provider, params, state)
    realm_id = params.get("realmId") or None
    if provider == "qbo" and realm_id is None:
        raise AuthError(
            "The answer from QuickBooks Online names no company (realmId).",
            remedy="Run `ledgerlink connect qbo` again and pick a company when asked.",
        )
    now = clock()
    try:
        answer = client.fetch_token(
            token_url, grant_type="authorization_code", code=code, code_verifier=verifier
        )
    except OAuthError as exc:
        raise oauth_refusal(provider, exc, during="authorization code exchange") from None
    except (httpx.HTTPError, ValueError) as exc:
        raise token_endpoint_unreachable(provider, exc, during="authorization code exchange") from None
    tokens = TokenSet.from_token_response(provider, dict(answer), now=now, realm_id=realm_id)
    log.info("%s: connected%s", provider, f" to company {realm_id}" if realm_id else "")
    return tokens


__all__ = ["authorize", "check_redirect", "redirect_parameters"]
