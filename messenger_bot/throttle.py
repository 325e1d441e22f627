"""Per-key flood control: one client that floods is slowed, everyone else is not.

`FloodGate` is how every channel applies it: triage reads a throttled message all the same, so
a sender over the limit who describes a warning sign still gets the emergency alert.

Each key (a web chat client, a phone number, a chat id) gets its own leaky bucket: `rate`
messages at once, draining at `rate` per `per_seconds`, on the running event loop's clock
(aiolimiter's `AsyncLimiter` arithmetic, without its waiters: a refused message is refused at
once, never queued). A bucket is two floats, since every message of every channel passes here.
A bucket that has drained is the same as a new one, so it is forgotten: memory follows the
keys active in the last refill period, not every key ever seen (and never more than `max_keys`).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from messenger_bot.conversation import Incoming, Reply
    from messenger_bot.engine import Engine


class Throttle:
    def __init__(self, rate: float, per_seconds: float, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.per_seconds = per_seconds
        self.max_keys = max_keys
        self._drain = rate / per_seconds  # units per second
        #: Per key, [level, when it was last read]; least recently used first.
        self._buckets: OrderedDict[str, list[float]] = OrderedDict()

    async def allow(self, key: str) -> bool:
        """True and one unit spent when the key has capacity; False at once when it has not."""
        return self.allow_at(key, asyncio.get_running_loop().time())

    def allow_at(self, key: str, now: float) -> bool:
        """`allow` at the loop time `now` (a gate reads the clock once for all its limits)."""
        buckets = self._buckets
        self._forget_drained(now)
        bucket = buckets.get(key)
        if bucket is None:
            bucket = buckets[key] = [0.0, now]
            if len(buckets) > self.max_keys:
                buckets.popitem(last=False)
        else:
            buckets.move_to_end(key)
            bucket[0] = self._level(bucket, now)
            bucket[1] = now
        if bucket[0] + 1 > self.rate:
            return False
        bucket[0] += 1
        return True

    def __len__(self) -> int:
        return len(self._buckets)

    def _level(self, bucket: list[float], now: float) -> float:
        """What the bucket holds at `now`, after draining since it was last read."""
        level, then = bucket
        return max(level - (now - then) * self._drain, 0.0) if level else 0.0

    def _forget_drained(self, now: float, most: int = 2) -> None:
        """Drop up to `most` of the least recently used buckets that are empty again: amortised O(1)."""
        buckets = self._buckets
        for _ in range(most):
            if not buckets:
                return
            key = next(iter(buckets))
            if self._level(buckets[key], now) > 0:
                return
            del buckets[key]


#: Sending evenly at exactly N a second still lets N + 1 land in some one-second window (the
#: first and the last of a run one second apart), and network jitter bunches arrivals; pacing
#: a little under the limit keeps every window within it.
HEADROOM = 0.95


def pace_interval(per_second: float) -> float:
    """Seconds between two sends so that no one-second window ever holds more than the limit."""
    return 1 / (per_second * HEADROOM)


@dataclass(frozen=True)
class Admission:
    """A gate's verdict: a full turn, or (over a limit) only what must never be held back."""

    admitted: bool
    alert: list[Reply] = field(default_factory=list)


class FloodGate:
    """Flood control that never silences an emergency, the one mechanism every channel uses.

    Each limit is a `Throttle` and, at each call, the key it counts (a chat, a number, a browser,
    an address). A sender over any limit gets no turn, but triage still reads the message first:
    a warning sign gets the emergency alert alone. Nothing is loaded or saved for a throttled
    message, so a flood costs one triage read per message and no database work.
    """

    def __init__(self, *limits: Throttle) -> None:
        self.limits = limits

    async def admit(self, engine: Engine, incoming: Incoming, *keys: str) -> Admission:
        """Admitted, or refused with the alert when the message describes a warning sign."""
        now = asyncio.get_running_loop().time()
        for throttle, key in zip(self.limits, keys, strict=True):
            if not throttle.allow_at(key, now):
                return Admission(False, alert_alone(engine, incoming))
        return Admission(True)


def alert_alone(engine: Engine, incoming: Incoming) -> list[Reply]:
    """The emergency alert when the text describes a warning sign (with the local number when the
    channel knows the country), else nothing. It is in the language whose triage fired, the
    channel's hint tried first: nothing about the user is loaded for a message held back."""
    if not incoming.text:
        return []
    languages = engine.languages
    first = languages.hinted(incoming.language) or languages.default.code
    found = languages.triage(incoming.text, first)
    if found is None:
        return []
    return [engine.alert_reply(incoming.region(), found[0])]
