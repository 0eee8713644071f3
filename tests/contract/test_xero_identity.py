"""Xero connections against the live sandbox: the identity server (authorize, token with rotation,
revocation), ``/connections``, the code flow, the refreshing session and ``list_tenants``, over real
HTTP on 127.0.0.1. The clock is advanced, never slept on.

The "browser" is httpx: it GETs the authorization URL without following the redirect, then GETs
the Location, where the loopback listener waits.
"""

from __future__ import annotations

import base64
import logging
import re
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from ledgerlink.auth.flow import authorize
from ledgerlink.auth.session import OAuthSession
from ledgerlink.auth.tokens import FileTokenStore, TokenSet
from ledgerlink.config import XERO_SCOPES
from ledgerlink.errors import AuthError, RateLimitedError
from ledgerlink.providers.xero import auth_event_id_of, list_tenants, remove_connection
from ledgerlink.sandbox import Sandbox
from ledgerlink.sandbox.demo_firm import (
    XERO_ORG_NAME,
    XERO_ORG_TENANT_ID,
    XERO_TRUST_ORG_NAME,
    XERO_TRUST_ORG_TENANT_ID,
    XERO_USER_ID,
)
from ledgerlink.sandbox.oauth import s256_challenge
from ledgerlink.sandbox.xero_identity import AUTH_CODE_TTL

APP = "sandbox-xero-app"  # created after 2026-03-02, has a secret
PKCE_APP = "sandbox-xero-pkce-app"  # no secret
LEGACY_APP = "sandbox-xero-legacy-app"  # created before 2026-03-02: broad scopes still allowed
GRANULAR = XERO_SCOPES["granular"]
BROAD = XERO_SCOPES["broad"]
CALLBACK = "http://localhost:8765/callback"  # registered; never listened on
VERIFIER = "v" * 43
MINUTE = 60
DAY = 24 * 3600


# ---------------------------------------------------------------------------------------------
# Helpers


class Browser:
    """Follows the authorization redirect like a browser; remembers what it visited."""

    def __init__(self, *, extra_query: str = "") -> None:
        self.extra_query = extra_query
        self.authorization_url = ""
        self.redirect = ""

    def open(self, url: str) -> None:
        self.authorization_url = url
        answer = httpx.get(url + self.extra_query, follow_redirects=False)
        assert answer.status_code == 302, answer.text
        self.redirect = answer.headers["location"]
        assert "You can close this tab" in httpx.get(self.redirect, timeout=5).text


class RecordingTransport(httpx.HTTPTransport):
    """Remembers every request it sends (to see how the client authenticated)."""

    def __init__(self) -> None:
        super().__init__()
        self.requests: list[httpx.Request] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        with self._lock:
            self.requests.append(request)
        return super().handle_request(request)


def secret_of(sandbox: Sandbox, app: str) -> str | None:
    return sandbox.state.xero_apps[app].client_secret


def flow_settings(sandbox: Sandbox, app: str, **overrides: Any) -> dict[str, Any]:
    """The authorize() keywords for one Xero app of the sandbox, listening on localhost port 0."""
    identity = sandbox.urls.xero_identity
    secret = secret_of(sandbox, app)
    settings: dict[str, Any] = dict(
        authorize_url=f"{identity}/connect/authorize",
        token_url=f"{identity}/connect/token",
        client_id=app,
        client_secret=secret or "",
        redirect_uri="http://localhost:0/callback",
        scope=BROAD if app == LEGACY_APP else GRANULAR,
        client_auth="none" if secret is None else "basic",
        clock=sandbox.state.clock.now,
        timeout=10,
    )
    return {**settings, **overrides}


def connect(
    sandbox: Sandbox, app: str = PKCE_APP, browser: Browser | None = None, **overrides: Any
) -> TokenSet:
    return authorize("xero", open_url=(browser or Browser()).open, **flow_settings(sandbox, app, **overrides))


