"""The refreshing session's edge cases (respx stands in for the token endpoint) and the code
flow's pure checks. The happy paths against the live sandbox are in contract/test_oauth_sandbox.py.
"""

from __future__ import annotations

import base64
import re
import socket
from urllib.parse import parse_qs

import httpx
import pytest
import respx

from ledgerlink.auth.flow import authorize, check_redirect, redirect_parameters
from ledgerlink.auth.loopback import LoopbackReceiver, loopback_address
from ledgerlink.auth.session import ClientAuth, OAuthSession
from ledgerlink.auth.tokens import Provider, TokenSet
from ledgerlink.errors import AuthError, ConfigError, TransportError

TOKEN_URL = "https://oauth.example.test/token"
NOW = 1_800_000_000.0
OLD_ACCESS = "at-old-00000000000000"
OLD_REFRESH = "rt-old-00000000000000"
NEW_ACCESS = "at-new-11111111111111"
NEW_REFRESH = "rt-new-11111111111111"


class MemoryStore:
    """A TokenStore in a dict that counts saves."""

    description = "memory"

    def __init__(self, **tokens: TokenSet) -> None:
        self.tokens: dict[str, TokenSet] = dict(tokens)
        self.saves = 0

    def load(self, provider: Provider) -> TokenSet | None:
        return self.tokens.get(provider)

    def save(self, provider: Provider, tokens: TokenSet) -> None:
        self.saves += 1
        self.tokens[provider] = tokens

    def delete(self, provider: Provider) -> None:
        self.tokens.pop(provider, None)


def stored(
    access: str = OLD_ACCESS, *, expires_at: float = NOW + 3600, refresh_expires_at: float | None = None
) -> TokenSet:
    return TokenSet(access, OLD_REFRESH, expires_at, refresh_expires_at, "9130", NOW - 60, NOW - 86400)


def session(
    store: MemoryStore, provider: Provider = "qbo", client_auth: ClientAuth = "basic"
) -> OAuthSession:
    return OAuthSession(
        provider,
        store,
        token_url=TOKEN_URL,
        client_id="app-id",
        client_secret="app-secret",
        client_auth=client_auth,
        clock=lambda: NOW,
    )


def token_answer(**extra: object) -> httpx.Response:
    body = {
        "token_type": "bearer",
        "access_token": NEW_ACCESS,
        "refresh_token": NEW_REFRESH,
        "expires_in": 3600,
    }
    return httpx.Response(200, json={**body, **extra})


# ---------------------------------------------------------------------------------------------
# access_token() and refresh()


@pytest.mark.respx(assert_all_called=False)
def test_a_fresh_access_token_is_served_from_the_store_without_calling_the_server(
    respx_mock: respx.MockRouter,
) -> None:
    endpoint = respx_mock.post(TOKEN_URL).mock(return_value=token_answer())
    assert session(MemoryStore(qbo=stored())).access_token() == OLD_ACCESS
    assert not endpoint.called


def test_a_token_expiring_within_the_margin_is_refreshed_and_saved_before_use(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(TOKEN_URL).mock(return_value=token_answer(x_refresh_token_expires_in=8_640_000))
    store = MemoryStore(qbo=stored(expires_at=NOW + 299))
    assert session(store).access_token() == NEW_ACCESS
    assert store.tokens["qbo"] == TokenSet(
        NEW_ACCESS, NEW_REFRESH, NOW + 3600, NOW + 8_640_000, "9130", NOW, NOW - 86400
    )


def test_intuit_refresh_authenticates_with_http_basic_and_keeps_secrets_out_of_the_body(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post(TOKEN_URL).mock(return_value=token_answer())
    session(MemoryStore(qbo=stored()), "qbo", "basic").refresh(OLD_ACCESS)
    request = route.calls.last.request
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"app-id:app-secret").decode()
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [OLD_REFRESH],
    }


