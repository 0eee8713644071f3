"""The refreshing session: keeps one connection's access token valid for the shared transport.

:class:`OAuthSession` is the :class:`ledgerlink.http.TokenSource` of a provider client. It reads
the tokens from a :class:`~ledgerlink.auth.tokens.TokenStore`, refreshes them shortly before they
expire or when the API rejects them, and saves what the provider returns before anyone uses it:
Intuit rotates its refresh token, so a refreshed token that is used but not saved would cost the
firm a reconnect. Refreshes are single-flight — threads that find a rejected token already
replaced use the replacement instead of refreshing again (two refreshes with one rotating token
would make the second one fail with ``invalid_grant``).

The token endpoint is spoken to through authlib's httpx ``OAuth2Client``.
"""

from __future__ import annotations

import logging
import threading
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

import authlib.deprecate  # noqa: F401  (installs authlib's own warning filter before ours below)
import httpx

from ledgerlink.auth.tokens import Provider, TokenSet, TokenStore, provider_name, reconnect_remedy
from ledgerlink.errors import AuthError, LedgerlinkError, TransportError
from ledgerlink.http import redact

with warnings.catch_warnings():
    # authlib announces a future move to the "httpx2" package on import; plain httpx is what we use.
    warnings.filterwarnings("ignore", message="The httpx module is deprecated")
    from authlib.integrations.httpx_client import OAuth2Client as OAuth2Client
    from authlib.integrations.httpx_client import OAuthError as OAuthError

log = logging.getLogger("ledgerlink.auth")

ClientAuth = Literal["basic", "body", "none"]
_AUTH_METHODS: dict[str, str] = {
    "basic": "client_secret_basic",
    "body": "client_secret_post",
    "none": "none",  # a public (PKCE) client: client_id in the body, no secret
}
TOKEN_TIMEOUT = 30.0


def token_endpoint_client(
    client_id: str,
    client_secret: str,
    client_auth: ClientAuth,
    *,
    http_transport: httpx.BaseTransport | None = None,
    **options: Any,
) -> OAuth2Client:
    """An authlib client authenticating to the token endpoint the way the provider wants.

    ``"basic"`` is HTTP Basic (Intuit); ``"body"`` puts client_id/client_secret in the form (Clio);
    ``"none"`` sends client_id alone (a Xero "Auth Code with PKCE" app, which has no secret).
    """
    return OAuth2Client(
        client_id=client_id,
        client_secret=client_secret,
        token_endpoint_auth_method=_AUTH_METHODS[client_auth],
        transport=http_transport,
        timeout=TOKEN_TIMEOUT,
        **options,
    )


def oauth_refusal(provider: str, exc: OAuthError, *, during: str) -> AuthError:
    """The AuthError for an OAuth error answer (``invalid_grant`` and friends), with its remedy."""
    name = provider_name(provider)
    description = redact(str(exc.description or "")).strip()
    detail = f" ({exc.error}{': ' + description if description else ''})"
    if exc.error == "invalid_client":
        return AuthError(
            f"{name} rejected ledgerlink's client id or secret during the {during}{detail}.",
            remedy=(
                f"Check {provider}.client_id and {provider}.client_secret in the config "
                f"(or LEDGERLINK_{provider.upper()}_CLIENT_ID / _CLIENT_SECRET)."
            ),
        )
    if exc.error == "invalid_grant":
        return AuthError(
            f"{name} no longer accepts this connection's grant{detail}; the {during} failed.",
            remedy=reconnect_remedy(provider),
        )
    return AuthError(f"{name} refused the {during}{detail}.", remedy=reconnect_remedy(provider))


def token_endpoint_unreachable(provider: str, exc: Exception, *, during: str) -> LedgerlinkError:
    """The error for a token request that got no usable OAuth answer (network, 5xx, not JSON)."""
    name = provider_name(provider)
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        if status >= 500 or status == 429:
            return TransportError(f"{name}'s token endpoint answered HTTP {status} during the {during}.")
        return AuthError(f"{name}'s token endpoint answered HTTP {status} during the {during}.")
    if isinstance(exc, httpx.HTTPError):
        return TransportError(
            f"Could not reach {name}'s token endpoint for the {during} ({type(exc).__name__})."
        )
    return AuthError(f"{name}'s token endpoint gave an answer that is not OAuth JSON during the {during}.")


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


