"""When each provider's consent must be renewed, as `ledgerlink status` reports it."""

from __future__ import annotations

from ledgerlink.auth.lifetime import DAY, lifetime
from ledgerlink.auth.tokens import TokenSet

NOW = 2_000_000_000.0


def tokens(*, obtained: float, connected: float, refresh_expires: float | None = None) -> TokenSet:
    return TokenSet(
        access_token="a" * 20,
        refresh_token="r" * 20,
        expires_at=obtained + 3600,
        refresh_expires_at=refresh_expires,
        realm_id=None,
        obtained_at=obtained,
        connected_at=connected,
    )


def test_qbo_consent_rolls_100_days_from_the_last_refresh() -> None:
    life = lifetime(
        "qbo", tokens(obtained=NOW - DAY, connected=NOW - 30 * DAY, refresh_expires=NOW + 99 * DAY), now=NOW
    )
    assert life.reconsent_by == NOW + 99 * DAY and life.rule.startswith("100 days")
    assert round(life.refresh_age_days) == 1


def test_qbo_consent_never_outlives_five_years_from_the_first_connect() -> None:
    connected = NOW - (5 * 365 - 10) * DAY
    life = lifetime(
        "qbo", tokens(obtained=NOW, connected=connected, refresh_expires=NOW + 100 * DAY), now=NOW
    )
    assert life.reconsent_by == connected + 5 * 365 * DAY and "5 years" in life.rule


def test_xero_consent_dies_60_days_after_the_last_use() -> None:
    life = lifetime("xero", tokens(obtained=NOW - 10 * DAY, connected=NOW - 10 * DAY), now=NOW)
    assert life.reconsent_by == NOW + 50 * DAY and life.rule == "60 days unused"


def test_clio_consent_does_not_expire() -> None:
    life = lifetime("clio", tokens(obtained=NOW, connected=NOW), now=NOW)
    assert life.reconsent_by is None and "does not expire" in life.rule
