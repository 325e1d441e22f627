"""Telegram, the way a user meets it: the real `serve` against a fake Bot API on loopback.

Both modes run: polling (the fake queues updates for getUpdates) and webhook (the
test posts updates to /telegram/webhook as Telegram would). Each test talks from
its own chat, so the servers are shared. The sender is also driven on its own, as
the reminder dispatcher uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import itertools
import os
import re
import sqlite3
from collections.abc import Awaitable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from messenger_bot.channels.telegram import FLOOD_BURST, TelegramSender, UpdateLog
from messenger_bot.channels.telegram import turn as turn_module
from messenger_bot.channels.telegram.bots import build_bot
from messenger_bot.channels.telegram.commands import set_command_menus
from messenger_bot.channels.telegram.limits import limits_for
from messenger_bot.channels.telegram.outbox import not_sent
from messenger_bot.channels.telegram.render import (
    DATA_LIMIT,
    LIMIT,
    CallbackCodec,
    render,
    split_text,
    to_html,
)
from messenger_bot.channels.telegram.request import AiohttpRequest
from messenger_bot.content import Button, Content
from messenger_bot.content.telegram import Command
from messenger_bot.conversation import Incoming, Reply
from messenger_bot.delivery import Outcome
from messenger_bot.engine import BLOCKED, STOPPED, Engine
from messenger_bot.settings import load_settings
from messenger_bot.storage import Storage, UserState
from messenger_bot.wiring import create_app
from tests.fakes.telegram_api import (
    USERNAME,
    Call,
    FakeTelegram,
    anonymous_admin_update,
    edited_update,
    forum_update,
    member_update,
    photo_update,
    tap_update,
    text_update,
    unreadable_update,
)
from tests.support.server import ServeProcess

SECRET = "test-Secret_0123456789"
_chats = itertools.count(1000)


def new_chat(group: bool = False) -> int:
    return -(10**12 + next(_chats)) if group else next(_chats)


def seen(call: Call) -> str:
    """The text as the user reads it (HTML tags rendered away)."""
    return html.unescape(re.sub(r"</?b>", "", call.text))


@dataclass
class Telegram:
    mode: str
    fake: FakeTelegram
    server: ServeProcess
    db: Path

    def deliver(self, update: dict[str, Any]) -> None:
        if self.mode == "polling":
            self.fake.push(update)
            return
        response = httpx.post(
            f"{self.server.url}/telegram/webhook", json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=30,
        )
        assert response.status_code == 200, response.text

    def say(self, chat_id: int, text: str, language: str | None = None, **extra: Any) -> int:
        """`language`: the user's Telegram app language (`language_code`)."""
        update_id = self.fake.next_update_id()
        update = text_update(update_id, chat_id, text, **extra)
        if language is not None:
            update["message"]["from"]["language_code"] = language
        self.deliver(update)
        return update_id

    def tap(self, chat_id: int, data: str, message_id: int) -> str:
        update_id = self.fake.next_update_id()
        self.deliver(tap_update(update_id, chat_id, data, message_id))
        return f"q{update_id}"

    def wait_messages(self, chat_id: int, count: int = 1) -> list[Call]:
        def enough() -> list[Call]:
            delivered = self.fake.delivered(chat_id)
            return delivered if len(delivered) >= count else []

        return self.fake.wait_for(enough)

    def paused_reason(self, chat_id: int) -> str | None:
        with sqlite3.connect(self.db) as db:
            rows = db.execute(
                "SELECT paused_reason FROM users WHERE channel = 'telegram' AND user_key = ?", (str(chat_id),)
            ).fetchall()
        return rows[0][0] if rows else None


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Telegram]]:
    """Both modes, started side by side (each against its own fake) to keep the module quick."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    with contextlib.ExitStack() as stack:
        found = {}
        for mode in ("polling", "webhook"):
            fake = stack.enter_context(FakeTelegram())
            db = tmp_path_factory.mktemp(mode) / "bot.sqlite3"
            mode_env = {
                **env, "DATABASE_URL": f"sqlite:///{db}", "PYTHONUNBUFFERED": "1",
                "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url,
            }
            if mode == "webhook":
                mode_env["TELEGRAM_WEBHOOK_URL"] = "https://bot.example.org/telegram/webhook"
                mode_env["TELEGRAM_WEBHOOK_SECRET"] = SECRET
            server = ServeProcess(mode_env, "--no-scheduler")
            stack.callback(server.stop)
            found[mode] = Telegram(mode, fake, server, db)
        for telegram in found.values():
            telegram.server.wait_healthy()
        yield found
        for telegram in found.values():
            telegram.server.stop()
            output = telegram.server.read_output()
            assert SECRET not in output and telegram.fake.token not in output


@pytest.fixture(scope="module", params=["polling", "webhook"])
def telegram(request: pytest.FixtureRequest, servers: dict[str, Telegram]) -> Telegram:
    return servers[request.param]


# -- what the user sees --------------------------------------------------------------------------


def test_start_shows_the_menu_with_buttons_and_commands_are_registered(telegram: Telegram, content: Content):
    chat = new_chat()
    telegram.say(chat, "/start")
    [menu] = telegram.wait_messages(chat)
    assert content.nodes["menu"].text.splitlines()[0] in seen(menu)
    assert ("Why is it happening?", "causes") in menu.buttons
    assert menu.params["parse_mode"] == "HTML"
    commands = default_menu(telegram)
    names = {c["command"] for c in commands.params["commands"]}
    assert {"start", "menu", "help", "about", "back", "mydata", "deletedata", "stop", "reminders"} <= names


def test_the_command_menu_is_the_contents_own_with_the_diary_and_the_language(
    telegram: Telegram, content: Content
):
    commands = default_menu(telegram)
    listed = [(c["command"], c["description"]) for c in commands.params["commands"]]
    assert listed == [(c.command, c.description) for c in content.extra["telegram.yaml"].commands]
    assert {"diary", "language"} <= {name for name, _ in listed}
    assert not commands.params.get("language_code"), "the default menu, for every app language"
    chat = new_chat()
    telegram.say(chat, "/diary")
    messages = telegram.wait_messages(chat)
    assert content.extra["diary.yaml"].sentences["summary_empty"].split(".")[0] in seen(messages[-1])


def default_menu(telegram: Telegram) -> Call:
    [default] = [c for c in telegram.fake.calls_to("setMyCommands") if not c.params.get("language_code")]
    return default


def test_every_language_has_its_command_menu_in_its_own_words(telegram: Telegram, content: Content):
    """Beside the default menu, each language's flows/<code>/telegram.yaml goes with its
    language_code, so a Spanish or Portuguese app shows the commands in its own words."""
    menus = {c.params.get("language_code") or None: c for c in telegram.fake.calls_to("setMyCommands")}
    assert set(menus) == {None, "es", "pt"}
    for code in ("es", "pt"):
        listed = [(c["command"], c["description"]) for c in menus[code].params["commands"]]
        words = content.in_language(code).extra["telegram.yaml"].commands
        assert listed == [(c.command, c.description) for c in words]
    spanish = dict((c["command"], c["description"]) for c in menus["es"].params["commands"])
    assert spanish["menu"] == "El menú principal"
    assert [c["command"] for c in menus["es"].params["commands"]] == [
        c["command"] for c in menus[None].params["commands"]], "the same commands, other words"


def test_a_tap_is_acknowledged_and_its_answer_replaces_the_menu(telegram: Telegram, content: Content):
    chat = new_chat()
    telegram.say(chat, "/menu")
    [menu] = telegram.wait_messages(chat)
    query = telegram.tap(chat, "causes", menu.message_id)
    edited = telegram.fake.wait_for(lambda: telegram.fake.calls_to("editMessageText", chat))
    answered = [c.params["callback_query_id"] for c in telegram.fake.calls_to("answerCallbackQuery")]
    assert answered.count(query) == 1
    assert edited[0].params["message_id"] == str(menu.message_id)
    assert content.nodes["causes"].text.splitlines()[0] in seen(edited[0])
    assert len(telegram.fake.calls_to("sendMessage", chat)) == 1  # no extra message: the menu was replaced


def test_a_typed_question_is_answered(telegram: Telegram, content: Content):
    chat = new_chat()
    telegram.say(chat, "can coffee make my lip twitch?")
    [answer] = telegram.wait_messages(chat)
    assert "Caffeine is a stimulant" in seen(answer)
    assert "<b>400 mg a day</b>" in answer.text  # *bold* in the content is bold on Telegram


def test_a_spanish_or_portuguese_app_is_answered_in_its_language(telegram: Telegram, content: Content):
    """Telegram's language_code chooses the language for a new user: a greeting gets that
    language's welcome and menu, a typed question that language's answer."""
    for code, tag, hello, question in (("es", "es", "hola", "¿el café puede causar el temblor del labio?"),
                                       ("pt", "pt-br", "oi", "o café pode causar o tremor no lábio?")):
        words = content.in_language(code)
        chat = new_chat()
        telegram.say(chat, hello, language=tag)
        [welcome] = telegram.wait_messages(chat)
        assert [label for label, _ in welcome.buttons][:3] == [b.label for b in words.buttons["menu"]][:3]
        telegram.say(chat, question, language=tag)
        _, answer = telegram.wait_messages(chat, 2)
        assert words.nodes["caffeine"].text.split(".")[0] in seen(answer)


def test_the_users_own_language_choice_outranks_their_apps(telegram: Telegram, content: Content):
    """A user whose app is in Spanish who chooses Portuguese is answered in Portuguese from then
    on, whatever their app says."""
    chat = new_chat()
    telegram.say(chat, "/menu", language="es")
    [spanish] = telegram.wait_messages(chat)
    assert ("¿Por qué me pasa?", "causes") in spanish.buttons
    telegram.say(chat, "português", language="es")
    telegram.wait_messages(chat, 2)
    telegram.say(chat, "/menu", language="es")
    menu = telegram.wait_messages(chat, 3)[-1]
    assert ("Por que acontece?", "causes") in menu.buttons
    assert content.in_language("pt").nodes["menu"].text.splitlines()[0] in seen(menu)


def test_a_warning_sign_gets_the_alert_first(telegram: Telegram):
    chat = new_chat()
    telegram.say(chat, "my face is drooping on one side and I can't speak properly")
    messages = telegram.wait_messages(chat)
    assert messages[0].text.startswith("<b>These signs can mean a stroke")
    assert "call" in seen(messages[0]).lower()
    labels = [label for label, _ in messages[0].buttons]
    assert "Main menu" in labels


def test_an_alert_whose_send_may_have_failed_is_sent_once_more(telegram: Telegram):
    """A 5xx leaves the outcome unknown: an ordinary answer is not repeated (it may have arrived),
    but an emergency alert is: two copies are a small harm, none a grave one."""
    chat = new_chat()
    telegram.fake.fail(chat, status=500, times=1)  # the first send is refused with nothing created
    telegram.say(chat, "my face is drooping on one side and I can't speak properly")
    alert = telegram.fake.wait_for(
        lambda: [c for c in telegram.fake.delivered(chat) if "These signs can mean a stroke" in c.text])
    assert [c.status for c in telegram.fake.calls_to("sendMessage", chat)][:2] == [500, 200]
    assert "Call 112, 911 or 999 now." in seen(alert[0])
    other = new_chat()
    telegram.say(other, "/menu")
    telegram.wait_messages(other)
    telegram.fake.fail(other, status=500, times=1)
    telegram.say(other, "can coffee cause it?")
    telegram.fake.wait_for(lambda: len(telegram.fake.calls_to("sendMessage", other)) >= 2)
    telegram.say(other, "/help")  # a later turn shows the earlier answer was settled, not retried
    telegram.fake.wait_for(lambda: len(telegram.fake.calls_to("sendMessage", other)) >= 3)
    statuses = [c.status for c in telegram.fake.calls_to("sendMessage", other)]
    assert statuses == [200, 500, 200], "an ordinary answer with an unknown outcome is not repeated"


def test_a_stale_button_answers_with_the_menu(telegram: Telegram, content: Content):
    chat = new_chat()
    telegram.say(chat, "/menu")
    [menu] = telegram.wait_messages(chat)
    query = telegram.tap(chat, "a-topic-from-an-old-version", menu.message_id)
    edited = telegram.fake.wait_for(lambda: telegram.fake.calls_to("editMessageText", chat))
    assert content.nodes["menu"].text.splitlines()[0] in seen(edited[0])
    assert query in [c.params["callback_query_id"] for c in telegram.fake.calls_to("answerCallbackQuery")]


def test_a_redelivered_update_is_answered_once(telegram: Telegram):
    chat = new_chat()
    update = text_update(telegram.fake.next_update_id(), chat, "/help")
    telegram.deliver(update)
    telegram.deliver(update)
    telegram.say(chat, "/about")
    messages = telegram.wait_messages(chat, 2)
    assert len(messages) == 2
    assert sum("How to use me" in seen(m) for m in messages) == 1


def test_plain_text_and_the_same_text_with_entities_get_the_same_answer(telegram: Telegram):
    """By webhook a private chat's plain text is read from its JSON (plain.py) and the same words
    with an entity take PTB's way: which one must never change the answer."""
    plain, marked = new_chat(), new_chat()
    telegram.say(plain, "why is my lip twitching")
    update = text_update(telegram.fake.next_update_id(), marked, "why is my lip twitching")
    update["message"]["entities"] = [{"type": "bold", "offset": 0, "length": 3}]
    telegram.deliver(update)
    [first] = telegram.wait_messages(plain)
    [second] = telegram.wait_messages(marked)
    assert seen(first) == seen(second) and first.buttons == second.buttons
    assert "twitch" in seen(first).lower()