def test_clio_refresh_sends_client_credentials_in_the_form(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(TOKEN_URL).mock(return_value=token_answer())
    session(MemoryStore(clio=stored()), "clio", "body").refresh(OLD_ACCESS)
    request = route.calls.last.request
    assert "Authorization" not in request.headers
    assert parse_qs(request.content.decode()) == {
        "grant_type": ["refresh_token"],
        "refresh_token": [OLD_REFRESH],
        "client_id": ["app-id"],
        "client_secret": ["app-secret"],
    }


def test_a_refresh_answer_without_a_refresh_token_keeps_the_reusable_one(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(TOKEN_URL).mock(
        return_value=httpx.Response(200, json={"access_token": NEW_ACCESS, "expires_in": 60})
    )
    store = MemoryStore(clio=stored())
    session(store, "clio", "body").refresh(OLD_ACCESS)
    assert store.tokens["clio"].refresh_token == OLD_REFRESH


@pytest.mark.respx(assert_all_called=False)
def test_refresh_of_a_token_another_worker_already_replaced_uses_the_replacement(
    respx_mock: respx.MockRouter,
) -> None:
    endpoint = respx_mock.post(TOKEN_URL).mock(return_value=token_answer())
    store = MemoryStore(qbo=stored("at-replaced-by-peer-000"))
    assert session(store).refresh(OLD_ACCESS) == "at-replaced-by-peer-000"
    assert not endpoint.called and store.saves == 0


def test_invalid_grant_is_an_auth_error_whose_remedy_is_to_connect_again(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(TOKEN_URL).mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "Incorrect or invalid refresh token"}
        )
    )
    store = MemoryStore(qbo=stored())
    with pytest.raises(AuthError) as caught:
        session(store).refresh(OLD_ACCESS)
    assert "invalid_grant" in caught.value.message
    assert caught.value.remedy == "Reconnect with `ledgerlink connect qbo`."
    assert OLD_REFRESH not in str(caught.value) and OLD_ACCESS not in repr(caught.value)
    assert store.tokens["qbo"] == stored()  # nothing half-saved


def test_invalid_client_points_at_the_client_settings_not_at_reconnecting(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(TOKEN_URL).mock(
        return_value=httpx.Response(401, json={"error": "invalid_client", "error_description": "bad secret"})
    )
    with pytest.raises(AuthError) as caught:
        session(MemoryStore(clio=stored()), "clio", "body").refresh(OLD_ACCESS)
    assert "client id or secret" in caught.value.message
    assert "clio.client_id and clio.client_secret" in caught.value.remedy


def test_not_connected_is_an_auth_error_whose_remedy_is_to_connect() -> None:
    with pytest.raises(AuthError) as caught:
        session(MemoryStore()).access_token()
    assert "not connected to QuickBooks Online" in caught.value.message
    assert caught.value.remedy == "Connect with `ledgerlink connect qbo`."


@pytest.mark.respx(assert_all_called=False)
def test_a_refresh_token_known_to_have_expired_fails_without_asking_the_server(
    respx_mock: respx.MockRouter,
) -> None:
    endpoint = respx_mock.post(TOKEN_URL).mock(return_value=token_answer())
    store = MemoryStore(qbo=stored(expires_at=NOW - 1, refresh_expires_at=NOW - 1))
    with pytest.raises(AuthError, match="refresh token expired on"):
        session(store).access_token()
    assert not endpoint.called


@pytest.mark.parametrize("status", [500, 503])
def test_a_token_endpoint_outage_is_a_transport_error_to_retry_not_a_reconnect(
    respx_mock: respx.MockRouter, status: int
) -> None:
    respx_mock.post(TOKEN_URL).mock(return_value=httpx.Response(status, text="upstream down"))
    with pytest.raises(TransportError, match=f"HTTP {status}"):
        session(MemoryStore(qbo=stored())).refresh(OLD_ACCESS)


def test_an_unreachable_token_endpoint_is_a_transport_error(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(TOKEN_URL).mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(TransportError, match="Could not reach QuickBooks Online's token endpoint"):
        session(MemoryStore(qbo=stored())).refresh(OLD_ACCESS)


# ---------------------------------------------------------------------------------------------
# The code flow's pure checks


def test_redirect_parameters_reads_the_query_of_a_pasted_address() -> None:
    pasted = "https://app.example.test/callback?code=abc&state=xyz&realmId=9130"
    assert redirect_parameters(pasted) == {"code": "abc", "state": "xyz", "realmId": "9130"}


def test_a_redirect_with_the_expected_state_yields_its_code() -> None:
    assert check_redirect("clio", {"code": "abc", "state": "s1"}, "s1") == "abc"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"code": "abc", "state": "forged"}, "state mismatch"),
        ({"code": "abc"}, "state mismatch"),
        ({"error": "access_denied", "state": "s1"}, "consent was declined"),
        ({"error": "invalid_scope", "error_description": "no", "state": "s1"}, "refused the authorization"),
        ({"state": "s1"}, "no authorization code"),
    ],
)
def test_a_redirect_that_is_forged_declined_or_empty_is_an_auth_error(
    params: dict[str, str], message: str
) -> None:
    with pytest.raises(AuthError, match=message) as caught:
        check_redirect("qbo", params, "s1")
    assert "ledgerlink connect qbo" in caught.value.remedy


