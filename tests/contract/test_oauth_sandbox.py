"""The OAuth code flow, the refreshing session and the token stores against the live sandbox's
Clio and Intuit authorization servers, over real HTTP on 127.0.0.1.

The "browser" is httpx: it GETs the authorization URL without following the redirect, then GETs
the Location — the loopback listener (or, for --no-browser, the person pasting it) receives it.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from ledgerlink.auth.flow import authorize
from ledgerlink.auth.session import OAuthSession
from ledgerlink.auth.tokens import FileTokenStore, Provider, TokenSet
from ledgerlink.errors import AuthError
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import CLIO_ACCOUNT_ID, QBO_COMPANY_NAME, QBO_REALM_ID
from ledgerlink.sandbox.oauth import AUTH_CODE_TTL, s256_challenge

CLIO_APP = "sandbox-clio-app"
QBO_APP = "sandbox-qbo-app"
ACCOUNTING = "com.intuit.quickbooks.accounting"
VERIFIER = "v" * 43
CALLBACK = "http://127.0.0.1:8765/callback"  # never listened on: used where a request goes to the server only


@pytest.fixture(autouse=True)
def qbo_company(sandbox: Sandbox) -> None:
    """The demo company the Intuit user can connect (the QBO emulator may have added it already)."""
    sandbox.state.qbo_companies.setdefault(QBO_REALM_ID, QBO_COMPANY_NAME)


class Browser:
    """Follows the authorization redirect like a browser; remembers what it visited."""

    def __init__(self, *, extra_query: str = "", tamper: Callable[[str], str] | None = None) -> None:
        self.extra_query = extra_query
        self.tamper = tamper
        self.authorization_url = ""
        self.redirect = ""

    def consent(self, url: str) -> str:
        """The address the authorization server sends the browser back to."""
        self.authorization_url = url
        answer = httpx.get(url + self.extra_query, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        self.redirect = self.tamper(answer.headers["location"]) if self.tamper else answer.headers["location"]
        return self.redirect

    def open(self, url: str) -> None:
        page = httpx.get(self.consent(url), timeout=5)
        assert "You can close this tab" in page.text


def flow_settings(sandbox: Sandbox, provider: Provider) -> dict[str, Any]:
    """The authorize() keywords for one provider of the sandbox, listening on a free port."""
    if provider == "clio":
        oauth = sandbox.urls.clio_oauth
        return dict(
            authorize_url=f"{oauth}/authorize",
            token_url=f"{oauth}/token",
            client_id=CLIO_APP,
            client_secret=sandbox.state.clio_apps[CLIO_APP],
            redirect_uri="http://127.0.0.1:0/callback",
            scope=None,
            client_auth="body",
            clock=sandbox.state.clock.now,
            timeout=10,
        )
    oauth = sandbox.urls.qbo_oauth
    return dict(
        authorize_url=f"{oauth}/authorize",
        token_url=f"{oauth}/v1/tokens/bearer",
        client_id=QBO_APP,
        client_secret=sandbox.state.qbo_apps[QBO_APP],
        redirect_uri="http://localhost:0/callback",
        scope=ACCOUNTING,
        client_auth="basic",
        clock=sandbox.state.clock.now,
        timeout=10,
    )


def connect(sandbox: Sandbox, provider: Provider, browser: Browser | None = None) -> TokenSet:
    return authorize(provider, open_url=(browser or Browser()).open, **flow_settings(sandbox, provider))


def session_for(sandbox: Sandbox, provider: Provider, store: FileTokenStore, **options: Any) -> OAuthSession:
    settings = flow_settings(sandbox, provider)
    return OAuthSession(
        provider,
        store,
        token_url=settings["token_url"],
        client_id=settings["client_id"],
        client_secret=settings["client_secret"],
        client_auth=settings["client_auth"],
        clock=sandbox.state.clock.now,
        **options,
    )


def loaded(store: FileTokenStore, provider: Provider) -> TokenSet:
    tokens = store.load(provider)
    assert tokens is not None
    return tokens


def accepted(sandbox: Sandbox, provider: Provider, access_token: str) -> bool:
    return sandbox.state.tokens.check(provider, f"Bearer {access_token}") is not None


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


# ---------------------------------------------------------------------------------------------
# The code flow end to end


def test_clio_code_flow_through_the_loopback_listener_yields_tokens_the_api_accepts(sandbox: Sandbox) -> None:
    browser = Browser()
    now = sandbox.state.clock.now()
    tokens = connect(sandbox, "clio", browser)
    sent = parse_qs(urlsplit(browser.authorization_url).query)
    assert sent["code_challenge_method"] == ["S256"] and sent["code_challenge"] and sent["state"]
    assert "scope" not in sent
    grant = sandbox.state.tokens.check("clio", f"Bearer {tokens.access_token}")
    assert grant is not None and grant.realm_id == CLIO_ACCOUNT_ID
    assert tokens.realm_id is None and tokens.refresh_expires_at is None
    assert tokens.expires_at == pytest.approx(now + 30 * 24 * 3600, abs=5)


def test_qbo_code_flow_through_the_loopback_listener_yields_the_company_and_both_lifetimes(
    sandbox: Sandbox,
) -> None:
    browser = Browser()
    now = sandbox.state.clock.now()
    tokens = connect(sandbox, "qbo", browser)
    assert parse_qs(urlsplit(browser.authorization_url).query)["scope"] == [ACCOUNTING]
    assert browser.redirect.startswith("http://localhost:")
    assert tokens.realm_id == QBO_REALM_ID
    assert accepted(sandbox, "qbo", tokens.access_token)
    assert tokens.expires_at == pytest.approx(now + 3600, abs=5)
    assert tokens.refresh_expires_at == pytest.approx(now + 100 * 24 * 3600, abs=5)


def test_qbo_realm_hint_picks_that_company(sandbox: Sandbox) -> None:
    sandbox.state.qbo_companies["4620816365"] = "Second Company"
    tokens = connect(sandbox, "qbo", Browser(extra_query="&realm_hint=4620816365"))
    assert tokens.realm_id == "4620816365"


def test_paste_flow_exchanges_the_address_the_person_pasted_without_listening(sandbox: Sandbox) -> None:
    browser = Browser()
    settings = {**flow_settings(sandbox, "clio"), "redirect_uri": CALLBACK}
    tokens = authorize("clio", open_url=None, paste_redirect=browser.consent, **settings)
    assert browser.redirect.startswith(CALLBACK + "?code=")
    assert accepted(sandbox, "clio", tokens.access_token)


def test_a_redirect_with_a_forged_state_is_rejected(sandbox: Sandbox) -> None:
    def forge(location: str) -> str:
        return location.replace("state=", "state=forged")

    with pytest.raises(AuthError, match="state mismatch"):
        connect(sandbox, "qbo", Browser(tamper=forge))


def test_declined_consent_is_an_auth_error_saying_so(sandbox: Sandbox) -> None:
    sandbox.state.oauth_decline = True
    browser = Browser()
    with pytest.raises(AuthError, match="consent was declined") as caught:
        connect(sandbox, "clio", browser)
    assert "error=access_denied" in browser.redirect
    assert "ledgerlink connect clio" in caught.value.remedy


def test_declining_with_the_deny_switch_works_for_intuit_too(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError, match="consent was declined"):
        connect(sandbox, "qbo", Browser(extra_query="&deny=1"))


def test_an_intuit_user_without_a_company_cannot_connect(sandbox: Sandbox) -> None:
    sandbox.state.qbo_companies.clear()
    with pytest.raises(AuthError, match="no QuickBooks Online company"):
        connect(sandbox, "qbo")


# ---------------------------------------------------------------------------------------------
# The authorization servers are strict


def authorize_directly(sandbox: Sandbox, provider: Provider, **params: str) -> httpx.Response:
    """GET the authorization endpoint as a browser would, returning the unfollowed answer."""
    base = sandbox.urls.clio_oauth if provider == "clio" else sandbox.urls.qbo_oauth
    query = {
        "response_type": "code",
        "client_id": CLIO_APP if provider == "clio" else QBO_APP,
        "redirect_uri": CALLBACK,
        "state": "s1",
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **({"scope": ACCOUNTING} if provider == "qbo" else {}),
        **params,
    }
    return httpx.get(f"{base}/authorize?{urlencode(query)}", follow_redirects=False)


def code_from(answer: httpx.Response) -> str:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def clio_token_request(sandbox: Sandbox, **form: str) -> httpx.Response:
    body = {"client_id": CLIO_APP, "client_secret": sandbox.state.clio_apps[CLIO_APP], **form}
    return httpx.post(f"{sandbox.urls.clio_oauth}/token", data=body)


def exchange(sandbox: Sandbox, issued_code: str, /, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "authorization_code",
        "code": issued_code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
    }
    return clio_token_request(sandbox, **{**form, **overrides})


def test_clio_token_answer_has_exactly_the_documented_fields(sandbox: Sandbox) -> None:
    answer = exchange(sandbox, code_from(authorize_directly(sandbox, "clio")))
    assert answer.status_code == 200
    assert sorted(answer.json()) == ["access_token", "expires_in", "refresh_token", "token_type"]
    assert answer.json()["token_type"] == "bearer"
    assert answer.headers["cache-control"] == "no-store"


def test_the_server_rejects_a_wrong_pkce_verifier_and_the_code_is_then_spent(sandbox: Sandbox) -> None:
    code = code_from(authorize_directly(sandbox, "clio"))
    wrong = exchange(sandbox, code, code_verifier="w" * 43)
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_grant")
    retry = exchange(sandbox, code)
    assert (retry.status_code, retry.json()["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_verifier": ""}, "invalid_request"),
        ({"redirect_uri": "http://127.0.0.1:9999/elsewhere"}, "invalid_grant"),
        ({"code": "never-issued"}, "invalid_grant"),
        ({"grant_type": "password"}, "unsupported_grant_type"),
    ],
)
def test_a_code_exchange_that_does_not_match_the_authorization_is_refused(
    sandbox: Sandbox, overrides: dict[str, str], error: str
) -> None:
    answer = exchange(sandbox, code_from(authorize_directly(sandbox, "clio")), **overrides)
    assert (answer.status_code, answer.json()["error"]) == (400, error)


def test_an_authorization_code_works_once_only(sandbox: Sandbox) -> None:
    code = code_from(authorize_directly(sandbox, "clio"))
    assert exchange(sandbox, code).status_code == 200
    assert exchange(sandbox, code).json()["error"] == "invalid_grant"


def test_an_authorization_code_expires_on_the_sandbox_clock(sandbox: Sandbox) -> None:
    code = code_from(authorize_directly(sandbox, "clio"))
    sandbox.state.clock.advance(AUTH_CODE_TTL + 1)
    answer = exchange(sandbox, code)
    assert (answer.status_code, answer.json()["error_description"]) == (400, "authorization code has expired")


def test_clio_refuses_a_wrong_secret_with_401_and_an_unknown_client_with_400(sandbox: Sandbox) -> None:
    code = code_from(authorize_directly(sandbox, "clio"))
    wrong_secret = exchange(sandbox, code, client_secret="guess")
    unknown = exchange(sandbox, code, client_id="someone-else")
    assert (wrong_secret.status_code, wrong_secret.json()["error"]) == (401, "invalid_client")
    assert (unknown.status_code, unknown.json()["error"]) == (400, "invalid_client")


def test_clio_token_endpoint_only_takes_a_form_body(sandbox: Sandbox) -> None:
    answer = httpx.post(f"{sandbox.urls.clio_oauth}/token", json={"grant_type": "refresh_token"})
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")


def test_intuit_requires_http_basic_client_authentication(sandbox: Sandbox) -> None:
    code = code_from(authorize_directly(sandbox, "qbo"))
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": VERIFIER,
        "client_id": QBO_APP,
        "client_secret": sandbox.state.qbo_apps[QBO_APP],
    }
    answer = httpx.post(f"{sandbox.urls.qbo_oauth}/v1/tokens/bearer", data=form)
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_client")
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert answer.headers["intuit_tid"]


def test_intuit_authorization_without_the_accounting_scope_is_redirected_as_invalid_scope(
    sandbox: Sandbox,
) -> None:
    answer = authorize_directly(sandbox, "qbo", scope="openid email")
    assert parse_qs(urlsplit(answer.headers["location"]).query)["error"] == ["invalid_scope"]


def test_intuit_refuses_a_plain_http_redirect_off_loopback(sandbox: Sandbox) -> None:
    answer = authorize_directly(sandbox, "qbo", redirect_uri="http://firm.example.com/callback")
    assert answer.status_code == 400 and "location" not in answer.headers


@pytest.mark.parametrize("provider", ["clio", "qbo"])
def test_an_unknown_client_gets_an_error_page_not_a_redirect(sandbox: Sandbox, provider: Provider) -> None:
    answer = authorize_directly(sandbox, provider, client_id="not-registered")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client")


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_an_authorization_request_from_a_known_client_is_refused_by_redirect(
    sandbox: Sandbox, params: dict[str, str], error: str
) -> None:
    query = parse_qs(urlsplit(authorize_directly(sandbox, "clio", **params).headers["location"]).query)
    assert (query["error"], query["state"]) == ([error], ["s1"])


# ---------------------------------------------------------------------------------------------
# The refreshing session against the sandbox


def test_qbo_refresh_rotates_and_the_old_refresh_token_then_fails_as_an_auth_error(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = connect(sandbox, "qbo")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("qbo", first)
    new_access = session_for(sandbox, "qbo", store).refresh(first.access_token)
    rotated = loaded(store, "qbo")
    assert rotated.access_token == new_access
    assert rotated.refresh_token != first.refresh_token
    assert (rotated.realm_id, rotated.connected_at) == (first.realm_id, first.connected_at)
    assert accepted(sandbox, "qbo", new_access) and not accepted(sandbox, "qbo", first.access_token)

    stale = FileTokenStore(tmp_path / "stale.json", "firm")
    stale.save("qbo", first)
    with pytest.raises(AuthError, match="invalid_grant") as caught:
        session_for(sandbox, "qbo", stale).refresh(first.access_token)
    assert caught.value.remedy == "Reconnect with `ledgerlink connect qbo`."


def test_clio_refresh_keeps_its_reusable_refresh_token(sandbox: Sandbox, tmp_path: Path) -> None:
    first = connect(sandbox, "clio")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("clio", first)
    session_for(sandbox, "clio", store).refresh(first.access_token)
    again = session_for(sandbox, "clio", store).refresh(loaded(store, "clio").access_token)
    assert loaded(store, "clio").refresh_token == first.refresh_token
    assert accepted(sandbox, "clio", again)


def test_an_expired_access_token_is_refreshed_transparently(sandbox: Sandbox, tmp_path: Path) -> None:
    first = connect(sandbox, "qbo")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("qbo", first)
    session = session_for(sandbox, "qbo", store)
    assert session.access_token() == first.access_token
    sandbox.state.clock.advance(3600 + 1)
    assert not accepted(sandbox, "qbo", first.access_token)
    fresh = session.access_token()
    assert fresh != first.access_token and accepted(sandbox, "qbo", fresh)
    assert loaded(store, "qbo").access_token == fresh


class CountingTransport(httpx.HTTPTransport):
    """Counts the requests that reach the token endpoint."""

    def __init__(self) -> None:
        super().__init__()
        self.requests = 0
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests += 1
        return super().handle_request(request)


def test_concurrent_refreshes_of_one_rejected_token_perform_exactly_one_refresh(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = connect(sandbox, "qbo")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("qbo", first)
    transport = CountingTransport()
    session = session_for(sandbox, "qbo", store, http_transport=transport)
    start = threading.Barrier(8)
    results: list[str] = []

    def worker() -> None:
        start.wait()
        results.append(session.refresh(first.access_token))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert transport.requests == 1
    assert len(results) == 8 and len(set(results)) == 1
    assert accepted(sandbox, "qbo", results[0])


# ---------------------------------------------------------------------------------------------
# Disconnecting


def test_clio_deauthorize_revokes_the_grant_and_forgets_the_tokens(sandbox: Sandbox, tmp_path: Path) -> None:
    tokens = connect(sandbox, "clio")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("clio", tokens)
    session_for(sandbox, "clio", store).revoke(f"{sandbox.urls.clio_oauth}/deauthorize")
    assert not accepted(sandbox, "clio", tokens.access_token)
    assert store.load("clio") is None


def test_clio_deauthorize_needs_a_live_bearer_token(sandbox: Sandbox) -> None:
    answer = httpx.post(
        f"{sandbox.urls.clio_oauth}/deauthorize",
        headers={"Authorization": "Bearer dead"},
        data={"token": "dead"},
    )
    assert (answer.status_code, answer.json()["error"]) == (401, "invalid_token")


def test_intuit_revoke_ends_the_grant_so_the_refresh_token_no_longer_works(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    tokens = connect(sandbox, "qbo")
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    store.save("qbo", tokens)
    session_for(sandbox, "qbo", store).revoke(f"{sandbox.urls.qbo_oauth}/v1/tokens/revoke")
    assert store.load("qbo") is None
    refresh = httpx.post(
        f"{sandbox.urls.qbo_oauth}/v1/tokens/bearer",
        headers=basic(QBO_APP, sandbox.state.qbo_apps[QBO_APP]),
        data={"grant_type": "refresh_token", "refresh_token": tokens.refresh_token},
    )
    assert (refresh.status_code, refresh.json()["error"]) == (400, "invalid_grant")


# ---------------------------------------------------------------------------------------------
# Secrets stay secret


def test_no_token_appears_in_errors_reprs_or_logs(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    store = FileTokenStore(tmp_path / "tokens.json", "firm")
    first = connect(sandbox, "qbo")
    store.save("qbo", first)
    session = session_for(sandbox, "qbo", store)
    sandbox.state.clock.advance(3601)
    session.access_token()
    second = loaded(store, "qbo")

    stale = FileTokenStore(tmp_path / "stale.json", "firm")
    stale.save("qbo", first)
    errors: list[BaseException] = []
    with pytest.raises(AuthError) as refused:
        session_for(sandbox, "qbo", stale).refresh(first.access_token)
    errors.append(refused.value)
    (tmp_path / "stale.json").chmod(0o644)
    with pytest.raises(AuthError) as exposed:
        FileTokenStore(tmp_path / "stale.json", "firm").load("qbo")
    errors.append(exposed.value)

    texts = [caplog.text, repr(first), str(first), repr(second), str(second)]
    texts += [text for error in errors for text in (str(error), repr(error), getattr(error, "remedy", ""))]
    secrets = [first.access_token, first.refresh_token, second.access_token, second.refresh_token]
    for text in texts:
        for secret in secrets:
            assert secret not in text
