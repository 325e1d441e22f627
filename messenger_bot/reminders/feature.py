"""The reminders conversation: opting in with buttons (or typed times), My reminders,
and the buttons a reminder carries (Done, Snooze, Stop, log a drink).

Everything a user sets up is a row in `reminder_subscriptions`; the dispatcher sends
from there. Set-up steps travel in button payloads ("do:reminders:water:from:2:8"), so
a tapped button needs no server-side state; typed answers use the engine's `pending`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.engine import Turn
from messenger_bot.reminders import store as db
from messenger_bot.reminders.replies import SHORT, button, drink_buttons, texts_of, water_buttons
from messenger_bot.reminders.schedule import (
    Schedule,
    clock_text,
    local_day,
    local_text,
    next_due,
    offset_from_local_time,
    offset_text,
    parse_clock,
    parse_times,
    snooze_until,
    zone_for_offset,
    zone_named,
    zones_for_phone,
)
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.storage import Storage, UserState

#: Channels a reminder can be delivered on (they have a Sender).
DELIVERY_CHANNELS = ("telegram", "whatsapp")
START_HOURS = (7, 8, 9)
END_HOURS = (20, 21, 22)
CHECKIN_HOURS = (10, 14, 20)
_TIMES_PAYLOAD = re.compile(r"^\d{4}(-\d{4}){0,5}$")


class RemindersFeature:
    """The `Feature` (engine.py) for payloads "do:reminders:…" and the typed /water, /caffeine."""

    name = "reminders"
    commands: Mapping[str, str] = {
        "/reminders": "home",
        "/water": "water",
        "/caffeine": "caffeine",
        "/myreminders": "list",
        "my reminders": "list",
        "water reminders": "water",
        "stop water reminders": "stop:water",
        "stop reminders": "pauseall",
        "stop all reminders": "pauseall",
    }

    def __init__(self, content: Content, store: Storage) -> None:
        self.content = content
        self.texts: ReminderTexts = texts_of(content)
        self.store = store

    # -- engine protocol -------------------------------------------------------

    async def on_action(self, turn: Turn, action: str) -> list[Reply]:
        head, _, rest = action.partition(":")
        handler = {
            "home": self._home,
            "water": self._water,
            "caffeine": self._caffeine,
            "tz": self._tz,
            "tzask": self._tz_ask,
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
        if handler is None:
            return await self._home(turn, "")
        return await handler(turn, rest)

    async def on_pending(self, turn: Turn, text: str) -> list[Reply] | None:
        pending = turn.user.pending or {}
        turn.user.pending = None
        step, then = pending.get("step"), str(pending.get("then", "water"))
        if step == "tz":
            return await self._typed_zone(turn, text, then)
        if step == "water_times":
            return await self._typed_times(turn, text)
        if step == "caffeine_time":
            return await self._typed_checkin(turn, text)
        return None

    async def describe(self, user: UserState) -> dict[str, str]:
        """What "my data" shows about reminders."""
        zone = user.timezone or "Etc/UTC"
        described = {}
        for sub in await db.subscriptions(self.store, user.channel, user.user_key):
            described[f"{sub.kind} reminders"] = self._summary(sub, user.last_seen)
        day = local_day(user.last_seen, zone)
        glasses = await db.glasses(self.store, user.channel, user.user_key, day)
        caffeine = await db.caffeine_total(self.store, user.channel, user.user_key, day)
        if glasses or caffeine:
            described["today"] = f"{glasses} glass(es) of water, {caffeine} mg of caffeine"
        return described

    # -- helpers ---------------------------------------------------------------

    def _reply(self, turn: Turn, text: str, buttons: tuple[Button, ...] = ()) -> list[Reply]:
        """Every reminders reply ends with buttons, the main menu last."""
        return [Reply("reminder", text.strip(), (*buttons, turn.engine.menu_button))]

    def _what(self, sub_kind: str, schedule: Schedule) -> str:
        say = self.texts.say
        if sub_kind == "caffeine":
            return say("daily_at", time=schedule.times[0])
        if schedule.every_hours == 1:
            return say("every_hour", start=schedule.start, end=schedule.end)
        if schedule.every_hours:
            return say("every_hours", hours=schedule.every_hours, start=schedule.start, end=schedule.end)
        return say("at_times", times=", ".join(schedule.times))

    def _summary(self, sub: db.Subscription, now: datetime) -> str:
        what = self._what(sub.kind, sub.schedule)
        if not sub.active or sub.next_due_at is None:
            return self.texts.say("list_line_paused", what=what, reason=sub.paused_reason or "paused")
        return self.texts.say(
            "list_line", what=what, next=local_text(sub.next_due_at, sub.timezone, now), zone=sub.timezone
        )

    def _zone(self, turn: Turn) -> str:
        return turn.user.timezone or "Etc/UTC"

    # -- set-up ------------------------------------------------------------------

    async def _home(self, turn: Turn, _: str) -> list[Reply]:
        return [turn.engine.node_reply(turn, "reminders")]

    async def _water(self, turn: Turn, rest: str) -> list[Reply]:
        if not turn.user.timezone:
            return self._ask_zone(turn, "water")
        b, parts = self.texts.buttons, rest.split(":")
        if parts[0] == "every" and len(parts) == 2 and parts[1] in {"1", "2", "3"}:
            n = parts[1]
            starts = tuple(
                button(b.start_at.replace("{time}", f"{h}:00"), f"water:from:{n}:{h}") for h in START_HOURS
            )
            return self._reply(turn, self.texts.say("water_start"), starts)
        if parts[0] == "from" and len(parts) == 3 and parts[2].isdigit():
            n, start = parts[1], parts[2]
            ends = tuple(
                button(b.end_at.replace("{time}", f"{h}:00"), f"water:save:{n}:{start}:{h}")
                for h in END_HOURS
            )
            return self._reply(turn, self.texts.say("water_end"), ends)
        if parts[0] == "save" and len(parts) == 4 and all(p.isdigit() for p in parts[1:]):
            n, start, end = (int(p) for p in parts[1:])
            if n in {1, 2, 3} and 0 <= start < end <= 23:
                schedule = Schedule(n, f"{start:02d}:00", f"{end:02d}:00")
                return await self._save(turn, "water", schedule)
        if parts[0] == "times":
            turn.user.pending = {"feature": self.name, "step": "water_times"}
            presets = (b.times_morning, b.times_spread)
            buttons = tuple(button(p, "water:at:" + p.replace(":", "").replace(", ", "-")) for p in presets)
            return self._reply(turn, self.texts.say("water_times"), buttons)
        if parts[0] == "at" and len(parts) == 2 and _TIMES_PAYLOAD.match(parts[1]):
            times = parse_times(" ".join(f"{t[:2]}:{t[2:]}" for t in parts[1].split("-")))
            if times:
                return await self._save(turn, "water", Schedule(times=times))
        often = (
            button(b.every_1, "water:every:1"),
            button(b.every_2, "water:every:2"),
            button(b.every_3, "water:every:3"),
            button(b.fixed_times, "water:times"),
        )
        return self._reply(turn, self.texts.say("water_how_often"), often)

    async def _typed_times(self, turn: Turn, text: str) -> list[Reply] | None:
        times = parse_times(text)
        if times is None:
            if not any(ch.isdigit() for ch in text):
                return None
            turn.user.pending = {"feature": self.name, "step": "water_times"}
            return self._reply(turn, self.texts.say("water_times_bad"))
        return await self._save(turn, "water", Schedule(times=times))

    async def _caffeine(self, turn: Turn, rest: str) -> list[Reply]:
        if not turn.user.timezone:
            return self._ask_zone(turn, "caffeine")
        parts = rest.split(":")
        if parts[0] == "at" and len(parts) == 2 and _TIMES_PAYLOAD.match(parts[1]) and len(parts[1]) == 4:
            clock = parse_clock(f"{parts[1][:2]}:{parts[1][2:]}")
            if clock is not None:
                return await self._save(turn, "caffeine", Schedule(times=(clock_text(clock),)))
        turn.user.pending = {"feature": self.name, "step": "caffeine_time"}
        label = self.texts.buttons.checkin_at
        hours = tuple(
            button(label.replace("{time}", f"{h}:00"), f"caffeine:at:{h:02d}00") for h in CHECKIN_HOURS
        )
        return self._reply(turn, self.texts.say("caffeine_when", limit=self.texts.limit_mg), hours)

    async def _typed_checkin(self, turn: Turn, text: str) -> list[Reply] | None:
        times = parse_times(text)
        if times is None or len(times) != 1:
            if not any(ch.isdigit() for ch in text):
                return None
            turn.user.pending = {"feature": self.name, "step": "caffeine_time"}
            return self._reply(turn, self.texts.say("caffeine_time_bad"))
        return await self._save(turn, "caffeine", Schedule(times=times))

    async def _save(self, turn: Turn, kind: str, schedule: Schedule) -> list[Reply]:
        zone = self._zone(turn)
        user = turn.user
        due = await db.save(self.store, user.channel, user.user_key, kind, schedule, zone, turn.now)
        note = ""
        if user.channel not in DELIVERY_CHANNELS:
            note = self.texts.say("no_sender_note", channels="Telegram and WhatsApp")
        text = self.texts.say(
            "saved",
            what=self._what(kind, schedule),
            next=local_text(due, zone, turn.now),
            zone=zone,
            note=note,
        )
        extra: tuple[Button, ...] = ()
        if kind == "caffeine":
            extra = (button(self.texts.buttons.log_drink, "log"),)
        return self._reply(turn, text, (*extra, button(self.texts.buttons.my_reminders, "list")))

    # -- time zone -------------------------------------------------------------

    def _ask_zone(self, turn: Turn, then: str) -> list[Reply]:
        """WhatsApp: propose the phone number's zone. Elsewhere: ask the time, or a city."""
        turn.user.pending = {"feature": self.name, "step": "tz", "then": then}
        b = self.texts.buttons
        zones = _distinct(zones_for_phone(turn.user.user_key)) if turn.user.channel == "whatsapp" else []
        if zones:
            zone = zones[0]
            now = local_text(turn.now, zone, turn.now)
            text = self.texts.say("tz_confirm_phone", zone=zone, time=now)
            buttons = [button(b.tz_yes, f"tz:{then}:{zone}")]
            buttons += [button(_city(z), f"tz:{then}:{z}") for z in zones[1:3]]
            return self._reply(turn, text, (*buttons, button(b.tz_other, f"tzask:{then}")))
        return self._reply(turn, self.texts.say("tz_ask"), (button(b.tz_utc, f"tz:{then}:Etc/UTC"),))

    async def _tz_ask(self, turn: Turn, then: str) -> list[Reply]:
        turn.user.pending = {"feature": self.name, "step": "tz", "then": _then(then)}
        return self._reply(
            turn, self.texts.say("tz_ask"), (button(self.texts.buttons.tz_utc, f"tz:{_then(then)}:Etc/UTC"),)
        )

    async def _tz(self, turn: Turn, rest: str) -> list[Reply]:
        then, _, zone = rest.partition(":")
        if zone_named(zone) != zone and zone != "Etc/UTC":
            return await self._tz_ask(turn, then)
        turn.user.timezone = zone
        turn.user.pending = None
        return await self._continue(turn, _then(then), "")

    async def _typed_zone(self, turn: Turn, text: str, then: str) -> list[Reply] | None:
        zone = zone_named(text)
        if zone is not None:
            intro = self.texts.say("tz_confirm_named", zone=zone, time=local_text(turn.now, zone, turn.now))
            return await self._zone_set(turn, zone, intro, then)
        clock = parse_clock(text.replace(" ", "")) if len(text) < 12 else None
        if clock is not None:
            minutes = offset_from_local_time(clock, turn.now)
            zone = zone_for_offset(minutes)
            if zone is not None:
                intro = self.texts.say(
                    "tz_confirm_offset",
                    offset=offset_text(minutes),
                    zone=zone,
                    time=local_text(turn.now, zone, turn.now),
                )
                return await self._zone_set(turn, zone, intro + " " + self.texts.say("tz_dst_caveat"), then)
        if len(text.split()) > 3 and not any(ch.isdigit() for ch in text):
            return None  # a question, not an answer: let the FAQ have it
        turn.user.pending = {"feature": self.name, "step": "tz", "then": then}
        return self._reply(
            turn, self.texts.say("tz_bad"), (button(self.texts.buttons.tz_utc, f"tz:{then}:Etc/UTC"),)
        )

    async def _zone_set(self, turn: Turn, zone: str, intro: str, then: str) -> list[Reply]:
        """The zone is kept on the user; the set-up goes on with the step it interrupted."""
        turn.user.timezone = zone
        confirm = Reply("reminder", intro, (button(self.texts.buttons.tz_other, f"tzask:{then}"),))
        return [confirm, *await self._continue(turn, then, "")]

    async def _continue(self, turn: Turn, then: str, rest: str) -> list[Reply]:
        return await (self._caffeine if then == "caffeine" else self._water)(turn, rest)

    # -- my reminders ------------------------------------------------------------

    async def _list(self, turn: Turn, _: str) -> list[Reply]:
        user, b = turn.user, self.texts.buttons
        subs = await db.subscriptions(self.store, user.channel, user.user_key)
        if not subs:
            setup = (button(b.water_setup, "water"), button(b.caffeine_setup, "caffeine"))
            return self._reply(turn, self.texts.say("list_empty"), setup)
        lines = [self.texts.say("list_head"), *(self._summary(s, turn.now) for s in subs)]
        buttons: list[Button] = []
        for sub in subs:
            short = SHORT[sub.kind]
            toggle = (b.pause, "pause") if sub.active else (b.resume, "resume")
            buttons.append(button(toggle[0].replace("{what}", short), f"{toggle[1]}:{sub.kind}"))
            buttons.append(button(b.change.replace("{what}", short), f"change:{sub.kind}"))
            buttons.append(button(b.stop.replace("{what}", short), f"stop:{sub.kind}"))
        missing = [k for k in ("water", "caffeine") if k not in {s.kind for s in subs}]
        buttons += [button(b.water_setup if k == "water" else b.caffeine_setup, k) for k in missing]
        buttons.append(button(b.stop_all, "stopall"))
        return self._reply(turn, "\n".join(lines), tuple(buttons))

    async def _find(self, turn: Turn, kind: str) -> db.Subscription | None:
        if kind not in db.KINDS:
            return None
        return await db.subscription(self.store, turn.user.channel, turn.user.user_key, kind)

    async def _pause(self, turn: Turn, kind: str) -> list[Reply]:
        sub = await self._find(turn, kind)
        if sub is None:
            return await self._gone(turn)
        await db.set_active(self.store, sub, False, "paused by you", turn.now)
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
            "resumed", what=self._what(sub.kind, sub.schedule), next=local_text(due, sub.timezone, turn.now)
        )
        return self._reply(turn, text, (button(self.texts.buttons.my_reminders, "list"),))

    async def _change(self, turn: Turn, kind: str) -> list[Reply]:
        if kind not in db.KINDS:
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
        b = self.texts.buttons
        return self._reply(
            turn,
            self.texts.say("stopped_all"),
            (button(b.water_setup, "water"), button(b.caffeine_setup, "caffeine")),
        )

    async def _pause_all(self, turn: Turn, _: str) -> list[Reply]:
        """Typed "stop reminders" is the engine's STOP: everything paused, settings kept for START."""
        return await turn.engine.on_payload(turn, "do:stop")

    async def _gone(self, turn: Turn) -> list[Reply]:
        replies = await self._list(turn, "")
        first = replies[0]
        return [Reply(first.kind, self.texts.say("nothing_to_change") + "\n\n" + first.text, first.buttons)]

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
            return self._reply(turn, self.texts.say("snooze_none"), (button(b.water_setup, "water"),))
        later = snooze_until(sub.schedule, sub.timezone, turn.now)
        regular = next_due(sub.schedule, sub.timezone, turn.now)
        if later is None or later >= regular:
            await db.set_due(self.store, sub.id, regular, turn.now)
            text = self.texts.say("snooze_quiet", time=local_text(regular, sub.timezone, turn.now))
        else:
            await db.set_due(self.store, sub.id, later, turn.now)
            text = self.texts.say("snoozed", time=local_text(later, sub.timezone, turn.now))
        return self._reply(turn, text, water_buttons(self.texts)[2:])

    async def _log(self, turn: Turn, drink: str) -> list[Reply]:
        texts, user = self.texts, turn.user
        if drink not in texts.drinks:
            return self._reply(turn, texts.say("log_which"), drink_buttons(texts))
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


def _then(value: str) -> str:
    return "caffeine" if value == "caffeine" else "water"


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
