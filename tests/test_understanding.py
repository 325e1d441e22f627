"""Understanding people as they write: small talk, feelings, persistence, typed questions.

Everything goes through `messenger-bot chat --json`, the way a channel drives the bot,
and asserts what a user would see: the kind of answer, its topic and its buttons.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from messenger_bot.content import Content
from messenger_bot.wiring import check_content
from tests.conftest import FLOWS
from tests.support.chat import ChatProcess

GREETINGS = [
    "hi", "hello", "hey there", "good morning", "hiya", "yo", "hellooo", "hi bot", "Hey!!", "Good evening :)",
    "hi, how are you?", "hello, anyone there?", "helo",
]
THANKS_AND_GOODBYES = [
    "thanks", "thank you so much!", "thx", "thnks", "cheers", "bye", "good night", "ok thanks", "thanks, bye",
]
DISTRESS = [
    "am I dying", "I'm scared", "im so worried", "help me", "should I go to A&E",
    "should I go to the ER", "is this an emergency", "I’m really frightened",
]
PERSISTENCE = [
    "it's been twitching for 2 weeks", "since last month", "a month now", "it twitches every day",
    "it won't go away", "it keeps coming back", "does this pass by itself", "how long does it last",
]
ABOUT_SIGNS = [
    "how can I tell a stroke from Bell's palsy?", "what are the signs of a stroke",
    "how would I know if it was a stroke", "what does a mini stroke look like",
    "when should I call an ambulance", "time to call?",
    "should I worry about seizures if my lip twitches",
]


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatProcess]:
    """One bot for the module (one conversation: what each message gets does not depend on the last)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'bot.sqlite3'}"
    env["PYTHONUNBUFFERED"] = "1"
    with ChatProcess(env, "--user", "understanding") as process:
        process.send("menu")  # past the first-contact notice
        yield process


def answer(chat: ChatProcess, text: str) -> list[dict[str, Any]]:
    return chat.send({"text": text})["replies"]


def payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in reply["buttons"]]


@pytest.mark.parametrize("text", GREETINGS)
def test_a_greeting_gets_a_welcome_and_the_main_menu(chat: ChatProcess, content: Content, text: str) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] == ["menu"]
    assert payloads(replies[0]) == [b.payload for b in content.buttons["menu"]]
    assert replies[0]["text"] != content.messages.fallback.strip()


@pytest.mark.parametrize(
    ("text", "topic"),
    [("hi, can coffee cause this?", "caffeine"), ("hi there, my lip keeps twitching", None),
     ("who are you", "about")],
)
def test_a_question_that_starts_like_small_talk_is_answered_as_a_question(
    chat: ChatProcess, text: str, topic: str | None
) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] != ["menu"]
    if topic:
        assert [(r["kind"], r["topic"]) for r in replies] == [("topic", topic)]


@pytest.mark.parametrize("text", THANKS_AND_GOODBYES)
def test_thanks_and_goodbyes_get_a_short_word_and_a_menu_button(chat: ChatProcess, text: str) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] == ["command"]
    assert payloads(replies[0]) == ["menu"]
    assert len(replies[0]["text"]) < 200


@pytest.mark.parametrize("text", DISTRESS)
def test_fear_gets_a_calm_answer_naming_the_warning_signs(chat: ChatProcess, text: str) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] == ["topic"], "fear alone is not an alert"
    reply = replies[0]
    assert {"emergency", "when-to-see-doctor", "menu"} <= set(payloads(reply))
    said = reply["text"].lower()
    assert "weakness" in said and "emergency number" in said


def test_fear_about_a_named_condition_answers_about_the_condition(chat: ChatProcess) -> None:
    replies = answer(chat, "I'm scared it's motor neurone disease")
    assert [(r["kind"], r["topic"]) for r in replies] == [("topic", "als")]


@pytest.mark.parametrize("text", PERSISTENCE)
def test_how_long_it_lasts_leads_to_when_to_see_a_doctor(chat: ChatProcess, text: str) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] == ["topic"]
    assert replies[0]["topic"] in {"when-to-see-doctor", "is-it-serious"}