def test_a_forged_state_is_reported_even_when_the_redirect_claims_an_error() -> None:
    with pytest.raises(AuthError, match="state mismatch"):
        check_redirect("qbo", {"error": "access_denied", "state": "forged"}, "s1")


@pytest.mark.parametrize(
    ("uri", "address"),
    [
        ("http://127.0.0.1:8765/callback", ("127.0.0.1", 8765, "/callback")),
        ("http://localhost:0/cb", ("127.0.0.1", 0, "/cb")),
    ],
)
def test_the_listener_binds_only_the_loopback_interface(uri: str, address: tuple[str, int, str]) -> None:
    assert loopback_address(uri) == address


@pytest.mark.parametrize(
    "uri", ["https://127.0.0.1:8765/callback", "http://0.0.0.0:8765/callback", "http://example.com/cb"]
)
def test_a_redirect_uri_the_listener_cannot_serve_is_refused(uri: str) -> None:
    with pytest.raises(ValueError, match=r"127\.0\.0\.1 or localhost"):
        loopback_address(uri)


# ---------------------------------------------------------------------------------------------
# The loopback listener


def test_the_listener_hands_over_the_first_callback_and_ignores_other_paths() -> None:
    with LoopbackReceiver("http://127.0.0.1:0/callback") as receiver:
        base = receiver.redirect_uri.removesuffix("/callback")
        assert httpx.get(f"{base}/favicon.ico").status_code == 404
        first = httpx.get(f"{receiver.redirect_uri}?code=abc&state=s1")
        second = httpx.get(f"{receiver.redirect_uri}?code=forged&state=s1")
        assert receiver.wait(timeout=1) == f"{receiver.redirect_uri}?code=abc&state=s1"
    assert first.status_code == 200 and "You can close this tab" in first.text
    assert "already has the answer" in second.text


def test_a_browser_that_never_comes_back_times_out_as_an_auth_error() -> None:
    with pytest.raises(AuthError, match=r"No answer from the browser within 0\.2 seconds") as caught:
        authorize(
            "clio",
            authorize_url="https://app.example.test/oauth/authorize",
            token_url=TOKEN_URL,
            client_id="app-id",
            client_secret="app-secret",
            redirect_uri="http://127.0.0.1:0/callback",
            scope=None,
            client_auth="body",
            open_url=lambda url: None,
            timeout=0.2,
        )
    assert "--no-browser" in caught.value.remedy


def test_a_redirect_port_already_in_use_is_a_config_error_suggesting_no_browser() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(
            ConfigError, match=re.escape(f"Cannot listen on http://127.0.0.1:{port}/callback")
        ) as caught:
            authorize(
                "qbo",
                authorize_url="https://appcenter.example.test/connect/oauth2",
                token_url=TOKEN_URL,
                client_id="app-id",
                client_secret="app-secret",
                redirect_uri=f"http://127.0.0.1:{port}/callback",
                scope="com.intuit.quickbooks.accounting",
                client_auth="basic",
                open_url=lambda url: pytest.fail("the browser must not be opened"),
            )
    assert "--no-browser" in caught.value.remedy