def session_for(sandbox: Sandbox, app: str, store: FileTokenStore, **options: Any) -> OAuthSession:
    settings = flow_settings(sandbox, app)
    return OAuthSession(
        "xero",
        store,
        token_url=settings["token_url"],
        client_id=app,
        client_secret=settings["client_secret"],
        client_auth=settings["client_auth"],
        clock=sandbox.state.clock.now,
        **options,
    )


def stored(tmp_path: Path, tokens: TokenSet, name: str = "tokens.json") -> FileTokenStore:
    store = FileTokenStore(tmp_path / name, "firm")
    store.save("xero", tokens)
    return store


def loaded(store: FileTokenStore) -> TokenSet:
    tokens = store.load("xero")
    assert tokens is not None
    return tokens


def accepted(sandbox: Sandbox, access_token: str) -> bool:
    return sandbox.state.tokens.check("xero", f"Bearer {access_token}") is not None


def connections_url(sandbox: Sandbox) -> str:
    return f"{sandbox.urls.xero_api}/connections"


def basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def authorize_directly(sandbox: Sandbox, app: str = APP, **params: str) -> httpx.Response:
    """GET the authorization endpoint as a browser would, returning the unfollowed answer."""
    query = {
        "response_type": "code",
        "client_id": app,
        "redirect_uri": CALLBACK,
        "scope": BROAD if app == LEGACY_APP else GRANULAR,
        "state": "s1",
        "code_challenge": s256_challenge(VERIFIER),
        "code_challenge_method": "S256",
        **params,
    }
    url = f"{sandbox.urls.xero_identity}/connect/authorize?{urlencode(query)}"
    return httpx.get(url, follow_redirects=False)


def redirected(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}


def token_request(
    sandbox: Sandbox, app: str = APP, *, headers: dict[str, str] | None = None, **form: str
) -> httpx.Response:
    """POST the token endpoint; a confidential app authenticates with Basic unless headers say otherwise."""
    secret = secret_of(sandbox, app)
    if headers is None:
        headers = basic(app, secret) if secret is not None else {}
        if secret is None:
            form = {"client_id": app, **form}
    return httpx.post(f"{sandbox.urls.xero_identity}/connect/token", data=form, headers=headers)


def exchange(sandbox: Sandbox, app: str = APP, **params: str) -> httpx.Response:
    code = redirected(authorize_directly(sandbox, app, **params))["code"]
    return token_request(
        sandbox,
        app,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=VERIFIER,
    )


def refresh(sandbox: Sandbox, refresh_token: str, app: str = APP, **form: str) -> httpx.Response:
    return token_request(sandbox, app, grant_type="refresh_token", refresh_token=refresh_token, **form)


def error_of(answer: httpx.Response) -> tuple[int, str]:
    return answer.status_code, answer.json()["error"]


# ---------------------------------------------------------------------------------------------
# The code flow end to end


def test_the_pkce_app_connects_through_a_localhost_listener_without_any_secret(sandbox: Sandbox) -> None:
    browser, recorder = Browser(), RecordingTransport()
    now = sandbox.state.clock.now()
    tokens = connect(sandbox, PKCE_APP, browser, http_transport=recorder)
    sent = parse_qs(urlsplit(browser.authorization_url).query)
    assert (sent["code_challenge_method"], sent["scope"]) == (["S256"], [GRANULAR])
    assert browser.redirect.startswith("http://localhost:")
    (token_call,) = recorder.requests
    form = parse_qs(token_call.content.decode())
    assert form["client_id"] == [PKCE_APP] and form["code_verifier"]
    assert "client_secret" not in form and "authorization" not in token_call.headers
    assert accepted(sandbox, tokens.access_token)
    assert tokens.expires_at == pytest.approx(now + 1800, abs=5)


@pytest.mark.parametrize("client_auth", ["basic", "body"])
def test_the_confidential_app_connects_with_basic_or_body_client_authentication(
    sandbox: Sandbox, client_auth: str
) -> None:
    tokens = connect(sandbox, APP, client_auth=client_auth)
    assert accepted(sandbox, tokens.access_token)
    assert tokens.refresh_token.startswith("xero-rt-")


