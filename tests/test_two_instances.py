"""Two `serve` processes on one PostgreSQL database behave as one bot (issue 7).

A user's consecutive messages alternate between the instances, as a load balancer would spread
them, and stay one coherent conversation; a webhook redelivered to the other instance is answered
once; 2,000 due reminders, dispatched by both instances' schedulers at the same time, each arrive
exactly once at the fake Telegram and Twilio servers.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import os
import re
import secrets
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from twilio.request_validator import RequestValidator

from messenger_bot.content import Content
from messenger_bot.reminders import store as db
from messenger_bot.reminders.replies import texts_of
from messenger_bot.reminders.schedule import Schedule
from messenger_bot.storage.base import USER_COLUMNS, UserState, user_to_row
from messenger_bot.storage.postgres import PostgresStorage
from tests.fakes.telegram_api import Call, FakeTelegram, tap_update, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.support.postgres import create_schema, drop_schema, with_search_path
from tests.support.server import ServeProcess
from tests.support.waiting import wait_while_progressing

ACCOUNT, TOKEN, SANDBOX = "AC" + "2" * 32, "two-instances-auth-token", "whatsapp:+14155238886"
PUBLIC = "https://bot.example.org"
SECRET = "two-Instances_secret"
#: Each channel's bot-wide rate, shared by the two instances (SENDING_INSTANCES=2): 200/s each, so
#: one instance alone would need over ten seconds for the reminders, longer than a scheduler tick.
MPS = "400"
REMINDERS_PER_CHANNEL = 1000
ALL_DAY = Schedule(1, "00:00", "23:59")
_numbers = itertools.count(7700900500)


@dataclass
class Instances:
    servers: list[ServeProcess]
    telegram: FakeTelegram
    twilio: FakeTwilio
    http: httpx.Client
    url: str
    schema: str

    def telegram_update(self, instance: int, update: dict[str, Any]) -> None:
        response = self.http.post(
            f"{self.servers[instance].url}/telegram/webhook", json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        assert response.status_code == 200, response.text

    def whatsapp(self, instance: int, fields: dict[str, str]) -> list[str]:
        """What the user's phone shows: the TwiML messages of the answer (as Twilio signs for PUBLIC)."""
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/whatsapp/webhook", fields)
        response = self.http.post(
            f"{self.servers[instance].url}/whatsapp/webhook", data=fields,
            headers={"X-Twilio-Signature": signature},
        )
        assert response.status_code == 200, response.text
        return [m.text or "" for m in ET.fromstring(response.text).iter("Message")]


@pytest.fixture(scope="module")
def bot() -> Iterator[Instances]:
    """One schema, two instances, for the whole module (each test has users of its own)."""
    url, schema = asyncio.run(create_schema())
    try:
        with contextlib.ExitStack() as stack:
            telegram = stack.enter_context(FakeTelegram())
            twilio = stack.enter_context(FakeTwilio())
            env = _env(with_search_path(url, schema), telegram, twilio)
            servers = [ServeProcess(env), ServeProcess(env)]  # starting at once: the migration lock
            for server in servers:
                stack.callback(server.stop)
            for server in servers:
                server.wait_healthy()
            http = stack.enter_context(httpx.Client(timeout=30))
            yield Instances(servers, telegram, twilio, http, url, schema)
    finally:
        asyncio.run(drop_schema(url, schema))


def _env(database_url: str, telegram: FakeTelegram, twilio: FakeTwilio) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    return {
        **env, "PYTHONUNBUFFERED": "1", "DATABASE_URL": database_url, "SENDING_INSTANCES": "2",
        "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": telegram.base_url,
        "TELEGRAM_WEBHOOK_URL": f"{PUBLIC}/telegram/webhook", "TELEGRAM_WEBHOOK_SECRET": SECRET,
        "TELEGRAM_MPS": MPS, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
        "TWILIO_WHATSAPP_FROM": SANDBOX, "TWILIO_API_BASE_URL": twilio.base_url, "PUBLIC_BASE_URL": PUBLIC,
        "WHATSAPP_MPS": MPS, "WHATSAPP_INTERACTIVE": "false",
    }


