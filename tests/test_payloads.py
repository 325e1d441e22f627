"""Typed button payloads: what a button carries is read back as it was written, and a stale or
forged one is recognised as not ours instead of half-read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from messenger_bot.admin.feedback import Vote
from messenger_bot.diary.payloads import FollowUp, Step, Tried, Zone
from messenger_bot.payloads import LIMIT, Payload, PayloadError
from messenger_bot.reminders.payloads import AskZone, At, Every, From, Save, Setup, Times
from messenger_bot.reminders.payloads import Zone as TimeZone


def test_a_payload_reads_back_as_it_was_written() -> None:
    for payload in (Step("lip", 12, "upper"), Tried(), Tried(7, "done"), FollowUp("no"), Zone(7, "utc"),
                    Vote("down", "caffeine")):
        assert type(payload).parse(payload.format()) == payload


def test_the_buttons_people_already_have_keep_their_text() -> None:
    """A trailing default is left off: buttons sent before keep working, and stay short."""
    assert FollowUp().format() == "do:diary:followup" and Tried().format() == "do:diary:tried"
    assert Zone(7, "utc").format() == "do:diary:zone:7:utc"
    assert Vote("up", "caffeine").format() == "do:feedback:up:caffeine"


@pytest.mark.parametrize("forged", [
    "do:diary:lip:twelve:upper", "do:diary:lip:12:upper:extra", "do:diary:ear:12:upper", "do:diary:lip",
    "do:diary:lip:-3:upper", "do:diary:lip:١٢:upper", "do:diary", "do:diaryx:lip:1:upper",
])
def test_a_forged_or_stale_step_is_not_read(forged: str) -> None:
    assert Step.parse(forged) is None


def test_a_vote_needs_a_direction_and_a_topic() -> None:
    assert Vote.parse("do:feedback:sideways:caffeine") is None
    assert Vote.parse("do:feedback:") is None and Vote.parse("do:feedback:up") is None


@dataclass(frozen=True)
class _Note(Payload):
    prefix: ClassVar[str] = "do:notes"
    text: str


def test_a_payload_longer_than_telegram_carries_is_refused_where_it_is_made() -> None:
    assert len(_Note("x" * (LIMIT - len("do:notes:"))).format().encode()) == LIMIT
    with pytest.raises(PayloadError):
        _Note("x" * (LIMIT - len("do:notes:") + 1)).format()
    with pytest.raises(PayloadError):
        _Note("é" * 30).format()  # bytes, not characters
    with pytest.raises(PayloadError):
        _Note("a:b").format()  # it would read back as two fields


@pytest.mark.parametrize(("sent", "read"), [
    ("do:reminders:tz:water:Europe/London", TimeZone("water", "Europe/London")),
    ("do:reminders:tz:caffeine:America/Argentina/Buenos_Aires",
     TimeZone("caffeine", "America/Argentina/Buenos_Aires")),
    ("do:reminders:tzask:water", AskZone("water")),
    ("do:reminders:water", Setup("water")),
    ("do:reminders:water:every:2", Setup("water", "every:2")),
    ("do:reminders:water:from:90m:8", Setup("water", "from:90m:8")),
    ("do:reminders:water:save:2:0830:22", Setup("water", "save:2:0830:22")),
    ("do:reminders:water:at:0800-1200-1600", Setup("water", "at:0800-1200-1600")),
    ("do:reminders:caffeine:at:1400", Setup("caffeine", "at:1400")),
    ("every:90m", Every("90m")), ("from:2:0830", From("2", "0830")), ("save:2:8:20", Save("2", "8", "20")),
    ("times", Times()), ("at:0800-1200-1600", At("0800-1200-1600")),  # a set-up's step, read by its kind
])
def test_a_reminders_button_already_in_a_chat_reads_as_before_and_is_written_the_same(
    sent: str, read: Payload,
) -> None:
    """Buttons sent before the payloads were typed still work when tapped, and the bot's new
    buttons carry the very same text."""
    assert type(read).parse(sent) == read
    assert read.format() == sent


def test_a_zone_button_keeps_its_kind_apart_and_an_unknown_kind_is_no_set_up() -> None:
    assert TimeZone.parse("do:reminders:tz:water:Not:A/Zone") == TimeZone("water", "Not:A/Zone")  # re-asked
    assert TimeZone.parse("do:reminders:tzask:water") is None
    assert AskZone.parse("do:reminders:tz:water:UTC") is None
    assert Setup.parse("do:reminders:tea:at:1000") is None and Setup.parse("do:reminders:") is None


def test_only_a_last_rest_field_may_hold_the_separator() -> None:
    assert Setup.parse("do:reminders:water:a:b:c") == Setup("water", "a:b:c")
    with pytest.raises(PayloadError):
        TimeZone("wa:ter", "Europe/London").format()  # it would read back as "wa" and "ter:Europe/London"
    with pytest.raises(PayloadError):
        Setup("water", "at:" + "0" * LIMIT).format()
