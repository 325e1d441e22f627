"""The diary conversation: log a twitch (buttons or a sentence), what you tried, a follow-up
you opt into, its answers, "my week", and the summary for a doctor with its chart and PDF.

Steps travel in button payloads ("do:diary:lip:<entry>:upper", typed in diary/payloads.py),
so a tap needs no server-side state, and every entry id in a payload is checked against the
user who tapped it. Typed answers use the engine's `pending`. Every word comes from flows/diary.yaml.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from messenger_bot.content import Button, Content
from messenger_bot.conversation import Attachment, Reply
from messenger_bot.diary import files, parse
from messenger_bot.diary import store as db
from messenger_bot.diary.chart import twitch_chart, week_chart
from messenger_bot.diary.payloads import (
    STEP_NAMES,
    Answer,
    FollowUp,
    Log,
    Step,
    Summary,
    Tried,
    Trigger,
    Week,
    Zone,
)
from messenger_bot.diary.pdf import summary_pdf
from messenger_bot.diary.question import answer_buttons, button, texts_of
from messenger_bot.diary.summary import Figures, chat_text, gather
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.engine import Turn
from messenger_bot.payloads import Payload
from messenger_bot.reminders.schedule import (
    local_day,
    offset_from_local_time,
    parse_clock,
    zone_for_offset,
    zone_named,
    zones_for_phone,
)
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage, UserState

#: The steps of a twitch entry, in order: (payload head, choices field, entry column).
STEPS = (("lip", "lips", "lip"), ("side", "sides", "side"), ("dur", "durations", "duration"))
PNG, PDF = "image/png", "application/pdf"


def every_language_commands(content: Content) -> dict[str, str]:
    """Each language's typed commands (flows/<code>/diary.yaml `commands`), the default's first:
    "anotar un temblor" logs a twitch in any conversation, as "log a twitch" does."""
    found: dict[str, str] = {}
    for language in (content, *content.languages.values()):
        for typed, action in texts_of(language).commands.items():
            found.setdefault(typed, action)
    return found


def followup_due(now: datetime, zone: str, days: int, hour: int) -> datetime:
    """`days` from today at `hour` of the user's own day (zoneinfo handles daylight-saving changes)."""
    tz = ZoneInfo(zone)
    local = now.astimezone(tz).date() + timedelta(days=days)
    return datetime.combine(local, time(hour), tzinfo=tz).astimezone(ZoneInfo("UTC"))


