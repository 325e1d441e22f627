"""Red flags as people write them, through `messenger-bot chat --json` like any other client.

What a user notices is whether the reply is an emergency alert (kind "alert") or not.
"""

from __future__ import annotations

import pytest

from tests.support.chat import ChatProcess

ALERTS = [
    "no fever, but my leg suddenly feels heavy and useless",  # a negation ends with its clause
    "is it a stroke if my face is drooping right now?",  # a question that describes a sign now
    "my mum's face dropped on one side",  # a second-hand report
    "my arm is weaak and my speech is sluured",  # doubled and missing letters
    "i feel really dizzy all of a sudden and cant walk straight",  # balance
    "it's like a curtain came down over my left eye",  # part of the field gone
    "when i smile only the left side moves",  # facial weakness without "droop"
    "my head is killing me out of nowhere",  # head pain in lay words
    "i think i'm having a TIA",  # named outright
    "he swallowed a whole pack of tablets",  # overdose
    "it's like a bomb went off in my head",  # sudden head pain as a simile of a blast
    "the pain at the back of my skull is excruciating",  # head pain past anything ordinary
    "my mum keeps using the wrong words for things",  # wrong words
    "i know what i want to say but i cant get it out",  # words that will not come out
    "my dad is talking but none of it makes sense",  # talk that makes no sense
    "his arm won't stay up",  # the A of FAST in lay words
    "my dads face is wonky",  # second-hand, no apostrophe
    "i think it's a stroke",  # named outright, nothing else
]
CALM = [
    "how can I tell a stroke from Bell's palsy?",  # a question about a sign
    "my dad had a stroke in 2015",  # long past
    "I'm dying to know what causes this",  # an idiom
    "speech fine, no weakness, just the twitch",  # a whole negated statement
    "my lip is numb after the dentist's injection",  # expected numbness
    "should I worry about seizures if my lip twitches",  # a question about a sign, with a condition
    "is it facial palsy",  # a condition named in a question
    "I have facial palsy and my lip twitches",  # a condition someone lives with
    "the words just won't come out when I'm anxious at work",  # always so in one kind of moment
]


def _kinds(chat: ChatProcess, message: str) -> list[str]:
    return [reply["kind"] for reply in chat.send({"text": message})["replies"]]


def test_red_flags_as_people_write_them_alert(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "triage-alerts") as chat:
        missed = [m for m in ALERTS if "alert" not in _kinds(chat, m)]
    assert not missed


def test_calm_messages_with_alarming_words_get_no_alert(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "triage-calm") as chat:
        alarmed = [m for m in CALM if "alert" in _kinds(chat, m)]
    assert not alarmed


def test_a_question_about_a_sign_covers_that_sign_only(bot_env: dict[str, str]) -> None:
    """ "Should I worry about X if ..." asks about X; a sign after the "if" is still a sign."""
    with ChatProcess(bot_env, "--user", "triage-within") as chat:
        assert "alert" not in _kinds(chat, "should I worry about a stroke if my lip twitches a lot")
        assert "alert" not in _kinds(chat, "should I worry about seizures if my lip keeps twitching")
        assert "alert" in _kinds(chat, "should I worry about a stroke if my face is drooping")


@pytest.mark.parametrize(("calm", "then"), [
    ("years ago I had a seizure", "now she is having a seizure again"),
    ("what are the warning signs of a stroke?", "my dad's face is drooping and he can't talk"),
])
def test_a_calm_message_does_not_mute_the_next_red_flag(bot_env: dict[str, str], calm: str,
                                                        then: str) -> None:
    with ChatProcess(bot_env, "--user", "triage-sequence") as chat:
        assert "alert" not in _kinds(chat, calm)
        assert "alert" in _kinds(chat, then)


def test_a_long_message_is_read_to_its_last_word(bot_env: dict[str, str]) -> None:
    filler = "my lip has been twitching on and off and I have been drinking lots of coffee. " * 120
    with ChatProcess(bot_env, "--user", "triage-long") as chat:
        assert "alert" in _kinds(chat, filler + "Now the left side of my face is drooping")
        assert "alert" not in _kinds(chat, filler)


THIRD_PASS_ALERTS = [
    "one side of my face has slipped",  # the face first, the verb after it
    "half her face sank just now",
    "sudenly cant speek properly",  # a vowel slipped and a letter lost in short key words
    "i cant spek and my amr is weak",
    "she keeps asking the same question over and over and seems lost",  # confusion told by behaviour
    "my grandad is not himself, he doesnt know whats going on",
    "my chest feels like an elephant is sitting on it",  # chest pain by a simile
    "pain going down my left arm with chest pain",
    "i think i'm having a heart attack",  # named outright
    "I think I had a mini stroke just now",  # "now" in the same clause
    "she had a stroke and now can't talk",  # a past stroke, a present sign in the next clause
]
THIRD_PASS_CALM = [
    "my grandma had a mini stroke last year and now my lip twitches, am i at risk?",
    "my dad had a heart attack ten years ago and now my lip twitches, is it genetic?",
    "i keep asking myself the same question: why does my lip twitch?",
    "she seems lost in thought lately and my lip twitches",
]


def test_the_third_pass_kinds_alert(bot_env: dict[str, str]) -> None:
    """Each kind the second lead set missed, in several wordings, is an alert a user sees."""
    with ChatProcess(bot_env, "--user", "triage-third") as chat:
        missed = [m for m in THIRD_PASS_ALERTS if "alert" not in _kinds(chat, m)]
    assert not missed


def test_a_past_event_does_not_borrow_the_next_clauses_now(bot_env: dict[str, str]) -> None:
    """ "... last year and now my lip twitches": the "now" is the twitch's, not the mini stroke's."""
    with ChatProcess(bot_env, "--user", "triage-third-calm") as chat:
        alarmed = [m for m in THIRD_PASS_CALM if "alert" in _kinds(chat, m)]
    assert not alarmed