def test_a_plain_text_that_ptb_could_not_read_is_refused_not_answered(servers: dict[str, Telegram]):
    """A private text update without what Telegram always sends (the sender's first name, an
    integer date) is refused with 400 by webhook, as PTB refuses it, and nothing is answered."""
    telegram = servers["webhook"]
    url = f"{telegram.server.url}/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    for broken in ({"from": {"id": 1, "is_bot": False}}, {"date": "today"}, {"from": {"id": 1}}):
        chat = new_chat()
        update = text_update(telegram.fake.next_update_id(), chat, "why is my lip twitching")
        update["message"].update(broken)
        assert httpx.post(url, json=update, headers=headers).status_code == 400, broken
        assert telegram.fake.delivered(chat) == []


def test_in_a_group_the_bot_answers_only_when_addressed(telegram: Telegram):
    group = new_chat(group=True)
    telegram.say(group, "my lip keeps twitching, anyone else?", from_id=77)
    telegram.say(group, "/menu@someone_else_bot", from_id=77)
    telegram.say(group, f"/menu@{USERNAME}", from_id=77)
    telegram.say(group, f"@{USERNAME} what causes it?", from_id=77)
    telegram.say(group, "is it serious?", from_id=77, reply_to_bot=True)
    messages = telegram.wait_messages(group, 3)
    assert len(messages) == 3
    assert "twitching, anyone" not in " ".join(seen(m) for m in messages)