@pytest.mark.parametrize("text", ABOUT_SIGNS)
def test_a_question_about_a_warning_sign_shows_the_warning_signs(chat: ChatProcess, text: str) -> None:
    replies = answer(chat, text)
    assert [(r["kind"], r["topic"]) for r in replies] == [("topic", "emergency")]


def test_after_an_alert_the_next_steps_are_the_alerts_own_buttons(bot_env: dict[str, str]) -> None:
    with ChatProcess(bot_env, "--user", "alerted", "--channel", "console") as chat:
        chat.send("menu")
        replies = answer(chat, "my face suddenly drooped on one side and I can't lift my arm")
        assert [r["kind"] for r in replies] == ["alert"]
        assert payloads(replies[0]) == ["emergency", "menu"]
        picked = answer(chat, "1")  # a numbered channel: 1 is the alert's first button
        assert [(r["kind"], r["topic"]) for r in picked] == [("topic", "emergency")]


@pytest.mark.parametrize(
    ("texts", "topic"),
    [
        (["vit b 12", "b12 deficiency", "vitamin b-12", "vitamn b12", "is vit d good for nerves"],
         "vitamins"),
        (["is 400mg of cofee ok", "3 coffees a day is that bad", "is 2 espressos too much"], "caffeine"),
        (["what foods have potassium", "potasium rich foods"], "potassium"),
        (["lou gehrig's disease", "motor neurone disease", "is it mnd"], "als"),
        (["tic disorder", "could it be a motor tic"], "tourette"),
        (["it's hard to eat", "it makes chewing difficult", "I struggle to smile"], "complications"),
        (["can stress cause this", "can anxiety make my lip twitch", "is it because of stress"], "stress"),
        (["is it facial palsy", "could this be bell's palsy?", "I have facial palsy and my lip twitches"],
         "bells-palsy"),
        (["can botox injections stop it", "will surgery stop the twitching"], "treatment"),
    ],
)
def test_typed_questions_find_their_topic_however_they_are_spelt(
    chat: ChatProcess, texts: list[str], topic: str
) -> None:
    for text in texts:
        replies = answer(chat, text)
        assert [(r["kind"], r["topic"]) for r in replies] == [("topic", topic)], text


@pytest.mark.parametrize(
    ("text", "group"),
    [
        ("I'm pregnant, how much coffee can I have?", "pregnan"),
        ("my 6 year old's lip keeps twitching", "child"),
        ("is it different for older people", "older"),
    ],
)
def test_pregnancy_children_and_older_people_get_what_differs_for_them(
    chat: ChatProcess, text: str, group: str
) -> None:
    replies = answer(chat, text)
    assert [r["kind"] for r in replies] == ["topic"]
    assert group in replies[0]["text"].lower()


# -- the content that drives it is checked like the rest ---------------------------------


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    target = tmp_path / "flows"
    shutil.copytree(FLOWS, target)
    return target


def replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_small_talk_and_faq_words_name_only_topics_that_exist(flows: Path) -> None:
    replace(flows / "smalltalk.yaml", "node: feeling-scared", "node: feeling-scarred")
    replace(flows / "faq.yaml", "first_topics: [emergency]", "first_topics: [emergencies]")
    problems = check_content(flows)
    assert "flows/smalltalk.yaml: intent 'distress': node 'feeling-scarred' does not exist" in problems
    assert "flows/faq.yaml: 'emergencies' is not a topic id" in problems


def test_an_intent_needs_one_answer_and_an_example_one_topic(flows: Path) -> None:
    replace(flows / "smalltalk.yaml", "  thanks:\n", "  thanks:\n    node: menu\n")
    replace(flows / "topics" / "care.yaml", '      - "my toddler\'s lip keeps twitching"\n',
            '      - "my toddler\'s lip keeps twitching"\n      - "i\'m really scared about this"\n')
    problems = check_content(flows)
    assert any("smalltalk.yaml" in p and "exactly one of 'text' or 'node'" in p for p in problems), problems
    shared = "example 'i'm really scared about this' is also an example of"
    assert any(shared in p for p in problems), problems
