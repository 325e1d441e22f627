"""The reminders conversation: opting in with buttons (or typed times), My reminders,
and the buttons a reminder carries (Done, Snooze, Stop, log a drink).

Everything a user sets up is a row in `reminder_subscriptions`; the dispatcher sends
from there. Set-up steps travel in button payloads ("do:reminders:water:from:2:8"), so
a tapped button needs no server-side state; typed answers use the engine's `pending`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from messenger_bot import placeholders
from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.engine import Turn
from messenger_bot.payloads import Payload
from messenger_bot.reminders import store as db
from messenger_bot.reminders.kinds import KINDS, module_of
from messenger_bot.reminders.payloads import PREFIX, AskZone, At, Every, From, Save, Setup, Times, Zone
from messenger_bot.reminders.replies import button, drink_buttons, texts_of, water_buttons
from messenger_bot.reminders.schedule import (
    MAX_TIMES,
    Schedule,
    clock_text,
    local_day,
    local_text,
    next_due,
    offset_text,
    parse_clock,
    parse_times,
    snooze_until,
    zone_named,
    zones_for_phone,
)
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.reminders.understand import LONGEST, SHORTEST, Reader, Report, evening
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage, UserState

START_HOURS = (7, 8, 9)
END_HOURS = (20, 21, 22)
CHECKIN_HOURS = (10, 14, 20)
_TIMES_PAYLOAD = re.compile(r"^\d{4}(-\d{4}){0,5}$")
#: An interval on a button: hours ("2"), or minutes when not whole hours ("90m").
_EVERY = re.compile(r"^(\d{1,3})(m?)$")
#: A time on a button: an hour ("8") or HHMM ("0830").
_AT = re.compile(r"^(\d{1,2}|\d{4})$")
#: Longer than this, a message is not an answer to a set-up question (the FAQ reads it).
ANSWER_LENGTH = 200
#: What a pause by the user is recorded as (shown in their words: `paused_by_you`).
PAUSED_BY_YOU = "paused by you"
_BARE_NUMBER = re.compile(r"^\s*#?\d{1,3}\s*[.)]?\s*$")


class RemindersFeature:
    """The `Feature` (engine.py) for payloads "do:reminders:…" and the typed /water, /caffeine.

    Each turn is answered by the conversation of its language, so every word read and said is
    that language's; the typed commands of every language are the engine's at once."""

    name = "reminders"

    def __init__(self, content: Content, store: Storage) -> None:
        languages = content.languages or {content.code: content}
        self.by_language = {code: Conversation(c, store) for code, c in languages.items()}
        self.default = self.by_language.get(content.code) or Conversation(content, store)
        #: Typed commands of every language (flows/<lang>/reminders.yaml `understand.commands`).
        commands: dict[str, str] = {}
        for conversation in self.by_language.values():
            for word, action in conversation.commands.items():
                commands.setdefault(word, action)
        self.commands: Mapping[str, str] = commands

    def _in(self, language: str | None) -> Conversation:
        return self.by_language.get(language or "", self.default)

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        return await self._in(turn.language).on_action(turn, action)

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        return await self._in(turn.language).on_pending(turn, text)

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        return await self._in(turn.language).on_text(turn, text)

    async def describe(self, user: UserState) -> dict[str, str]:
        return await self._in(user.language).describe(user)


class Conversation:
    """The reminders in one language: its questions, buttons and replies, read and said in it."""

    name = "reminders"
    #: Channels a reminder can be delivered on (they have a sender): the wiring's, set by build().
    delivered: frozenset[str] = frozenset()

    def __init__(self, content: Content, store: Storage) -> None:
        self.content = content
        self.texts: ReminderTexts = texts_of(content)
        self.store = store
        self.read = Reader(self.texts)
        self.commands: Mapping[str, str] = dict(self.texts.understand.commands)

    # -- engine protocol -------------------------------------------------------

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        payload = f"{PREFIX}:{action}"
        if (zone := Zone.parse(payload)) is not None:
            return await self._tz(turn, zone)
        if (ask := AskZone.parse(payload)) is not None:
            return await self._tz_ask(turn, ask.then)
        head, _, rest = action.partition(":")
        handler = {
            "home": self._home,
            "list": self._list,
            "pause": self._pause,
            "resume": self._resume,
            "change": self._change,
            "stop": self._stop,
            "stopall": self._stop_all,
            "pauseall": self._pause_all,
            "done": self._done,
            "snooze": self._snooze,
            "log": self._log,
            "tally": self._tally,
        }.get(head)
        if handler is not None:
            return await handler(turn, rest)
        if (setup := Setup.parse(payload)) is not None:
            return await self._continue(turn, setup.kind, setup.step)
        return await self._home(turn, "")

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        """A typed answer to the question asked last; anything else is never half-read.

        Not an answer: a reminder command ("pause water", "I had 2 coffees") is done, a
        question goes to the FAQ (None), and the rest re-asks the question with its buttons.
        """
        pending = dict(turn.user.pending or {})
        turn.user.pending = None
        step = str(pending.get("step"))
        answer = self._answers().get(step)
        if answer is None or len(text) > ANSWER_LENGTH:
            return None
        if turn.incoming.numbered and _BARE_NUMBER.match(text):
            return await self._ask(turn, pending, self.texts.say("pick_number"))  # never a clock time
        replies = await answer(turn, text, pending)
        if replies is not None:
            return replies
        anytime = await self.on_text(turn, text)
        if anytime is not None or _a_question(text):
            return anytime
        return await self._ask(turn, pending, self.texts.say(_SORRY.get(step, "not_understood")))

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """At any time of day: "pause", "resume water", "stop caffeine", "I had 2 coffees"."""
        command = self.read.command(text)
        if command is not None:
            verb, kinds = command
            return await self._typed_command(turn, verb, kinds)
        report = self.read.report(text)
        if report is not None:
            return await self._log_report(turn, report)
        return None

    def _answers(self) -> dict[str, Any]:
        return {
            "tz": self._typed_zone,
            "often": self._typed_often,
            "start": self._typed_start,
            "end": self._typed_end,
            "water_times": self._typed_times,
            "caffeine_time": self._typed_checkin,
            "daily": self._typed_daily,
            "log": self._typed_log,
        }

    async def describe(self, user: UserState) -> dict[str, str]:
        """What "my data" shows about reminders."""
        zone = user.timezone or "Etc/UTC"
        described = {}
        for sub in await db.subscriptions(self.store, user.channel, user.user_key):
            name = self.texts.kind_names[sub.kind]
            described[placeholders.fill(self.texts.my_data.reminder, kind=name)] = self._summary(
                sub, user.last_seen)
        day = local_day(user.last_seen, zone)
        glasses = await db.glasses(self.store, user.channel, user.user_key, day)
        caffeine = await db.caffeine_total(self.store, user.channel, user.user_key, day)
        if glasses or caffeine:
            described[self.texts.my_data.today_label] = placeholders.fill(
                self.texts.my_data.today, glasses=glasses, mg=caffeine)
        return described

    # -- helpers ---------------------------------------------------------------

    def _when(self, at: datetime, zone: str, now: datetime | None) -> str:
        """A time as the user reads it: "14:00", "tomorrow 09:00", "Tue 09:00" (the content's words)."""
        return local_text(at, zone, now, self.texts.days)

    def _reply(self, turn: Turn, text: str, buttons: tuple[Button, ...] = ()) -> list[Reply]:
        """Every reminders reply ends with buttons, the main menu last."""
        return [Reply("reminder", text.strip(), (*buttons, turn.menu_button))]

    def _what(self, sub_kind: str, schedule: Schedule) -> str:
        """A schedule as its kind's module words it ("Water every 2 hours, 08:00–20:00")."""
        described: str = module_of(sub_kind).describe(self.texts, schedule)
        return described

    def _summary(self, sub: db.Subscription, now: datetime) -> str:
        what = self._what(sub.kind, sub.schedule)
        if not sub.active or sub.next_due_at is None:
            return self.texts.say("list_line_paused", what=what, reason=self._reason(sub.paused_reason))
        return self.texts.say(
            "list_line", what=what, next=self._when(sub.next_due_at, sub.timezone, now), zone=sub.timezone
        )

    def _reason(self, stored: str | None) -> str:
        """Why a reminder is paused: the user's own pause in their words; a provider's reason
        (blocked, opted out) as the dispatcher recorded it."""
        return self.texts.say("paused_by_you") if stored in (None, PAUSED_BY_YOU) else stored

    def _zone(self, turn: Turn) -> str:
        return turn.user.timezone or "Etc/UTC"

    # -- set-up: each question keeps `pending`, so a typed answer works as well as its buttons --

    async def _home(self, turn: Turn, _: str) -> list[Reply]:
        return [turn.engine.node_reply(turn, "reminders")]

    async def setup_water(self, turn: Turn, rest: str) -> list[Reply]:
        """Buttons carry the set-up so far: every:N, from:N:START, save:N:START:END, times, at:HHMM-…"""
        if not turn.user.timezone:
            return self._ask_zone(turn, "water")
        if (often := Every.parse(rest)) and (every := _every(often.every)):
            return await self._ask(turn, {"step": "start", "every": every})
        if (begun := From.parse(rest)) and (every := _every(begun.every)) and (start := _at(begun.start)):
            return await self._ask(turn, {"step": "end", "every": every, "start": clock_text(start)})
        if (window := Save.parse(rest)) and (every := _every(window.every)):
            start, end = _at(window.start), _at(window.end)
            if start and end and start < end:
                return await self._save(
                    turn, "water", Schedule.every(every, clock_text(start), clock_text(end))
                )
        if Times.parse(rest):
            return await self._ask(turn, {"step": "water_times"})
        if (at := At.parse(rest)) and _TIMES_PAYLOAD.match(at.times):
            times = parse_times(" ".join(f"{t[:2]}:{t[2:]}" for t in at.times.split("-")))
            if times:
                return await self._save(turn, "water", Schedule(times=times))
        return await self._ask(turn, {"step": "often"})

    async def setup_caffeine(self, turn: Turn, rest: str) -> list[Reply]:
        if not turn.user.timezone:
            return self._ask_zone(turn, "caffeine")
        if (clock := _daily_time(rest)) is not None:
            return await self._save(turn, "caffeine", Schedule(times=(clock_text(clock),)))
        return await self._ask(turn, {"step": "caffeine_time"})

    async def setup_daily(self, turn: Turn, kind: str, rest: str) -> list[Reply]:
        """A kind of one daily time whose words are its own (`kinds.<kind>` in the content):
        asked with the check-in's hours as buttons, or typed."""
        if not turn.user.timezone:
            return self._ask_zone(turn, kind)
        if (clock := _daily_time(rest)) is not None:
            return await self._save(turn, kind, Schedule(times=(clock_text(clock),)))
        return await self._ask(turn, {"step": "daily", "kind": kind})

    async def _ask(self, turn: Turn, pending: dict[str, Any], sorry: str = "") -> list[Reply]:
        """Ask a set-up question (again, after `sorry`) with its buttons, and wait for its answer."""
        step = pending["step"]
        if step == "tz":
            then = str(pending.get("then", "water"))
            return self._ask_zone(turn, then, sorry, propose=bool(pending.get("zone")))
        if step != "log" and not turn.user.timezone:  # reset meanwhile ("delete my data" elsewhere)
            return self._ask_zone(turn, _kind_asked(pending))
        text, buttons = self._question(pending)
        turn.user.pending = {"feature": self.name, **pending}
        return self._reply(turn, f"{sorry}\n\n{text}" if sorry else text, buttons)

    def _question(self, pending: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        """The words and buttons of each question but the zone's."""
        if "part" in pending:
            return self._part_question(pending)
        ask = {
            "start": self._start_question,
            "end": self._end_question,
            "water_times": self._times_question,
            "caffeine_time": self._checkin_question,
            "daily": self._daily_question,
            "log": lambda _: (self.texts.say("log_which"), drink_buttons(self.texts)),
        }.get(pending["step"], self._often_question)
        return ask(pending)

    def _often_question(self, _: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        b = self.texts.buttons
        often = (
            button(b.every_1, _step("water", Every("1"))),
            button(b.every_2, _step("water", Every("2"))),
            button(b.every_3, _step("water", Every("3"))),
            button(b.fixed_times, _step("water", Times())),
        )
        return self.texts.say("water_how_often"), often

    def _start_question(self, pending: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        label, token = self.texts.buttons.start_at, _every_token(int(pending["every"]))
        hours = (button(label.replace("{time}", f"{h}:00"), _step("water", From(token, str(h))))
                 for h in START_HOURS)
        return self.texts.say("water_start"), tuple(hours)

    def _end_question(self, pending: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        """Until 20, 21 or 22, or only the hours after a late start (the buttons carry the start)."""
        label, token = self.texts.buttons.end_at, _every_token(int(pending["every"]))
        start = parse_clock(str(pending["start"])) or time(0)
        later = [h for h in END_HOURS if time(h) > start] or [23]
        return self.texts.say("water_end"), tuple(
            button(label.replace("{time}", f"{h}:00"), _step("water", Save(token, _at_token(start), str(h))))
            for h in later
        )

    def _times_question(self, _: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        """The preset buttons' times are read from their labels the way a typed answer is, so a
        translator may write them as their language does ("9h, 12h, 15h")."""
        presets = (self.texts.buttons.times_morning, self.texts.buttons.times_spread)
        return self.texts.say("water_times"), tuple(
            button(p, _step("water", At("-".join(_hhmm(t) for t in self.read.times(p) or ()))))
            for p in presets
        )

    def _checkin_question(self, _: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        hours = _at_hours(self.texts.buttons.checkin_at, "caffeine", CHECKIN_HOURS)
        return self.texts.say("caffeine_when", limit=self.texts.limit_mg), hours

    def _daily_question(self, pending: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        kind = str(pending["kind"])
        return self.texts.kinds[kind].ask_time, _at_hours(self.texts.buttons.checkin_at, kind, CHECKIN_HOURS)

    def _part_question(self, pending: dict[str, Any]) -> tuple[str, tuple[Button, ...]]:
        """Asked "in the evening": which hour of it? One button per hour of that part of the day."""
        part = self.texts.understand.parts_of_day[str(pending["part"])]
        kind = "caffeine" if pending["step"] == "caffeine_time" else "water"
        hours = _at_hours(self.texts.buttons.checkin_at, kind, part.hours)
        return self.texts.say("part_which", part=part.name), hours

    # -- typed answers to each question ------------------------------------------------

    async def _typed_often(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        read = self.read
        if read.answer(text, read.fixed):
            return await self._ask(turn, {"step": "water_times"})
        every = read.interval(text)
        if every is None and text.strip().isdecimal():
            every = int(text) * 60  # "how often?" "2": every 2 hours (a numbered channel took it as option 2)
        if every is None:
            times = read.times(text)
            return await self._save(turn, "water", Schedule(times=_texts(times))) if times else None
        if not SHORTEST <= every <= LONGEST:
            return await self._ask(turn, pending, self.texts.say("interval_range"))
        window = read.window(text)
        if window and window.start < window.end:
            schedule = Schedule.every(every, clock_text(window.start), clock_text(window.end))
            return await self._save(turn, "water", schedule)
        return await self._ask(turn, {"step": "start", "every": every})

    async def _typed_start(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        every = int(pending["every"])
        window = self.read.window(text)
        if window is not None:
            return await self._window(turn, pending, every, window.start, window.end)
        clock = self.read.clock(text)
        if clock is None:
            return None
        return await self._ask(turn, {"step": "end", "every": every, "start": clock_text(clock[0])})

    async def _typed_end(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        every, start = int(pending["every"]), parse_clock(str(pending["start"]))
        window = self.read.window(text)
        if window is not None:
            return await self._window(turn, pending, every, window.start, window.end)
        clock = self.read.clock(text)
        if clock is None or start is None:
            return None
        end = clock[0] if clock[1] else evening(clock[0], None)
        return await self._window(turn, pending, every, start, end)

    async def _window(
        self, turn: Turn, pending: dict[str, Any], every: int, start: time, end: time
    ) -> list[Reply]:
        if not start < end:
            return await self._ask(turn, pending, self.texts.say("end_before_start"))
        return await self._save(turn, "water", Schedule.every(every, clock_text(start), clock_text(end)))

    async def _typed_times(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        part = self.read.part_of_day(text)
        if part is not None:
            return await self._ask(turn, {"step": "water_times", "part": part})
        times = self.read.times(text, pm=self._later_in_day(pending))
        if times is None:
            return None
        if len(times) > MAX_TIMES:
            return await self._ask(turn, pending, self.texts.say("water_times_bad"))
        return await self._save(turn, "water", Schedule(times=_texts(times)))

    async def _typed_checkin(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        part = self.read.part_of_day(text)
        if part is not None:
            return await self._ask(turn, {"step": "caffeine_time", "part": part})
        times = self.read.times(text, pm=self._later_in_day(pending))
        if times is None:
            return None
        if len(times) != 1:
            return await self._ask(turn, pending, self.texts.say("caffeine_one_time"))
        return await self._save(turn, "caffeine", Schedule(times=_texts(times)))

    async def _typed_daily(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        times = self.read.times(text)
        if times is None:
            return None
        if len(times) != 1:
            return await self._ask(turn, pending, self.texts.say("caffeine_one_time"))
        return await self._save(turn, str(pending["kind"]), Schedule(times=_texts(times)))

    def _later_in_day(self, pending: dict[str, Any]) -> bool:
        """Asked which hour of the afternoon or evening, so "8" means 20:00."""
        part = self.texts.understand.parts_of_day.get(str(pending.get("part")))
        return part is not None and min(part.hours) >= 12

    async def _typed_log(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        report = self.read.report(text, asked=True)
        return await self._log_report(turn, report) if report else None

    async def _save(self, turn: Turn, kind: str, schedule: Schedule) -> list[Reply]:
        zone = self._zone(turn)
        user = turn.user
        user.pending = None
        due = await db.save(self.store, user.channel, user.user_key, kind, schedule, zone, turn.now)
        note = ""
        if user.channel not in self.delivered:
            note = self.texts.say("no_sender_note", channels=self.texts.sender_channels)
        text = self.texts.say(
            "saved",
            what=self._what(kind, schedule),
            next=self._when(due, zone, turn.now),
            zone=zone,
            note=note,
        )
        extra: tuple[Button, ...] = ()
        if kind == "caffeine":
            extra = (button(self.texts.buttons.log_drink, "log"),)
        return self._reply(turn, text, (*extra, button(self.texts.buttons.my_reminders, "list")))

    # -- time zone -------------------------------------------------------------

    def _ask_zone(self, turn: Turn, then: str, sorry: str = "", propose: bool = True) -> list[Reply]:
        """WhatsApp: propose the phone number's zone (unless they said no). Else: ask the time, or a city."""
        turn.user.pending = {"feature": self.name, "step": "tz", "then": then}
        b = self.texts.buttons
        zones = _distinct(zones_for_phone(turn.incoming.phone)) if turn.incoming.phone else []
        if zones and propose:
            zone = zones[0]
            turn.user.pending["zone"] = zone
            now = self._when(turn.now, zone, turn.now)
            text = self.texts.say("tz_confirm_phone", zone=zone, time=now)
            buttons = [button(b.tz_yes, Zone(then, zone))]
            buttons += [button(_city(z), Zone(then, z)) for z in zones[1:3]]
            buttons.append(button(b.tz_other, AskZone(then)))
        else:
            text, buttons = self.texts.say("tz_ask"), [button(b.tz_utc, Zone(then, "Etc/UTC"))]
        return self._reply(turn, f"{sorry}\n\n{text}" if sorry else text, tuple(buttons))

    async def _tz_ask(self, turn: Turn, then: str) -> list[Reply]:
        return self._ask_zone(turn, _then(then), propose=False)

    async def _tz(self, turn: Turn, chosen: Zone) -> list[Reply]:
        if zone_named(chosen.zone) != chosen.zone and chosen.zone != "Etc/UTC":
            return await self._tz_ask(turn, chosen.then)
        turn.user.timezone = chosen.zone
        turn.user.pending = None
        return await self._continue(turn, _then(chosen.then), "")

    async def _typed_zone(self, turn: Turn, text: str, pending: dict[str, Any]) -> list[Reply] | None:
        then, proposed = str(pending.get("then", "water")), pending.get("zone")
        if proposed and self.read.answer(text, self.read.yes):
            return await self._tz(turn, Zone(then, str(proposed)))
        if self.read.answer(text, self.read.no):
            return self._ask_zone(turn, then, propose=False)
        found = self.read.zone(text, turn.now) if len(text) < 60 else None
        if found is None:
            return None
        zone, offset = found
        local = self._when(turn.now, zone, turn.now)
        if offset is None:
            return await self._zone_set(
                turn, zone, self.texts.say("tz_confirm_named", zone=zone, time=local), then
            )
        intro = self.texts.say("tz_confirm_offset", offset=offset_text(offset), zone=zone, time=local)
        return await self._zone_set(turn, zone, intro + " " + self.texts.say("tz_dst_caveat"), then)

    async def _zone_set(self, turn: Turn, zone: str, intro: str, then: str) -> list[Reply]:
        """The zone is kept on the user; the set-up goes on with the step it interrupted."""
        turn.user.timezone = zone
        confirm = Reply("reminder", intro, (button(self.texts.buttons.tz_other, AskZone(then)),))
        return [confirm, *await self._continue(turn, then, "")]

    async def _continue(self, turn: Turn, then: str, rest: str) -> list[Reply]:
        """The set-up of kind `then`, at its step `rest` (its module says which)."""
        replies: list[Reply] = await module_of(_then(then)).setup(self, turn, rest)
        return replies

    # -- my reminders ------------------------------------------------------------

    async def _list(self, turn: Turn, _: str) -> list[Reply]:
        user, b = turn.user, self.texts.buttons
        subs = await db.subscriptions(self.store, user.channel, user.user_key)
        if not subs:
            return self._reply(turn, self.texts.say("list_empty"), self._setup_buttons(KINDS))
        lines = [self.texts.say("list_head"), *(self._summary(s, turn.now) for s in subs)]
        buttons: list[Button] = []
        for sub in subs:
            short = self.texts.kind_names[sub.kind]
            toggle = (b.pause, "pause") if sub.active else (b.resume, "resume")
            buttons.append(button(toggle[0].replace("{what}", short), f"{toggle[1]}:{sub.kind}"))
            buttons.append(button(b.change.replace("{what}", short), f"change:{sub.kind}"))
            buttons.append(button(b.stop.replace("{what}", short), f"stop:{sub.kind}"))
        buttons += self._setup_buttons([k for k in KINDS if k not in {s.kind for s in subs}])
        buttons.append(button(b.stop_all, "stopall"))
        return self._reply(turn, "\n".join(lines), tuple(buttons))

    def _setup_buttons(self, kinds: Iterable[str]) -> tuple[Button, ...]:
        """A set-up button for each of `kinds`, labelled by its module."""
        return tuple(button(module_of(k).setup_label(self.texts), Setup(k)) for k in kinds)

    async def _find(self, turn: Turn, kind: str) -> db.Subscription | None:
        if kind not in KINDS:
            return None
        return await db.subscription(self.store, turn.user.channel, turn.user.user_key, kind)

    async def _pause(self, turn: Turn, kind: str) -> list[Reply]:
        sub = await self._find(turn, kind)
        if sub is None:
            return await self._gone(turn)
        await db.set_active(self.store, sub, False, PAUSED_BY_YOU, turn.now)
        what = self._what(sub.kind, sub.schedule)
        return self._reply(
            turn, self.texts.say("paused", what=what), (button(self.texts.buttons.my_reminders, "list"),)
        )

    async def _resume(self, turn: Turn, kind: str) -> list[Reply]:
        sub = await self._find(turn, kind)
        if sub is None:
            return await self._gone(turn)
        await db.set_active(self.store, sub, True, None, turn.now)
        due = next_due(sub.schedule, sub.timezone, turn.now)
        text = self.texts.say(
            "resumed", what=self._what(sub.kind, sub.schedule), next=self._when(due, sub.timezone, turn.now)
        )
        return self._reply(turn, text, (button(self.texts.buttons.my_reminders, "list"),))

    async def _change(self, turn: Turn, kind: str) -> list[Reply]:
        if kind not in KINDS:
            return await self._gone(turn)
        return await self._continue(turn, kind, "")

    async def _stop(self, turn: Turn, kind: str) -> list[Reply]:
        sub = await self._find(turn, kind)
        if sub is None:
            return await self._gone(turn)
        await db.delete(self.store, turn.user.channel, turn.user.user_key, kind)
        text = self.texts.say("stopped_one", what=self._what(sub.kind, sub.schedule))
        return self._reply(turn, text, (button(self.texts.buttons.my_reminders, "list"),))

    async def _stop_all(self, turn: Turn, _: str) -> list[Reply]:
        await db.delete(self.store, turn.user.channel, turn.user.user_key)
        return self._reply(turn, self.texts.say("stopped_all"), self._setup_buttons(KINDS))

    async def _pause_all(self, turn: Turn, _: str) -> list[Reply]:
        """Typed "stop reminders" is the engine's STOP: everything paused, settings kept for START."""
        return await turn.engine.on_payload(turn, "do:stop")

    async def _gone(self, turn: Turn) -> list[Reply]:
        replies = await self._list(turn, "")
        first = replies[0]
        return [Reply(first.kind, self.texts.say("nothing_to_change") + "\n\n" + first.text, first.buttons)]

    # -- typed at any time of day ------------------------------------------------------

    async def _typed_command(self, turn: Turn, verb: str, kinds: tuple[str, ...]) -> list[Reply]:
        """Typed "pause" (every reminder), "pause water", "resume", "stop caffeine"."""
        user = turn.user
        subs = await db.subscriptions(self.store, user.channel, user.user_key)
        chosen = [s for s in subs if not kinds or s.kind in kinds]
        if not chosen:
            return await (self._list(turn, "") if not subs else self._gone(turn))
        if len(chosen) == 1:
            return await {"pause": self._pause, "resume": self._resume, "stop": self._stop}[verb](
                turn, chosen[0].kind
            )
        lines = []
        for sub in chosen:
            what = self._what(sub.kind, sub.schedule)
            if verb == "pause":
                await db.set_active(self.store, sub, False, PAUSED_BY_YOU, turn.now)
                lines.append(self.texts.say("paused", what=what))
            elif verb == "resume":
                await db.set_active(self.store, sub, True, None, turn.now)
                due = self._when(next_due(sub.schedule, sub.timezone, turn.now), sub.timezone, turn.now)
                lines.append(self.texts.say("resumed", what=what, next=due))
            else:
                await db.delete(self.store, user.channel, user.user_key, sub.kind)
                lines.append(self.texts.say("stopped_one", what=what))
        return self._reply(turn, "\n".join(lines), (button(self.texts.buttons.my_reminders, "list"),))

    async def _log_report(self, turn: Turn, report: Report) -> list[Reply]:
        """A drink report ("I had 2 coffees and a glass of water"): tally and glasses in one answer."""
        texts, user, zone = self.texts, turn.user, self._zone(turn)
        lines, glasses = [], report.counts.get("water", 0)
        for _ in range(glasses):
            await db.add_glass(self.store, user.channel, user.user_key, zone, turn.now)
        if glasses:
            day = local_day(turn.now, zone)
            lines.append(
                texts.say("done", count=await db.glasses(self.store, user.channel, user.user_key, day))
            )
        drinks = {d: n for d, n in report.counts.items() if d != "water"}
        if not drinks:
            return self._reply(turn, "\n\n".join(lines), (button(texts.buttons.my_reminders, "list"),))
        total = await self._log_drinks(turn, drinks)
        items = ", ".join(
            f"{n} {texts.drinks[d].one if n == 1 else texts.drinks[d].many}" for d, n in drinks.items()
        )
        mg = sum(texts.drinks[d].mg * n for d, n in drinks.items())
        lines.append(texts.say("logged_many", items=items, mg=mg, total=total, limit=texts.limit_mg))
        text = "\n\n".join(lines) + self._warning(total)
        return self._reply(turn, text, (*drink_buttons(texts), button(texts.buttons.tally, "tally")))

    async def _log_drinks(self, turn: Turn, drinks: dict[str, int]) -> int:
        """One caffeine_log row per drink (as a tapped button logs it); today's total after them."""
        user, total = turn.user, 0
        for drink, n in drinks.items():
            for _ in range(n):
                total = await db.log_drink(
                    self.store,
                    user.channel,
                    user.user_key,
                    self._zone(turn),
                    drink,
                    self.texts.drinks[drink].mg,
                    turn.now,
                )
        return total

    # -- buttons on a reminder -----------------------------------------------------

    async def _done(self, turn: Turn, _: str) -> list[Reply]:
        user = turn.user
        count = await db.add_glass(self.store, user.channel, user.user_key, self._zone(turn), turn.now)
        return self._reply(
            turn, self.texts.say("done", count=count), (button(self.texts.buttons.my_reminders, "list"),)
        )

    async def _snooze(self, turn: Turn, _: str) -> list[Reply]:
        sub = await self._find(turn, "water")
        b = self.texts.buttons
        if sub is None or not sub.active:
            return self._reply(turn, self.texts.say("snooze_none"), (button(b.water_setup, Setup("water")),))
        later = snooze_until(sub.schedule, sub.timezone, turn.now)
        regular = next_due(sub.schedule, sub.timezone, turn.now)
        if later is None or later >= regular:
            await db.set_due(self.store, sub.id, regular, turn.now)
            text = self.texts.say("snooze_quiet", time=self._when(regular, sub.timezone, turn.now))
        else:
            await db.set_due(self.store, sub.id, later, turn.now)
            text = self.texts.say("snoozed", time=self._when(later, sub.timezone, turn.now))
        return self._reply(turn, text, water_buttons(self.texts)[2:])

    async def _log(self, turn: Turn, drink: str) -> list[Reply]:
        texts, user = self.texts, turn.user
        if drink not in texts.drinks:
            return await self._ask(turn, {"step": "log"})
        info = texts.drinks[drink]
        total = await db.log_drink(
            self.store, user.channel, user.user_key, self._zone(turn), drink, info.mg, turn.now
        )
        text = texts.say(
            "logged", drink=info.note or info.label, mg=info.mg, total=total, limit=texts.limit_mg
        )
        return self._reply(
            turn, text + self._warning(total), (*drink_buttons(texts), button(texts.buttons.tally, "tally"))
        )

    async def _tally(self, turn: Turn, _: str) -> list[Reply]:
        texts, user = self.texts, turn.user
        day = local_day(turn.now, self._zone(turn))
        total = await db.caffeine_total(self.store, user.channel, user.user_key, day)
        text = texts.say("tally", total=total, limit=texts.limit_mg) + self._warning(total)
        return self._reply(turn, text, (button(texts.buttons.log_drink, "log"),))

    def _warning(self, total: int) -> str:
        limit = self.texts.limit_mg
        if total > limit:
            return "\n\n" + self.texts.say("over_limit")
        if total >= limit * 3 // 4:
            return "\n\n" + self.texts.say("near_limit")
        return ""


#: The apology before a question asked again, by step.
_SORRY = {
    "tz": "tz_bad",
    "often": "often_bad",
    "start": "start_bad",
    "end": "end_bad",
    "water_times": "water_times_bad",
    "caffeine_time": "caffeine_time_bad",
    "log": "log_bad",
}


def _a_question(text: str) -> bool:
    """A question or a sentence about something else, not an answer to ours: the FAQ's."""
    return "?" in text or (len(text.split()) > 3 and not any(ch.isdigit() for ch in text))


def _every(token: str) -> int | None:
    """Minutes from a button's interval ("2" hours, "90m"); None unless 30 minutes to 6 hours."""
    match = _EVERY.match(token)
    if not match:
        return None
    minutes = int(match[1]) * (1 if match[2] else 60)
    return minutes if SHORTEST <= minutes <= LONGEST else None


def _every_token(minutes: int) -> str:
    return str(minutes // 60) if minutes % 60 == 0 else f"{minutes}m"


def _at(token: str) -> time | None:
    """A button's time: "8" or "0830"."""
    if not _AT.match(token):
        return None
    hour, minute = (int(token), 0) if len(token) <= 2 else (int(token[:2]), int(token[2:]))
    return time(hour, minute) if hour <= 23 and minute <= 59 else None


def _at_token(clock: time) -> str:
    return str(clock.hour) if clock.minute == 0 else f"{clock.hour:02d}{clock.minute:02d}"


def _at_hours(label: str, kind: str, hours: Iterable[int]) -> tuple[Button, ...]:
    """A button an hour ("At 10:00"), each setting `kind` up at that time of day."""
    return tuple(button(label.replace("{time}", f"{h}:00"), _step(kind, At(f"{h:02d}00"))) for h in hours)


def _step(kind: str, step: Payload) -> Setup:
    """The set-up of `kind` at `step`, as its buttons carry it ("do:reminders:water:every:2")."""
    return Setup(kind, step.format())


def _daily_time(step: str) -> time | None:
    """The one time of day of a daily kind's button ("at:1000"); None when it carries none."""
    at = At.parse(step)
    if at is None or len(at.times) != 4 or not _TIMES_PAYLOAD.match(at.times):
        return None
    return parse_clock(f"{at.times[:2]}:{at.times[2:]}")


def _hhmm(clock: time) -> str:
    """A time as a payload holds it ("0900")."""
    return f"{clock.hour:02d}{clock.minute:02d}"


def _texts(times: tuple[time, ...]) -> tuple[str, ...]:
    return tuple(clock_text(t) for t in times)


def _then(value: str) -> str:
    """The kind a set-up continues with (a stale or forged payload: water's)."""
    return value if value in KINDS else "water"


def _kind_asked(pending: dict[str, Any]) -> str:
    """The kind whose set-up question `pending` is."""
    if pending["step"] == "daily":
        return _then(str(pending.get("kind")))
    return "caffeine" if pending["step"] == "caffeine_time" else "water"


def _city(zone: str) -> str:
    return zone.rsplit("/", 1)[-1].replace("_", " ")[:20]


def _distinct(zones: list[str]) -> list[str]:
    """One zone per distinct clock (winter and summer offsets): +44 numbers list Jersey, London…"""
    seen: dict[tuple[object, object], str] = {}
    for zone in zones:
        tz = ZoneInfo(zone)
        key = (datetime(2025, 1, 15, tzinfo=tz).utcoffset(), datetime(2025, 7, 15, tzinfo=tz).utcoffset())
        if key not in seen or _city(zone) in _PREFERRED:
            seen[key] = zone
    return list(seen.values())


_PREFERRED = frozenset(
    {
        "London",
        "Sydney",
        "New York",
        "Los Angeles",
        "Chicago",
        "Denver",
        "Toronto",
        "Berlin",
        "Madrid",
        "Lisbon",
        "Moscow",
        "Sao Paulo",
        "Mexico City",
        "Jakarta",
        "Kolkata",
    }
)


def build(content: Content, store: Storage, settings: Settings) -> RemindersFeature:
    """The engine's reminders (reminders/plugin.py names this)."""
    feature = RemindersFeature(content, store)
    for conversation in feature.by_language.values():
        conversation.delivered = settings.sender_channels
    feature.default.delivered = settings.sender_channels
    return feature