class OAuthSession:
    """A :class:`ledgerlink.http.TokenSource` over a token store, refreshing as needed."""

    def __init__(
        self,
        provider: Provider,
        store: TokenStore,
        *,
        token_url: str,
        client_id: str,
        client_secret: str,
        client_auth: ClientAuth,
        clock: Callable[[], float] = time.time,
        http_transport: httpx.BaseTransport | None = None,
        refresh_margin: float = 300.0,
    ) -> None:
        self.provider = provider
        self.store = store
        self.token_url = token_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.client_auth = client_auth
        self.refresh_margin = refresh_margin
        self._clock = clock
        self._http_transport = http_transport
        self._tokens: TokenSet | None = None
        self._lock = threading.Lock()

    # -- TokenSource ------------------------------------------------------------------------

    def access_token(self) -> str:
        """A currently valid access token, refreshed first when it expires within the margin."""
        tokens = self.tokens()
        if tokens.expires_within(self.refresh_margin, self._clock()):
            return self.refresh(tokens.access_token)
        return tokens.access_token

    def refresh(self, rejected: str) -> str:
        """A replacement for ``rejected``: someone else's fresh one from the store, or a new one.

        Single-flight: one thread refreshes, the others wait and then find its result in the
        store. The new tokens are saved before this returns. AuthError when refreshing is
        impossible (not connected, refresh token refused or expired).
        """
        with self._lock:
            stored = self._load()
            if stored.access_token != rejected and not stored.expires_within(
                self.refresh_margin, self._clock()
            ):
                self._tokens = stored  # another worker (or process) already replaced it
                return stored.access_token
            renewed = self._refresh_grant(stored)
            self.store.save(self.provider, renewed)
            self._tokens = renewed
            return renewed.access_token

    # -- the connection ---------------------------------------------------------------------

    def tokens(self) -> TokenSet:
        """This connection's tokens (cached after the first load); AuthError if not connected."""
        tokens = self._tokens
        if tokens is None:
            with self._lock:
                tokens = self._tokens = self._tokens or self._load()
        return tokens

    def revoke(self, revoke_url: str) -> None:
        """Disconnect: ask the provider to revoke the grant, then forget the tokens locally.

        Clio: ``POST /oauth/deauthorize`` with the access token as Bearer and form ``token``.
        Intuit: ``POST …/tokens/revoke`` with Basic client auth and JSON ``{"token": refresh}``.
        Xero: ``POST …/connect/revocation`` with form ``token=<refresh>`` and the token endpoint's
        client authentication; it also disconnects the user's organisations.
        A grant the provider already considers dead counts as revoked. Network trouble raises
        TransportError and keeps the local tokens, so disconnecting can be retried.
        """
        if self.store.load(self.provider) is None:
            return
        try:
            call = self._revoke_call()
        except AuthError:
            call = None  # the grant is already dead: nothing left to revoke remotely
        if call is not None:
            try:
                with httpx.Client(transport=self._http_transport, timeout=TOKEN_TIMEOUT) as client:
                    response = client.post(revoke_url, **call)
            except httpx.HTTPError as exc:
                raise token_endpoint_unreachable(self.provider, exc, during="revocation") from None
            if response.status_code >= 500:
                raise TransportError(
                    f"{provider_name(self.provider)} answered HTTP {response.status_code} to the revocation."
                )
        with self._lock:
            self.store.delete(self.provider)
            self._tokens = None
        log.info("%s: tokens revoked and forgotten", self.provider)

    # -- internals --------------------------------------------------------------------------

    def _load(self) -> TokenSet:
        tokens = self.store.load(self.provider)
        if tokens is None:
            raise AuthError(
                f"ledgerlink is not connected to {provider_name(self.provider)} "
                f"(no tokens in {self.store.description}).",
                remedy=f"Connect with `ledgerlink connect {self.provider}`.",
            )
        return tokens

    def _refresh_grant(self, stored: TokenSet) -> TokenSet:
        name = provider_name(self.provider)
        now = self._clock()
        if not stored.refresh_token:
            raise AuthError(f"No {name} refresh token is stored.", remedy=reconnect_remedy(self.provider))
        if stored.refresh_expired(now):
            assert stored.refresh_expires_at is not None
            raise AuthError(
                f"The {name} refresh token expired on {_when(stored.refresh_expires_at)}.",
                remedy=reconnect_remedy(self.provider),
            )
        try:
            with token_endpoint_client(
                self.client_id, self.client_secret, self.client_auth, http_transport=self._http_transport
            ) as client:
                answer = client.refresh_token(self.token_url, refresh_token=stored.refresh_token)
        except OAuthError as exc:
            raise oauth_refusal(self.provider, exc, during="token refresh") from None
        except (httpx.HTTPError, ValueError) as exc:
            raise token_endpoint_unreachable(self.provider, exc, during="token refresh") from None
        renewed = stored.renewed(self.provider, dict(answer), now=now)
        log.info("%s: access token refreshed (valid until %s)", self.provider, _when_or_unknown(renewed))
        return renewed

    def _revoke_call(self) -> dict[str, Any]:
        """The arguments of the provider's revocation POST."""
        if self.provider == "clio":
            access = self.access_token()
            return {"headers": {"Authorization": f"Bearer {access}"}, "data": {"token": access}}
        if self.provider == "xero":
            form = {"token": self.tokens().refresh_token}
            if self.client_auth == "basic":
                return {"auth": httpx.BasicAuth(self.client_id, self.client_secret), "data": form}
            form["client_id"] = self.client_id
            if self.client_auth == "body":
                form["client_secret"] = self.client_secret
            return {"data": form}
        return {
            "auth": httpx.BasicAuth(self.client_id, self.client_secret),
            "json": {"token": self.tokens().refresh_token},
            "headers": {"Accept": "application/json"},
        }


def _when_or_unknown(tokens: TokenSet) -> str:
    return "unknown" if tokens.expires_at == float("inf") else _when(tokens.expires_at)


__all__ = [
    "ClientAuth",
    "OAuthSession",
    "oauth_refusal",
    "token_endpoint_client",
    "token_endpoint_unreachable",
]
