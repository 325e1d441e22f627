"""One conversation turn, the same on every channel.

The order is the README's: triage first (an emergency alert never waits), then global
commands, a tapped button, a pending question a feature asked, a bare number against
the last numbered menu, the FAQ, and a short fallback. The engine knows the shape of
the content, never its subject: every word it says comes from flows/, in the turn's language
(messenger_bot/languages.py says which), and every language's typed commands and warning
signs work in every conversation.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from messenger_bot.content import Button, Content
from messenger_bot.content.schema import ROOT, Commands, Messages
from messenger_bot.conversation import ACTION_PREFIX, Incoming, Reply
from messenger_bot.languages import Languages, Speech
from messenger_bot.storage import BLOCKED, STOPPED, Storage, UserState
from messenger_bot.text import normalise, words
from messenger_bot.triage import Finding

#: Below this FAQ score the bot says "I'm not sure" and offers likely topics instead.
CONFIDENT = 1.2
#: A second topic this close to the best one makes the answer a guess.
MARGIN = 0.85
#: Only this much of a very long message goes to the FAQ (triage reads all of it).
FAQ_WINDOW = 1000
LONG_MESSAGE = 4000
#: A typed command ("menu", "delete my data") is never longer than this; a longer message is
#: not compared with the commands at all, so a very long one costs nothing here.
COMMAND_CHARS = 200
HISTORY = 20
_NUMBER = re.compile(r"^\s*#?(\d{1,3})\s*[.)]?\s*$")
#: Every payload the bot issues (node ids, "do:" actions and what features build) is short, printable
#: ASCII; anything else cannot be a button of ours, so it never reaches a handler's parsing.
PAYLOAD_LIMIT = 200

#: Nodes that carry a button to the choice of languages, when the content has several. Not the
#: main menu: its ten topics are WhatsApp's limit for a list of taps (an eleventh turned the
#: whole menu into numbered text); `language`, /language and a language's name work anywhere.
LANGUAGE_NODES = frozenset({"about"})


def _typed(text: str) -> str:
    """A typed message as commands and names are compared: lower case, no accents, single spaces."""
    return " ".join(words(normalise(text)))


@dataclass
class Turn:
    """What a handler needs to answer: the message, the user, the clock, the engine, and the
    language the answer is in (`content` is that language's; features read their texts there)."""

    incoming: Incoming
    user: UserState
    engine: Engine
    language: str = ""
    deleted: bool = False
    extra: list[Reply] = field(default_factory=list)
    #: What the FAQ made of typed text: "answered", "not_sure" or "fallback" (None: not asked).
    faq: str | None = None
    guess: str | None = None

    @property
    def now(self) -> datetime:
        return self.incoming.received_at

    @property
    def speech(self) -> Speech:
        return self.engine.languages[self.language]

    @property
    def content(self) -> Content:
        return self.speech.content

    @property
    def messages(self) -> Messages:
        return self.content.messages

    @property
    def menu_button(self) -> Button:
        return Button(self.messages.menu_button, ROOT)


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
    any time (no question open), tried after a bare number and before the FAQ. Its words in the
    user's language are in `turn.content.extra[<its file>]`; outside a turn (a job that writes
    first), `content.in_language(user.language)` is the same content.
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
        self.languages = Languages(content)
        self.content = self.languages.default.content
        self.store = store
        self.messages = self.content.messages
        self.faq = self.languages.default.faq
        self.small_talk = self.languages.default.small_talk
        #: Warning signs in every language, for channels that check a message before its turn.
        self.triage = _EveryTriage(self.languages)
        self.features: dict[str, Feature] = {f.name: f for f in features}
        self.commands: dict[str, str] = {}
        for speech in self.languages:
            for command, typed in _commands(speech).commands.items():
                for word in typed:  # "?" has no letters: it is looked up as typed
                    self.commands.setdefault(_typed(word) or word, command)
        for feature in self.features.values():
            self.commands.update({w: f"{feature.name}:{a}" for w, a in feature.commands.items()})
        self.menu_button = Button(self.messages.menu_button, ROOT)
        #: Features that add buttons to every topic answer (e.g. "was this helpful?").
        self._topic_buttons = [f for f in self.features.values() if hasattr(f, "topic_buttons")]
        self.observers: list[TurnObserver] = []

    async def turn(self, incoming: Incoming) -> list[Reply]:
        user, previous_seen = await self._user(incoming)
        turn = Turn(incoming, user, self, self._settle(incoming, user, new=previous_seen is None))
        replies: list[Reply] = []
        alert = self._alert(incoming, user)
        if alert:
            replies.append(alert)
        if not user.notice_seen:
            replies.append(Reply("command", turn.messages.notice))
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

    def _settle(self, incoming: Incoming, user: UserState, new: bool) -> str:
        """The user's language: their own choice once made; before that, the channel's hint, then
        for a new user the language of this first message or their phone's country; else the
        default (a user from before languages has been answered in it). Remembered."""
        if user.language in self.languages.speech:
            return user.language
        languages = self.languages
        code = languages.hinted(incoming.language)
        if code is None and new and languages.several and incoming.text:
            code = languages.detected(incoming.text)
        if code is None and new and languages.several:
            code = languages.for_region(user.country or incoming.region())
        user.language = code or languages.default.code
        return user.language

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
            return [Reply("fallback", turn.messages.text_only, self.main_buttons(turn))]
        text = incoming.text or ""
        short = len(text) <= COMMAND_CHARS
        command = self.commands.get(_typed(text.strip().lstrip("/"))) if short else None
        if command is None and short and text.strip() in self.commands:
            command = self.commands[text.strip()]
        named = self.languages.named(text) if self.languages.several else None
        if command is None and named is not None:
            command = f"language:{named}"
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
            return [Reply("fallback", turn.messages.too_long, self.main_buttons(turn))]
        typed = await self._feature_text(turn, text)
        if typed is not None:
            return typed
        return self._understood(turn, text)

    def _understood(self, turn: Turn, text: str) -> list[Reply]:
        """Small talk or the FAQ in the user's language. A message whose words are clearly another
        of the content's languages (lexicon.py), or one the user's language cannot answer and
        another language's small talk or the detector claims, is answered in that language, with
        an offer to go on in it (the user's choice stays until they take it)."""
        other = self.languages.lexicon.clear(text) if self.languages.several else None
        if other is None or other == turn.language:
            mine = self._small_talk(turn, text) or self._faq(turn, text[:FAQ_WINDOW])
            if turn.faq in (None, "answered") or not self.languages.several:
                return mine
            other = self._spoken(turn, text) or self._sure_elsewhere(turn, text[:FAQ_WINDOW])
            if other is None:
                return mine
        turn.language, turn.faq, turn.guess = other, None, None
        theirs = self._small_talk(turn, text) or self._faq(turn, text[:FAQ_WINDOW])
        return [*theirs, *self._offer(turn.content)]

    def _sure_elsewhere(self, turn: Turn, text: str) -> str | None:
        """Another language whose FAQ answers for sure what the user's could not: a short message
        in a close cousin ("por que me brinca la boca") that neither the words nor the detector
        place is still answered. Asked only on this rare path, so a turn costs nothing more. Only
        a language with more of the message's words than the user's own is asked: an English
        question the English FAQ cannot answer is never answered in Spanish."""
        votes = self.languages.lexicon.votes(text)
        for speech in self.languages:
            if speech.code == turn.language or votes.get(speech.code, 0) <= votes.get(turn.language, 0):
                continue
            matches = speech.faq.match(text)
            runner_up = matches[1].score if len(matches) > 1 else 0.0
            if matches and matches[0].score >= CONFIDENT and runner_up < matches[0].score * MARGIN:
                return speech.code
        return None

    @staticmethod
    def _offer(content: Content) -> list[Reply]:
        """A language's offer to go on in it, with the button that takes it."""
        info = content.language
        if info is None:
            return []
        take = Button(info.button, f"{ACTION_PREFIX}language:{info.code}")
        return [Reply("command", info.switch_offer, (take,))]

    def _spoken(self, turn: Turn, text: str) -> str | None:
        """Another language the message is clearly in: its small talk, else the detector's word."""
        for speech in self.languages:
            if speech.code != turn.language and speech.small_talk.intent(text) is not None:
                return speech.code
        found = self.languages.detected(text)
        return found if found != turn.language else None

    def _alert(self, incoming: Incoming, user: UserState) -> Reply | None:
        """Every language's triage reads every message; the alert is in the language that fired
        (the user's own first)."""
        if not incoming.text:
            return None
        found = self.languages.triage(incoming.text, user.language or "")
        if found is None:
            return None
        return self.alert_reply(user.country or incoming.region(), found[0])

    async def _pending(self, turn: Turn, text: str) -> list[Reply] | None:
        pending = turn.user.pending
        if not pending:
            return None
        turn.user.pending = None
        if pending.get("feature") == "core" and pending.get("step") == "delete":
            if _typed(text) in self._confirmations(turn):
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

    def _confirmations(self, turn: Turn) -> frozenset[str]:
        """What says yes: in the turn's language, and in the default one."""
        said = (*_commands(turn.speech).confirm, *_commands(self.languages.default).confirm)
        return frozenset(_typed(w) for w in said)

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
        found = turn.speech.small_talk.intent(text)
        if found is None:
            return None
        intent = found[1]
        if intent.node is not None:
            return [self.node_reply(turn, intent.node)]
        if intent.menu:
            return [Reply("menu", intent.text or "", self.main_buttons(turn))]
        return [Reply("command", intent.text or "", (turn.menu_button,))]

    def _faq(self, turn: Turn, text: str) -> list[Reply]:
        """The FAQ's answer; its verdict goes on the turn for observers (answered, not sure, fallback)."""
        matches = turn.speech.faq.match(text)
        if not matches:
            turn.faq = "fallback"
            return [Reply("fallback", turn.messages.fallback, self.main_buttons(turn))]
        best = matches[0]
        turn.guess = best.topic
        runner_up = matches[1].score if len(matches) > 1 else 0.0
        if best.score >= CONFIDENT and runner_up < best.score * MARGIN:
            turn.faq = "answered"
            return [self.node_reply(turn, best.topic)]
        turn.faq = "not_sure"
        options = tuple(Button(turn.content.nodes[m.topic].title, m.topic) for m in matches[:3])
        return [Reply("fallback", turn.messages.not_sure, (*options, turn.menu_button))]

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
            "language": self._language,
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
            replies.append(Reply("command", turn.messages.resumed))
        return [*replies, self.node_reply(turn, ROOT)]

    async def _stop(self, turn: Turn, _: str) -> list[Reply]:
        """STOP pauses everything the bot would send first; it still answers what the user asks."""
        turn.user.paused_reason = STOPPED
        return [Reply("command", turn.messages.stopped, (turn.menu_button,))]

    async def _node(self, turn: Turn, node_id: str) -> list[Reply]:
        return [self.node_reply(turn, node_id)]

    def node_reply(self, turn: Turn, node_id: str) -> Reply:
        """A content node as a reply; it joins the history that Back walks."""
        node = turn.content.nodes[node_id]
        history = turn.user.history
        if not history or history[-1] != node_id:
            history.append(node_id)
            del history[:-HISTORY]
        buttons = turn.content.buttons[node_id]
        if node_id in LANGUAGE_NODES and self.languages.several:
            buttons = (*buttons, Button(_commands(turn.speech).language_button, f"{ACTION_PREFIX}language"))
        if node.kind == "topic":
            for feature in self._topic_buttons:
                buttons = (*buttons, *feature.topic_buttons(turn, node_id))
        if node_id != ROOT:
            buttons = (*buttons, turn.menu_button)
        if node.kind == "topic":
            return Reply("topic", node.text, buttons, topic=node_id)
        return Reply("menu", node.text, buttons)

    def main_buttons(self, turn: Turn | None = None) -> tuple[Button, ...]:
        return (turn.content if turn is not None else self.content).buttons[ROOT]

    def alert_reply(self, country: str | None, language: str | None = None) -> Reply:
        """The emergency alert in a language (the default when not named), with the country's number."""
        content = self.languages[language].content
        alert = content.messages.alert
        number = content.emergency.numbers.get(country or "")
        text = alert.text.replace("{number}", number or alert.general_number)
        if number is None and alert.general_note:  # which of the general numbers, right below them
            text = _insert_after(text, alert.general_number, alert.general_note)
        menu = Button(content.messages.menu_button, ROOT)
        return Reply("alert", text, (Button(content.nodes["emergency"].title, "emergency"), menu))

    async def _help(self, turn: Turn, _: str) -> list[Reply]:
        return [Reply("command", turn.messages.help, self.main_buttons(turn))]

    async def _language(self, turn: Turn, code: str) -> list[Reply]:
        """The choice of languages; with a language named, the user's choice from now on."""
        if code not in self.languages.speech:
            speeches = list(self.languages)
            buttons = tuple(
                Button(s.content.language.button, f"{ACTION_PREFIX}language:{s.code}")  # type: ignore[union-attr]
                for s in speeches
            )
            return [Reply("command", _commands(turn.speech).choose_language, (*buttons, turn.menu_button))]
        turn.user.language = turn.language = code
        return [Reply("command", _commands(turn.speech).language_chosen), self.node_reply(turn, ROOT)]

    async def _back(self, turn: Turn, _: str) -> list[Reply]:
        history = turn.user.history
        if history:
            history.pop()
        return [self.node_reply(turn, history.pop() if history else ROOT)]

    async def _my_data(self, turn: Turn, _: str) -> list[Reply]:
        details = "\n".join(f"• {k}: {v}" for k, v in (await self.describe(turn.user)).items())
        return [Reply("command", turn.messages.my_data.replace("{details}", details), (turn.menu_button,))]

    async def describe(self, user: UserState) -> dict[str, str]:
        """Everything stored about a user, for "my data": every field of their row, what features
        add, and the newest row of each other table, each named by the content's labels."""
        texts = self._messages(user).my_data_texts
        described = {self._label(k, user=user): self._shown(v, user) for k, v in user.describe().items()}
        for feature in self.features.values():
            describe = getattr(feature, "describe", None)
            if describe is not None:
                described.update(await describe(user))
        for table, (count, newest) in (await self.store.user_records(user.channel, user.user_key)).items():
            fields = ", ".join(
                f"{self._label(c, table, user)} {self._shown(v, user)}" for c, v in newest.items())
            described[self._label(table, user=user)] = texts.records.replace("{count}", str(count)).replace(
                "{fields}", fields)
        return described

    def _messages(self, user: UserState) -> Messages:
        return self.languages[user.language].content.messages

    def _label(self, name: str, table: str = "users", user: UserState | None = None) -> str:
        """A field's name in "my data": the content's label for table.name or name, else its own."""
        labels = (self._messages(user) if user is not None else self.messages).my_data_texts.labels
        return labels.get(f"{table}.{name}") or labels.get(name) or name.replace("_", " ")

    def _shown(self, value: object, user: UserState | None = None) -> str:
        """A stored value as a person reads it: times to the second, lists and questions in words."""
        texts = (self._messages(user) if user is not None else self.messages).my_data_texts
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
            return [Reply("command", turn.messages.deleted, (turn.menu_button,))]
        if answer == "no":
            return [Reply("command", turn.messages.delete_cancelled, (turn.menu_button,))]
        turn.user.pending = {"feature": "core", "step": "delete"}
        buttons = (
            Button(turn.messages.yes_delete_button, f"{ACTION_PREFIX}delete:yes"),
            Button(turn.messages.keep_button, f"{ACTION_PREFIX}delete:no"),
        )
        return [Reply("command", turn.messages.delete_confirm, buttons)]


def _issuable(payload: str) -> bool:
    """Could the bot have issued this payload? A handler may then parse it with int() and friends:
    "²".isdigit() is true but int("²") raises, and a payload from outside may hold anything."""
    return len(payload) <= PAYLOAD_LIMIT and payload.isascii() and payload.isprintable()


def _commands(speech: Speech) -> Commands:
    return speech.content.extra["commands.yaml"]


class _EveryTriage:
    """`check` over every language's triage, for a channel that looks before the turn (an alert
    for a flooding sender); the turn itself asks `Languages.triage`, which also says which fired."""

    def __init__(self, languages: Languages) -> None:
        self._languages = languages

    def check(self, text: str) -> Finding | None:
        found = self._languages.triage(text, self._languages.default.code)
        return found[1] if found is not None else None
