"""The shape of flows/diary.yaml: every word the diary says, and the words it understands.

Validated with the rest of the content at start, so a missing sentence or a label too
long for WhatsApp stops the bot before anyone sees it.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from messenger_bot import placeholders
from messenger_bot.content.schema import LABEL_LIMIT, TEXT_LIMIT

Label = Annotated[str, Field(min_length=1, max_length=LABEL_LIMIT)]
Sentence = Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT)]

#: The options of each step, by the key stored in the diary (and sent in payloads).
OPTIONS: dict[str, frozenset[str]] = {
    "lips": frozenset({"upper", "lower", "both"}),
    "sides": frozenset({"one", "both"}),
    "durations": frozenset({"seconds", "minutes", "longer"}),
    "triggers": frozenset({"coffee", "alcohol", "sleep", "stress", "medicine"}),
    "tried": frozenset({"caffeine", "water", "sleep", "potassium", "calm", "pressure"}),
    "answers": frozenset({"better", "same", "worse", "new"}),
    "delays": frozenset({"3", "7", "14"}),
}
SENTENCES: dict[str, frozenset[str]] = {
    "ask_lip": frozenset(),
    "ask_lip_count": frozenset({"count"}),
    "ask_side": frozenset(),
    "ask_duration": frozenset(),
    "ask_triggers": frozenset(),
    "trigger_added": frozenset({"triggers"}),
    "logged": frozenset({"week"}),
    "ask_tried": frozenset(),
    "tried_added": frozenset({"tried"}),
    "tried_done": frozenset(),
    "entry_gone": frozenset(),
    "follow_up_offer": frozenset(),
    "follow_up_set": frozenset({"when", "zone", "note"}),
    "follow_up_zone": frozenset(),
    "follow_up_zone_bad": frozenset(),
    "no_sender_note": frozenset(),
    "follow_up_cancelled": frozenset(),
    "follow_up_question": frozenset(),
    "answer_better": frozenset(),
    "answer_same": frozenset(),
    "answer_worse": frozenset(),
    "answer_new": frozenset(),
    "new_noted": frozenset(),
    "ask_again": frozenset(),
    "summary_empty": frozenset(),
    "my_week_empty": frozenset(),
    "my_week": frozenset({"glasses", "caffeine"}),
    "files_ready": frozenset(),
}


#: What a typed diary command may do (its buttons' actions): the summary, logging a twitch,
#: the week's chart and a later check-in.
COMMAND_ACTIONS = frozenset({"summary", "log", "week", "followup"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Choice(_Strict):
    label: Label
    words: tuple[str, ...] = Field(min_length=1)


class Waking(_Strict):
    start: int = Field(ge=0, le=23)
    end: int = Field(ge=1, le=23)


class DiaryButtons(_Strict):
    log: Label
    skip: Label
    done: Label
    summary: Label
    follow_up: Label
    tried: Label
    my_week: Label
    ask_again: Label
    no_thanks: Label
    zone_utc: Label


class SummaryTexts(_Strict):
    """The summary's lines (chat and PDF) and the chart's labels; each placeholder is checked."""

    title: str
    intro: str
    period: str
    first_logged: str
    total: str
    per_week: str
    week_item: str
    lips: str
    sides: str
    durations: str
    triggers: str
    no_triggers: str
    caffeine: str
    no_caffeine: str
    water: str
    no_water: str
    tried: str
    no_tried: str
    followups: str
    followup_item: str
    disclaimer: str
    chart_title: str
    chart_twitches: str
    chart_caffeine: str
    chart_limit: str
    week_title: str
    week_water: str
    pdf_file: str
    chart_file: str
    week_file: str

    def say(self, key: str, **values: object) -> str:
        text: str = getattr(self, key)
        for name, value in values.items():
            text = text.replace("{" + name + "}", str(value))
        return text


class DiaryDates(_Strict):
    """Dates in the language's own words, the same on every phone whatever its settings."""

    #: Monday first, as Python counts them.
    weekdays: tuple[str, str, str, str, str, str, str]
    months: tuple[str, str, str, str, str, str, str, str, str, str, str, str]
    #: A day, e.g. "{day} {month} {year}"; `short` leaves the year out (the chart's ticks).
    day: str
    short: str
    #: When a check-in comes: "{weekday} {date}, {time}".
    check_in: str

    def day_text(self, value: date | str) -> str:
        day = date.fromisoformat(value) if isinstance(value, str) else value
        return self._fill(self.day, day)

    def short_text(self, day: date) -> str:
        return self._fill(self.short, day)

    def check_in_text(self, when: datetime) -> str:
        return placeholders.fill(
            self.check_in,
            weekday=self.weekdays[when.weekday()],
            date=self.day_text(when.date()),
            time=when.strftime("%H:%M"),
        )

    def _fill(self, pattern: str, day: date) -> str:
        return placeholders.fill(pattern, day=day.day, month=self.months[day.month - 1], year=day.year)


class DiaryTexts(_Strict):
    """flows/diary.yaml."""

    log_words: tuple[str, ...] = Field(min_length=1)
    log_cues: tuple[str, ...] = Field(min_length=1)
    log_max_words: int = Field(8, ge=3, le=30)
    question_words: tuple[str, ...]
    #: Words that make a message a request for help wherever they stand ("tips to calm it tonight").
    request_words: tuple[str, ...] = ()
    numbers: dict[str, int]
    #: The word after a count ("3 times", "3 veces"); a number word alone in `numbers` may be a
    #: count by itself ("once", "twice").
    times: tuple[str, ...] = Field(min_length=1)
    counts_alone: tuple[str, ...] = ()
    lips: dict[str, Choice]
    sides: dict[str, Choice]
    durations: dict[str, Choice]
    triggers: dict[str, Choice]
    tried: dict[str, Choice]
    answers: dict[str, Choice]
    delays: dict[str, Choice]
    followup_hour: int = Field(ge=0, le=23)
    waking: Waking
    buttons: DiaryButtons
    sentences: dict[str, Sentence]
    summary: SummaryTexts
    dates: DiaryDates
    #: Typed commands, whole messages only: what a user types -> what the diary does.
    commands: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> DiaryTexts:
        problems = []
        unknown = sorted({a for a in self.commands.values() if a not in COMMAND_ACTIONS})
        if unknown:
            allowed = ", ".join(sorted(COMMAND_ACTIONS))
            problems.append(f"commands: {', '.join(unknown)} is not one of {allowed}")
        for field, keys in OPTIONS.items():
            if set(getattr(self, field)) != keys:
                problems.append(f"{field}: must be exactly {', '.join(sorted(keys))}")
        missing = sorted(set(SENTENCES) - set(self.sentences))
        if missing:
            problems.append(f"sentences: missing {', '.join(missing)}")
        for key, text in self.sentences.items():
            found = placeholders.problem(key, text, SENTENCES.get(key, frozenset()))
            if found:
                problems.append(found)
        if not self.waking.start <= self.followup_hour < self.waking.end:
            problems.append("followup_hour: must fall inside the waking hours")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def say(self, key: str, **values: object) -> str:
        """A sentence with its placeholders filled (plain replace: user text never reaches format())."""
        return placeholders.fill(self.sentences[key].strip(), **values)

    def label(self, field: str, key: str) -> str:
        choices: dict[str, Choice] = getattr(self, field)
        return choices[key].label
