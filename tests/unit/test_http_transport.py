"""The shared Transport, RateLimiter and redaction, against respx mocks: no network, no real sleeps."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from ledgerlink.errors import ApiError, AuthError, RateLimitedError, TransportError
from ledgerlink.http import RateLimiter, RedactingFilter, Transport, redact, register_secret

BASE = "https://api.example.test"


class RotatingToken:
    """A TokenSource that hands out ``old`` until refreshed, then ``new``; records every refresh."""

    def __init__(self, old: str = "at-old-0123456789", new: str = "at-new-9876543210") -> None:
        self.current = old
        self.new = new
        self.refreshed: list[str] = []

    def access_token(self) -> str:
        return self.current

    def refresh(self, rejected: str) -> str:
        self.refreshed.append(rejected)
        self.current = self.new
        return self.current


class FakeClock:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture
def waits() -> list[float]:
    return []


def transport(waits: list[float], **options: Any) -> Transport:
    """A Transport over BASE whose retry sleeps are recorded in ``waits`` instead of slept."""
    return Transport(BASE, name="Example", sleep=waits.append, **options)


# ---------------------------------------------------------------------------------------------
# Retries on 5xx: only where repeating cannot duplicate an effect


def test_get_that_gets_503_then_200_is_retried_and_returns_the_200(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/matters").mock(
        side_effect=[httpx.Response(503), httpx.Response(200, json={"data": [1]})]
    )

    with transport(waits) as client:
        response = client.request("GET", "/matters")

    assert response.json() == {"data": [1]}
    assert route.call_count == 2
    assert waits == [0.5]


def test_get_that_always_503s_raises_the_mapped_api_error_after_max_attempts(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/matters").mock(return_value=httpx.Response(503, text="down for maintenance"))

    with transport(waits, max_attempts=3) as client, pytest.raises(ApiError) as caught:
        client.request("GET", "/matters")

    assert type(caught.value) is ApiError
    assert caught.value.status == 503
    assert caught.value.detail == "down for maintenance"
    assert route.call_count == 3
    assert waits == [0.5, 1.0]


def test_post_without_idempotent_that_gets_503_is_not_retried(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/invoices").mock(return_value=httpx.Response(503))

    with transport(waits) as client, pytest.raises(ApiError) as caught:
        client.request("POST", "/invoices", json={"total": "10.00"})

    assert caught.value.status == 503
    assert route.call_count == 1
    assert waits == []


def test_idempotent_post_that_gets_503_is_retried(api: respx.MockRouter, waits: list[float]) -> None:
    route = api.post("/invoices").mock(side_effect=[httpx.Response(503), httpx.Response(201, json={"id": 7})])

    with transport(waits) as client:
        response = client.request("POST", "/invoices", json={"total": "10.00"}, idempotent=True)

    assert response.status_code == 201
    assert route.call_count == 2
    assert waits == [0.5]


def test_post_that_fails_to_connect_is_retried_because_the_request_never_left(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/invoices").mock(side_effect=[httpx.ConnectError("refused"), httpx.Response(201)])

    with transport(waits) as client:
        response = client.request("POST", "/invoices", json={})

    assert response.status_code == 201
    assert route.call_count == 2


def test_post_that_never_connects_raises_transport_error_after_max_attempts(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/invoices").mock(side_effect=httpx.ConnectError("refused"))

    with transport(waits, max_attempts=3) as client, pytest.raises(TransportError, match="could not connect"):
        client.request("POST", "/invoices", json={})

    assert route.call_count == 3
    assert waits == [0.5, 1.0]


def test_post_that_times_out_reading_is_not_retried_because_it_may_have_been_processed(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/invoices").mock(side_effect=httpx.ReadTimeout("slow"))

    with transport(waits) as client, pytest.raises(TransportError, match="ReadTimeout"):
        client.request("POST", "/invoices", json={})

    assert route.call_count == 1
    assert waits == []


# ---------------------------------------------------------------------------------------------
# 429 and Retry-After


def test_429_with_retry_after_sleeps_that_long_then_retries(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/matters").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200)]
    )

    with transport(waits) as client:
        assert client.request("GET", "/matters").status_code == 200

    assert route.call_count == 2
    assert waits == [7.0]


def test_429_on_a_non_idempotent_post_is_retried_because_it_was_not_processed(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.post("/invoices").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(201)]
    )

    with transport(waits) as client:
        assert client.request("POST", "/invoices", json={}).status_code == 201

    assert route.call_count == 2
    assert waits == [7.0]


def test_429_without_retry_after_waits_the_default_retry_after(
    api: respx.MockRouter, waits: list[float]
) -> None:
    api.get("/matters").mock(side_effect=[httpx.Response(429), httpx.Response(200)])

    with transport(waits, default_retry_after=12.0) as client:
        client.request("GET", "/matters")

    assert waits == [12.0]


def test_429_wait_is_capped_by_max_retry_wait(api: respx.MockRouter, waits: list[float]) -> None:
    api.get("/matters").mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3600"}), httpx.Response(200)]
    )

    with transport(waits, max_retry_wait=30.0) as client:
        client.request("GET", "/matters")

    assert waits == [30.0]


def test_429_after_max_attempts_raises_rate_limited_error_carrying_retry_after(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/matters").mock(return_value=httpx.Response(429, headers={"Retry-After": "5"}))

    with transport(waits, max_attempts=3) as client, pytest.raises(RateLimitedError) as caught:
        client.request("GET", "/matters")

    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429
    assert route.call_count == 3
    assert waits == [5.0, 5.0]


# ---------------------------------------------------------------------------------------------
# Bearer auth and the one refresh on 401


def test_requests_carry_the_bearer_token_and_the_default_headers(
    api: respx.MockRouter, waits: list[float]
) -> None:
    route = api.get("/matters").mock(return_value=httpx.Response(200))
    headers = {"Accept": "application/json", "X-Client": "ledgerlink-test"}

    with transport(waits, auth=RotatingToken(old="at-current-0123456789"), headers=headers) as client:
        client.request("GET", "/matters", headers={"X-Request": "one"})

    sent = route.calls.last.request.headers
    assert sent["Authorization"] == "Bearer at-current-0123456789"
    assert sent["Accept"] == "application/json"
    assert sent["X-Client"] == "ledgerlink-test"
    assert sent["X-Request"] == "one"


def test_401_refreshes_once_with_the_rejected_token_and_resends_with_the_new_one(
    api: respx.MockRouter, waits: list[float]
) -> None:
    tokens = RotatingToken()
    route = api.get("/matters").mock(side_effect=[httpx.Response(401), httpx.Response(200)])

    with transport(waits, auth=tokens) as client:
        assert client.request("GET", "/matters").status_code == 200

    assert tokens.refreshed == ["at-old-0123456789"]
    assert [call.request.headers["Authorization"] for call in route.calls] == [
        "Bearer at-old-0123456789",
        "Bearer at-new-9876543210",
    ]


def test_second_401_after_refresh_raises_auth_error_that_names_neither_token(
    api: respx.MockRouter, waits: list[float]
) -> None:
    tokens = RotatingToken()
    route = api.get("/matters").mock(return_value=httpx.Response(401))

    with transport(waits, auth=tokens) as client, pytest.raises(AuthError) as caught:
        client.request("GET", "/matters")

    assert tokens.refreshed == ["at-old-0123456789"]
    assert route.call_count == 2
    assert caught.value.exit_code == 3
    shown = f"{caught.value} {caught.value.remedy}"
    assert "at-old-0123456789" not in shown
    assert "at-new-9876543210" not in shown


# ---------------------------------------------------------------------------------------------
# RateLimiter


def test_spent_rate_limit_window_makes_the_next_request_wait_until_the_reset(
    api: respx.MockRouter, waits: list[float]
) -> None:
    spent = {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1030"}
    api.get("/matters").mock(side_effect=[httpx.Response(200, headers=spent), httpx.Response(200)])
    paced: list[float] = []
    limiter = RateLimiter(sleep=paced.append, wall=lambda: 1000.0)

    with transport(waits, limiter=limiter) as client:
        client.request("GET", "/matters")
        assert paced == []
        client.request("GET", "/matters")

    assert paced == [30.0]
    assert waits == []


def test_remaining_budget_does_not_make_the_next_request_wait(
    api: respx.MockRouter, waits: list[float]
) -> None:
    budget = {"X-RateLimit-Remaining": "12", "X-RateLimit-Reset": "1030"}
    api.get("/matters").mock(return_value=httpx.Response(200, headers=budget))
    paced: list[float] = []
    limiter = RateLimiter(sleep=paced.append, wall=lambda: 1000.0)

    with transport(waits, limiter=limiter) as client:
        client.request("GET", "/matters")
        client.request("GET", "/matters")

    assert paced == []


def test_per_second_spaces_consecutive_requests_evenly(api: respx.MockRouter, waits: list[float]) -> None:
    clock = FakeClock(start=100.0)
    sent_at: list[float] = []

    def record(request: httpx.Request) -> httpx.Response:
        sent_at.append(clock.now)
        return httpx.Response(200)

    api.get("/query").mock(side_effect=record)
    limiter = RateLimiter(per_second=4, sleep=clock.sleep, monotonic=clock.monotonic)

    with transport(waits, limiter=limiter) as client:
        for _ in range(4):
            client.request("GET", "/query")

    assert sent_at == pytest.approx([100.0, 100.25, 100.5, 100.75])
    assert clock.waits == pytest.approx([0.25, 0.25, 0.25])


# ---------------------------------------------------------------------------------------------
# Redaction


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer abcDEF123.ghi-jkl_mno", "abcDEF123.ghi-jkl_mno"),
        ("Authorization: Basic Y2xpZW50OnNlY3JldA==", "Y2xpZW50OnNlY3JldA=="),
        ("grant_type=x&access_token=at-form-encoded-123&z=1", "at-form-encoded-123"),
        ('{"refresh_token": "rt-json-body-456", "expires_in": 3600}', "rt-json-body-456"),
        ("client_id=abc&client_secret=cs-shh-789&grant_type=refresh_token", "cs-shh-789"),
        ("GET /callback?code=auth-code-0001&state=xyz", "auth-code-0001"),
    ],
)
def test_redact_masks_credentials_by_shape(text: str, secret: str) -> None:
    masked = redact(text)

    assert secret not in masked
    assert "***" in masked


def test_redact_keeps_the_text_around_a_masked_credential() -> None:
    assert redact("GET /callback?code=auth-code-0001&state=xyz") == "GET /callback?code=***&state=xyz"


def test_redact_masks_any_registered_secret_wherever_it_appears() -> None:
    secret = "plain-registered-secret-4242"
    register_secret(secret)

    assert redact(f"token was {secret}, again {secret}.") == "token was ***, again ***."


def test_a_registered_secret_is_masked_whole_even_where_a_shape_pattern_matches_only_part_of_it() -> None:
    secret = "tok!en-with-a-bang-5151"
    register_secret(secret)

    masked = redact(f"Authorization: Bearer {secret}")

    assert "en-with-a-bang-5151" not in masked


@pytest.fixture
def redacted_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("ledgerlink.test_http_transport")
    redacting = RedactingFilter()
    logger.addFilter(redacting)
    yield logger
    logger.removeFilter(redacting)


def test_redacting_filter_masks_a_registered_token_in_a_log_record(
    redacted_logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "at-logged-token-31337"
    register_secret(secret)

    with caplog.at_level(logging.INFO, logger=redacted_logger.name):
        redacted_logger.info("stored token %s for %s", secret, "Clio")

    assert [record.getMessage() for record in caplog.records] == ["stored token *** for Clio"]
    assert secret not in caplog.text


def test_api_error_from_a_body_echoing_a_token_does_not_contain_it(
    api: respx.MockRouter, waits: list[float]
) -> None:
    registered = "at-echoed-registered-2718"
    register_secret(registered)
    body = f'{{"error": "bad token {registered}", "access_token": "at-echoed-by-shape-1414"}}'
    api.get("/matters").mock(return_value=httpx.Response(400, text=body))

    with transport(waits) as client, pytest.raises(ApiError) as caught:
        client.request("GET", "/matters")

    shown = f"{caught.value} {caught.value.detail}"
    assert caught.value.status == 400
    assert "bad token ***" in shown
    assert registered not in shown
    assert "at-echoed-by-shape-1414" not in shown