def test_in_a_forum_topic_the_answer_lands_in_that_topic(telegram: Telegram, content: Content):
    forum = new_chat(group=True)
    telegram.deliver(forum_update(telegram.fake.next_update_id(), forum, f"@{USERNAME} /help", 42))
    [answer] = telegram.wait_messages(forum)
    assert answer.params["message_thread_id"] == "42"
    assert "How to use me" in seen(answer)


def test_a_group_photo_whose_caption_mentions_the_bot_is_answered(telegram: Telegram, content: Content):
    group = new_chat(group=True)
    telegram.deliver(photo_update(telegram.fake.next_update_id(), group, "my lip today", from_id=77))
    caption = f"@{USERNAME} can coffee make my lip twitch?"
    telegram.deliver(photo_update(telegram.fake.next_update_id(), group, caption, from_id=77))
    [answer] = telegram.wait_messages(group)
    assert "Caffeine is a stimulant" in seen(answer)


def test_an_anonymous_group_admin_is_answered(telegram: Telegram):
    group = new_chat(group=True)
    telegram.deliver(anonymous_admin_update(telegram.fake.next_update_id(), group, f"@{USERNAME} /help"))
    telegram.deliver(anonymous_admin_update(
        telegram.fake.next_update_id(), group, f"@{USERNAME} my face is drooping and I can't speak"))
    messages = telegram.wait_messages(group, 2)
    assert any(m.text.startswith("<b>These signs can mean a stroke") for m in messages)


