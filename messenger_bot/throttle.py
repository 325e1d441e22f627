"""Per-key flood control: one client that floods is slowed, everyone else is not.

`FloodGate` is how every channel applies it: triage reads a throttled message all the same, so
a sender over the limit who describes a warning sign still gets the emergency alert.

Each key (a web chat client, a phone number, a chat id) gets its own aiolimiter
bucket. A bucket that has refilled is the same as a new one, so it is forgotten: memory
follows the keys active in the last refill period, not every key ever seen (and never
more than `max_keys`).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiolimiter import AsyncLimiter

if TYPE_CHECKING:
    from messenger_bot.conversation import Incoming, Reply
    from messenger_bot.engine import Engine


class Throttle:
    def __init__(self, rate: float, per_seconds: float, max_keys: int = 10_000) -> None:
        self.rate = rate
        self.per_seconds = per_seconds
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, AsyncLimiter] = OrderedDict()

    async def allow(self, key: str) -> bool:
        """True and one unit spent when the key has capacity; False at once when it has not."""
        self._forget_refilled()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = AsyncLimiter(self.rate, self.per_seconds)
            if len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        if not bucket.has_capacity():
            return False
        await bucket.acquire()
        return True

    def __len__(self) -> int:
        return len(self._buckets)

    def _forget_refilled(self, most: int = 2) -> None:
        """Drop up to `most` of the least recently used buckets that are full again: amortised O(1)."""
        for _ in range(most):
            if not self._buckets:
                return
            key, bucket = next(iter(self._buckets.items()))
            if not bucket.has_capacity(self.rate):
                return
            del self._buckets[key]


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
        for throttle, key in zip(self.limits, keys, strict=True):
            if not await throttle.allow(key):
                return Admission(False, alert_alone(engine, incoming))
        return Admission(True)


def alert_alone(engine: Engine, incoming: Incoming) -> list[Reply]:
    """The emergency alert when the text describes a warning sign (with the local number when the
    channel knows the country), else nothing."""
    if not incoming.text or engine.triage.check(incoming.text) is None:
        return []
    return [engine.alert_reply(incoming.region())]
