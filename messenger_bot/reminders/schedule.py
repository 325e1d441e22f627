"""When a reminder is due: schedules, time zones and the waking window.

Every time is computed with APScheduler's own triggers built with the user's zone given
explicitly (a CronTrigger without `timezone` silently uses the machine's zone), so a
09:00 reminder stays at 09:00 local across daylight-saving changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from phonenumbers import timezone as phone_zones

from messenger_bot import placeholders
from messenger_bot.reminders.texts import DayWords
from messenger_bot.text import normalise

#: A reminder later than this (the bot was down) is skipped to its next time, not sent stale.
LATE_AFTER = timedelta(hours=1)
SNOOZE = timedelta(minutes=30)
MAX_TIMES = 6
_CLOCK = re.compile(r"^\s*(\d{1,2})(?:[:.h](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Schedule:
    """A subscription's spec: every N hours (or `every_minutes`) in a window, or fixed times of day."""

    every_hours: int | None = None
    start: str | None = None
    end: str | None = None
    times: tuple[str, ...] = ()
    #: An interval that is not whole hours ("every 90 minutes"); whole hours stay in every_hours.
    every_minutes: int | None = None

    @classmethod
    def every(cls, minutes: int, start: str, end: str) -> Schedule:
        """The one way to build an interval schedule, so equal schedules have equal specs."""
        if minutes % 60 == 0:
            return cls(minutes // 60, start, end)
        return cls(None, start, end, every_minutes=minutes)

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Schedule:
        if spec.get("every_minutes"):
            return cls.every(int(spec["every_minutes"]), spec["start"], spec["end"])
        if spec.get("every_hours"):
            return cls(int(spec["every_hours"]), spec["start"], spec["end"])
        return cls(times=tuple(spec["times"]))

    def spec(self) -> dict[str, Any]:
        if self.every_minutes:
            return {"every_minutes": self.every_minutes, "start": self.start, "end": self.end}
        if self.every_hours:
            return {"every_hours": self.every_hours, "start": self.start, "end": self.end}
        return {"times": list(self.times)}

    @property
    def step(self) -> int | None:
        """The interval in minutes, or None for fixed times."""
        return self.every_minutes or (self.every_hours * 60 if self.every_hours else None)

    def window(self) -> tuple[time, time]:
        """The waking window: nothing is sent outside it. Fixed times get until an hour after the last."""
        if self.step:
            return parse_clock(self.start or ""), parse_clock(self.end or "")  # type: ignore[return-value]
        clocks = sorted(parse_clock(t) for t in self.times)  # type: ignore[type-var]
        last = datetime.combine(datetime(2000, 1, 1), clocks[-1]) + LATE_AFTER  # type: ignore[arg-type]
        return clocks[0], (last.time() if last.day == 1 else time(23, 59))  # type: ignore[return-value]

    def clocks(self) -> list[time]:
        """Every time of day it fires: fixed times, or start, start + step, … up to the end."""
        if not self.step:
            return [c for c in map(parse_clock, self.times) if c is not None]
        start, end = self.window()
        first, last = start.hour * 60 + start.minute, end.hour * 60 + end.minute
        return [time(m // 60, m % 60) for m in range(first, last + 1, self.step)]

    def trigger(self, zone: str) -> BaseTrigger:
        """One CronTrigger per distinct minute past the hour ("every 90 minutes" from 7: :00 and :30)."""
        tz = ZoneInfo(zone)
        hours: dict[int, list[int]] = {}
        for clock in self.clocks():
            hours.setdefault(clock.minute, []).append(clock.hour)
        crons = [
            CronTrigger(hour=",".join(map(str, hs)), minute=minute, timezone=tz)
            for minute, hs in hours.items()
        ]
        return crons[0] if len(crons) == 1 else OrTrigger(crons)


@lru_cache(maxsize=4096)
def _trigger(schedule: Schedule, zone: str) -> BaseTrigger:
    """Triggers are pure; a few distinct schedules serve a million subscribers."""
    return schedule.trigger(zone)


@lru_cache(maxsize=4096)
def schedule_of(spec: str) -> Schedule:
    """A stored spec (JSON) as a Schedule, parsed once per distinct spec."""
    return Schedule.from_spec(json.loads(spec))


def next_due(schedule: Schedule, zone: str, after: datetime) -> datetime:
    """The first fire time strictly after `after`, in UTC."""
    fire = _trigger(schedule, zone).get_next_fire_time(None, after + timedelta(seconds=1))
    assert fire is not None  # a daily schedule always has a next time
    return fire.astimezone(UTC)


def in_window(schedule: Schedule, zone: str, at: datetime) -> bool:
    """Is `at` inside the waking window in the user's own zone (to the minute, ends included)?"""
    start, end = schedule.window()
    local = at.astimezone(ZoneInfo(zone)).time().replace(second=0, microsecond=0)
    return start <= local <= end


def snooze_until(schedule: Schedule, zone: str, now: datetime) -> datetime | None:
    """Now plus 30 minutes, or None when that falls outside the waking window."""
    later = now + SNOOZE
    return later if in_window(schedule, zone, later) else None


def parse_clock(text: str) -> time | None:
    """'9', '9pm', '21:30', '9.30 am', '21h30' -> a time of day; None when it isn't one."""
    match = _CLOCK.match(text)
    if not match:
        return None
    hour, minute, half = int(match.group(1)), int(match.group(2) or 0), (match.group(3) or "").lower()
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half.startswith("p") else 0)
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_times(text: str) -> tuple[str, ...] | None:
    """'9:00, 13:00 and 18:30' -> ('09:00', '13:00', '18:30'), sorted, or None."""
    parts = [p for p in re.split(r"\s*(?:,|;|\band\b|&|\s)\s*", text.strip()) if p]
    merged: list[str] = []
    for part in parts:  # "9 pm" arrives as two parts
        if merged and part.lower() in {"am", "pm", "a.m.", "p.m."}:
            merged[-1] += part
        else:
            merged.append(part)
    clocks = [parse_clock(p) for p in merged]
    if not clocks or None in clocks or len(clocks) > MAX_TIMES:
        return None
    return tuple(sorted({clock_text(c) for c in clocks}))  # type: ignore[arg-type]


def clock_text(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def local_text(at: datetime, zone: str, now: datetime | None, days: DayWords) -> str:
    """'14:00' today, 'tomorrow 09:00', or 'Tue 09:00', in the user's zone; the words around the
    clock come from the content (flows/reminders.yaml `days`)."""
    tz = ZoneInfo(zone)
    local = at.astimezone(tz)
    today = (now or datetime.now(UTC)).astimezone(tz).date()
    clock = clock_text(local.time())
    if local.date() == today:
        return clock
    if local.date() == today + timedelta(days=1):
        return placeholders.fill(days.tomorrow, time=clock)
    return placeholders.fill(days.other_day, day=days.weekdays[local.weekday()], time=clock)


def local_day(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).date().isoformat()


# -- time zones ---------------------------------------------------------------

#: Representative zones for offsets that are not whole hours (minutes east of UTC).
_ODD_OFFSETS = {
    -570: "Pacific/Marquesas",
    -210: "America/St_Johns",
    210: "Asia/Tehran",
    270: "Asia/Kabul",
    330: "Asia/Kolkata",
    345: "Asia/Kathmandu",
    390: "Asia/Yangon",
    525: "Australia/Eucla",
    570: "Australia/Darwin",
    630: "Australia/Lord_Howe",
    765: "Pacific/Chatham",
}


def zone_for_offset(minutes: int) -> str | None:
    """A zone with this UTC offset: Etc/GMT±N for whole hours (its sign is inverted by POSIX)."""
    if minutes % 60 == 0 and -12 * 60 <= minutes <= 14 * 60:
        hours = minutes // 60
        return "Etc/UTC" if hours == 0 else f"Etc/GMT{-hours:+d}"
    return _ODD_OFFSETS.get(minutes)


def offset_from_local_time(local: time, now: datetime) -> int:
    """The real UTC offset (minutes) that makes `now` read about `local`.

    People round the time they type, so a whole-hour offset within 20 minutes wins; the
    half- and quarter-hour zones (India, Nepal, …) need a closer match.
    """
    utc = now.astimezone(UTC)
    delta = (local.hour * 60 + local.minute) - (utc.hour * 60 + utc.minute)
    delta = (delta + 12 * 60) % (24 * 60) - 12 * 60  # -12h..+12h
    if delta <= -11 * 60 - 30:  # read as +12/+13 (New Zealand, Tonga) rather than an empty ocean
        delta += 24 * 60
    whole = round(delta / 60) * 60
    if abs(whole - delta) <= 20:
        return whole
    odd = min(_ODD_OFFSETS, key=lambda m: abs(m - delta))
    return odd if abs(odd - delta) <= 15 else whole


def offset_text(minutes: int) -> str:
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours}" + (f":{mins:02d}" if mins else "")


def zone_named(text: str, places: Mapping[str, str] | None = None) -> str | None:
    """An IANA name or a city typed in any case ('new york' -> America/New_York), or one of
    `places`, the city names of the user's language ('nueva york', 'sao paulo')."""
    place = (places or {}).get(" ".join(normalise(text).split()))
    if place:
        return place
    names = _zones_by_name()
    exact = names.get(text.strip().lower())  # America/Port-au-Prince keeps its dashes
    return exact or names.get(re.sub(r"[\s-]+", "_", text.strip()).lower())


@lru_cache(maxsize=1)
def _zones_by_name() -> dict[str, str]:
    names: dict[str, str] = {}
    for zone in sorted(available_timezones()):
        if zone.startswith(("Etc/", "SystemV/", "posix/", "right/")) or "/" not in zone:
            continue
        names.setdefault(zone.rsplit("/", 1)[-1].lower(), zone)
    for zone in available_timezones():
        names[zone.lower()] = zone
    names.update(
        {
            "utc": "Etc/UTC",
            "gmt": "Etc/UTC",
            "uk": "Europe/London",
            "new_york_city": "America/New_York",
            "nyc": "America/New_York",
            "la": "America/Los_Angeles",
            "delhi": "Asia/Kolkata",
            "mumbai": "Asia/Kolkata",
            "beijing": "Asia/Shanghai",
        }
    )
    return names


def valid_zone(zone: str) -> bool:
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zones_for_phone(user_key: str) -> list[str]:
    """Time zones of a WhatsApp number ("whatsapp:+E164"), from phonenumbers; [] when unknown."""
    try:
        number = phonenumbers.parse(user_key.removeprefix("whatsapp:"), None)
    except phonenumbers.NumberParseException:
        return []
    zones = [z for z in phone_zones.time_zones_for_number(number) if valid_zone(z)]
    return [] if zones == [phone_zones.UNKNOWN_TIMEZONE] else zones
