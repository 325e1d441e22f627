"""Typed button payloads: what a button carries is read back as it was written, and a stale or
forged one is recognised as not ours instead of half-read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import pytest

from messenger_bot.admin.feedback import Vote
from messenger_bot.diary.payloads import FollowUp, Step, Tried, Zone
from messenger_bot.payloads import LIMIT, Payload, PayloadError


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