def test_the_token_answer_has_exactly_xeros_fields(sandbox: Sandbox) -> None:
    answer = exchange(sandbox)
    assert answer.status_code == 200
    body = answer.json()
    assert sorted(body) == ["access_token", "expires_in", "refresh_token", "scope", "token_type"]
    assert (body["token_type"], body["expires_in"], body["scope"]) == ("Bearer", 1800, GRANULAR)
    assert answer.headers["cache-control"] == "no-store"


def test_without_offline_access_there_is_no_refresh_token(sandbox: Sandbox) -> None:
    answer = exchange(sandbox, scope="accounting.contacts.read")
    assert answer.status_code == 200 and "refresh_token" not in answer.json()


def test_declined_consent_is_an_auth_error_saying_so(sandbox: Sandbox) -> None:
    with pytest.raises(AuthError, match="consent was declined") as caught:
        connect(sandbox, PKCE_APP, Browser(extra_query="&deny=1"))
    assert "ledgerlink connect xero" in caught.value.remedy


def test_a_user_without_an_organisation_to_connect_is_refused_access(sandbox: Sandbox) -> None:
    sandbox.state.xero_consent_orgs = []
    assert redirected(authorize_directly(sandbox))["error"] == "access_denied"


# ---------------------------------------------------------------------------------------------
# The authorization endpoint is strict


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:8765/callback",
        "http://[::1]:8765/callback",
        "http://firm.example.com/callback",
        "http://localhost:8765/elsewhere",
    ],
)
def test_a_redirect_uri_xero_does_not_accept_gets_an_error_page_not_a_redirect(
    sandbox: Sandbox, redirect_uri: str
) -> None:
    answer = authorize_directly(sandbox, redirect_uri=redirect_uri)
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_request")
    assert "location" not in answer.headers


def test_a_127_0_0_1_redirect_is_refused_even_through_the_flow(sandbox: Sandbox) -> None:
    pages: list[int] = []

    def browser(url: str) -> None:
        pages.append(httpx.get(url, follow_redirects=False).status_code)

    with pytest.raises(AuthError, match="No answer from the browser"):
        authorize(
            "xero",
            open_url=browser,
            **flow_settings(sandbox, PKCE_APP, redirect_uri="http://127.0.0.1:0/callback", timeout=0.2),
        )
    assert pages == [400]


def test_a_registered_https_redirect_uri_is_accepted(sandbox: Sandbox) -> None:
    app = sandbox.state.xero_apps[APP]
    sandbox.state.xero_apps[APP] = replace(app, redirect_uris=("https://firm.example.com/xero/callback",))
    answer = authorize_directly(sandbox, redirect_uri="https://firm.example.com/xero/callback")
    assert redirected(answer)["state"] == "s1"
    assert (
        authorize_directly(sandbox, redirect_uri="https://firm.example.com:8443/xero/callback").status_code
        == 400
    )


def test_an_unknown_client_gets_an_error_page(sandbox: Sandbox) -> None:
    answer = authorize_directly(sandbox, client_id="not-registered")
    assert (answer.status_code, answer.json()["error"]) == (400, "invalid_client")


@pytest.mark.parametrize(
    "scope", [BROAD, "offline_access accounting.transactions.read", "accounting.reports.read"]
)
def test_a_new_app_asking_for_broad_scopes_is_redirected_with_invalid_scope(
    sandbox: Sandbox, scope: str
) -> None:
    answer = redirected(authorize_directly(sandbox, APP, scope=scope))
    assert (answer["error"], answer["state"]) == ("invalid_scope", "s1")
    assert sandbox.state.xero_orgs.connections(APP, XERO_USER_ID) == []


def test_an_app_created_before_march_2026_may_still_use_broad_scopes(sandbox: Sandbox) -> None:
    tokens = connect(sandbox, LEGACY_APP)
    assert accepted(sandbox, tokens.access_token)
    answer = refresh(sandbox, tokens.refresh_token, LEGACY_APP)
    assert answer.json()["scope"] == BROAD


