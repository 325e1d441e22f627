"""Red flags across languages, as a user notices them: every language's vocabulary reads every
message, and the language a message is written in decides on the words it understands.

Each message is a first message to the real engine, with the conversation's language given the
way a channel gives it (Telegram's `language_code`), on every language of flows/ at once.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import pytest

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine
from messenger_bot.evaluation import evaluate
from messenger_bot.settings import load_settings
from messenger_bot.wiring import open_runtime
from tests.conftest import EVAL
from tests.support.chat import ChatProcess

CONVERSATIONS = ["en", "es", "pt"]
#: Calm lines of a language on which another language's vocabulary fired, set aside from its sets.
CROSS_LANGUAGE = sorted(EVAL.glob("*/triage-crosslanguage.tsv"))


async def first_message(engine: Engine, text: str, conversation: str, country: str = "US") -> list[Reply]:
    """A new user's message in a conversation in `conversation`'s language."""
    user = f"{conversation}-{abs(hash(text))}"
    return await engine.turn(Incoming("console", user, text=text, language=conversation, country=country))


def alerted(replies: list[Reply]) -> bool:
    return any(reply.kind == "alert" for reply in replies)


def heading(content: Content, code: str) -> str:
    """The first line of a language's emergency alert."""
    return content.in_language(code).messages.alert.text.splitlines()[0]


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("text", [
    "¿qué es la parálisis de Bell?",
    "no he tenido convulsiones",
    "hace 3 años tuve parálisis de Bell",
    "o que é paralisia de bell?",
    "nunca tive convulsão",
    "tive paralisia do sono essa noite",
])
async def test_a_calm_message_with_a_cognate_does_not_alert_in_any_conversation(
    engine: Engine, text: str, conversation: str
) -> None:
    assert not alerted(await first_message(engine, text, conversation))


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("text", [
    "mi tía tiene la boca virada desde que nació",
    "la parálisis facial de mi tía fue hace años",
    "minha tia falou que o tremor é de estresse",
])
async def test_an_aunt_is_not_a_tia(engine: Engine, text: str, conversation: str) -> None:
    assert not alerted(await first_message(engine, text, conversation))


async def test_a_tia_named_in_english_still_alerts(engine: Engine) -> None:
    replies = await first_message(engine, "i think i'm having a TIA", "en")
    assert replies[0].kind == "alert"


async def test_a_spanish_red_flag_alerts_in_spanish_in_an_english_conversation(
    engine: Engine, content: Content
) -> None:
    replies = await first_message(engine, "de repente mi papá no puede hablar y tiene la cara caída", "en")
    assert replies[0].kind == "alert"
    assert replies[0].text.startswith(heading(content, "es"))
    assert "911" in replies[0].text


async def test_a_portuguese_red_flag_alerts_in_portuguese_in_an_english_conversation(
    engine: Engine, content: Content
) -> None:
    replies = await first_message(engine, "meu pai está com a boca torta e não consegue falar", "en", "BR")
    assert replies[0].kind == "alert"
    assert replies[0].text.startswith(heading(content, "pt"))
    assert "192" in replies[0].text


@pytest.mark.parametrize("text", [
    "mi papá tiene slurred speech ahorita",
    "mi mamá tiene la face drooping ahorita",
])
async def test_a_sign_word_only_another_language_knows_alerts(
    engine: Engine, content: Content, text: str
) -> None:
    for conversation in ("es", "pt"):  # in the message's language, which did not know the word
        replies = await first_message(engine, text, conversation)
        assert replies[0].kind == "alert"
        assert replies[0].text.startswith(heading(content, "es"))
    english = await first_message(engine, text, "en")  # the user's own language fired: theirs
    assert english[0].kind == "alert" and english[0].text.startswith(heading(content, "en"))


@pytest.mark.parametrize("conversation", CONVERSATIONS)
@pytest.mark.parametrize("text", [
    # The Spanish reader dismissed its own sign words; the English sign is elsewhere.
    "no tengo dolor de cabeza, pero my face is drooping",
    "nunca tuve convulsiones pero ahora mi hijo is having a seizure",
])
async def test_a_dismissed_sign_does_not_hide_another_one(
    engine: Engine, text: str, conversation: str
) -> None:
    assert alerted(await first_message(engine, text, conversation))


@pytest.mark.parametrize("conversation", CONVERSATIONS)
async def test_an_english_calm_message_stays_calm_and_an_english_red_flag_alerts_in_english(
    engine: Engine, content: Content, conversation: str
) -> None:
    assert not alerted(await first_message(engine, "i had a seizure as a child, never since", conversation))
    red_flag = "my face is drooping on one side and my arm feels weak"
    replies = await first_message(engine, red_flag, conversation)
    assert replies[0].kind == "alert"
    assert replies[0].text.startswith(heading(content, "en"))


@pytest.mark.parametrize("path", CROSS_LANGUAGE, ids=lambda p: p.parent.name)
async def test_the_lines_set_aside_as_cross_language_alarms_are_calm_now(path: Path, tmp_path: Path) -> None:
    """Each a new user's first message on the real engine, as `messenger-bot eval` scores it:
    every red flag alerts, and at most 1 in 20 calm lines (the issue's bound per language)."""
    settings = load_settings(database_url=f"sqlite:///{tmp_path / 'unused.sqlite3'}")
    [score] = await evaluate([path], settings, open_runtime)
    print("\n" + "\n".join(score.report()))
    assert score.recall.hits == score.recall.total
    assert score.false_alarms.hits * 20 <= score.false_alarms.total


#: Per language: an ordinary sentence, and a red flag told in its words.
LONG = {
    "en": ("my lip twitches a bit when i drink coffee and i feel tired at work most days ",
           "my face is drooping"),
    "es": ("me tiembla el labio cuando tomo café y me siento cansada en el trabajo casi todos los días ",
           "tengo la cara caída de un lado"),
    "pt": ("meu lábio treme quando tomo café e fico cansado no trabalho quase todos os dias ",
           "o rosto da minha avó está caído de um lado"),
}


def _made_up(size: int, seed: int) -> str:
    rng = random.Random(seed)
    found = ("".join(rng.choices(string.ascii_lowercase, k=rng.randint(3, 11))) for _ in range(size))
    return " ".join(found)[:size]


@pytest.mark.parametrize("code", LONG)
def test_a_red_flag_at_the_end_of_50000_characters_alerts_in_every_language(
    bot_env: dict[str, str], code: str,
) -> None:
    """Triage reads all of a message, however long: a red flag at the very end of 50,000
    characters of made-up words, or of ordinary words of the language, alerts, and the same
    message without it does not."""
    sentence, flag = LONG[code]
    real = (sentence * (50_000 // len(sentence) + 1))[: 50_000 - len(flag) - 1]
    made_up = _made_up(50_000 - len(flag) - 1, seed=len(code))
    with ChatProcess(bot_env, "--user", f"long-{code}") as chat:
        for text in (f"{made_up} {flag}", f"{real} {flag}"):
            assert len(text) == 50_000
            assert chat.send(text)["replies"][0]["kind"] == "alert"
        assert all(r["kind"] != "alert" for r in chat.send(real)["replies"])
