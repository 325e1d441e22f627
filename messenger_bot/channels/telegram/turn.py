"""One turn for one chat: flood control, the engine, the reply rendered and delivered.

A tap's single answer replaces the tapped message, else the answer follows it (in the forum
topic it came from). One chat's turns run one at a time (`ChatLocks`); a chat over its flood
limit gets no turn, but still the alert when its message describes a warning sign.
"""

from __future__ import annotations

import logging
from typing import Any

from messenger_bot.channels.telegram.locks import ChatLocks
from messenger_bot.channels.telegram.outbox import Outbox
from messenger_bot.channels.telegram.reading import TEXT_LIMIT
from messenger_bot.channels.telegram.render import CODEC, render
from messenger_bot.conversation import Incoming
from messenger_bot.runtime import Runtime
from messenger_bot.throttle import FloodGate, Throttle, alert_alone

log = logging.getLogger("messenger_bot.telegram")

#: Per chat: a burst of 10 messages, then one a second; more get no answer (but an emergency alert).
FLOOD_BURST = 10


class Turns:
    """The turns of every chat, with what they share: the engine, the outbox, the locks, the gate."""

    def __init__(self, runtime: Runtime, outbox: Outbox) -> None:
        self.runtime = runtime
        self.outbox = outbox
        self.locks = ChatLocks()
        self.gate = FloodGate(Throttle(FLOOD_BURST, FLOOD_BURST))

    async def take(
        self, chat_id: int, edit: int | None = None, thread: int | None = None, **fields: Any
    ) -> None:
        """`fields` are the Incoming's (text, button, non_text, language)."""
        if isinstance(fields.get("text"), str):
            fields["text"] = fields["text"][:TEXT_LIMIT]
        incoming = Incoming("telegram", str(chat_id), **fields)
        if not await self._admitted(chat_id, incoming):
            return
        async with self.locks.hold(chat_id):
            replies = await self.runtime.engine.turn(incoming)
            messages = render(replies, CODEC)
            if len(messages) != 1 or replies[0].kind == "alert":
                edit = None
            urgent = any(r.kind == "alert" for r in replies)
            await self.outbox.deliver(chat_id, messages, edit=edit, thread=thread, urgent=urgent)

    async def alert_only(self, chat_id: int, thread: int | None, **fields: Any) -> None:
        """The alert alone, when the text describes a warning sign (an edited message); else nothing.
        Telegram does not tell us the country: the alert gives the general line."""
        alert = alert_alone(self.runtime.engine, Incoming("telegram", str(chat_id), **fields))
        if not alert:
            return
        async with self.locks.hold(chat_id):
            await self.outbox.deliver(chat_id, render(alert, CODEC), thread=thread, urgent=True)

    async def _admitted(self, chat_id: int, incoming: Incoming) -> bool:
        """False for a chat over its flood limit, which still gets the alert for a warning sign."""
        admission = await self.gate.admit(self.runtime.engine, incoming, str(chat_id))
        if admission.admitted:
            return True
        log.info("telegram: chat %s is sending too fast; %s", chat_id,
                 "only the emergency alert sent" if admission.alert else "message dropped")
        if admission.alert:
            await self.outbox.deliver(chat_id, render(admission.alert, CODEC), urgent=True)
        return False