@pytest.mark.parametrize("scope", ["offline_access accounting.everything", ""])
def test_an_unknown_or_missing_scope_is_invalid_scope(sandbox: Sandbox, scope: str) -> None:
    assert redirected(authorize_directly(sandbox, scope=scope))["error"] == "invalid_scope"


def test_the_pkce_app_must_send_a_code_challenge(sandbox: Sandbox) -> None:
    answer = authorize_directly(sandbox, PKCE_APP, code_challenge="", code_challenge_method="")
    assert redirected(answer)["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
    ],
)
def test_a_malformed_authorization_request_is_refused_by_redirect(
    sandbox: Sandbox, params: dict[str, str], error: str
) -> None:
    assert redirected(authorize_directly(sandbox, **params))["error"] == error


# ---------------------------------------------------------------------------------------------
# The token endpoint is strict


def test_token_errors_carry_only_the_error_code(sandbox: Sandbox) -> None:
    answer = refresh(sandbox, "xero-rt-never-issued")
    assert (answer.status_code, answer.json()) == (400, {"error": "invalid_grant"})


def test_a_wrong_secret_is_invalid_client_with_a_basic_challenge(sandbox: Sandbox) -> None:
    answer = refresh(sandbox, "whatever", headers=basic(APP, "guess"))
    assert error_of(answer) == (401, "invalid_client")
    assert answer.headers["www-authenticate"].startswith("Basic")


def test_a_confidential_app_may_put_its_secret_in_the_body_but_not_in_both_places(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox).json()
    body_auth = {"client_id": APP, "client_secret": secret_of(sandbox, APP) or ""}
    ok = refresh(sandbox, tokens["refresh_token"], headers={}, **body_auth)
    assert ok.status_code == 200
    both = refresh(
        sandbox, ok.json()["refresh_token"], headers=basic(APP, body_auth["client_secret"]), **body_auth
    )
    assert error_of(both) == (400, "invalid_request")


@pytest.mark.parametrize("how", ["basic", "body"])
def test_the_pkce_app_presenting_any_secret_is_an_invalid_client(sandbox: Sandbox, how: str) -> None:
    tokens = exchange(sandbox, PKCE_APP).json()
    if how == "basic":
        answer = refresh(sandbox, tokens["refresh_token"], PKCE_APP, headers=basic(PKCE_APP, ""))
    else:
        answer = refresh(
            sandbox, tokens["refresh_token"], PKCE_APP, headers={}, client_id=PKCE_APP, client_secret="x"
        )
    assert error_of(answer) == (401, "invalid_client")


def test_the_pkce_app_must_prove_the_verifier(sandbox: Sandbox) -> None:
    code = redirected(authorize_directly(sandbox, PKCE_APP))["code"]
    answer = token_request(
        sandbox,
        PKCE_APP,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier="w" * 43,
    )
    assert error_of(answer) == (400, "invalid_grant")


def test_an_authorization_code_works_once_only(sandbox: Sandbox) -> None:
    code = redirected(authorize_directly(sandbox))["code"]
    form = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=VERIFIER)
    assert token_request(sandbox, **form).status_code == 200
    assert error_of(token_request(sandbox, **form)) == (400, "invalid_grant")


def test_an_authorization_code_dies_after_five_minutes_on_the_sandbox_clock(sandbox: Sandbox) -> None:
    assert AUTH_CODE_TTL == 5 * MINUTE
    code = redirected(authorize_directly(sandbox))["code"]
    sandbox.state.clock.advance(5 * MINUTE + 1)
    form = dict(grant_type="authorization_code", code=code, redirect_uri=CALLBACK, code_verifier=VERIFIER)
    assert error_of(token_request(sandbox, **form)) == (400, "invalid_grant")


# ---------------------------------------------------------------------------------------------
# Refresh: rotation, the grace period, the 60-day idle limit


