"""Posts per address: a token bucket for each client address, in memory.

Pipeline position: ``serve.intake`` takes a token before it reads a post's body. Each
address may post a burst of ``per_minute`` at once and then ``per_minute`` a minute (the
bucket refills continuously); a post finding the bucket empty is answered 429 with the
seconds until a token is back (``Retry-After``). The buckets live in this process: several
server processes each count on their own, and a restart forgets them, which costs at worst
one more burst. Memory stays bounded: past ``max_addresses`` the least recently seen
address is forgotten (its next post finds a full bucket, as a new address would).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    """``take(address)``: 0 when the post may go ahead, else the seconds to wait."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_addresses: int = 100_000,
    ) -> None:
        self.capacity = float(per_minute)
        self.refill = per_minute / 60.0  # tokens a second
        self.clock = clock
        self.max_addresses = max_addresses
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, at
        self._lock = threading.Lock()

    def take(self, address: str) -> float:
        if self.capacity <= 0:
            return 0.0  # no limit
        now = self.clock()
        with self._lock:
            tokens, at = self._buckets.pop(address, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.refill)
            if tokens >= 1.0:
                self._buckets[address] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[address] = (tokens, now)
                wait = (1.0 - tokens) / self.refill
            while len(self._buckets) > self.max_addresses:
                self._buckets.popitem(last=False)
        return wait