def test_an_edit_is_not_answered_again_but_a_warning_sign_it_adds_raises_the_alert(telegram: Telegram):
    chat = new_chat()
    telegram.say(chat, "can coffee make my lip twitch?", message_id=31)
    [first] = telegram.wait_messages(chat)
    telegram.deliver(edited_update(telegram.fake.next_update_id(), chat, "can tea make it twitch?", 31))
    telegram.deliver(edited_update(telegram.fake.next_update_id(), chat,
                                   "can tea make it twitch? now my face is drooping and I can't speak", 31))
    _, alert = telegram.wait_messages(chat, 2)
    assert alert.text.startswith("<b>These signs can mean a stroke")
    assert "Main menu" in [label for label, _ in alert.buttons]
    telegram.say(chat, "/about")
    messages = telegram.wait_messages(chat, 3)
    assert len(messages) == 3, [seen(m)[:40] for m in messages]  # the first edit got nothing
    assert "Caffeine is a stimulant" in seen(first)


def test_blocking_and_unblocking_pause_and_resume_at_once(telegram: Telegram):
    chat = new_chat()
    telegram.say(chat, "hello")
    telegram.wait_messages(chat)
    telegram.deliver(member_update(telegram.fake.next_update_id(), chat, "kicked"))
    telegram.fake.wait_for(lambda: telegram.paused_reason(chat) == BLOCKED)
    telegram.deliver(member_update(telegram.fake.next_update_id(), chat, "member"))
    telegram.fake.wait_for(lambda: telegram.paused_reason(chat) is None)
    assert len(telegram.fake.delivered(chat)) == 1  # noticing a block sends nothing


def test_a_users_own_stop_is_never_overwritten_by_a_block(servers: dict[str, Telegram]):
    telegram = servers["webhook"]  # a webhook post returns once its update is handled
    chat = new_chat()
    telegram.say(chat, "stop")
    telegram.wait_messages(chat)
    assert telegram.paused_reason(chat) == STOPPED
    telegram.deliver(member_update(telegram.fake.next_update_id(), chat, "kicked"))
    assert telegram.paused_reason(chat) == STOPPED
    telegram.deliver(member_update(telegram.fake.next_update_id(), chat, "member"))
    assert telegram.paused_reason(chat) == STOPPED
    stranger = new_chat()
    telegram.deliver(member_update(telegram.fake.next_update_id(), stranger, "kicked"))
    with sqlite3.connect(telegram.db) as db:  # someone who never wrote leaves no row behind
        assert db.execute("SELECT 1 FROM users WHERE user_key = ?", (str(stranger),)).fetchall() == []


