"""Reminders in the user's language: set up by typing in Spanish and Portuguese through the
engine's door, delivered by `reminders send-due` in the user's language, and the WhatsApp
template of each language chosen from the settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from messenger_bot.content import Content
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.engine import Engine
from messenger_bot.reminders.feature import RemindersFeature
from messenger_bot.reminders.replies import texts_of
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.reminders.texts import ReminderTexts
from messenger_bot.reminders.understand import Reader
from messenger_bot.settings import load_settings
from messenger_bot.storage import SQLiteStorage, Storage, UserState
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess
from tests.test_reminders_e2e import ACCOUNT, SANDBOX, TOKEN, database, next_due, send_due, subscribe

EVENING = datetime(2026, 6, 1, 19, 0, tzinfo=UTC)  # 21:00 in Madrid and Lisbon is 20:00


@pytest.fixture
def bot(content: Content, store: Storage) -> Engine:
    return Engine(content, store, [RemindersFeature(content, store)])


def texts(content: Content, code: str) -> ReminderTexts:
    return texts_of(content.in_language(code))


async def say(bot: Engine, text: str, user: str, *, button: bool = False) -> list[Reply]:
    incoming = (Incoming("telegram", user, button=text, received_at=EVENING) if button
                else Incoming("telegram", user, text=text, received_at=EVENING))
    return [r for r in await bot.turn(incoming) if r.kind == "reminder"]


def labels(reply: Reply) -> list[str]:
    return [b.label for b in reply.buttons]


async def test_water_reminders_set_up_by_typing_in_spanish(bot: Engine, content: Content) -> None:
    es = texts(content, "es")
    await say(bot, "do:language:es", "es1", button=True)
    [ask] = await say(bot, "recordatorios de agua", "es1")  # a Spanish typed command
    assert ask.text == es.say("tz_ask")
    [confirmed, often] = await say(bot, "estoy en Madrid", "es1")
    assert "Europe/Madrid" in confirmed.text and often.text == es.say("water_how_often")
    assert labels(often)[:4] == [es.buttons.every_1, es.buttons.every_2, es.buttons.every_3,
                                 es.buttons.fixed_times]
    [saved] = await say(bot, "cada 2 horas de 8 a 20", "es1")
    assert "Agua cada 2 horas, 08:00–20:00" in saved.text
    assert "mañana a las 08:00" in saved.text  # 21:00 in Madrid: the next one is tomorrow morning
    [listed] = await say(bot, "mis recordatorios", "es1")
    assert listed.text.startswith(es.say("list_head"))
    assert {"Pausar agua", "Cambiar agua", "Parar agua", es.buttons.caffeine_setup} <= set(labels(listed))


async def test_portuguese_city_names_and_commands(bot: Engine, content: Content) -> None:
    pt = texts(content, "pt")
    await say(bot, "do:language:pt", "pt1", button=True)
    await say(bot, "do:reminders:caffeine", "pt1", button=True)
    [confirmed, when] = await say(bot, "moro em Belo Horizonte", "pt1")
    assert "America/Sao_Paulo" in confirmed.text and when.text == pt.say("caffeine_when", limit=400)
    [saved] = await say(bot, "às 21h", "pt1")
    assert "21:00" in saved.text and "(America/Sao_Paulo)" in saved.text
    [paused] = await say(bot, "pausar cafeína", "pt1")
    assert paused.text.startswith("Pausado:")
    [listed] = await say(bot, "meus lembretes", "pt1")
    assert pt.say("paused_by_you") in listed.text and "paused" not in listed.text
    assert "Retomar cafeína" in labels(listed) and "Parar cafeína" in labels(listed)


async def test_my_data_names_the_kind_in_the_users_language(bot: Engine) -> None:
    await say(bot, "do:language:es", "es2", button=True)
    await say(bot, "do:reminders:water", "es2", button=True)
    await say(bot, "do:reminders:tz:water:Europe/Madrid", "es2", button=True)
    await say(bot, "do:reminders:water:save:2:8:20", "es2", button=True)
    shown = await bot.turn(Incoming("telegram", "es2", text="mis datos", received_at=EVENING))
    assert "recordatorios de agua:" in shown[-1].text


def test_a_reminder_reaches_a_portuguese_user_in_portuguese(
    bot_env: dict[str, str], telegram: FakeTelegram, content: Content
) -> None:
    pt = texts(content, "pt")
    env = {**bot_env, "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": telegram.base_url}
    with ChatProcess(env, "--channel", "telegram", "--user", "808") as chat:
        for payload in ("do:language:pt", "do:reminders:water", "do:reminders:tz:water:America/Sao_Paulo",
                        "do:reminders:water:save:1:8:20"):
            chat.send({"button": payload})
    out = send_due(env, next_due(env, "808") + timedelta(seconds=20))
    assert out.startswith("sent 1, skipped 0, failed 0")
    [message] = telegram.delivered(808)
    assert message.text in pt.water
    buttons = pt.buttons
    assert [label for label, _ in message.buttons] == [buttons.done, buttons.snooze, buttons.stop_water]


async def test_whatsapp_template_of_each_language_from_the_settings(bot_env: dict[str, str]) -> None:
    portuguese, spanish = "whatsapp:+5511987654321", "whatsapp:+34612345678"
    checkin, checkin_pt = "HX" + "1" * 32, "HX" + "2" * 32
    with FakeTwilio() as fake:
        env = {**bot_env, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
               "TWILIO_WHATSAPP_FROM": SANDBOX, "TWILIO_API_BASE_URL": fake.base_url, "WHATSAPP_MPS": "50",
               "WHATSAPP_TEMPLATE_CAFFEINE": checkin, "WHATSAPP_TEMPLATE_CAFFEINE_PT": checkin_pt}
        noon = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
        at = noon - timedelta(days=3)  # their last message: outside the 24-hour window
        send_due(env, at)  # creates the database
        store = SQLiteStorage(database(env))
        await store.open()
        try:
            for user, code in ((portuguese, "pt"), (spanish, "es")):
                await store.save_user(UserState("whatsapp", user, first_seen=at, last_seen=at,
                                                last_inbound_at=at, language=code))
        finally:
            await store.close()
        # daily check-ins at 12:00
        await subscribe(env, [portuguese, spanish], "whatsapp", Schedule(times=("12:00",)), "Etc/UTC",
                        noon - timedelta(hours=6))
        out = send_due(env, noon + timedelta(seconds=5))
        assert out.startswith("sent 2"), out
        assert [m.form.get("ContentSid") for m in fake.sent_to(portuguese)] == [checkin_pt]
        assert [m.form.get("ContentSid") for m in fake.sent_to(spanish)] == [checkin]  # no _ES: the default's


def test_template_settings_of_any_language_fall_back_to_the_default_language() -> None:
    settings = load_settings(whatsapp_template_caffeine="HXdefault", whatsapp_template_caffeine_es="HXes")
    assert settings.whatsapp_template("caffeine", "es") == "caffeine_es"
    assert settings.whatsapp_template("caffeine", "pt") == "caffeine"
    assert settings.whatsapp_template("water", None) == "water"


def test_every_language_s_preset_times_read_as_the_times_they_show(content: Content) -> None:
    """A preset button's times come from its label (read like a typed answer): a label that reads
    as no times would make a button that only starts the set-up over."""
    for code, language in (content.languages or {content.code: content}).items():
        texts = texts_of(language)
        read = Reader(texts)
        for label in (texts.buttons.times_morning, texts.buttons.times_spread):
            times = read.times(label)
            assert times, f"{code}: {label!r}"
            assert [f"{t.hour}:{t.minute:02d}" for t in times] == [p.strip() for p in label.split(",")]