def test_refresh_rotates_the_refresh_token_and_ends_the_old_access_token(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["expires_in"] == 1800
    assert accepted(sandbox, second["access_token"]) and not accepted(sandbox, first["access_token"])


def test_the_previous_refresh_token_replays_the_same_pair_within_30_minutes(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    sandbox.state.clock.advance(29 * MINUTE)
    replay = refresh(sandbox, first["refresh_token"]).json()
    assert (replay["access_token"], replay["refresh_token"]) == (
        second["access_token"],
        second["refresh_token"],
    )
    assert replay["expires_in"] == pytest.approx(MINUTE, abs=2)
    assert accepted(sandbox, replay["access_token"])


def test_the_previous_refresh_token_fails_after_the_30_minute_grace_period(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    sandbox.state.clock.advance(30 * MINUTE + 1)
    assert error_of(refresh(sandbox, first["refresh_token"])) == (400, "invalid_grant")
    assert refresh(sandbox, second["refresh_token"]).status_code == 200


def test_the_previous_refresh_token_dies_once_its_successor_has_been_used(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    assert refresh(sandbox, second["refresh_token"]).status_code == 200
    assert error_of(refresh(sandbox, first["refresh_token"])) == (400, "invalid_grant")


def test_a_refresh_token_unused_for_60_days_is_invalid_grant(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox).json()
    sandbox.state.clock.advance(60 * DAY)
    assert error_of(refresh(sandbox, tokens["refresh_token"])) == (400, "invalid_grant")


def test_each_refresh_gives_the_new_refresh_token_another_60_days(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox).json()
    for _ in range(2):
        sandbox.state.clock.advance(59 * DAY)
        answer = refresh(sandbox, tokens["refresh_token"])
        assert answer.status_code == 200
        tokens = answer.json()


def test_a_refresh_may_not_ask_for_more_than_the_consented_scope(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox).json()
    narrower = refresh(sandbox, tokens["refresh_token"], scope="offline_access accounting.contacts")
    assert narrower.status_code == 200
    wider = refresh(sandbox, narrower.json()["refresh_token"], scope=f"{GRANULAR} accounting.attachments")
    assert error_of(wider) == (400, "invalid_scope")


def test_an_oauth_session_for_xero_refreshes_transparently_after_30_minutes(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = connect(sandbox, PKCE_APP)
    store = stored(tmp_path, first)
    session = session_for(sandbox, PKCE_APP, store)
    assert session.access_token() == first.access_token
    sandbox.state.clock.advance(30 * MINUTE + 1)
    assert not accepted(sandbox, first.access_token)
    fresh = session.access_token()
    assert fresh != first.access_token and accepted(sandbox, fresh)
    renewed = loaded(store)
    assert (renewed.access_token, renewed.connected_at) == (fresh, first.connected_at)
    assert renewed.refresh_token != first.refresh_token
    assert [t.tenant_name for t in list_tenants(connections_url(sandbox), session)] == [
        XERO_ORG_NAME,
        XERO_TRUST_ORG_NAME,
    ]


def test_a_refresh_answer_lost_in_a_crash_is_recovered_within_the_grace_period(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = connect(sandbox, APP)
    # The refresh reached Xero (which rotated the token) but the process died before saving the answer.
    assert refresh(sandbox, first.refresh_token).status_code == 200
    sandbox.state.clock.advance(10 * MINUTE)  # the next run starts well within the 30-minute grace
    store = stored(tmp_path, first, "after-crash.json")
    restarted = session_for(sandbox, APP, store)
    assert not accepted(sandbox, first.access_token)  # the rotation ended the old access token
    fresh = restarted.refresh(first.access_token)  # what the transport does on the API's 401
    assert accepted(sandbox, fresh)
    assert loaded(store).refresh_token != first.refresh_token  # the rotated token is kept now


def test_a_session_holding_a_refresh_token_past_its_grace_period_must_reconnect(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    first = connect(sandbox, APP)
    session_for(sandbox, APP, stored(tmp_path, first)).refresh(first.access_token)
    sandbox.state.clock.advance(30 * MINUTE + 1)
    stale = session_for(sandbox, APP, stored(tmp_path, first, "stale.json"))
    with pytest.raises(AuthError, match="invalid_grant") as caught:
        stale.refresh(first.access_token)
    assert caught.value.remedy == "Reconnect with `ledgerlink connect xero`."


# ---------------------------------------------------------------------------------------------
# /connections


def test_list_tenants_returns_both_organisations_of_the_consent(sandbox: Sandbox) -> None:
    before = sandbox.state.clock.now()
    tokens = connect(sandbox, PKCE_APP)
    tenants = list_tenants(connections_url(sandbox), tokens.access_token)
    assert [(t.tenant_id, t.tenant_name, t.tenant_type) for t in tenants] == [
        (XERO_ORG_TENANT_ID, XERO_ORG_NAME, "ORGANISATION"),
        (XERO_TRUST_ORG_TENANT_ID, XERO_TRUST_ORG_NAME, "ORGANISATION"),
    ]
    event = auth_event_id_of(tokens.access_token)
    assert event is not None and {t.auth_event_id for t in tenants} == {event}
    assert len({t.connection_id for t in tenants}) == 2
    for tenant in tenants:
        assert tenant.created_at.timestamp() == pytest.approx(before, abs=5)
        assert not tenant.reconnected


def test_connections_are_written_with_xeros_field_names_and_date_format(sandbox: Sandbox) -> None:
    tokens = connect(sandbox, PKCE_APP)
    answer = httpx.get(connections_url(sandbox), headers={"Authorization": f"Bearer {tokens.access_token}"})
    first = answer.json()[0]
    assert sorted(first) == sorted(
        ["id", "authEventId", "tenantId", "tenantType", "tenantName", "createdDateUtc", "updatedDateUtc"]
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}", first["createdDateUtc"])
    assert answer.headers["x-appminlimit-remaining"].isdigit()


def test_the_auth_event_filter_narrows_the_list_to_one_consent(sandbox: Sandbox) -> None:
    sandbox.state.xero_consent_orgs = [XERO_ORG_TENANT_ID]
    connect(sandbox, PKCE_APP)
    sandbox.state.xero_consent_orgs = [XERO_TRUST_ORG_TENANT_ID]
    second = connect(sandbox, PKCE_APP)
    url, token = connections_url(sandbox), second.access_token
    assert {t.tenant_id for t in list_tenants(url, token)} == {XERO_ORG_TENANT_ID, XERO_TRUST_ORG_TENANT_ID}
    only = list_tenants(url, token, auth_event_id=auth_event_id_of(token))
    assert [t.tenant_id for t in only] == [XERO_TRUST_ORG_TENANT_ID]
    assert list_tenants(url, token, auth_event_id="00000000-0000-0000-0000-000000000000") == []


def test_connections_are_per_app(sandbox: Sandbox) -> None:
    connect(sandbox, PKCE_APP)
    sandbox.state.xero_consent_orgs = [XERO_ORG_TENANT_ID]
    other = connect(sandbox, APP)
    assert [t.tenant_id for t in list_tenants(connections_url(sandbox), other.access_token)] == [
        XERO_ORG_TENANT_ID
    ]


def test_a_new_consent_moves_the_organisations_it_covers_to_its_auth_event(sandbox: Sandbox) -> None:
    first = connect(sandbox, PKCE_APP)
    sandbox.state.xero_consent_orgs = [XERO_TRUST_ORG_TENANT_ID]
    second = connect(sandbox, PKCE_APP)
    tenants = list_tenants(connections_url(sandbox), second.access_token)
    assert [(t.tenant_id, t.auth_event_id) for t in tenants] == [
        (XERO_ORG_TENANT_ID, auth_event_id_of(first.access_token)),
        (XERO_TRUST_ORG_TENANT_ID, auth_event_id_of(second.access_token)),
    ]


@pytest.mark.parametrize("authorization", [None, "Bearer xero-at-forged", "Basic eDp5"])
def test_connections_answers_401_without_a_live_bearer_token(
    sandbox: Sandbox, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.get(connections_url(sandbox), headers=headers)
    assert answer.status_code == 401
    body = answer.json()
    assert sorted(body) == ["Detail", "Instance", "Status", "Title"]
    assert (body["Title"], body["Status"], body["Detail"]) == (
        "Unauthorized",
        401,
        "AuthenticationUnsuccessful",
    )


def test_an_expired_token_is_a_token_expired_401_and_an_auth_error_for_list_tenants(sandbox: Sandbox) -> None:
    tokens = connect(sandbox, PKCE_APP)
    sandbox.state.clock.advance(30 * MINUTE)
    answer = httpx.get(connections_url(sandbox), headers={"Authorization": f"Bearer {tokens.access_token}"})
    assert answer.status_code == 401 and answer.json()["Detail"].startswith("TokenExpired: token expired at ")
    with pytest.raises(AuthError) as caught:
        list_tenants(connections_url(sandbox), tokens.access_token)
    assert "ledgerlink connect xero" in caught.value.remedy


def test_removing_a_connection_hides_it_and_removing_it_again_reports_it_gone(sandbox: Sandbox) -> None:
    tokens = connect(sandbox, PKCE_APP)
    url = connections_url(sandbox)
    trust = next(t for t in list_tenants(url, tokens.access_token) if t.tenant_id == XERO_TRUST_ORG_TENANT_ID)
    assert remove_connection(url, tokens.access_token, trust.connection_id) is True
    assert [t.tenant_id for t in list_tenants(url, tokens.access_token)] == [XERO_ORG_TENANT_ID]
    assert remove_connection(url, tokens.access_token, trust.connection_id) is False
    assert not sandbox.state.xero_orgs.connected(PKCE_APP, XERO_TRUST_ORG_TENANT_ID)


def test_deleting_an_unknown_connection_is_a_404(sandbox: Sandbox) -> None:
    tokens = connect(sandbox, PKCE_APP)
    answer = httpx.delete(
        f"{connections_url(sandbox)}/00000000-0000-0000-0000-000000000000",
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert (answer.status_code, answer.json()["Status"]) == (404, 404)


def test_reconnecting_an_organisation_keeps_its_connection_id_and_created_date(sandbox: Sandbox) -> None:
    url = connections_url(sandbox)
    first = connect(sandbox, PKCE_APP)
    (original, _) = list_tenants(url, first.access_token)
    remove_connection(url, first.access_token, original.connection_id)
    sandbox.state.clock.advance(10 * MINUTE)
    again = connect(sandbox, PKCE_APP)
    back = next(t for t in list_tenants(url, again.access_token) if t.tenant_id == original.tenant_id)
    assert (back.connection_id, back.created_at) == (original.connection_id, original.created_at)
    assert back.reconnected and back.auth_event_id == auth_event_id_of(again.access_token)


def test_connections_report_the_app_minute_budget_and_answer_429_past_it(sandbox: Sandbox) -> None:
    sandbox.state.settings.xero_app_per_minute = 2
    tokens = connect(sandbox, PKCE_APP)
    headers = {"Authorization": f"Bearer {tokens.access_token}"}
    remaining = [
        httpx.get(connections_url(sandbox), headers=headers).headers["x-appminlimit-remaining"]
        for _ in range(2)
    ]
    assert remaining == ["1", "0"]
    over = httpx.get(connections_url(sandbox), headers=headers)
    assert over.status_code == 429
    assert over.headers["x-rate-limit-problem"] == "appminute" and int(over.headers["retry-after"]) >= 1
    waits: list[float] = []
    with pytest.raises(RateLimitedError) as caught:
        list_tenants(connections_url(sandbox), tokens.access_token, sleep=waits.append)
    assert caught.value.code == "appminute" and waits and all(w >= 1 for w in waits)
    sandbox.state.clock.advance(MINUTE)
    assert len(list_tenants(connections_url(sandbox), tokens.access_token)) == 2


# ---------------------------------------------------------------------------------------------
# Revocation


@pytest.mark.parametrize("app", [PKCE_APP, APP])
def test_revocation_disconnects_every_organisation_and_ends_the_grant(
    sandbox: Sandbox, tmp_path: Path, app: str
) -> None:
    first = connect(sandbox, app)
    other = connect(sandbox, app)  # a second grant of the same user keeps working, without connections
    store = stored(tmp_path, first)
    session_for(sandbox, app, store).revoke(f"{sandbox.urls.xero_identity}/connect/revocation")
    assert store.load("xero") is None
    assert list_tenants(connections_url(sandbox), other.access_token) == []
    assert not accepted(sandbox, first.access_token)
    assert error_of(refresh(sandbox, first.refresh_token, app)) == (400, "invalid_grant")


def test_revoking_a_previous_refresh_token_within_its_grace_period_ends_the_grant(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    revoked = httpx.post(
        f"{sandbox.urls.xero_identity}/connect/revocation",
        data={"token": first["refresh_token"]},
        headers=basic(APP, secret_of(sandbox, APP) or ""),
    )
    assert revoked.status_code == 200
    assert error_of(refresh(sandbox, second["refresh_token"])) == (400, "invalid_grant")


def test_a_previous_refresh_token_past_its_grace_period_revokes_nothing(sandbox: Sandbox) -> None:
    first = exchange(sandbox).json()
    second = refresh(sandbox, first["refresh_token"]).json()
    sandbox.state.clock.advance(30 * MINUTE + 1)
    revoked = httpx.post(
        f"{sandbox.urls.xero_identity}/connect/revocation",
        data={"token": first["refresh_token"]},
        headers=basic(APP, secret_of(sandbox, APP) or ""),
    )
    assert revoked.status_code == 200
    assert refresh(sandbox, second["refresh_token"]).status_code == 200


def test_revocation_takes_refresh_tokens_only_and_ignores_unknown_ones(sandbox: Sandbox) -> None:
    tokens = exchange(sandbox).json()
    url, auth = f"{sandbox.urls.xero_identity}/connect/revocation", basic(APP, secret_of(sandbox, APP) or "")
    access = httpx.post(url, data={"token": tokens["access_token"]}, headers=auth)
    assert error_of(access) == (400, "unsupported_token_type")
    assert httpx.post(url, data={"token": "xero-rt-unknown"}, headers=auth).status_code == 200
    assert error_of(httpx.post(url, data={"token": tokens["refresh_token"]})) == (401, "invalid_client")
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


# ---------------------------------------------------------------------------------------------
# Secrets stay secret


def test_no_token_value_appears_in_any_exception_text_or_log(
    sandbox: Sandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    first = connect(sandbox, APP)
    session_for(sandbox, APP, stored(tmp_path, first)).refresh(first.access_token)
    second = loaded(FileTokenStore(tmp_path / "tokens.json", "firm"))
    sandbox.state.clock.advance(30 * MINUTE + 1)
    url = connections_url(sandbox)
    errors: list[BaseException] = []
    for attempt in (
        lambda: session_for(sandbox, APP, stored(tmp_path, first, "stale.json")).refresh(first.access_token),
        lambda: list_tenants(url, first.access_token),
        lambda: list_tenants(url, second.access_token),
        lambda: remove_connection(url, second.access_token, "00000000-0000-0000-0000-000000000000"),
    ):
        with pytest.raises(AuthError) as caught:
            attempt()
        errors.append(caught.value)
    texts = [caplog.text, repr(first), str(second)]
    texts += [text for error in errors for text in (str(error), repr(error), error.remedy)]  # type: ignore[attr-defined]
    for text in texts:
        for secret in (first.access_token, first.refresh_token, second.access_token, second.refresh_token):
            assert secret not in text
