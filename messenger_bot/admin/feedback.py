""""Was this helpful?": two buttons under every topic answer, counted per topic and day.

A vote is a typed payload, `do:feedback:<up|down>:<topic id>`; anything else under
`do:feedback:` (a stale or forged button) shows the menu. Votes are rare next to
messages, so each one is upserted straight into the daily aggregates. No vote names
the user: only the day, the channel, the topic and which way it went.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from messenger_bot.admin.counters import DailyCounters, day_of
from messenger_bot.content import Button, Content
from messenger_bot.content.schema import ROOT, Messages
from messenger_bot.conversation import ACTION_PREFIX, Reply
from messenger_bot.engine import Turn
from messenger_bot.payloads import Payload
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage

log = logging.getLogger("messenger_bot.admin")

NAME = "feedback"
VOTES = ("up", "down")


@dataclass(frozen=True)
class Vote(Payload):
    """`do:feedback:<up|down>:<topic id>` (payloads.py reads and writes it)."""

    prefix: ClassVar[str] = f"{ACTION_PREFIX}{NAME}"
    direction: str
    topic: str

    def valid(self) -> bool:
        return self.direction in VOTES

    @property
    def payload(self) -> str:
        return self.format()


def vote_buttons(messages: Messages, topic: str) -> tuple[Button, ...]:
    """The two buttons under a topic answer (also what WhatsApp's menu templates are made for)."""
    return (  # keep: the answer that was rated stays where it is (Telegram would replace it)
        Button(messages.feedback_up_button, Vote("up", topic).payload, keep=True),
        Button(messages.feedback_down_button, Vote("down", topic).payload, keep=True),
    )


class FeedbackFeature:
    """The engine `Feature` behind the two buttons; the engine asks it for them on each topic."""

    name = NAME
    commands: Mapping[str, str] = MappingProxyType({})

    def __init__(self, content: Content, store: Storage) -> None:
        self.store = store
        self.topics = {node.id for node in content.topics}
        #: Per language and topic: the same two buttons every time, so they are made once (writing
        #: a payload checks its fields and length; it was a fifth of a tapped topic's turn). The
        #: content is fixed for this feature's life: a reload builds a new engine and feature.
        self._buttons: dict[tuple[str, str], tuple[Button, ...]] = {}

    def topic_buttons(self, turn: Turn, topic: str) -> tuple[Button, ...]:
        """The vote buttons under a topic, labelled in the turn's language."""
        key = (turn.language, topic)
        buttons = self._buttons.get(key)
        if buttons is None:
            buttons = self._buttons[key] = vote_buttons(turn.messages, topic)
        return buttons

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        vote = Vote.parse(f"{Vote.prefix}:{action}")
        if vote is None or vote.topic not in self.topics:  # stale or forged: the menu
            return [turn.engine.node_reply(turn, ROOT)]
        counts = DailyCounters()
        counts.add(day_of(turn.now), turn.incoming.channel, "feedback", f"{vote.direction}|{vote.topic}")
        await counts.flush(self.store)
        return [Reply("command", turn.messages.feedback_thanks), turn.engine.node_reply(turn, ROOT)]

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        return None



def build(content: Content, store: Storage, settings: Settings) -> FeedbackFeature:
    """The engine's feedback buttons (wiring.py's FEEDBACK names this)."""
    return FeedbackFeature(content, store)
