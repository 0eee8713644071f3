"""Xero's per-organisation limits, kept on the client side so a pass neither stalls nor wastes its day.

Xero counts calls per app *per organisation (tenant)* (``reference/xero.md`` §5, DF:limits):

- **5 calls in progress** at once → :meth:`XeroLimiter.in_flight`, a semaphore the client holds
  around each logical request (retries included);
- **60 calls per rolling minute** → :meth:`XeroLimiter.before_request` spaces calls by its own
  count of the last minute's sends, narrowed by ``X-MinLimit-Remaining`` when Xero sends it (the
  server's count also sees calls this process did not make, e.g. the previous pass);
- **a daily budget** (5,000; 1,000 on the Starter tier) → ``X-DayLimit-Remaining`` is remembered
  and counted down per send; :meth:`XeroLimiter.ensure_budget` refuses work that would not fit and
  a spent budget refuses the next send, both with :class:`DailyLimitReached` (exit 3), so a pass
  stops cleanly between records and the next pass resumes;
- **429** carries ``Retry-After`` and ``X-Rate-Limit-Problem`` (values seen: ``minute``, ``day``;
  also ``Minute``/``Daily``, so compared case-insensitively by prefix). A minute 429 pauses every
  call for the organisation until Retry-After and the shared Transport retries the call; a day 429
  raises DailyLimitReached at once — ledgerlink never sleeps through a day. Any other value
  (undocumented: concurrency, app-minute) is treated like the minute limit.

Clocks and sleep are injectable so tests advance time instead of waiting. Waits of a second or more
are announced to :func:`ledgerlink.http.add_wait_listener` listeners as ``("Xero", seconds)``.
One limiter serves every client of one organisation in a process; build one per tenant and share it.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from ledgerlink.http import RateLimiter, retry_after_seconds, tell_waiting
from ledgerlink.providers.xero.errors import DEFAULT_RETRY_AFTER, DailyLimitReached

log = logging.getLogger("ledgerlink.xero")

CONCURRENT_CALLS = 5
CALLS_PER_MINUTE = 60
WINDOW_SECONDS = 60.0
# Xero's window starts when it *receives* a call, a moment after this side counted it as sent:
# waiting exactly to the end of our count would arrive a hair early and cost a 429.
PACING_MARGIN_SECONDS = 1.0


def _header_int(response: httpx.Response, name: str) -> int | None:
    value = response.headers.get(name)
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def is_day_limit(problem: str | None) -> bool:
    """Whether an ``X-Rate-Limit-Problem`` value names the daily limit (``day``, ``Daily``, ...)."""
    return (problem or "").strip().lower().startswith(("day", "daily"))


@dataclass
class XeroLimiter(RateLimiter):
    """Pacing, concurrency and the daily budget for one Xero organisation (see the module docstring)."""

    name: str = "Xero"
    tenant_id: str = ""
    calls_per_minute: int = CALLS_PER_MINUTE
    concurrent_calls: int = CONCURRENT_CALLS
    _sent_at: deque[float] = field(default_factory=deque)
    _minute_remaining: int | None = None
    _day_remaining: int | None = None
    _day_reopens_at: float | None = None  # wall clock, from a day 429's Retry-After
    _paused_until: float = 0.0  # monotonic clock
    _slots: threading.BoundedSemaphore = field(init=False)

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.concurrent_calls)

    # -- concurrency -------------------------------------------------------------------------

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Hold one of the organisation's concurrent-call slots for one logical request."""
        with self._slots:
            yield

    # -- the daily budget --------------------------------------------------------------------

    @property
    def day_remaining(self) -> int | None:
        """Calls left today as last reported by Xero and counted down since; None before any answer."""
        with self._lock:
            self._forget_spent_day()
            return self._day_remaining

    def ensure_budget(self, needed: int) -> int | None:
        """Refuse (DailyLimitReached) work needing ``needed`` calls when fewer are left today.

        Returns the calls left, or None while Xero has not said yet (the first answer tells).
        """
        with self._lock:
            self._forget_spent_day()
            remaining, reopens = self._day_remaining, self._reopens_in()
        if remaining is not None and remaining < needed:
            raise DailyLimitReached(
                f"Xero allows only {remaining} more call(s) today for this organisation and the next step "
                f"needs {needed}; the pass stops here and the next pass resumes from this point.",
                remaining=remaining,
                needed=needed,
                retry_after=reopens,
            )
        return remaining

    def _forget_spent_day(self) -> None:
        # Once the window a day 429 named has passed, the old count says nothing any more.
        if self._day_reopens_at is not None and self.wall() >= self._day_reopens_at:
            self._day_remaining = None
            self._day_reopens_at = None

    def _reopens_in(self) -> float | None:
        return None if self._day_reopens_at is None else max(0.0, self._day_reopens_at - self.wall())

    # -- the Transport's hooks ---------------------------------------------------------------

    def before_request(self) -> None:
        """Wait for a slot in the rolling minute (or a 429's pause); refuse when the day is spent."""
        while True:
            with self._lock:
                self._forget_spent_day()
                if self._day_remaining is not None and self._day_remaining <= 0:
                    raise DailyLimitReached(
                        "Xero's daily call limit for this organisation is spent (0 calls left today); "
                        "the pass stops here and the next pass resumes from this point.",
                        remaining=0,
                        retry_after=self._reopens_in(),
                    )
                now = self.monotonic()
                wait = self._paused_until - now
                if wait <= 0:
                    while self._sent_at and self._sent_at[0] <= now - WINDOW_SECONDS:
                        self._sent_at.popleft()
                    allowance = self.calls_per_minute - len(self._sent_at)
                    if self._minute_remaining is not None:
                        allowance = min(allowance, self._minute_remaining)
                    if allowance > 0:
                        self._count_send(now)
                        return
                    # A slot frees when the oldest send leaves the window; without one of ours
                    # to go by (Xero's count saw other calls) wait the whole window.
                    oldest = self._sent_at[0] if self._sent_at else now
                    wait = oldest + WINDOW_SECONDS + PACING_MARGIN_SECONDS - now
                    self._paused_until = now + wait
                    self._minute_remaining = None  # after the pause, Xero's next answer tells again
            log.debug("Xero pacing: waiting %.1fs for the minute window", wait)
            if wait >= 1.0:
                tell_waiting(self.name, wait)
            self.sleep(wait)

    def _count_send(self, now: float) -> None:
        self._sent_at.append(now)
        if self._minute_remaining is not None:
            self._minute_remaining -= 1
        if self._day_remaining is not None:
            self._day_remaining -= 1

    def observe(self, response: httpx.Response) -> None:
        """Remember what Xero says is left; on a 429 pause (minute) or stop (day)."""
        day = _header_int(response, "X-DayLimit-Remaining")
        minute = _header_int(response, "X-MinLimit-Remaining")
        with self._lock:
            if day is not None:
                self._day_remaining = day
                self._day_reopens_at = None
            if minute is not None:
                self._minute_remaining = minute
        if response.status_code != 429:
            return
        problem = response.headers.get("X-Rate-Limit-Problem")
        retry_after = retry_after_seconds(response, DEFAULT_RETRY_AFTER)
        if is_day_limit(problem):
            with self._lock:
                self._day_remaining = 0
                self._day_reopens_at = self.wall() + retry_after
            raise DailyLimitReached(
                "Xero refused the call: the daily call limit for this organisation is reached; "
                "the pass stops here and the next pass resumes from this point.",
                remaining=0,
                retry_after=retry_after,
            )
        with self._lock:
            self._paused_until = max(self._paused_until, self.monotonic() + retry_after)
        log.info("Xero %s limit reached; every call for this organisation waits %gs", problem, retry_after)


__all__ = [
    "CALLS_PER_MINUTE",
    "CONCURRENT_CALLS",
    "PACING_MARGIN_SECONDS",
    "WINDOW_SECONDS",
    "XeroLimiter",
    "is_day_limit",
]