class DiaryFeature:
    """The `Feature` (engine.py) for payloads "do:diary:…", its typed commands and sentences."""

    name = "diary"

    def __init__(
        self,
        content: Content,
        store: Storage,
        base_url: str | None = None,
        delivered: frozenset[str] = frozenset(),
    ) -> None:
        self.content = content
        self.store = store
        #: The channels with a sender (the wiring knows them): only there does a check-in arrive.
        self.delivered = delivered
        #: Typed commands (flows/<code>/diary.yaml `commands`, every language's), read by the engine.
        self.commands: Mapping[str, str] = every_language_commands(content)
        #: Where file links point: PUBLIC_BASE_URL, or "" for links relative to the server answering.
        self.base_url = (base_url or "").rstrip("/")
        self.limit = int(getattr(content.extra.get("reminders.yaml"), "limit_mg", 400))

    # -- engine protocol -------------------------------------------------------------------

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        payload = f"{Step.prefix}:{action}"
        if (trigger := Trigger.parse(payload)) is not None:
            return await self._trigger(turn, trigger)
        if (tried := Tried.parse(payload)) is not None:
            return await self._tried(turn, tried)
        if (followup := FollowUp.parse(payload)) is not None:
            return await self._followup(turn, followup.choice)
        if (zone := Zone.parse(payload)) is not None:
            return await self._zone_button(turn, zone)
        if (answer := Answer.parse(payload)) is not None:
            return await self._answer(turn, answer.key)
        if Summary.parse(payload) is not None:
            return await self._summary(turn)
        if Week.parse(payload) is not None:
            return await self._week(turn)
        if (step := Step.parse(payload)) is not None:
            return await self._step(turn, step)
        if payload.startswith(f"{Tried.prefix}:"):
            return await self._tried(turn, Tried())  # no entry of theirs: a new note
        if any(action.startswith(f"{name}:") for name in (*STEP_NAMES, "trig")):
            return self._gone(turn)  # a step of an entry that cannot be this user's
        return await self._new_entry(turn, 1)  # "log", or a stale or unknown button: log a twitch

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        pending = turn.user.pending or {}
        turn.user.pending = None
        step, entry_id = str(pending.get("step")), int(pending.get("entry") or 0)
        t = self._t(turn)
        if step != "new" and parse.asks(text, t):
            turn.user.pending = pending  # a question: the FAQ answers it, and the step still waits
            return None
        if step in {"lip", "side", "dur"}:
            field = {s[0]: s[1] for s in STEPS}[step]
            key = "skip" if parse.skipped(text, t) else parse.one(getattr(t, field), text)
            return None if key is None else await self._step(turn, Step(step, entry_id, key))
        if step in {"trig", "tried"}:
            return await self._typed_tags(turn, step, entry_id, text)
        if step == "answer":
            key = parse.one(t.answers, text)
            return None if key is None else await self._answer(turn, key)
        if step == "new":
            return await self._new_signs(turn)
        if step == "zone":
            return await self._typed_zone(turn, text, int(pending.get("days") or 7))
        return None

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """A sentence that reports a twitch ("twitched 3 times today") logs it; questions go on to the FAQ."""
        count = parse.twitch_count(text, self._t(turn))
        return None if count is None else await self._new_entry(turn, count)

    async def describe(self, user: UserState) -> dict[str, str]:
        """What "my data" shows about the diary."""
        described = {}
        found = await db.entries(self.store, user.channel, user.user_key)
        twitches = [e for e in found if e.kind == db.TWITCH]
        if found:
            first = texts_of(self.content).dates.day_text(found[0].day)
            described["twitch diary"] = (
                f"{sum(e.count for e in twitches)} twitch(es) logged since {first}, "
                f"{len(found) - len(twitches)} other note(s)"
            )
        due = await db.waiting_followup(self.store, user.channel, user.user_key)
        if due is not None:
            described["check-in"] = due.strftime("%Y-%m-%d %H:%M UTC")
        return described

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _t(turn: Turn) -> DiaryTexts:
        """The diary's words in the turn's language."""
        return texts_of(turn.content)

    def _reply(self, turn: Turn, text: str, buttons: tuple[Button, ...] = (), **more: object) -> Reply:
        """Every diary reply ends with buttons, the main menu last."""
        return Reply("command", text.strip(), (*buttons, turn.menu_button), **more)  # type: ignore[arg-type]

    def _zone(self, user: UserState) -> str:
        return user.timezone or "Etc/UTC"

    def _choices(self, turn: Turn, field: str, payload: Callable[[str], Payload]) -> tuple[Button, ...]:
        choices = getattr(self._t(turn), field)
        return tuple(button(c.label, payload(key)) for key, c in choices.items())

    def _after_entry(self, turn: Turn) -> tuple[Button, ...]:
        b = self._t(turn).buttons
        return (
            button(b.summary, Summary()), button(b.follow_up, FollowUp()), button(b.tried, Tried())
        )

    async def _own(self, turn: Turn, entry_id: int) -> db.Entry | None:
        return await db.entry(self.store, turn.user.channel, turn.user.user_key, entry_id)

    def _gone(self, turn: Turn) -> list[Reply]:
        t = self._t(turn)
        return [self._reply(turn, t.say("entry_gone"), (button(t.buttons.log, Log()),))]

    # -- logging a twitch ------------------------------------------------------------------

    async def _new_entry(self, turn: Turn, count: int) -> list[Reply]:
        user = turn.user
        entry_id = await db.add(
            self.store, user.channel, user.user_key, db.TWITCH, turn.now, self._zone(user), count=count
        )
        text = self._t(turn).say("ask_lip") if count == 1 else self._t(turn).say("ask_lip_count", count=count)
        return self._ask(turn, "lip", entry_id, text)

    def _ask(self, turn: Turn, step: str, entry_id: int, text: str) -> list[Reply]:
        field = {s[0]: s[1] for s in STEPS}.get(step, "triggers")
        turn.user.pending = {"feature": self.name, "step": step, "entry": entry_id}
        def payload(key: str) -> Payload:
            return Trigger(entry_id, key) if step == "trig" else Step(step, entry_id, key)

        buttons = self._choices(turn, field, payload)
        last = button(
            self._t(turn).buttons.done if step == "trig" else self._t(turn).buttons.skip,
            payload("done" if step == "trig" else "skip"),
        )
        return [self._reply(turn, text, (*buttons, last))]

    async def _step(self, turn: Turn, payload: Step) -> list[Reply]:
        """lip → side → duration → triggers; each answer (or Skip) is saved, then the next question."""
        step, key = payload.step, payload.key
        names = [s[0] for s in STEPS]
        found = await self._own(turn, payload.entry)
        if found is None:
            return self._gone(turn)
        _, field, column = STEPS[names.index(step)]
        if key in getattr(self._t(turn), field):
            await db.set_field(self.store, found, column, key)
        elif key != "skip":
            return self._ask(turn, step, found.id, self._t(turn).say(f"ask_{column}"))
        following = names.index(step) + 1
        if following < len(STEPS):
            return self._ask(
                turn, STEPS[following][0], found.id, self._t(turn).say(f"ask_{STEPS[following][2]}")
            )
        return self._ask(turn, "trig", found.id, self._t(turn).say("ask_triggers"))

    async def _trigger(self, turn: Turn, payload: Trigger) -> list[Reply]:
        key = payload.key
        found = await self._own(turn, payload.entry)
        if found is None:
            return self._gone(turn)
        if key in self._t(turn).triggers:
            tags = await db.add_tag(self.store, found, key)
            noted = ", ".join(self._t(turn).label("triggers", t) for t in tags)
            return self._ask(turn, "trig", found.id, self._t(turn).say("trigger_added", triggers=noted))
        return await self._entry_done(turn)

    async def _entry_done(self, turn: Turn) -> list[Reply]:
        user = turn.user
        since = (datetime.fromisoformat(local_day(turn.now, self._zone(user))) - timedelta(days=6)).date()
        week = await db.twitches_since(self.store, user.channel, user.user_key, since.isoformat())
        return [self._reply(turn, self._t(turn).say("logged", week=week), self._after_entry(turn))]

    async def _typed_tags(self, turn: Turn, step: str, entry_id: int, text: str) -> list[Reply] | None:
        field = "triggers" if step == "trig" else "tried"
        if parse.finished(text, self._t(turn)) or parse.skipped(text, self._t(turn)):
            done = Tried(entry_id, "done")
            return await (self._entry_done(turn) if step == "trig" else self._tried(turn, done))
        keys = parse.pick(getattr(self._t(turn), field), text)
        if not keys:
            return None
        replies: list[Reply] = []
        for key in keys:
            if step == "trig":
                replies = await self._trigger(turn, Trigger(entry_id, key))
            else:
                replies = await self._tried(turn, Tried(entry_id, key))
        return replies

    # -- what they tried ---------------------------------------------------------------------

    async def _tried(self, turn: Turn, payload: Tried) -> list[Reply]:
        user, b = turn.user, self._t(turn).buttons
        key = payload.key
        found = await self._own(turn, payload.entry) if payload.entry else None
        if found is None or found.kind != db.TRIED:
            new_id = await db.add(
                self.store, user.channel, user.user_key, db.TRIED, turn.now, self._zone(user)
            )
            return self._ask_tried(turn, new_id, self._t(turn).say("ask_tried"))
        if key in self._t(turn).tried:
            tags = await db.add_tag(self.store, found, key)
            noted = ", ".join(self._t(turn).label("tried", t) for t in tags)
            return self._ask_tried(turn, found.id, self._t(turn).say("tried_added", tried=noted))
        return [
            self._reply(
                turn,
                self._t(turn).say("tried_done"),
                (button(b.summary, Summary()), button(b.follow_up, FollowUp())),
            )
        ]

    def _ask_tried(self, turn: Turn, entry_id: int, text: str) -> list[Reply]:
        turn.user.pending = {"feature": self.name, "step": "tried", "entry": entry_id}
        buttons = self._choices(turn, "tried", lambda key: Tried(entry_id, key))
        return [
            self._reply(turn, text, (*buttons, button(self._t(turn).buttons.done, Tried(entry_id, "done"))))
        ]

    # -- the follow-up -----------------------------------------------------------------------

    async def _followup(self, turn: Turn, rest: str) -> list[Reply]:
        user = turn.user
        if rest == "no":
            await db.cancel_followups(self.store, user.channel, user.user_key, turn.now)
            return [self._reply(turn, self._t(turn).say("follow_up_cancelled"), self._after_entry(turn)[:1])]
        if rest in self._t(turn).delays:
            zone = user.timezone or self._phone_zone(turn)
            if zone is None:
                turn.user.pending = {"feature": self.name, "step": "zone", "days": int(rest)}
                utc = button(self._t(turn).buttons.zone_utc, Zone(int(rest), "utc"))
                return [self._reply(turn, self._t(turn).say("follow_up_zone"), (utc,))]
            return await self._schedule(turn, zone, int(rest))
        offer = self._choices(turn, "delays", FollowUp)
        no = button(self._t(turn).buttons.no_thanks, FollowUp("no"))
        return [self._reply(turn, self._t(turn).say("follow_up_offer"), (*offer, no))]

    @staticmethod
    def _phone_zone(turn: Turn) -> str | None:
        """A phone number's country gives a zone (the first one, for countries with several)."""
        phone = turn.incoming.phone
        zones = zones_for_phone(phone) if phone else []
        return zones[0] if zones else None

    async def _schedule(self, turn: Turn, zone: str, days: int) -> list[Reply]:
        user = turn.user
        user.timezone = user.timezone or zone
        due = followup_due(turn.now, zone, days, self._t(turn).followup_hour)
        await db.schedule_followup(self.store, user.channel, user.user_key, zone, due, turn.now)
        local = due.astimezone(ZoneInfo(zone))
        when = self._t(turn).dates.check_in_text(local)
        note = "" if user.channel in self.delivered else " " + self._t(turn).say("no_sender_note")
        text = self._t(turn).say("follow_up_set", when=when, zone=zone, note=note)
        no = button(self._t(turn).buttons.no_thanks, FollowUp("no"))
        return [self._reply(turn, text, (button(self._t(turn).buttons.log, Log()), no))]

    async def _zone_button(self, turn: Turn, payload: Zone) -> list[Reply]:
        days = payload.days if str(payload.days) in self._t(turn).delays else 7
        return await self._schedule(turn, "Etc/UTC", days)

    async def _typed_zone(self, turn: Turn, text: str, days: int) -> list[Reply] | None:
        zone = zone_named(text)
        clock = parse_clock(text.replace(" ", "")) if zone is None and len(text) < 12 else None
        if clock is not None:
            zone = zone_for_offset(offset_from_local_time(clock, turn.now))
        if zone is not None:
            return await self._schedule(turn, zone, days)
        if len(text.split()) > 3:
            return None  # a question, not an answer: the FAQ has it
        turn.user.pending = {"feature": self.name, "step": "zone", "days": days}
        utc = button(self._t(turn).buttons.zone_utc, Zone(days, "utc"))
        return [self._reply(turn, self._t(turn).say("follow_up_zone_bad"), (utc,))]

    async def _answer(self, turn: Turn, key: str) -> list[Reply]:
        """Better: prevention, and no more asking. Same or worse: see a doctor, with the summary.
        Something new: tell me (triage reads it first, as it reads every message)."""
        if key not in self._t(turn).answers:
            return [self._reply(turn, self._t(turn).say("follow_up_question"), answer_buttons(self._t(turn)))]
        user = turn.user
        await db.add(
            self.store, user.channel, user.user_key, db.ANSWER, turn.now, self._zone(user), tags=(key,)
        )
        if key == "better":
            await db.cancel_followups(self.store, user.channel, user.user_key, turn.now)
            return [
                Reply("command", self._t(turn).say("answer_better")),
                turn.engine.node_reply(turn, "prevention"),
            ]
        if key == "new":
            turn.user.pending = {"feature": self.name, "step": "new"}
            t = self._t(turn)
            return [self._reply(turn, t.say("answer_new"), (button(t.buttons.skip, Summary()),))]
        return await self._see_doctor(turn, self._t(turn).say(f"answer_{key}"))

    async def _new_signs(self, turn: Turn) -> list[Reply]:
        """Whatever they typed was read by triage already; it is not stored."""
        return await self._see_doctor(turn, self._t(turn).say("new_noted"))

    async def _see_doctor(self, turn: Turn, intro: str) -> list[Reply]:
        again = self._choices(turn, "delays", FollowUp)
        summary = await self._summary(turn)
        t = self._t(turn)
        ask = self._reply(
            turn, t.say("ask_again"), (*again, button(t.buttons.no_thanks, FollowUp("no")))
        )
        return [Reply("command", intro), turn.engine.node_reply(turn, "when-to-see-doctor"), *summary, ask]

    # -- summary and my week -------------------------------------------------------------------

    async def figures(self, user: UserState, now: datetime) -> Figures:
        return await gather(self.store, user.channel, user.user_key, self._zone(user), now, self.limit)

    async def _summary(self, turn: Turn) -> list[Reply]:
        user, b = turn.user, self._t(turn).buttons
        figures = await self.figures(user, turn.now)
        if figures.empty:
            return [self._reply(turn, self._t(turn).say("summary_empty"), (button(b.log, Log()),))]
        png = await asyncio.to_thread(twitch_chart, figures, self._t(turn))
        pdf = await asyncio.to_thread(summary_pdf, figures, self._t(turn), png)
        s = self._t(turn).summary
        attached = (
            await self._publish(turn, PNG, png, s.chart_file),
            await self._publish(turn, PDF, pdf, s.pdf_file),
        )
        text = chat_text(figures, self._t(turn)) + "\n\n" + self._t(turn).say("files_ready")
        buttons = (button(b.log, Log()), button(b.follow_up, FollowUp()), button(b.tried, Tried()))
        return [self._reply(turn, text, buttons, files=attached)]

    async def _week(self, turn: Turn) -> list[Reply]:
        figures = await self.figures(turn.user, turn.now)
        days = {d.isoformat() for d in figures.days(7)}
        glasses = sum(v for d, v in figures.water.items() if d in days)
        caffeine = sum(v for d, v in figures.caffeine.items() if d in days)
        if not glasses and not caffeine:
            return [
                self._reply(
                    turn,
                    self._t(turn).say("my_week_empty"),
                ),
                turn.engine.node_reply(turn, "reminders"),
            ]
        png = await asyncio.to_thread(week_chart, figures, self._t(turn))
        attached = (await self._publish(turn, PNG, png, self._t(turn).summary.week_file),)
        text = self._t(turn).say("my_week", glasses=glasses, caffeine=caffeine)
        return [self._reply(turn, text, (button(self._t(turn).buttons.log, Log()),), files=attached)]

    async def _publish(self, turn: Turn, mime: str, body: bytes, label: str) -> Attachment:
        user = turn.user
        return await files.publish(
            self.store, user.channel, user.user_key, mime, body, label, self.base_url, turn.now
        )


def build(content: Content, store: Storage, settings: Settings) -> DiaryFeature:
    """The engine's diary (diary/plugin.py names this); file links point at PUBLIC_BASE_URL."""
    return DiaryFeature(content, store, settings.public_base_url, settings.sender_channels)
