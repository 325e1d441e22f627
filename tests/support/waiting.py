"""Waiting for events, never for time: a deadline here only tells a hang from slow progress.

A passing wait returns as soon as its event happens, so these bounds cost nothing on a fast
machine; on a loaded one (a shared CI box, a laptop on battery) they are wide enough that
slowness alone never fails a test. What a test asserts is what happened, not how fast.
"""

from __future__ import annotations

import time
from collections.abc import Callable

#: How long a wait for one event may take before the test calls it a hang.
HANG_BOUND = 120.0
POLL = 0.05


def wait_while_progressing(count: Callable[[], int], target: int, stall: float = HANG_BOUND) -> int:
    """Wait until `count()` reaches `target`, for as long as it keeps growing: the test fails
    only when nothing has moved for `stall` seconds, however slowly the work goes. Returns the
    last count (below `target` only after a stall)."""
    seen = count()
    quiet_since = time.monotonic()
    while seen < target:
        time.sleep(POLL)
        now = count()
        if now > seen:
            seen, quiet_since = now, time.monotonic()
        elif time.monotonic() - quiet_since > stall:
            break
    return seen