# -- conversations spread across both -----------------------------------------------------------


class WhatsAppUser:
    def __init__(self, bot: Instances) -> None:
        self.bot = bot
        self.number = f"+44{next(_numbers)}"

    def fields(self, body: str) -> dict[str, str]:
        return {
            "MessageSid": "SM" + secrets.token_hex(16), "AccountSid": ACCOUNT, "To": SANDBOX,
            "From": f"whatsapp:{self.number}", "Body": body, "NumMedia": "0", "WaId": self.number.lstrip("+"),
        }

    def say(self, instance: int, body: str) -> str:
        return "\n\n".join(self.bot.whatsapp(instance, self.fields(body)))


def first_line(content: Content, node: str) -> str:
    return content.nodes[node].text.splitlines()[0]


def test_whatsapp_numbers_and_set_up_steps_carry_over_to_the_other_instance(
    bot: Instances, content: Content
) -> None:
    texts = texts_of(content)
    user = WhatsAppUser(bot)
    assert "2. Why is it happening?" in user.say(0, "hi")
    assert first_line(content, "causes") in user.say(1, "2")  # the number picks from instance 0's menu
    assert texts.say("tz_ask").strip()[:40] in user.say(0, "water reminders")  # a pending question
    answer = user.say(1, "Europe/Paris")  # answered on the other instance
    assert "Europe/Paris" in answer and texts.say("water_how_often").strip()[:40] in answer
    assert texts.say("water_start").strip() in user.say(0, "1")  # "1" of instance 1's how-often menu


def test_a_whatsapp_message_redelivered_to_the_other_instance_is_answered_once(bot: Instances) -> None:
    user = WhatsAppUser(bot)
    fields = user.fields("help")
    assert any("How to use me" in m for m in bot.whatsapp(0, fields))
    assert bot.whatsapp(1, fields) == []


def seen(call: Call) -> str:
    return html.unescape(re.sub(r"</?b>", "", call.text))


def test_telegram_taps_history_and_set_up_carry_over_to_the_other_instance(
    bot: Instances, content: Content
) -> None:
    fake, chat = bot.telegram, 424242

    def answer(instance: int, update: dict[str, Any]) -> str:
        """What the chat shows in answer to one update, sent to one instance."""
        before = len(fake.delivered(chat))
        bot.telegram_update(instance, update)
        return "\n".join(seen(c) for c in fake.delivered(chat)[before:])

    answer(0, text_update(fake.next_update_id(), chat, "/menu"))
    menu = fake.delivered(chat)[-1].message_id
    assert first_line(content, "causes") in answer(1, tap_update(fake.next_update_id(), chat, "causes", menu))
    deeper = content.buttons["causes"][0].payload
    assert first_line(content, deeper) in answer(0, tap_update(fake.next_update_id(), chat, deeper, menu))
    back = answer(1, text_update(fake.next_update_id(), chat, "/back"))  # walks instance 0's history
    assert first_line(content, "causes") in back
    answer(0, text_update(fake.next_update_id(), chat, "/water"))  # asks for the zone: a pending question
    zone = answer(1, text_update(fake.next_update_id(), chat, "Europe/Paris"))  # answered on the other
    assert "Europe/Paris" in zone and texts_of(content).say("water_how_often").strip()[:40] in zone


def test_a_telegram_update_redelivered_to_the_other_instance_is_answered_once(bot: Instances) -> None:
    fake, chat = bot.telegram, 434343
    update = text_update(fake.next_update_id(), chat, "/help")
    bot.telegram_update(0, update)
    bot.telegram_update(1, update)
    bot.telegram_update(1, text_update(fake.next_update_id(), chat, "/about"))
    messages = fake.delivered(chat)
    assert len(messages) == 2 and sum("How to use me" in seen(m) for m in messages) == 1


