"""OAuth for ledgerlink: connecting (code flow), keeping tokens, refreshing them.

- :func:`authorize` — the authorization-code flow with state and PKCE (``ledgerlink connect``).
- :class:`OAuthSession` — the refreshing :class:`ledgerlink.http.TokenSource` of a provider client.
- :class:`TokenSet`, :class:`TokenStore` and its backends, :func:`open_token_store` — where tokens live.
"""

from __future__ import annotations

from ledgerlink.auth.flow import authorize
from ledgerlink.auth.loopback import LoopbackReceiver
from ledgerlink.auth.session import ClientAuth, OAuthSession
from ledgerlink.auth.tokens import (
    EnvTokenStore,
    FileTokenStore,
    KeyringTokenStore,
    Provider,
    TokenSet,
    TokenStore,
    open_token_store,
    provider_name,
)

__all__ = [
    "ClientAuth",
    "EnvTokenStore",
    "FileTokenStore",
    "KeyringTokenStore",
    "LoopbackReceiver",
    "OAuthSession",
    "Provider",
    "TokenSet",
    "TokenStore",
    "authorize",
    "open_token_store",
    "provider_name",
]
