"""WhatsApp as Twilio drives it: signed webhook posts to the real `serve`, a fake Twilio REST API.

Webhook posts are signed the way Twilio signs them (twilio's own RequestValidator), for
the URL Twilio would call; replies are read from the TwiML a user's phone would get, or
from what reached the fake Twilio API. State is checked in the server's SQLite file.
"""

from __future__ import annotations

import asyncio
import itertools
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from twilio.twiml.messaging_response import MessagingResponse

from messenger_bot.channels.twilio.parts import twiml
from messenger_bot.channels.whatsapp import WhatsAppSender
from messenger_bot.channels.whatsapp.render import LIST_TITLE, MESSAGE_LIMIT, QUICK_REPLY_TITLE, render
from messenger_bot.channels.whatsapp.templates import sync_templates
from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, Sender
from messenger_bot.emergency import country_for_phone
from messenger_bot.engine import BLOCKED, STOPPED
from messenger_bot.settings import load_settings
from tests.fakes.twilio_api import FakeTwilio
from tests.support.server import free_port
from tests.support.twilio import ACCOUNT, PUBLIC, Bot, serving, settings_from, started, twilio_env

SANDBOX = "whatsapp:+14155238886"
WATER_TEMPLATE = "HX" + "a" * 32
_sids = itertools.count(1)
_numbers = itertools.count(7700900100)


# -- fixtures: one fake Twilio, two real servers ----------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def bot_env(db: Path, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    return twilio_env(db, fake, **{"TWILIO_WHATSAPP_FROM": SANDBOX, "WHATSAPP_INTERACTIVE": "false", **extra})