def test_the_bot_subscribes_to_membership_changes_and_edits(telegram: Telegram):
    if telegram.mode == "webhook":
        [registered] = telegram.fake.calls_to("setWebhook")
        allowed = registered.params["allowed_updates"]
    else:
        allowed = telegram.fake.calls_to("getUpdates")[-1].params["allowed_updates"]
    assert {"message", "edited_message", "callback_query", "my_chat_member"} <= set(allowed)


def test_a_flood_reply_is_waited_out_and_still_arrives(telegram: Telegram):
    chat = new_chat()
    telegram.fake.flood(chat, retry_after=1)
    telegram.say(chat, "/help")
    [message] = telegram.wait_messages(chat)
    attempts = telegram.fake.calls_to("sendMessage", chat)
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0  # Telegram said "retry after 1"
    assert "How to use me" in seen(message)


def test_a_user_who_blocked_the_bot_is_marked_and_not_retried(telegram: Telegram):
    chat = new_chat()
    telegram.fake.block(chat)
    telegram.say(chat, "hello")
    telegram.fake.wait_for(lambda: telegram.paused_reason(chat) == BLOCKED)
    assert [c.status for c in telegram.fake.calls_to("sendMessage", chat)] == [403]
    telegram.fake.unblock(chat)
    telegram.say(chat, "/menu")  # they unblocked the bot and wrote again
    telegram.wait_messages(chat)
    assert telegram.paused_reason(chat) is None