# -- reminders dispatched by both ----------------------------------------------------------------


async def outbox_of(bot: Instances, keys: list[str]) -> list[tuple[Any, ...]]:
    """What the outbox recorded for these users: what a duplicate's story is read from."""
    store = PostgresStorage(bot.url, schema=bot.schema)
    await store.open()
    try:
        marks = ", ".join("?" * len(keys))
        query = "SELECT user_key, status, attempts, reason, provider_id FROM reminder_outbox"
        return [tuple(row) for row in await store.fetch(f"{query} WHERE user_key IN ({marks})", *keys)]
    finally:
        await store.close()


async def add_due_reminders(bot: Instances, telegram: list[str], whatsapp: list[str]) -> None:
    """Hourly water reminders, due a minute ago; the WhatsApp users wrote recently (free text may go)."""
    now = datetime.now(UTC)
    store = PostgresStorage(bot.url, schema=bot.schema)
    await store.open()
    try:
        users = [UserState("whatsapp", key, now, now, last_inbound_at=now) for key in whatsapp]
        placeholders = ", ".join("?" * len(USER_COLUMNS))
        async with store.transaction():  # both instances see all 2,000 at once
            await store.executemany(
                f"INSERT INTO users ({', '.join(USER_COLUMNS)}) VALUES ({placeholders})",
                [user_to_row(u) for u in users],
            )
            for channel, keys in (("telegram", telegram), ("whatsapp", whatsapp)):
                for key in keys:
                    await db.save(store, channel, key, "water", ALL_DAY, "Europe/London", now)
            await store.execute(
                "UPDATE reminder_subscriptions SET next_due_at = ?", (now - timedelta(minutes=1)).timestamp()
            )
    finally:
        await store.close()


def reminders_sent_by(server: ServeProcess) -> int:
    return sum(int(n) for n in re.findall(r"reminders: sent (\d+)", server.read_output()))


async def test_2000_due_reminders_from_two_dispatchers_arrive_exactly_once(bot: Instances) -> None:
    """Last in the module: it stops the instances to read what each sent."""
    telegram = [str(900_000 + i) for i in range(REMINDERS_PER_CHANNEL)]
    whatsapp = [f"whatsapp:+49151{i:07d}" for i in range(REMINDERS_PER_CHANNEL)]
    wanted = {*telegram, *whatsapp}
    await add_due_reminders(bot, telegram, whatsapp)

    def telegram_counts() -> Counter[str]:
        calls = bot.telegram.calls_to("sendMessage")
        return Counter(key for c in calls if c.status == 200 and (key := str(c.chat_id)) in wanted)

    def whatsapp_counts() -> Counter[str]:
        sent = bot.twilio.messages
        return Counter(key for m in sent if m.status == 201 and (key := m.form["To"]) in wanted)

    # However long the machine takes: a deadline here would measure its load, not the bot.
    arrived = wait_while_progressing(lambda: len(telegram_counts()) + len(whatsapp_counts()), len(wanted))
    assert arrived == len(wanted), f"only {arrived} of {len(wanted)} arrived, and nothing more came"
    for server in bot.servers:
        server.stop()  # a pass in progress records its outcomes first
    assert set(telegram_counts()) == set(telegram) and set(whatsapp_counts()) == set(whatsapp)
    twice = [k for counts in (telegram_counts(), whatsapp_counts()) for k, n in counts.items() if n > 1]
    assert not twice, f"{len(twice)} got theirs more than once: {await outbox_of(bot, twice[:5])}"
    shares = [reminders_sent_by(server) for server in bot.servers]
    assert sum(shares) == 2 * REMINDERS_PER_CHANNEL
    assert min(shares) > 0, f"one instance sent them all: {shares}"  # both dispatched, at once
