"""A new reminder kind is one module and its content: this test module is a kind of its own
("stretch", a daily time), registered here, worded in a copy of flows/ in every language, and a
user sets it up and receives it in their language without any other change to the code."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine, Turn
from messenger_bot.reminders.dispatcher import Dispatcher
from messenger_bot.reminders.feature import RemindersFeature
from messenger_bot.reminders.kinds import KINDS
from messenger_bot.reminders.replies import button
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.storage import Storage
from messenger_bot.wiring import load_content
from tests.conftest import FLOWS
from tests.test_reminders_dispatch import FakeSender

SET_UP = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)  # 07:00 in London
WORDS = {
    "": {"name": "stretch", "typed": ["stretch", "stretching"], "setup": "Stretch reminder",
         "ask": "When shall I remind you to stretch your face? Tap a time or type one.",
         "reminders": ["Time for a gentle face stretch: relax your jaw and lips for a minute."],
         "stop": "Stop stretch"},
    "es": {"name": "estirar", "typed": ["estirar", "estiramiento"], "setup": "Recordar estirar",
           "ask": "¿A qué hora te recuerdo estirar la cara? Toca una hora o escríbela.",
           "reminders": ["Hora de estirar la cara con calma: relaja la mandíbula y los labios un minuto."],
           "stop": "Parar estirar"},
    "pt": {"name": "alongar", "typed": ["alongar", "alongamento"], "setup": "Lembrar de alongar",
           "ask": "A que horas te lembro de alongar o rosto? Toque num horário ou escreva.",
           "reminders": ["Hora de alongar o rosto com calma: relaxe a mandíbula e os lábios por um minuto."],
           "stop": "Parar alongar"},
}


# -- the kind: what a reminders/kinds/ module declares --------------------------------


def reminder(texts: ReminderTexts, variant: int, caffeine_today: int = 0) -> Reply:
    own = texts.kinds["stretch"]
    text = own.reminders[variant % len(own.reminders)]
    return Reply("reminder", text, (button(own.stop, "stop:stretch"),))


def describe(texts: ReminderTexts, schedule: Schedule) -> str:
    return texts.say("daily_at", time=schedule.times[0])


def setup_label(texts: ReminderTexts) -> str:
    return texts.kinds["stretch"].setup


async def setup(conversation: Any, turn: Turn, rest: str) -> list[Reply]:
    replies: list[Reply] = await conversation.setup_daily(turn, "stretch", rest)
    return replies


# -- its content, in every language, and the test --------------------------------------


@pytest.fixture
def stretch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Content:
    monkeypatch.setitem(KINDS, "stretch", __name__)
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    for code, words in WORDS.items():
        path = flows / code / "reminders.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        data["kind_names"]["stretch"] = words["name"]
        data["understand"]["kinds"]["stretch"] = words["typed"]
        data["kinds"] = {"stretch": {"reminders": words["reminders"], "setup": words["setup"],
                                     "ask_time": words["ask"], "stop": words["stop"]}}
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_content(flows)


async def tap(bot: Engine, user: str, payload: str) -> list[Reply]:
    incoming = Incoming("telegram", user, button=payload, received_at=SET_UP)
    return [r for r in await bot.turn(incoming) if r.kind == "reminder"]


async def test_a_third_kind_is_set_up_and_received_in_the_users_language(
    stretch: Content, store: Storage
) -> None:
    bot = Engine(stretch, store, [RemindersFeature(stretch, store)])
    await tap(bot, "41", "do:language:es")
    [empty] = await tap(bot, "41", "do:reminders:list")
    assert "Recordar estirar" in [b.label for b in empty.buttons]
    await tap(bot, "41", "do:reminders:stretch")  # no zone yet: asked first
    [ask] = await tap(bot, "41", "do:reminders:tz:stretch:Europe/Madrid")
    assert ask.text == WORDS["es"]["ask"]
    assert "do:reminders:stretch:at:1000" in [b.payload for b in ask.buttons]
    [saved] = await tap(bot, "41", "do:reminders:stretch:at:1000")
    assert "10:00" in saved.text
    [listed] = await tap(bot, "41", "do:reminders:list")
    assert {"Pausar estirar", "Parar estirar"} <= {b.label for b in listed.buttons}
    sender = FakeSender()
    dispatcher = Dispatcher(store, stretch, {"telegram": sender})
    report = await dispatcher.run_pass(SET_UP + timedelta(hours=2, seconds=5))
    assert report.sent == 1
    [(user, delivered)] = sender.sent
    assert user == "41" and delivered.text == WORDS["es"]["reminders"][0]
    assert [b.label for b in delivered.buttons] == ["Parar estirar"]


def test_an_unknown_kind_in_the_content_stays_an_error(tmp_path: Path) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(FLOWS, flows)
    path = flows / "reminders.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["kind_names"]["stretch"] = "stretch"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(Exception, match="kind_names: must be exactly water, caffeine"):
        load_content(flows)