@pytest.fixture(scope="module")
def bot(fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Behind a proxy or tunnel: Twilio calls PUBLIC_BASE_URL, the app listens on loopback."""
    db = tmp_path_factory.mktemp("wa") / "bot.sqlite3"
    with serving(bot_env(db, fake, PUBLIC_BASE_URL=PUBLIC, WHATSAPP_TEMPLATE_WATER=WATER_TEMPLATE), db,
                 "whatsapp") as bot:
        yield bot


@pytest.fixture(scope="module")
def tapping_bot(fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """WHATSAPP_INTERACTIVE, templates synced first; no PUBLIC_BASE_URL, so the request's URL is signed."""
    db = tmp_path_factory.mktemp("wa-tap") / "bot.sqlite3"
    env = bot_env(db, fake, WHATSAPP_INTERACTIVE="true")
    done = subprocess.run([sys.executable, "-m", "messenger_bot", "whatsapp", "sync-templates"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    with serving(env, db, "whatsapp", port=free_port()) as bot:
        yield bot


class User:
    """A WhatsApp user writing to the bot; `say` returns the messages their phone shows."""

    def __init__(self, bot: Bot, number: str | None = None) -> None:
        self.bot = bot
        self.number = number or f"+44{next(_numbers)}"
        self.key = f"whatsapp:{self.number}"

    def fields(self, body: str = "", **extra: str) -> dict[str, str]:
        return {
            "MessageSid": f"SM{next(_sids):032d}", "AccountSid": ACCOUNT, "From": self.key, "To": SANDBOX,
            "Body": body, "NumMedia": "0", "ProfileName": "Sam", "WaId": self.number.lstrip("+"), **extra,
        }

    def send(self, fields: dict[str, str]) -> list[str]:
        return self.bot.messages(fields)

    def say(self, body: str = "", **extra: str) -> str:
        return "\n\n".join(self.send(self.fields(body, **extra)))


# -- what a WhatsApp user sees ------------------------------------------------------


def test_menu_is_numbered_and_a_number_picks_that_option(bot: Bot, content: Content) -> None:
    user = User(bot)
    menu = user.say("hi")
    labels = [b.label for b in content.buttons["menu"]]
    assert "1. " + labels[0] in menu and "2. Why is it happening?" in menu
    assert f"{len(labels)}. {labels[-1]}" in menu
    answer = user.say("2")
    assert _first_line(content, "causes") in answer
    assert "1. " in answer  # the causes menu, numbered in turn


def test_a_typed_question_gets_its_topic(bot: Bot, content: Content) -> None:
    user = User(bot)
    user.say("hello")
    assert _first_line(content, "caffeine") in user.say("can coffee make my lip twitch?")


@pytest.mark.parametrize(("number", "emergency"), [
    ("+447700900123", "Call 999 now"),
    ("+12025550123", "Call 911 now"),
    ("+998901234567", "Call 112, 911 or 999 now"),  # a country with no number in the content
])
def test_the_alert_names_the_local_emergency_number(bot: Bot, number: str, emergency: str) -> None:
    user = User(bot, number)
    messages = user.send(user.fields("my face is drooping on one side and I can't speak properly"))
    assert emergency in messages[0]
    assert messages[0].index(emergency) < 200  # the alert comes first, before anything else


@pytest.mark.parametrize(("number", "red_flag", "alert", "words"), [
    ("+34612345678", "a mi padre se le ha torcido la boca de golpe", "Llama ya al 112", "derrame"),
    ("+5521987654321", "minha mae ficou com o rosto caido de um lado agora", "Ligue agora para 192", "AVC"),
], ids=["spanish-from-spain", "portuguese-from-brazil"])
def test_a_red_flag_in_another_language_alerts_in_it_with_the_local_number(
    bot: Bot, number: str, red_flag: str, alert: str, words: str,
) -> None:
    """The first message of a number from Spain or Brazil, in its language: the alert comes first,
    in that language, with that country's number (the languages' own tests cover chat)."""
    user = User(bot, number)
    messages = user.send(user.fields(red_flag))
    assert alert in messages[0] and words in messages[0]
    assert messages[0].index(alert) < 200


def test_a_user_with_a_username_and_no_number_is_answered_with_the_general_line(
    bot: Bot, content: Content
) -> None:
    """WhatsApp usernames: Twilio's From carries Meta's business-scoped user id, and no WaId."""
    user = User(bot, "US.13491208655302741918")
    fields = user.fields("hi")
    del fields["WaId"]
    assert "1. " in "".join(user.send(fields))
    assert _first_line(content, "caffeine") in user.say("can coffee make my lip twitch?")
    [alert, *_] = user.send(user.fields("my face is drooping on one side and I can't speak properly"))
    assert "Call 112, 911 or 999 now" in alert  # the id's letters are not a country we trust
    assert bot.query("SELECT country FROM users WHERE user_key = ?", user.key) == [(None,)]
    delivered = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered", "To": user.key, "From": SANDBOX}
    assert bot.post("/whatsapp/status", delivered).status_code == 204
    assert bot.query("SELECT user_key FROM whatsapp_outbound WHERE sid = ?", "SM" + "b" * 32) == [(user.key,)]
    parent = User(bot, "US.ENT.11815799212886844830")
    assert "1. " in parent.say("hi")
    for wrong in ("whatsapp:@sam", "whatsapp:US.", "whatsapp:us.123", "whatsapp:US.12 34"):
        assert bot.post("/whatsapp/webhook", {**user.fields("hi"), "From": wrong}).status_code == 400


def test_a_locked_database_answers_503_before_twilio_gives_up(bot: Bot) -> None:
    """Several messages while SQLite is held by another writer: each one gets 503 before Twilio's
    15 s timeout (the client here gives up then too), never a reply held until Twilio hangs up."""
    users = [User(bot) for _ in range(4)]
    twilio_timeout = httpx.Timeout(15.0)

    def post(user: User) -> httpx.Response:
        fields = user.fields("hello")
        return httpx.post(bot.serve.url + "/whatsapp/webhook", data=fields,
                          headers={"X-Twilio-Signature": bot.signed("/whatsapp/webhook", fields)},
                          timeout=twilio_timeout)

    with bot.locked(), ThreadPoolExecutor(len(users)) as pool:
        statuses = [r.status_code for r in pool.map(post, users)]
    assert statuses == [503] * len(users)
    assert all("1. " in user.say("hi") for user in users)  # once the lock is gone, all is well


def test_media_gets_a_kind_text_only_answer_and_the_menu(bot: Bot) -> None:
    user = User(bot)
    user.say("hi")
    for extra in ({"NumMedia": "1", "MediaContentType0": "image/jpeg", "MediaUrl0": "https://x.test/1"},
                  {"NumMedia": "1", "MediaContentType0": "audio/ogg", "MediaUrl0": "https://x.test/2"},
                  {"Latitude": "51.5", "Longitude": "-0.12"}):
        answer = user.say("", **extra)
        assert "I can only read text" in answer
        assert "1. " in answer


def test_a_message_twilio_delivers_twice_is_answered_once(bot: Bot) -> None:
    user = User(bot)
    fields = user.fields("hello")
    assert user.send(fields)
    assert user.send(fields) == []


def test_stop_pauses_once_and_start_resumes(bot: Bot) -> None:
    user = User(bot)
    user.say("hi")
    stopped = user.send(user.fields("STOP"))
    assert len(stopped) == 1 and "paused" in stopped[0]
    assert bot.paused_reason(user.key) == STOPPED
    user.say("what causes it?")  # a question still gets an answer, and the STOP still holds
    assert bot.paused_reason(user.key) == STOPPED
    assert "Welcome back" in user.say("START")
    assert bot.paused_reason(user.key) is None
    assert "How to use me" in user.say("HELP")


def test_long_answers_are_split_at_paragraphs_within_the_limit(content: Content) -> None:
    paragraph = "A sentence about twitching that goes on for a while. " * 10
    hint = content.extra["channels.yaml"].numbered.whatsapp_hint
    reply = Reply("topic", "\n\n".join([paragraph.strip()] * 8), (Button("Main menu", "menu"),))
    parts = render([reply], hint)
    assert len(parts) > 1
    assert all(p.body and len(p.body) <= MESSAGE_LIMIT for p in parts)
    assert all(p.body and p.body.startswith("A sentence") for p in parts)
    assert parts[-1].body and parts[-1].body.rstrip().endswith("type a question._")


def test_twiml_is_what_twilios_own_messaging_response_writes() -> None:
    bodies, callback = ["*Bold* & <angles> \"quoted\"\n1. One", "second"], "https://x.test/whatsapp/status?a=1&b=2"
    expected = MessagingResponse()
    for body in bodies:
        expected.message(body, action=callback)
    assert twiml(bodies, callback) == str(expected)
    assert twiml([]) == '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def test_the_country_of_a_number() -> None:
    assert country_for_phone("whatsapp:+447700900123") == "GB"
    assert country_for_phone("+61412345678") == "AU"
    assert country_for_phone("+99912345") is None


# -- signatures and bad input ------------------------------------------------------------


def test_unsigned_or_wrongly_signed_posts_get_403_and_touch_nothing(bot: Bot) -> None:
    user = User(bot)
    fields = user.fields("hello")
    assert bot.post("/whatsapp/webhook", fields, signature="").status_code == 403
    not_public = bot.post("/whatsapp/webhook", fields, sign_for=bot.serve.url)  # signed for the wrong URL
    assert not_public.status_code == 403
    assert bot.post("/whatsapp/webhook", fields, token="someone-elses-token").status_code == 403
    tampered = bot.post("/whatsapp/webhook", {**fields, "Body": "changed"},
                        signature=bot.signed("/whatsapp/webhook", fields))
    assert tampered.status_code == 403
    assert bot.post("/whatsapp/status", {"MessageSid": "SM1", "MessageStatus": "failed", "ErrorCode": "21610",
                                         "To": user.key}, signature="").status_code == 403
    assert bot.query("SELECT * FROM users WHERE user_key = ?", user.key) == []
    assert user.send(fields)  # the same MessageSid, signed properly, was never recorded: it is answered


def test_bad_input_gets_a_4xx_never_a_5xx(bot: Bot) -> None:
    user = User(bot)
    cases = {
        "empty body": ({}, 400),
        "no From": ({"MessageSid": "SM" + "9" * 32, "Body": "hi"}, 400),
        "not WhatsApp": ({**user.fields("hi"), "From": "+15550001111"}, 400),
        "no MessageSid": ({k: v for k, v in user.fields("hi").items() if k != "MessageSid"}, 400),
    }
    for name, (fields, status) in cases.items():
        assert bot.post("/whatsapp/webhook", fields).status_code == status, name
    form_type = {"X-Twilio-Signature": "abc", "Content-Type": "application/x-www-form-urlencoded"}
    broken = bot.http.post(bot.serve.url + "/whatsapp/webhook", content=b"Body=%ff%fe&From=whatsapp%3A%2B1",
                           headers=form_type)
    assert broken.status_code == 400
    huge = user.fields("x" * 100_000)
    assert bot.post("/whatsapp/webhook", huge).status_code == 413
    assert bot.post("/whatsapp/status", {"To": user.key}).status_code == 400
    answer = user.say("'; DROP TABLE users; -- 🙂🙂🙂 " + "lip " * 2500)
    assert answer


def test_a_flood_from_one_number_is_throttled_without_slowing_others(bot: Bot) -> None:
    flooder, other = User(bot), User(bot)
    answered = [bool(flooder.send(flooder.fields(f"hello {i}"))) for i in range(25)]
    assert answered[0] and not all(answered)
    assert "1. " in other.say("hi")
    assert "Call 999 now" in flooder.say("I suddenly can't move my arm and my face is numb")


# -- status callbacks and sending first --------------------------------------------------------


def test_status_callbacks_are_recorded_and_unreachable_users_paused(bot: Bot) -> None:
    user = User(bot)
    user.say("hi")
    sid = "SM" + "5" * 32
    for state in ("sent", "delivered"):
        assert bot.post("/whatsapp/status", {"MessageSid": sid, "MessageStatus": state, "To": user.key,
                                             "From": SANDBOX}).status_code == 204
    assert bot.post("/whatsapp/status", {"MessageSid": sid, "MessageStatus": "sent", "To": user.key}
                    ).status_code == 204  # late and out of order: it does not undo "delivered"
    assert bot.query("SELECT status FROM whatsapp_outbound WHERE sid = ?", sid) == [("delivered",)]
    failed = "SM" + "6" * 32
    bot.post("/whatsapp/status", {"MessageSid": failed, "MessageStatus": "undelivered", "ErrorCode": "63024",
                                  "To": user.key})
    assert bot.query("SELECT status, error_code FROM whatsapp_outbound WHERE sid = ?", failed) == [
        ("undelivered", 63024)]
    assert bot.paused_reason(user.key) == BLOCKED
    user.say("hello again")
    assert bot.paused_reason(user.key) is None


@pytest.fixture
async def sender(bot: Bot) -> AsyncIterator[Sender]:
    async with started(bot, WhatsAppSender) as whatsapp:
        yield whatsapp


REMINDER = Reply("reminder", "Time for a glass of water.", (Button("Done", "do:water:done"),))


async def test_inside_the_window_a_reminder_goes_as_text(bot: Bot, fake: FakeTwilio, sender: Any) -> None:
    user = User(bot)
    user.say("hi")
    result = await sender.send(user.key, REMINDER, template="water")
    assert result.outcome is Outcome.SENT and result.provider_id
    [sent] = fake.sent_to(user.key)
    assert sent.form["Body"].startswith("Time for a glass of water.") and "1. Done" in sent.form["Body"]
    assert sent.form["From"] == SANDBOX and sent.username == ACCOUNT
    assert sent.form["StatusCallback"] == PUBLIC + "/whatsapp/status"


async def test_outside_the_window_a_template_or_nothing(bot: Bot, fake: FakeTwilio, sender: Any) -> None:
    user = User(bot)
    user.say("hi")
    yesterday = (datetime.now(UTC) - timedelta(hours=25)).timestamp()
    bot.query("UPDATE users SET last_inbound_at = ? WHERE user_key = ?", yesterday, user.key)
    result = await sender.send(user.key, REMINDER, template="water")
    assert result.outcome is Outcome.SENT
    [sent] = fake.sent_to(user.key)
    assert sent.form["ContentSid"] == WATER_TEMPLATE and "Body" not in sent.form
    skipped = await sender.send(user.key, REMINDER, template="caffeine")
    assert skipped.outcome is Outcome.SKIPPED and "WHATSAPP_TEMPLATE_CAFFEINE" in (skipped.detail or "")
    assert len(fake.sent_to(user.key)) == 1
    never_wrote = await sender.send("whatsapp:+447700900999", REMINDER)
    assert never_wrote.outcome is Outcome.SKIPPED


async def test_an_opted_out_user_is_blocked_and_paused_until_they_write(
    bot: Bot, fake: FakeTwilio, sender: Any
) -> None:
    user = User(bot)
    user.say("hi")
    fake.fail_recipient(user.key, 400, 21610)
    result = await sender.send(user.key, REMINDER, template="water")
    assert result.outcome is Outcome.BLOCKED
    assert bot.paused_reason(user.key) == BLOCKED
    assert (await sender.send(user.key, REMINDER)).outcome is Outcome.SKIPPED
    assert len(fake.sent_to(user.key)) == 1  # nothing more was tried
    fake.fail_recipient(user.key, 201, None)
    assert user.say("hello")
    assert bot.paused_reason(user.key) is None
    assert (await sender.send(user.key, REMINDER)).outcome is Outcome.SENT


async def test_twilio_refusals_are_retried_once_and_a_500_never(
    bot: Bot, fake: FakeTwilio, sender: Any
) -> None:
    """503 and 429 turn the request away before anything is created: one more try. A 500 may
    have created the message (Twilio's error 20500 says so): unknown, never sent again."""
    user = User(bot)
    user.say("hi")
    fake.fail_next(503)
    assert (await sender.send(user.key, REMINDER)).outcome is Outcome.SENT
    assert len(fake.sent_to(user.key)) == 2
    fake.fail_next(429, 20429, times=10)
    result = await sender.send(user.key, REMINDER)
    assert result.outcome is Outcome.FAILED
    assert len(fake.sent_to(user.key)) == 2 + 2
    fake.state.failures.clear()
    fake.fail_next(500, 20500)
    assert (await sender.send(user.key, REMINDER)).outcome is Outcome.UNKNOWN
    assert len(fake.sent_to(user.key)) == 2 + 2 + 1


# -- tap-able menus (WHATSAPP_INTERACTIVE) ------------------------------------------------


def test_sync_templates_makes_list_pickers_and_quick_replies(tapping_bot: Bot, fake: FakeTwilio) -> None:
    kinds: dict[str, int] = {}
    for created in fake.contents:
        assert created.json is not None and created.username == ACCOUNT
        [(kind, spec)] = created.json["types"].items()
        kinds[kind] = kinds.get(kind, 0) + 1
        if kind == "twilio/list-picker":
            assert 1 <= len(spec["items"]) <= 10
            assert all(len(item["item"]) <= LIST_TITLE for item in spec["items"])
        else:
            assert kind == "twilio/quick-reply" and len(spec["actions"]) <= 3
            assert all(len(a["title"]) <= QUICK_REPLY_TITLE for a in spec["actions"])
    assert kinds.get("twilio/list-picker") and kinds.get("twilio/quick-reply")
    stored = tapping_bot.query("SELECT COUNT(*) FROM whatsapp_templates")[0][0]
    assert stored == len(fake.contents)
    settings = load_settings(**settings_from(tapping_bot.env))
    again = asyncio.run(sync_templates(settings, []))
    assert again.created == 0 and again.existing == stored and again.failed == 0
    assert len(fake.contents) == stored


def test_menus_go_as_taps_and_a_tap_is_a_button(tapping_bot: Bot, fake: FakeTwilio, content: Content) -> None:
    user = User(tapping_bot, "+15550101234")
    assert user.send(user.fields("menu")) == []  # everything goes by REST, in order
    assert fake.wait_for(lambda: any("ContentSid" in m.form for m in fake.sent_to(user.key)))
    menu = [m for m in fake.sent_to(user.key) if "ContentSid" in m.form][-1]
    assert _first_line(content, "menu") in menu.form["ContentVariables"]
    before = len(fake.sent_to(user.key))
    tap = user.fields("Why is it happening?", ListId="causes", ListTitle="Why is it happening?")
    assert user.send(tap) == []
    assert fake.wait_for(lambda: len(fake.sent_to(user.key)) > before)
    tapped = fake.sent_to(user.key)[-1]
    assert _first_line(content, "causes") in tapped.form.get("ContentVariables", tapped.form.get("Body", ""))
    before = len(fake.sent_to(user.key))
    user.send(user.fields("Main menu", ButtonPayload="menu", ButtonText="Main menu"))
    assert fake.wait_for(lambda: len(fake.sent_to(user.key)) > before)
    assert fake.sent_to(user.key)[-1].form["ContentSid"] == menu.form["ContentSid"]


def _first_line(content: Content, node_id: str) -> str:
    return content.nodes[node_id].text.strip().splitlines()[0][:60]
