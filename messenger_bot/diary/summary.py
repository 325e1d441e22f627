"""The figures of a summary for the doctor, and its text.

Everything comes from the diary and the reminders' records (caffeine and water logs),
counted per day in the user's own zone. The same `Figures` feed the chat text, the
chart and the PDF, so the three always agree.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from messenger_bot.diary import store as db
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.reminders.schedule import local_day
from messenger_bot.storage import Storage

#: The chart and the weekly counts look back this far.
CHART_DAYS = 28
WEEKS = 4
#: The caffeine limit the reminders use; the summary compares against the same number.
DEFAULT_LIMIT = 400


@dataclass
class Figures:
    """A user's diary, counted. Days are ISO dates (YYYY-MM-DD) in the user's zone."""

    today: date
    twitches: dict[str, int] = field(default_factory=dict)
    lips: Counter[str] = field(default_factory=Counter)
    sides: Counter[str] = field(default_factory=Counter)
    durations: Counter[str] = field(default_factory=Counter)
    triggers: Counter[str] = field(default_factory=Counter)
    tried: Counter[str] = field(default_factory=Counter)
    answers: list[tuple[str, str]] = field(default_factory=list)
    caffeine: dict[str, int] = field(default_factory=dict)
    water: dict[str, int] = field(default_factory=dict)
    limit: int = DEFAULT_LIMIT

    @property
    def empty(self) -> bool:
        return not (self.twitches or self.tried or self.answers)

    @property
    def first(self) -> date | None:
        return date.fromisoformat(min(self.twitches)) if self.twitches else None

    def days(self, count: int) -> list[date]:
        """The last `count` days, oldest first, ending today."""
        return [self.today - timedelta(days=n) for n in range(count - 1, -1, -1)]

    def weeks(self) -> list[tuple[date, int]]:
        """Twitches in each of the last weeks (7-day blocks ending today), oldest first, since the first."""
        first = self.first or self.today
        found = []
        for n in range(WEEKS - 1, -1, -1):
            start = self.today - timedelta(days=7 * n + 6)
            if start + timedelta(days=6) < first:
                continue
            days = [(start + timedelta(days=d)).isoformat() for d in range(7)]
            found.append((start, sum(self.twitches.get(d, 0) for d in days)))
        return found


async def gather(
    store: Storage, channel: str, user_key: str, zone: str, now: datetime, limit: int
) -> Figures:
    """Read what the diary and the reminders keep about the user, once."""
    today = date.fromisoformat(local_day(now, zone))
    figures = Figures(today=today, limit=limit)
    since = (today - timedelta(days=CHART_DAYS - 1)).isoformat()
    for entry in await db.entries(store, channel, user_key):
        if entry.kind == db.TWITCH:
            figures.twitches[entry.day] = figures.twitches.get(entry.day, 0) + entry.count
            for value, counter in (
                (entry.lip, figures.lips),
                (entry.side, figures.sides),
                (entry.duration, figures.durations),
            ):
                if value:
                    counter[value] += 1
            figures.triggers.update(entry.tags)
        elif entry.kind == db.TRIED:
            figures.tried.update(entry.tags)
        elif entry.kind == db.ANSWER and entry.tags:
            figures.answers.append((entry.day, entry.tags[0]))
    figures.caffeine = await db.caffeine_by_day(store, channel, user_key, since)
    figures.water = await db.water_by_day(store, channel, user_key, since)
    return figures


def lines(figures: Figures, texts: DiaryTexts) -> list[str]:
    """The summary, one line per fact, in the order a doctor asks; the disclaimer last."""
    s, day_text = texts.summary, texts.dates.day_text
    out = [s.title]
    first = figures.first
    if first is not None:
        total = sum(figures.twitches.values())
        out.append(s.say("first_logged", date=day_text(first)))
        out.append(s.say("total", count=total, days=len(figures.twitches)))
        weeks = ", ".join(s.say("week_item", count=n, date=day_text(d)) for d, n in figures.weeks())
        out.append(s.say("per_week", weeks=weeks))
        for field_name, counter in (
            ("lips", figures.lips),
            ("sides", figures.sides),
            ("durations", figures.durations),
        ):
            if counter:
                out.append(s.say(field_name, items=_items(texts, field_name, counter)))
    if figures.triggers:
        out.append(s.say("triggers", items=_items(texts, "triggers", figures.triggers)))
    else:
        out.append(s.no_triggers)
    out.append(_caffeine_line(figures, texts))
    out.append(_water_line(figures, texts))
    out.append(s.say("tried", items=_items(texts, "tried", figures.tried)) if figures.tried else s.no_tried)
    if figures.answers:
        items = ", ".join(
            s.say("followup_item", answer=texts.label("answers", a), date=day_text(d))
            for d, a in figures.answers
        )
        out.append(s.say("followups", items=items))
    out.append(s.disclaimer)
    return out


def chat_text(figures: Figures, texts: DiaryTexts) -> str:
    found = lines(figures, texts)
    title, body, disclaimer = found[0], found[1:-1], found[-1]
    return "\n".join([f"*{title}*", *(f"• {line}" for line in body), "", f"_{disclaimer}_"])


def _items(texts: DiaryTexts, field_name: str, counter: Counter[str]) -> str:
    return ", ".join(f"{texts.label(field_name, key)} {n}" for key, n in counter.most_common())


def _caffeine_line(figures: Figures, texts: DiaryTexts) -> str:
    s = texts.summary
    if not figures.caffeine:
        return s.no_caffeine
    days = len(figures.caffeine)
    mg = round(sum(figures.caffeine.values()) / days)
    over = sum(1 for v in figures.caffeine.values() if v > figures.limit)
    return s.say("caffeine", mg=mg, days=days, limit=figures.limit, over=over)


def _water_line(figures: Figures, texts: DiaryTexts) -> str:
    s = texts.summary
    if not figures.water:
        return s.no_water
    days = len(figures.water)
    glasses = round(sum(figures.water.values()) / days, 1)
    return s.say("water", glasses=f"{glasses:g}", days=days)
