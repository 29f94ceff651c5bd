"""A request rate per caller, `TMF629_RATE_LIMIT` (`100/second`, `6000/minute`, `N/hour`).

GCRA (the generic cell rate algorithm, a leaky bucket kept as one timestamp per caller): a caller may
send `N` requests at once, then one every `period / N`. The counts are per process (per worker).
"""

from __future__ import annotations

import math
import time

from app.security.principal import TooManyRequests

PERIODS = {"second": 1.0, "minute": 60.0, "hour": 3600.0}
MAX_CALLERS = 100_000


def parse_rate(text: str) -> tuple[int, float]:
    """`100/second` -> (100, 1.0); ValueError naming the expected form otherwise."""
    count, _, unit = text.strip().partition("/")
    unit = unit.strip().lower().rstrip("s")
    try:
        requests = int(count)
    except ValueError:
        requests = 0
    if requests < 1 or unit not in PERIODS:
        raise ValueError(f"TMF629_RATE_LIMIT '{text}' is not of the form N/second, N/minute or N/hour")
    return requests, PERIODS[unit]


class RateLimiter:
    def __init__(self, rate: str) -> None:
        self.requests, self.period = parse_rate(rate)
        self.interval = self.period / self.requests
        self._due: dict[str, float] = {}  # caller -> theoretical arrival time of its next request

    def check(self, caller: str, now: float | None = None) -> None:
        """Count one request of `caller`; TooManyRequests (with the seconds to wait) beyond the rate."""
        now = time.monotonic() if now is None else now
        due = max(self._due.get(caller, now), now) + self.interval
        wait = due - now - self.period
        if wait > 0:
            raise TooManyRequests(
                f"More than {self.requests} requests per {self._unit()}; retry later",
                retry_after=max(1, math.ceil(wait)),
            )
        if len(self._due) >= MAX_CALLERS:
            self._due = {k: v for k, v in self._due.items() if v > now}
        self._due[caller] = due

    def _unit(self) -> str:
        return next(name for name, seconds in PERIODS.items() if seconds == self.period)
