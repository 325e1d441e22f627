"""The order in which a channel's sends get their turns (counted, never timed)."""

from __future__ import annotations

import asyncio

from messenger_bot.lanes import BULK_EVERY, Lane, Lanes


async def _turns(lanes: Lanes, queued: list[tuple[Lane, str]]) -> list[str]:
    """Queue every send at once (the first takes the free turn at once), and return the order served."""
    order: list[str] = []

    async def send(lane: Lane, name: str) -> None:
        await lanes.turn(lane)
        order.append(name)

    await asyncio.gather(*(send(lane, name) for lane, name in queued))
    return order


async def test_a_reply_queued_after_many_reminders_goes_out_next() -> None:
    queued = [(Lane.BULK, f"reminder {i}") for i in range(20)] + [(Lane.REPLY, "answer")]
    order = await _turns(Lanes(1000), queued)
    assert order.index("answer") == 1  # only the reminder that already had the free turn went first
    assert sorted(order) == sorted(name for _, name in queued)  # and every reminder still went


async def test_reminders_keep_their_share_while_replies_would_fill_every_turn() -> None:
    reminders = [(Lane.BULK, f"reminder {i}") for i in range(5)]
    queued = reminders + [(Lane.REPLY, f"answer {i}") for i in range(30)]
    order = await _turns(Lanes(1000), queued)
    first = order[: 4 * BULK_EVERY + 1]
    assert sum(name.startswith("reminder") for name in first) >= 4  # one turn in BULK_EVERY at least
    assert order[1:BULK_EVERY] == ["answer 0", "answer 1", "answer 2"]  # replies first, in order


async def test_a_cancelled_send_gives_its_turn_to_the_next() -> None:
    lanes = Lanes(1000)
    await lanes.turn(Lane.BULK)
    gone = asyncio.ensure_future(lanes.turn(Lane.REPLY))
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.wait_for(lanes.turn(Lane.BULK), timeout=30)
    assert lanes.waiting(Lane.REPLY) == 0


async def test_with_turns_kept_for_replies_an_answer_does_not_wait_at_all() -> None:
    lanes = Lanes(0.001, reply_burst=2)  # a turn every 1,000 s: nothing queued is let out in this test
    await lanes.turn(Lane.BULK)
    reminders = [asyncio.ensure_future(lanes.turn(Lane.BULK)) for _ in range(10)]
    await asyncio.sleep(0)
    await asyncio.wait_for(lanes.turn(Lane.REPLY), timeout=30)  # went at once, ahead of all ten
    await asyncio.wait_for(lanes.turn(Lane.REPLY), timeout=30)
    assert lanes.waiting(Lane.BULK) == 10
    third = asyncio.ensure_future(lanes.turn(Lane.REPLY))  # the kept turns are used up: it waits
    await asyncio.sleep(0)
    assert not third.done() and lanes.waiting(Lane.REPLY) == 1
    for task in [*reminders, third]:
        task.cancel()
