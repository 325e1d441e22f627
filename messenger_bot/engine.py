"""One conversation turn, the same on every channel.

The order is the README's: triage first (an emergency alert never waits), then global
commands, a tapped button, a pending question a feature asked, a bare number against
the last numbered menu, the FAQ, and a short fallback. The engine knows the shape of
the content, never its subject: every word it says comes from flows/.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from messenger_bot.content import Button, Content
from messenger_bot.content.schema import ROOT
from messenger_bot.conversation import ACTION_PREFIX, Incoming, Reply
from messenger_bot.faq import FaqMatcher
from messenger_bot.faq.smalltalk import SmallTalk
from messenger_bot.storage import BLOCKED, STOPPED, Storage, UserState
from messenger_bot.text import normalise, words
from messenger_bot.triage import Triage

#: Below this FAQ score the bot says "I'm not sure" and offers likely topics instead.
CONFIDENT = 1.2
#: A second topic this close to the best one makes the answer a guess.
MARGIN = 0.85
#: Only this much of a very long message goes to the FAQ (triage reads all of it).
FAQ_WINDOW = 1000
LONG_MESSAGE = 4000
HISTORY = 20
_NUMBER = re.compile(r"^\s*#?(\d{1,3})\s*[.)]?\s*$")
#: Every payload the bot issues (node ids, "do:" actions and what features build) is short, printable
#: ASCII; anything else cannot be a button of ours, so it never reaches a handler's parsing.
PAYLOAD_LIMIT = 200

#: Typed words that mean an engine command, after normalisation.
COMMANDS: dict[str, str] = {
    **dict.fromkeys(["start", "unstop", "menu", "main menu", "home", "restart", "options"], "menu"),
    **dict.fromkeys(["stop", "unsubscribe", "cancel", "end", "quit", "stopall", "stop all"], "stop"),
    **dict.fromkeys(["help", "?", "commands", "how does this work"], "help"),
    **dict.fromkeys(["back", "go back", "previous"], "back"),
    **dict.fromkeys(["about", "about this bot"], "about"),
    **dict.fromkeys(["my data", "mydata", "show my data", "what do you know about me"], "mydata"),
    **dict.fromkeys(
        ["delete my data", "deletedata", "delete data", "delete", "forget me", "erase my data"], "delete"
    ),
}
_YES = frozenset({"yes", "y", "yes delete", "delete", "confirm", "ok", "sure"})


@dataclass
class Turn:
    """What a handler needs to answer: the message, the user, the clock and the engine."""

    incoming: Incoming
    user: UserState
    engine: Engine
    deleted: bool = False
    extra: list[Reply] = field(default_factory=list)
    #: What the FAQ made of typed text: "answered", "not_sure" or "fallback" (None: not asked).
    faq: str | None = None
    guess: str | None = None

    @property
    def now(self) -> datetime:
        return self.incoming.received_at


Handler = Callable[[Turn, str], Awaitable[list[Reply]]]


@dataclass(frozen=True)
class TurnOutcome:
    """A finished turn as observers see it (counters, an inbox): never the user's key.

    `text` is the typed message only when the FAQ could not answer it, so an observer that
    keeps it (the operators' inbox) has it to scrub; otherwise no message text leaves the engine.
    """

    channel: str
    tapped: bool
    kinds: tuple[str, ...]
    topics: tuple[str, ...]
    faq: str | None
    guess: str | None
    text: str | None
    new_user: bool
    previous_seen: datetime | None
    at: datetime


#: Called after every turn, synchronously: it must be quick and must not raise.
TurnObserver = Callable[[TurnOutcome], None]


class Feature(Protocol):
    """A part of the bot that owns its buttons ("do:<name>:…"), words and questions.

    It may also have `async on_text(turn, text) -> list[Reply] | None`: its own typed words at
    any time (no question open), tried after a bare number and before the FAQ.
    """

    name: str
    commands: Mapping[str, str]

    async def on_action(self, turn: Turn, action: str) -> list[Reply]: ...

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None: ...


def _insert_after(text: str, marker: str, line: str) -> str:
    """`text` with `line` added below the first line that holds `marker`."""
    lines = text.split("\n")
    at = next((i for i, held in enumerate(lines) if marker in held), len(lines) - 1)
    return "\n".join([*lines[: at + 1], line, *lines[at + 1 :]])


class Engine:
    """Channel-neutral: an `Incoming` in, a list of `Reply` out, state in the store."""

    def __init__(self, content: Content, store: Storage, features: Iterable[Feature] = ()) -> None:
        self.content = content
        self.store = store
        self.messages = content.messages
        self.faq = FaqMatcher(content.topics, content.extra["faq.yaml"])
        self.small_talk = SmallTalk(content.extra["smalltalk.yaml"])
        self.triage = Triage(content.triage)
        self.features: dict[str, Feature] = {f.name: f for f in features}
        self.commands = dict(COMMANDS)
        for feature in self.features.values():
            self.commands.update({w: f"{feature.name}:{a}" for w, a in feature.commands.items()})
        self.menu_button = Button(self.messages.menu_button, ROOT)
        #: Features that add buttons to every topic answer (e.g. "was this helpful?").
        self._topic_buttons = [f for f in self.features.values() if hasattr(f, "topic_buttons")]
        self.observers: list[TurnObserver] = []

    async def turn(self, incoming: Incoming) -> list[Reply]:
        user, previous_seen = await self._user(incoming)
        turn = Turn(incoming, user, self)
        replies: list[Reply] = []
        alert = self._alert(incoming, user)
        if alert:
            replies.append(alert)
        if not user.notice_seen:
            replies.append(Reply("command", self.messages.notice))
            user.notice_seen = True
        replies.extend(await self._answer(turn, after_alert=alert is not None))
        replies.extend(turn.extra)
        if not turn.deleted:
            self._remember(user, replies)
            await self.store.save_user(user)
        if self.observers:
            self._report(turn, replies, previous_seen)
        return replies

    def _report(self, turn: Turn, replies: list[Reply], previous_seen: datetime | None) -> None:
        """Tell each observer how the turn went: kinds, topics, the FAQ's verdict."""
        incoming = turn.incoming
        outcome = TurnOutcome(
            channel=incoming.channel,
            tapped=incoming.button is not None,
            kinds=tuple(r.kind for r in replies),
            topics=tuple(r.topic for r in replies if r.topic),
            faq=turn.faq,
            guess=turn.guess,
            text=incoming.text if turn.faq in ("not_sure", "fallback") else None,
            new_user=previous_seen is None,
            previous_seen=previous_seen,
            at=incoming.received_at,
        )
        for observer in self.observers:
            observer(outcome)

    # -- state ---------------------------------------------------------------

    async def _user(self, incoming: Incoming) -> tuple[UserState, datetime | None]:
        """The user's state (new if unknown) and when they last wrote before now (None: new)."""
        now = incoming.received_at
        user = await self.store.load_user(incoming.channel, incoming.user_key)
        previous = None if user is None else user.last_seen
        if user is None:
            user = UserState(incoming.channel, incoming.user_key, first_seen=now, last_seen=now)
        user.last_seen = now
        user.last_inbound_at = now
        if user.paused_reason == BLOCKED:  # they wrote to us, so they unblocked the bot
            user.paused_reason = None
        if incoming.country or (user.country is None and incoming.phone):
            user.country = incoming.region()
        return user, previous

    def _remember(self, user: UserState, replies: list[Reply]) -> None:
        """Keep the last buttons shown, so a typed number can pick one of them."""
        for reply in reversed(replies):
            if reply.buttons:
                user.last_menu = [b.payload for b in reply.buttons]
                break

    # -- the turn, in order ----------------------------------------------------

    async def _answer(self, turn: Turn, after_alert: bool) -> list[Reply]:
        incoming = turn.incoming
        if incoming.button is not None:
            turn.user.pending = None  # a tap leaves any open question (its handler may ask anew)
            return await self.on_payload(turn, incoming.button)
        if incoming.non_text and not (incoming.text or "").strip():
            return [Reply("fallback", self.messages.text_only, self.main_buttons())]
        text = incoming.text or ""
        command = self.commands.get(" ".join(words(normalise(text.strip().lstrip("/")))))
        if command is None and text.strip() in self.commands:
            command = self.commands[text.strip()]
        if command is not None:
            if command != "mydata":  # "my data" only shows things, the open question included
                turn.user.pending = None
            return await self.on_payload(turn, ACTION_PREFIX + command)
        if after_alert:
            turn.user.pending = None  # an emergency ends any set-up question: nothing asks over the alert
        picked = self._numbered_choice(turn, text)  # before the question: "1" is its option 1, not 01:00
        if picked is not None:
            turn.user.pending = None
            return await self.on_payload(turn, picked)
        pending = await self._pending(turn, text)
        if pending is not None:
            return pending
        if after_alert:  # the alert's own buttons are the next steps
            return []
        if len(text) > LONG_MESSAGE:
            return [Reply("fallback", self.messages.too_long, self.main_buttons())]
        typed = await self._feature_text(turn, text)
        if typed is not None:
            return typed
        return self._small_talk(turn, text) or self._faq(turn, text[:FAQ_WINDOW])

    def _alert(self, incoming: Incoming, user: UserState) -> Reply | None:
        if not incoming.text or self.triage.check(incoming.text) is None:
            return None
        return self.alert_reply(user.country or incoming.region())

    async def _pending(self, turn: Turn, text: str) -> list[Reply] | None:
        pending = turn.user.pending
        if not pending:
            return None
        turn.user.pending = None
        if pending.get("feature") == "core" and pending.get("step") == "delete":
            if " ".join(words(normalise(text))) in _YES:
                return await self._delete(turn, "yes")
            return None
        feature = self.features.get(str(pending.get("feature")))
        if feature is None:
            return None
        turn.user.pending = pending
        return await feature.on_pending(turn, text)

    async def _feature_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """A feature's own words at any time ("pause water"), before the FAQ guesses at them."""
        for feature in self.features.values():
            on_text = getattr(feature, "on_text", None)
            replies = await on_text(turn, text) if on_text is not None else None
            if replies is not None:
                return replies
        return None

    def _numbered_choice(self, turn: Turn, text: str) -> str | None:
        """A bare number on a numbered channel is that button of the last reply. Out of range, it
        is the menu, unless a question is open: then the question's step re-asks it."""
        match = _NUMBER.match(text)
        if not match or not turn.incoming.numbered or not turn.user.last_menu:
            return None
        index = int(match.group(1)) - 1
        menu = turn.user.last_menu
        if 0 <= index < len(menu):
            return menu[index]
        return None if turn.user.pending else ROOT

    def _small_talk(self, turn: Turn, text: str) -> list[Reply] | None:
        """A greeting gets the menu, thanks and goodbyes a short word, fear a calm topic."""
        found = self.small_talk.intent(text)
        if found is None:
            return None
        intent = found[1]
        if intent.node is not None:
            return [self.node_reply(turn, intent.node)]
        if intent.menu:
            return [Reply("menu", intent.text or "", self.main_buttons())]
        return [Reply("command", intent.text or "", (self.menu_button,))]

    def _faq(self, turn: Turn, text: str) -> list[Reply]:
        """The FAQ's answer; its verdict goes on the turn for observers (answered, not sure, fallback)."""
        matches = self.faq.match(text)
        if not matches:
            turn.faq = "fallback"
            return [Reply("fallback", self.messages.fallback, self.main_buttons())]
        best = matches[0]
        turn.guess = best.topic
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        if best.score >= CONFIDENT and runner_up < best.score * MARGIN:
            turn.faq = "answered"
            return [self.node_reply(turn, best.topic)]
        turn.faq = "not_sure"
        options = tuple(Button(self.content.nodes[m.topic].title, m.topic) for m in matches[:3])
        return [Reply("fallback", self.messages.not_sure, (*options, self.menu_button))]

    # -- payloads: nodes and actions -------------------------------------------

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply]:
        """A tapped button. Anything stale or unknown shows the menu, never an error."""
        if payload in self.content.nodes:
            return [self.node_reply(turn, payload)]
        if not _issuable(payload) or not payload.startswith(ACTION_PREFIX):
            return [self.node_reply(turn, ROOT)]
        name, _, rest = payload[len(ACTION_PREFIX):].partition(":")
        core: dict[str, Handler] = {
            "menu": self._menu,
            "stop": self._stop,
            "about": lambda t, _: self._node(t, "about"),
            "help": self._help,
            "back": self._back,
            "mydata": self._my_data,
            "delete": self._delete,
        }
        if name in core:
            return await core[name](turn, rest)
        feature = self.features.get(name)
        if feature is None:
            return [self.node_reply(turn, ROOT)]
        return await feature.on_action(turn, rest)

    async def _menu(self, turn: Turn, _: str) -> list[Reply]:
        """The menu; after STOP, START (or UNSTOP, or /start) also lifts the pause."""
        replies = []
        if turn.user.paused_reason == STOPPED:
            turn.user.paused_reason = None
            replies.append(Reply("command", self.messages.resumed))
        return [*replies, self.node_reply(turn, ROOT)]

    async def _stop(self, turn: Turn, _: str) -> list[Reply]:
        """STOP pauses everything the bot would send first; it still answers what the user asks."""
        turn.user.paused_reason = STOPPED
        return [Reply("command", self.messages.stopped, (self.menu_button,))]

    async def _node(self, turn: Turn, node_id: str) -> list[Reply]:
        return [self.node_reply(turn, node_id)]

    def node_reply(self, turn: Turn, node_id: str) -> Reply:
        """A content node as a reply; it joins the history that Back walks."""
        node = self.content.nodes[node_id]
        history = turn.user.history
        if not history or history[-1] != node_id:
            history.append(node_id)
            del history[:-HISTORY]
        buttons = self.content.buttons[node_id]
        if node.kind == "topic":
            for feature in self._topic_buttons:
                buttons = (*buttons, *feature.topic_buttons(node_id))
        if node_id != ROOT:
            buttons = (*buttons, self.menu_button)
        if node.kind == "topic":
            return Reply("topic", node.text, buttons, topic=node_id)
        return Reply("menu", node.text, buttons)

    def main_buttons(self) -> tuple[Button, ...]:
        return self.content.buttons[ROOT]

    def alert_reply(self, country: str | None) -> Reply:
        alert = self.messages.alert
        number = self.content.emergency.numbers.get(country or "")
        text = alert.text.replace("{number}", number or alert.general_number)
        if number is None and alert.general_note:  # which of the general numbers, right below them
            text = _insert_after(text, alert.general_number, alert.general_note)
        buttons = (Button(self.content.nodes["emergency"].title, "emergency"), self.menu_button)
        return Reply("alert", text, buttons)

    async def _help(self, turn: Turn, _: str) -> list[Reply]:
        return [Reply("command", self.messages.help, self.main_buttons())]

    async def _back(self, turn: Turn, _: str) -> list[Reply]:
        history = turn.user.history
        if history:
            history.pop()
        return [self.node_reply(turn, history.pop() if history else ROOT)]

    async def _my_data(self, turn: Turn, _: str) -> list[Reply]:
        details = "\n".join(f"• {k}: {v}" for k, v in (await self.describe(turn.user)).items())
        return [Reply("command", self.messages.my_data.replace("{details}", details), (self.menu_button,))]

    async def describe(self, user: UserState) -> dict[str, str]:
        """Everything stored about a user, for "my data": every field of their row, what features
        add, and the newest row of each other table, each named by the content's labels."""
        texts = self.messages.my_data_texts
        described = {self._label(k): self._shown(v) for k, v in user.describe().items()}
        for feature in self.features.values():
            describe = getattr(feature, "describe", None)
            if describe is not None:
                described.update(await describe(user))
        for table, (count, newest) in (await self.store.user_records(user.channel, user.user_key)).items():
            fields = ", ".join(f"{self._label(c, table)} {self._shown(v)}" for c, v in newest.items())
            described[self._label(table)] = texts.records.replace("{count}", str(count)).replace(
                "{fields}", fields)
        return described

    def _label(self, name: str, table: str = "users") -> str:
        """A field's name in "my data": the content's label for table.name or name, else its own."""
        labels = self.messages.my_data_texts.labels
        return labels.get(f"{table}.{name}") or labels.get(name) or name.replace("_", " ")

    def _shown(self, value: object) -> str:
        """A stored value as a person reads it: times to the second, lists and questions in words."""
        texts = self.messages.my_data_texts
        if value is None or value == [] or value == {}:
            return texts.none
        if isinstance(value, bool):
            return texts.yes if value else texts.no
        if isinstance(value, datetime):
            return value.isoformat(timespec="seconds")
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        if isinstance(value, dict):
            return ", ".join(f"{k} {v}" for k, v in value.items())
        return str(value)

    async def _delete(self, turn: Turn, answer: str) -> list[Reply]:
        if answer == "yes":
            await self.store.delete_user(turn.user.channel, turn.user.user_key)
            turn.deleted = True
            return [Reply("command", self.messages.deleted, (self.menu_button,))]
        if answer == "no":
            return [Reply("command", self.messages.delete_cancelled, (self.menu_button,))]
        turn.user.pending = {"feature": "core", "step": "delete"}
        buttons = (
            Button(self.messages.yes_delete_button, f"{ACTION_PREFIX}delete:yes"),
            Button(self.messages.keep_button, f"{ACTION_PREFIX}delete:no"),
        )
        return [Reply("command", self.messages.delete_confirm, buttons)]


def _issuable(payload: str) -> bool:
    """Could the bot have issued this payload? A handler may then parse it with int() and friends:
    "²".isdigit() is true but int("²") raises, and a payload from outside may hold anything."""
    return len(payload) <= PAYLOAD_LIMIT and payload.isascii() and payload.isprintable()
