"""When each provider's consent runs out (pure): what `ledgerlink status` warns about.

- QuickBooks Online: the refresh token lives 100 days from its last use (rolling), and no grant
  outlives 5 years from the first consent (reference/qbo.md §6).
- Xero: a refresh token unused for 60 days dies (reference/xero.md §6).
- Clio: refresh tokens do not expire until revoked (reference/clio.md §4).
"""

from __future__ import annotations

from dataclasses import dataclass

from ledgerlink.auth.tokens import TokenSet

DAY = 86_400.0
QBO_ROLLING_DAYS = 100
QBO_HARD_CAP_DAYS = 5 * 365
XERO_UNUSED_DAYS = 60


@dataclass(frozen=True)
class Lifetime:
    access_expires_at: float | None  # epoch; None when unknown
    refresh_age_days: float  # since the refresh token was issued (rotated) or last used
    reconsent_by: float | None  # epoch by which the person must connect again; None: never
    rule: str  # the rule that decides reconsent_by, in words


def lifetime(provider: str, tokens: TokenSet, *, now: float) -> Lifetime:
    access = tokens.expires_at if tokens.expires_at != float("inf") else None
    age = max(0.0, (now - tokens.obtained_at) / DAY)
    if provider == "qbo":
        rolling = tokens.refresh_expires_at or tokens.obtained_at + QBO_ROLLING_DAYS * DAY
        cap = tokens.connected_at + QBO_HARD_CAP_DAYS * DAY
        rule = "100 days after the last refresh" if rolling <= cap else "5 years after the first consent"
        return Lifetime(access, age, min(rolling, cap), rule)
    if provider == "xero":
        return Lifetime(access, age, tokens.obtained_at + XERO_UNUSED_DAYS * DAY, "60 days unused")
    return Lifetime(access, age, None, "does not expire until revoked")