def test_the_webhook_refuses_a_wrong_or_missing_secret(telegram: Telegram):
    chat = new_chat()
    update = text_update(telegram.fake.next_update_id(), chat, "/start")
    url = f"{telegram.server.url}/telegram/webhook"
    wrong = httpx.post(url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
    missing = httpx.post(url, json=update)
    if telegram.mode == "polling":
        assert (wrong.status_code, missing.status_code) == (404, 404)
        return
    assert (wrong.status_code, missing.status_code) == (403, 403)
    [set_webhook] = telegram.fake.calls_to("setWebhook")
    assert set_webhook.params["secret_token"] == SECRET
    assert set_webhook.params["url"] == "https://bot.example.org/telegram/webhook"
    bad = httpx.post(url, content=b"{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert bad.status_code == 400
    telegram.say(chat, "/about")  # the same chat, properly delivered afterwards
    messages = telegram.wait_messages(chat)
    assert len(messages) == 1 and "How to use me" not in seen(messages[0])
    with sqlite3.connect(telegram.db) as db:
        sql = "SELECT 1 FROM inbound_messages WHERE channel = 'telegram' AND message_id = ?"
        stored = db.execute(sql, (str(update["update_id"]),)).fetchall()
    assert stored == []


def test_a_locked_database_answers_the_webhook_503_and_the_redelivery_is_answered(
    servers: dict[str, Telegram],
):
    """SQLite held by another writer for longer than the store waits: no apology that loses the
    message, but a 503, so Telegram delivers the update again; then it is answered once."""
    telegram = servers["webhook"]
    chat = new_chat()
    update = text_update(telegram.fake.next_update_id(), chat, "/help")
    url = f"{telegram.server.url}/telegram/webhook"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    holder = sqlite3.connect(telegram.db, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        refused = httpx.post(url, json=update, headers=headers, timeout=60)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert refused.status_code == 503
    assert telegram.fake.calls_to("sendMessage", chat) == []  # no apology
    telegram.deliver(update)  # Telegram's redelivery
    [answer] = telegram.wait_messages(chat)
    assert "How to use me" in seen(answer)


def test_one_flooding_chat_does_not_hold_up_another(servers: dict[str, Telegram]):
    # Polling only: the webhook answers each request in turn, polling shows the concurrency.
    # Its paced replies to the flooder drain while the webhook tests run.
    telegram = servers["polling"]
    flooder, other = new_chat(), new_chat()
    for _ in range(25):
        telegram.say(flooder, "/help")
    telegram.say(other, "/about")
    telegram.wait_messages(other)
    assert len(telegram.fake.delivered(flooder)) < 10  # paced at one a second, not served ahead of others


RED_FLAG = "my face is drooping and I can't speak"
FLOOD = 25


def test_a_flooding_chat_that_describes_a_warning_sign_still_gets_the_alert(telegram: Telegram):
    """Over the flood limit (a burst of 10), a message is dropped unanswered unless it describes a
    warning sign: then the alert alone goes out, ahead of most of the paced answers still owed."""
    chat = new_chat()
    if telegram.mode == "polling":  # one getUpdates batch, handled concurrently and in order
        for n in range(FLOOD):
            telegram.fake.push(text_update(telegram.fake.next_update_id(), chat, f"hello {n}"))
        telegram.fake.push(text_update(telegram.fake.next_update_id(), chat, RED_FLAG))
    else:  # Telegram posts a busy chat's updates over several connections at once
        pool = ThreadPoolExecutor(FLOOD)
        posts = [pool.submit(telegram.say, chat, f"hello {n}") for n in range(FLOOD)]
        returned = as_completed(posts)
        for _ in range(FLOOD - FLOOD_BURST):  # the dropped ones come back at once, the rest paced
            next(returned).result()
        telegram.say(chat, RED_FLAG)
        pool.shutdown(wait=False)  # what the flood is owed drains at one a second, in the background
    alert = telegram.fake.wait_for(
        lambda: [c for c in telegram.fake.delivered(chat) if "These signs can mean a stroke" in c.text])
    assert "Call 112, 911 or 999 now." in seen(alert[0])
    # It went ahead of the answers the flood is still owed: at least one of them comes after it.
    # (How many were answered before it depends on how fast the posts arrived, not on the bot.)
    owed = telegram.fake.wait_for(lambda: _delivered_after(telegram.fake.delivered(chat), alert[0]))
    assert all("These signs" not in c.text for c in owed), "the alert was sent twice"


def _delivered_after(delivered: list[Any], message: Any) -> list[Any]:
    """The messages delivered after `message`, in order."""
    return delivered[delivered.index(message) + 1:]


def test_a_flooding_spanish_chat_gets_the_alert_in_spanish(servers: dict[str, Telegram], content: Content):
    """The alert a chat over its flood limit still gets is in the language of the message that
    raised it, not the default's."""
    telegram = servers["polling"]
    chat = new_chat()
    for n in range(FLOOD):  # one getUpdates batch: the burst is answered, the rest held back
        update = text_update(telegram.fake.next_update_id(), chat, f"hola {n}")
        update["message"]["from"]["language_code"] = "es"
        telegram.fake.push(update)
    telegram.fake.push(text_update(telegram.fake.next_update_id(), chat, "de repente tengo la cara caida"))
    spanish = content.in_language("es").messages.alert.text.split("*")[1]
    alert = telegram.fake.wait_for(lambda: [c for c in telegram.fake.delivered(chat) if spanish in seen(c)])
    assert "Llama ya al 112, 911 o 999." in seen(alert[0])
    assert not any("These signs can mean a stroke" in seen(c) for c in telegram.fake.delivered(chat))


# -- rendering ----------------------------------------------------------------------------------


def test_long_text_is_split_between_paragraphs_never_mid_word():
    paragraph = " ".join(["twitch"] * 150)  # ~1,050 characters
    text = "\n\n".join(f"{i} {paragraph}" for i in range(12))
    pieces = split_text(text)
    assert len(pieces) > 1
    assert all(len(to_html(p)) <= LIMIT for p in pieces)
    assert all(p.split(" ", 1)[0].isdigit() for p in pieces)  # each piece starts a paragraph
    assert "\n\n".join(pieces) == text
    one_paragraph = " ".join(["spasm"] * 1500)
    words = {w for p in split_text(one_paragraph) for w in p.split()}
    assert words == {"spasm"}


def test_markup_is_escaped_and_only_asterisk_pairs_become_bold():
    assert to_html("*Call 112* now <b>& a*b*c 2 * 3") == "<b>Call 112</b> now &lt;b&gt;&amp; a*b*c 2 * 3"


def test_payloads_over_64_bytes_are_carried_safely():
    codec = CallbackCodec()
    long_payload = "do:reminders:set:" + "x" * 80
    reply = Reply("menu", "Pick one", (Button("Long", long_payload), Button("Menu", "menu")))
    [message] = render([reply], codec)
    assert message.keyboard is not None
    data = [row[0]["callback_data"] for row in message.keyboard["inline_keyboard"]]
    assert all(len(str(d).encode()) <= DATA_LIMIT for d in data)
    assert codec.decode(str(data[0])) == (long_payload, False)
    assert codec.decode(str(data[1])) == ("menu", False)
    assert CallbackCodec().decode(str(data[0]))[0] not in {long_payload, "menu"}  # unknown: treated as stale


async def test_the_update_log_knows_an_update_it_has_seen(store: Storage):
    updates = UpdateLog(store)
    assert await updates.first_time(981) is True
    assert await updates.first_time(981) is False
    assert await updates.first_time(982) is True


# -- the sender, as reminders use it ----------------------------------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def sender(fake: FakeTelegram, store: Storage) -> Any:
    settings = load_settings(telegram_bot_token=fake.token, telegram_base_url=fake.base_url)
    sender = TelegramSender(settings)
    await sender.start(store)
    yield sender
    await sender.close()


async def _user(store: Storage, chat: int, paused: str | None = None) -> None:
    now = datetime.now(UTC)
    await store.save_user(UserState("telegram", str(chat), now, now, paused_reason=paused))


REMINDER = Reply("reminder", "Time for a glass of water.", (Button("Main menu", "menu"),))


async def test_sender_paces_each_chat_to_one_message_a_second(fake: FakeTelegram, sender: TelegramSender):
    first, second = new_chat(), new_chat()
    results = await asyncio.gather(
        sender.send(str(first), REMINDER), sender.send(str(first), REMINDER),
        sender.send(str(second), REMINDER),
    )
    assert [r.outcome for r in results] == [Outcome.SENT] * 3
    one, two = fake.calls_to("sendMessage", first)
    assert two.at - one.at >= 1.0
    [other] = fake.calls_to("sendMessage", second)
    assert other.at < two.at  # the other chat did not wait behind the first


async def test_sender_marks_a_blocked_user_and_does_not_try_again(
    fake: FakeTelegram, sender: TelegramSender, store: Storage, engine: Engine
):
    chat = new_chat()
    await _user(store, chat)
    fake.block(chat)
    assert (await sender.send(str(chat), REMINDER)).outcome == Outcome.BLOCKED
    assert (await store.load_user("telegram", str(chat))).paused_reason == BLOCKED  # type: ignore[union-attr]
    assert (await sender.send(str(chat), REMINDER)).outcome == Outcome.BLOCKED
    assert len(fake.calls_to("sendMessage", chat)) == 1
    fake.unblock(chat)
    await engine.turn(Incoming("telegram", str(chat), text="hi again"))
    assert (await sender.send(str(chat), REMINDER)).outcome == Outcome.SENT


async def test_sender_waits_out_429_and_never_resends_after_a_server_error(
    fake: FakeTelegram, sender: TelegramSender
):
    """A 429 proves nothing was sent: waited out. A 5xx may have followed a send (the Bot API
    documents no 5xx as "nothing sent"): the outcome is unknown and the message is not sent again."""
    flooded, broken, down = new_chat(), new_chat(), new_chat()
    fake.flood(flooded, retry_after=1)
    fake.fail(broken, status=502, times=2)
    fake.fail(down, status=500, times=100)
    results = await asyncio.gather(*(sender.send(str(c), REMINDER) for c in (flooded, broken, down)))
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.UNKNOWN, Outcome.UNKNOWN]
    assert [c.status for c in fake.calls_to("sendMessage", flooded)] == [429, 200]
    assert [c.status for c in fake.calls_to("sendMessage", broken)] == [502]
    assert len(fake.calls_to("sendMessage", down)) == 1


async def test_aiohttp_errors_count_as_nothing_sent_only_before_the_request_is_written():
    """At most once on the aiohttp request class: a refused connection or no free pooled connection
    proves nothing went (one safe retry); a read timeout after the request was written does not."""
    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the request arrived; no answer ever comes
        await asyncio.sleep(5)
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/botTOKEN/sendMessage"
    closed = await asyncio.start_server(hold, "127.0.0.1", 0)
    nobody = f"http://127.0.0.1:{closed.sockets[0].getsockname()[1]}/botTOKEN/sendMessage"
    closed.close()
    await closed.wait_closed()
    request = AiohttpRequest(1, read_timeout=1.0, connect_timeout=0.2, pool_timeout=0.1)
    await request.initialize()
    try:
        written, waiting = await asyncio.gather(
            request.do_request(url, "POST"), _after(0.1, request.do_request(url, "POST")),
            return_exceptions=True,
        )
        refused = (await asyncio.gather(request.do_request(nobody, "POST"), return_exceptions=True))[0]
    finally:
        await request.shutdown()
        server.close()
    assert isinstance(written, TimedOut) and not not_sent(written), repr(written.__cause__)
    assert isinstance(waiting, TimedOut) and not_sent(waiting), repr(waiting.__cause__)
    assert isinstance(refused, NetworkError) and not_sent(refused), repr(refused.__cause__)


async def _after(seconds: float, call: Awaitable[Any]) -> Any:
    await asyncio.sleep(seconds)
    return await call


async def test_sender_skips_a_user_who_paused_messages(
    fake: FakeTelegram, sender: TelegramSender, store: Storage
):
    chat = new_chat()
    await _user(store, chat, paused=STOPPED)
    assert (await sender.send(str(chat), REMINDER)).outcome == Outcome.SKIPPED
    assert (await sender.send("not-a-chat", REMINDER)).outcome == Outcome.FAILED
    assert fake.calls_to("sendMessage") == []



# -- an update python-telegram-bot cannot read --------------------------------------------------


def test_an_unreadable_update_is_skipped_once_and_polling_goes_on(bot_env: dict[str, str]):
    with FakeTelegram() as fake:
        env = {**bot_env, "TELEGRAM_BOT_TOKEN": fake.token, "TELEGRAM_BASE_URL": fake.base_url}
        with ServeProcess(env, "--no-scheduler") as server:
            broken, chat = fake.next_update_id(), new_chat()
            fake.push(unreadable_update(broken, new_chat()))
            fake.push(text_update(fake.next_update_id(), chat, "/about"))
            fake.wait_for(lambda: fake.delivered(chat))  # everyone else is still answered
            confirmed = fake.wait_for(lambda: [c for c in fake.calls_to("getUpdates")
                                               if int(c.params.get("offset") or 0) > broken])
            assert confirmed
            code = server.stop()
        output = server.read_output()
    assert code == 0, output  # and shutdown did not hang
    assert output.count(f"skipped update {broken}") == 1, output
    assert "Traceback" not in output


# -- python-telegram-bot's own memory ----------------------------------------------------------


async def test_ptb_bookkeeping_stays_bounded_however_many_chats_write(tmp_path: Path, fake: FakeTelegram):
    """PTB 22.8 without a persistence keeps every chat and user id it has seen (Application.
    _chat_ids_to_be_updated_in_persistence and _user_ids_…, never emptied). Fed many distinct
    chats, round after round, the bot's PTB keeps only the ids since its last periodic run
    (`update_persistence`, which PTB calls every minute), and nothing after it."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}", telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url, telegram_webhook_url="https://bot.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    app = create_app(settings, scheduler=False)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    per_round = 600
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bot.test") as client,
    ):
        ptb = app.state.channels["telegram"].app

        def kept() -> list[int]:
            names = [f"_{kind}_ids_to_be_{what}_in_persistence"
                     for what in ("updated", "deleted") for kind in ("chat", "user")]
            return [*(len(getattr(ptb, name)) for name in names), len(ptb.chat_data), len(ptb.user_data)]

        for _ in range(3):
            for _ in range(per_round):  # group chatter not addressed to the bot: read, not answered
                group, person = new_chat(group=True), new_chat()
                update = text_update(fake.next_update_id(), group, "my lip twitches", from_id=person)
                response = await client.post("/telegram/webhook", json=update, headers=headers)
                assert response.status_code == 200
            assert max(kept()) == per_round  # what PTB holds between two runs: this round's chats
            await ptb.update_persistence()
            await ptb.update_persistence()
            assert kept() == [0, 0, 0, 0, 0, 0]


# -- the user's language, as their Telegram app reports it ------------------------------------------


async def test_the_users_app_language_goes_to_the_engine_with_messages_taps_and_edits(
    tmp_path: Path, fake: FakeTelegram, monkeypatch: pytest.MonkeyPatch
):
    """Telegram's `language_code` is the engine's hint (`Incoming.language`); none when it sends none."""
    settings = load_settings(
        database_url=f"sqlite:///{tmp_path / 'bot.sqlite3'}", telegram_bot_token=fake.token,
        telegram_base_url=fake.base_url, telegram_webhook_url="https://bot.example.org/telegram/webhook",
        telegram_webhook_secret=SECRET,
    )
    app = create_app(settings, scheduler=False)
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    hints: list[str | None] = []
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bot.test") as client,
    ):
        engine = app.state.runtime.engine
        real_turn, real_alert = engine.turn, turn_module.alert_alone

        async def turn(incoming: Incoming) -> list[Reply]:
            hints.append(incoming.language)
            return await real_turn(incoming)

        def alert(engine: Engine, incoming: Incoming) -> list[Reply]:
            hints.append(incoming.language)
            return real_alert(engine, incoming)

        monkeypatch.setattr(engine, "turn", turn)
        monkeypatch.setattr(turn_module, "alert_alone", alert)
        chat = new_chat()
        said = text_update(fake.next_update_id(), chat, "hola", message_id=3)
        tapped = tap_update(fake.next_update_id(), chat, "causes", 3)
        edited = edited_update(fake.next_update_id(), chat, "my face is drooping and I can't speak", 3)
        for update, who, code in ((said, said["message"], "es"), (tapped, tapped["callback_query"], "pt-br"),
                                  (edited, edited["edited_message"], "es")):
            who["from"]["language_code"] = code
            assert (await client.post("/telegram/webhook", json=update, headers=headers)).status_code == 200
        plain = text_update(fake.next_update_id(), chat, "/help")
        assert (await client.post("/telegram/webhook", json=plain, headers=headers)).status_code == 200
    assert hints == ["es", "pt-br", "es", None]
    assert any("These signs can mean a stroke" in c.text for c in fake.delivered(chat)), "the edit's alert"


async def test_each_languages_command_menu_is_sent_with_its_language_code(
    fake: FakeTelegram, content: Content
):
    """One setMyCommands per language: the default without a language_code (every other app
    language sees it), then each language's own, as a translated telegram.yaml will give them."""
    default = content.extra["telegram.yaml"]
    menu = Command(command="menu", description="El menú principal")
    spanish = default.model_copy(update={"commands": (menu,)})
    settings = load_settings(telegram_bot_token=fake.token, telegram_base_url=fake.base_url)
    bot = build_bot(settings, limits_for(settings))
    async with bot:
        await set_command_menus(bot, {"es": spanish, None: default})
    first, second = fake.calls_to("setMyCommands")
    assert not first.params.get("language_code")
    assert [c["command"] for c in first.params["commands"]] == [c.command for c in default.commands]
    assert second.params["language_code"] == "es"
    assert second.params["commands"] == [{"command": "menu", "description": "El menú principal"}]
