"""SMS as Twilio drives it: signed webhook posts to the real `serve`, a fake Twilio REST API.

Webhook posts are signed the way Twilio signs them (twilio's own RequestValidator), for
the URL Twilio would call; replies are read from the TwiML a phone would get, or from
what reached the fake Twilio API when a reply takes several messages. State is checked
in the server's SQLite file.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from messenger_bot.admin.dashboard import Dashboard, load_dashboard
from messenger_bot.channels.shared.dedup import InboundOnce
from messenger_bot.channels.sms import SmsSender
from messenger_bot.channels.sms.render import render
from messenger_bot.channels.sms.segments import is_gsm, pack, segments
from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.delivery import Outcome, Sender
from messenger_bot.storage import BLOCKED, STOPPED, SQLiteStorage, Storage
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess
from tests.support.twilio import ACCOUNT, PUBLIC, Bot, serving, started, twilio_env
from tests.support.waiting import HANG_BOUND
from tests.test_reminders_e2e import EIGHT, send_due, subscribe

NUMBER = "+15005550006"
SERVICE = "MG" + "c" * 32
_sids = itertools.count(1)
_numbers = itertools.count(7700900100)


# -- fixtures: one fake Twilio, two real servers ----------------------------------


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def sms_env(db: Path, fake: FakeTwilio, **extra: str) -> dict[str, str]:
    return twilio_env(db, fake, **{"TWILIO_SMS_FROM": NUMBER, "SMS_MPS": "50", **extra})


@pytest.fixture(scope="module")
def bot(fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """Behind a proxy or tunnel: Twilio calls PUBLIC_BASE_URL, the app listens on loopback."""
    db = tmp_path_factory.mktemp("sms") / "bot.sqlite3"
    with serving(sms_env(db, fake, PUBLIC_BASE_URL=PUBLIC), db, "sms") as bot:
        yield bot


@pytest.fixture(scope="module")
def tight_bot(fake: FakeTwilio, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bot]:
    """One segment per message at most; no PUBLIC_BASE_URL, so the request's own URL is signed."""
    db = tmp_path_factory.mktemp("sms-tight") / "bot.sqlite3"
    with serving(sms_env(db, fake, SMS_MAX_SEGMENTS="1"), db, "sms") as bot:
        yield bot


class Phone:
    """A phone texting the bot; `say` returns what it shows in reply."""

    def __init__(self, bot: Bot, fake: FakeTwilio, number: str | None = None) -> None:
        self.bot = bot
        self.fake = fake
        self.key = number or f"+44{next(_numbers)}"

    def fields(self, body: str = "", **extra: str) -> dict[str, str]:
        sid = f"SM{next(_sids):032d}"
        return {
            "MessageSid": sid, "SmsSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT, "From": self.key,
            "To": NUMBER, "Body": body, "NumMedia": "0", "NumSegments": "1", "FromCountry": "GB", **extra,
        }

    def send(self, fields: dict[str, str]) -> list[str]:
        """The messages in the webhook's TwiML answer."""
        return self.bot.messages(fields)

    def texts(self, body: str = "", **extra: str) -> list[str]:
        """Every message the phone gets for this one: in the TwiML, or (a reply of several
        messages) by the REST API, in order, the last one ending in the menu's hint."""
        before = len(self.fake.sent_to(self.key))
        inline = self.send(self.fields(body, **extra))
        if inline:
            return inline
        assert self.fake.wait_for(lambda: self._rest_since(before)[-1:] != [] and
                                  self._rest_since(before)[-1].rstrip().endswith("type a question."))
        return self._rest_since(before)

    def say(self, body: str = "", **extra: str) -> str:
        return "\n\n".join(self.texts(body, **extra))

    def _rest_since(self, count: int) -> list[str]:
        return [m.form.get("Body", "") for m in self.fake.sent_to(self.key)[count:]]


def _first_line(content: Content, node_id: str) -> str:
    return content.nodes[node_id].text.strip().splitlines()[0][:60].replace("*", "")


# -- what a phone shows ------------------------------------------------------------


def test_menu_is_numbered_and_a_number_picks_that_option(
    bot: Bot, fake: FakeTwilio, content: Content
) -> None:
    phone = Phone(bot, fake)
    menu = phone.say("hi")
    labels = [b.label for b in content.buttons["menu"]]
    assert "1. " + labels[0] in menu and "2. Why is it happening?" in menu
    assert f"{len(labels)}. {labels[-1]}" in menu
    assert menu.rstrip().endswith("Reply with a number, or type a question.")
    answer = phone.say("2")
    assert _first_line(content, "causes") in answer
    assert "1. " in answer  # the causes menu, numbered in turn
    assert "*" not in answer  # WhatsApp's bold marks are not shown on a phone's SMS


def test_a_typed_question_gets_its_topic(bot: Bot, fake: FakeTwilio, content: Content) -> None:
    phone = Phone(bot, fake)
    phone.say("hello")
    assert _first_line(content, "caffeine") in phone.say("can coffee make my lip twitch?")


@pytest.mark.parametrize(("number", "emergency"), [
    ("+447700900123", "Call 999 now"),
    ("+12025550123", "Call 911 now"),
    ("+998901234567", "Call 112, 911 or 999 now"),  # a country with no number in the content
])
def test_the_alert_in_a_first_message_names_the_number_of_the_phones_country(
    bot: Bot, fake: FakeTwilio, number: str, emergency: str
) -> None:
    phone = Phone(bot, fake, number)
    messages = phone.texts("my face is drooping on one side and I can't speak properly")
    assert emergency in messages[0]
    assert messages[0].index(emergency) < 200  # the alert comes first, before anything else


def test_a_picture_gets_a_kind_text_only_answer(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    answer = phone.say("", NumMedia="1", MediaContentType0="image/jpeg", MediaUrl0="https://x.test/1")
    assert "I can only read text" in answer and "1. " in answer


def test_a_message_twilio_delivers_twice_is_answered_once(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    fields = phone.fields("hello")
    assert phone.send(fields)
    assert phone.send(fields) == []


def test_a_message_whose_turn_failed_is_answered_when_twilio_retries_it(bot: Bot, fake: FakeTwilio) -> None:
    """The database is held by another writer: the webhook answers 503 before Twilio's 15 s
    timeout, and Twilio's retry of the same MessageSid is answered, not taken for a duplicate."""
    phone = Phone(bot, fake)
    fields = phone.fields("hello")
    with bot.locked():
        signed = {"X-Twilio-Signature": bot.signed("/sms/webhook", fields)}
        held = httpx.post(bot.serve.url + "/sms/webhook", data=fields, headers=signed, timeout=15.0)
    assert held.status_code == 503
    assert "1. " in "".join(phone.send(fields))


async def test_an_id_is_forgotten_when_its_turn_fails_or_is_cancelled(store: Storage) -> None:
    """On SQLite and PostgreSQL alike (the `store` fixture runs both)."""
    sms, whatsapp = InboundOnce(store, "sms"), InboundOnce(store, "whatsapp")
    now = datetime.now(UTC)

    async def fails() -> str:
        raise RuntimeError("the turn failed")

    async def answers() -> str:
        return "answered"

    with pytest.raises(RuntimeError):
        await sms.once("SM1", now, fails)
    assert await sms.once("SM1", now, answers) == "answered"  # the retry is answered
    assert await sms.once("SM1", now, answers) is None  # and then it is a duplicate
    assert await whatsapp.once("SM1", now, answers) == "answered"  # ids are per channel

    hang = asyncio.Event()

    async def hangs() -> str:
        await hang.wait()
        return "never"

    async def recorded() -> bool:
        return bool(await store.fetch("SELECT 1 FROM inbound_messages WHERE message_id = 'SM2'"))

    task = asyncio.create_task(sms.once("SM2", now, hangs))
    assert await _eventually(recorded)
    task.cancel()  # past the request's deadline
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _eventually(lambda: _negated(recorded))  # released in the background
    assert await sms.once("SM2", now, answers) == "answered"


async def _negated(check: Callable[[], Awaitable[bool]]) -> bool:
    return not await check()


async def _eventually(check: Callable[[], Awaitable[bool]]) -> bool:
    """Wait for an event (never for a time): the bound only tells a hang from slow progress."""
    deadline = time.monotonic() + HANG_BOUND
    while time.monotonic() < deadline:
        if await check():
            return True
        await asyncio.sleep(0.01)
    return await check()


# -- STOP, START, HELP -----------------------------------------------------------------


def test_stop_is_the_users_own_pause_and_the_bot_says_nothing_more(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    before = len(fake.sent_to(phone.key))
    assert phone.send(phone.fields("STOP")) == []  # Twilio itself confirms the opt-out
    assert bot.paused_reason(phone.key) == STOPPED
    assert phone.send(phone.fields(" unsubscribe ")) == []
    assert len(fake.sent_to(phone.key)) == before
    assert "Welcome back" in phone.say("START")
    assert bot.paused_reason(phone.key) is None
    phone.send(phone.fields("Stop"))
    assert bot.paused_reason(phone.key) == STOPPED
    phone.say("UNSTOP")
    assert bot.paused_reason(phone.key) is None


def test_a_stop_named_by_advanced_opt_out_counts_too(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    assert phone.send(phone.fields("arret", OptOutType="STOP")) == []
    assert bot.paused_reason(phone.key) == STOPPED


def test_help_gives_the_bots_help_and_how_to_stop(bot: Bot, fake: FakeTwilio, content: Content) -> None:
    phone = Phone(bot, fake)  # a new number: the notice comes first, then the help
    for word in ("HELP", "info"):
        answer = phone.say(word)
        assert "How to use me" in answer
        assert content.extra["channels.yaml"].sms.help_footer in answer
        assert answer.index("How to use me") < answer.index("Reply STOP") < answer.index("1. ")


# -- segments --------------------------------------------------------------------------


def test_segments_are_counted_as_carriers_count_them() -> None:
    assert segments("a" * 160) == 1 and segments("a" * 161) == 2 and segments("a" * 306) == 2
    assert segments("a" * 307) == 3
    assert segments("€" * 80) == 1 and segments("€" * 81) == 2  # an extension character takes two
    assert is_gsm("Ça va? ¿Qué? Ñoño, Müller") and not is_gsm("ç") and not is_gsm("ú")
    assert segments("ç" * 70) == 1 and segments("ç" * 71) == 2 and segments("ç" * 134) == 2
    assert segments("🙂" * 35) == 1 and segments("🙂" * 36) == 2  # an emoji is two UTF-16 units


def test_long_answers_become_several_messages_within_the_segments() -> None:
    paragraph = "A sentence about twitching that goes on for a while. " * 6
    text = "\n\n".join([paragraph.strip()] * 8)
    for limit in (1, 2, 6):
        messages = pack([(text, False)], limit)
        assert all(segments(m) <= limit for m in messages)
        assert " ".join(" ".join(messages).split()) == " ".join(text.split())  # nothing lost, nothing cut
        assert all(m.startswith("A sentence") and m.endswith("while.") for m in messages)
    assert len(pack([(text, False)], 6)) < len(pack([(text, False)], 2))
    words = pack([("twitching " * 40 + "🙂" * 40, False)], 1)
    assert all(segments(m) <= 1 for m in words)
    assert "".join(words).count("🙂") == 40  # never half an emoji


def test_the_alert_is_never_cut(content: Content) -> None:
    alert = Reply("alert", content.messages.alert.text.replace("{number}", "999"))
    topic = Reply("topic", content.nodes["causes"].text, (Button("Main menu", "menu"),))
    messages = render([alert, topic], "Reply with a number, or type a question.", 1)
    assert segments(messages[0]) > 1  # longer than the budget, and still whole
    assert "Call 999 now" in messages[0] and messages[1:]
    assert all(segments(m) <= 1 for m in messages[1:])


def test_a_long_answer_arrives_as_several_messages_in_order(tight_bot: Bot, fake: FakeTwilio,
                                                            content: Content) -> None:
    phone = Phone(tight_bot, fake)
    phone.say("hi")
    messages = phone.texts("can coffee make my lip twitch?")
    assert len(messages) > 1
    assert all(segments(m) <= 1 for m in messages)
    assert messages[0].startswith(_first_line(content, "caffeine")[:20])
    paragraph = " ".join(content.nodes["caffeine"].text.replace("*", "").split("\n\n")[0].split())
    assert paragraph in " ".join(" ".join(messages).split())  # cut between words, every word kept, in order
    assert messages[-1].rstrip().endswith("type a question.")
    [sent] = {m.form["From"] for m in fake.sent_to(phone.key)}
    assert sent == NUMBER
    alert = phone.texts("I suddenly can't move my arm and my face is numb")
    assert "Call 999 now" in alert[0] and segments(alert[0]) > 1  # whole, though over the setting


# -- signatures and bad input ------------------------------------------------------------


def test_unsigned_or_wrongly_signed_posts_get_403_and_touch_nothing(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    fields = phone.fields("hello")
    assert bot.post("/sms/webhook", fields, signature="").status_code == 403
    not_public = bot.post("/sms/webhook", fields, sign_for=bot.serve.url)  # behind the proxy, the public URL
    assert not_public.status_code == 403
    assert bot.post("/sms/webhook", fields, token="someone-elses-token").status_code == 403
    tampered = bot.post("/sms/webhook", {**fields, "Body": "changed"},
                        signature=bot.signed("/sms/webhook", fields))
    assert tampered.status_code == 403
    assert bot.post("/sms/status", {"MessageSid": "SM" + "1" * 32, "MessageStatus": "failed",
                                    "ErrorCode": "21610", "To": phone.key}, signature="").status_code == 403
    assert bot.query("SELECT * FROM users WHERE user_key = ?", phone.key) == []
    assert bot.query("SELECT * FROM whatsapp_outbound WHERE user_key = ?", phone.key) == []
    assert phone.send(fields)  # the same MessageSid, signed properly, was never recorded: it is answered


def test_bad_input_gets_a_4xx_never_a_5xx(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    cases = {
        "empty body": {},
        "no From": {"MessageSid": "SM" + "9" * 32, "Body": "hi"},
        "a WhatsApp address": {**phone.fields("hi"), "From": "whatsapp:+15550001111"},
        "not E.164": {**phone.fields("hi"), "From": "07700900123"},
        "no MessageSid": {k: v for k, v in phone.fields("hi").items() if k != "MessageSid"},
        "SmsSid differs": {**phone.fields("hi"), "SmsSid": "SM" + "8" * 32},
    }
    for name, fields in cases.items():
        assert bot.post("/sms/webhook", fields).status_code == 400, name
    form_type = {"X-Twilio-Signature": "abc", "Content-Type": "application/x-www-form-urlencoded"}
    broken = bot.http.post(bot.serve.url + "/sms/webhook", content=b"Body=%ff%fe&From=%2B1",
                           headers=form_type)
    assert broken.status_code == 400
    assert bot.post("/sms/webhook", phone.fields("x" * 100_000)).status_code == 413
    assert bot.post("/sms/status", {"To": phone.key}).status_code == 400
    assert phone.say("'; DROP TABLE users; -- 🙂🙂🙂 " + "lip " * 500)


def test_a_sender_that_is_not_a_number_is_refused_at_start_naming_the_setting(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    env = sms_env(tmp_path / "bot.sqlite3", fake, TWILIO_SMS_FROM="01234 567890")
    done = subprocess.run([sys.executable, "-m", "messenger_bot", "serve", "--no-scheduler"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "TWILIO_SMS_FROM" in done.stdout + done.stderr and "E.164" in done.stdout + done.stderr


# -- status callbacks and reminders ------------------------------------------------------


def test_status_callbacks_are_recorded_and_unreachable_numbers_paused(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    sid = "SM" + "5" * 32
    for state in ("sent", "delivered", "sent"):  # the last late, out of order: it does not undo "delivered"
        assert bot.post("/sms/status", {"MessageSid": sid, "MessageStatus": state, "To": phone.key,
                                        "From": NUMBER}).status_code == 204
    assert bot.query("SELECT channel, status FROM whatsapp_outbound WHERE sid = ?", sid) == [
        ("sms", "delivered")]
    landline = "SM" + "6" * 32
    bot.post("/sms/status", {"MessageSid": landline, "MessageStatus": "undelivered", "ErrorCode": "21614",
                             "To": phone.key})
    assert bot.query("SELECT status, error_code FROM whatsapp_outbound WHERE sid = ?", landline) == [
        ("undelivered", 21614)]
    assert bot.paused_reason(phone.key) == BLOCKED
    phone.say("hello again")
    assert bot.paused_reason(phone.key) is None
    bot.post("/sms/status", {"MessageSid": "SM" + "7" * 32, "MessageStatus": "failed", "ErrorCode": "21610",
                             "To": phone.key})
    assert bot.paused_reason(phone.key) == STOPPED  # Twilio's opt-out is the user's own STOP
    phone.say("hello")
    assert bot.paused_reason(phone.key) == STOPPED  # writing again does not lift it; START does


@pytest.fixture
async def sender(bot: Bot) -> AsyncIterator[Sender]:
    async with started(bot, SmsSender) as sms:
        yield sms


REMINDER = Reply("reminder", "Time for a glass of *water*.", (Button("Done", "do:water:done"),))


async def test_a_reminder_goes_by_sms_with_its_numbered_menu(bot: Bot, fake: FakeTwilio, sender: Any) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    result = await sender.send(phone.key, REMINDER, template="water")
    assert result.outcome is Outcome.SENT and result.provider_id
    [sent] = fake.sent_to(phone.key)[-1:]
    assert sent.form["Body"].startswith("Time for a glass of water.") and "1. Done" in sent.form["Body"]
    assert sent.form["From"] == NUMBER and sent.username == ACCOUNT
    assert sent.form["StatusCallback"] == PUBLIC + "/sms/status"
    assert bot.query("SELECT last_menu FROM users WHERE channel = 'sms' AND user_key = ?", phone.key) == [
        ('["do:water:done"]',)]
    never_wrote = await sender.send("+447700900999", REMINDER)
    assert never_wrote.outcome is Outcome.SKIPPED


async def test_a_stopped_number_gets_no_reminder(bot: Bot, fake: FakeTwilio, sender: Any) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    phone.send(phone.fields("STOP"))
    before = len(fake.sent_to(phone.key))
    assert (await sender.send(phone.key, REMINDER)).outcome is Outcome.SKIPPED
    assert len(fake.sent_to(phone.key)) == before


async def test_twilios_opt_out_refusal_is_recorded_as_the_users_stop(
    bot: Bot, fake: FakeTwilio, sender: Any
) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    fake.fail_recipient(phone.key, 400, 21610)
    assert (await sender.send(phone.key, REMINDER)).outcome is Outcome.BLOCKED
    assert bot.paused_reason(phone.key) == STOPPED
    fake.fail_recipient(phone.key, 201, None)
    assert (await sender.send(phone.key, REMINDER)).outcome is Outcome.SKIPPED
    phone.say("START")
    assert (await sender.send(phone.key, REMINDER)).outcome is Outcome.SENT


async def test_a_messaging_service_sends_from_its_pool(bot: Bot, fake: FakeTwilio) -> None:
    phone = Phone(bot, fake)
    phone.say("hi")
    async with started(bot, SmsSender, twilio_sms_from=SERVICE) as sms:
        assert (await sms.send(phone.key, REMINDER)).outcome is Outcome.SENT
    sent = fake.sent_to(phone.key)[-1]
    assert sent.form["MessagingServiceSid"] == SERVICE and "From" not in sent.form


def test_a_flood_from_one_number_is_throttled_without_slowing_others(bot: Bot, fake: FakeTwilio) -> None:
    flooder, other = Phone(bot, fake), Phone(bot, fake)
    answered = [bool(flooder.send(flooder.fields(f"hello {i}"))) for i in range(25)]
    assert answered[0] and not all(answered)
    assert "1. " in other.say("hi")
    alert = flooder.send(flooder.fields("I suddenly can't move my arm and my face is numb"))
    assert "Call 999 now" in "".join(alert)
    assert flooder.send(flooder.fields("STOP")) == []
    assert bot.paused_reason(flooder.key) == STOPPED  # the gate never holds a STOP back


async def test_send_due_delivers_a_reminder_by_sms_and_skips_a_stopped_number(
    bot: Bot, fake: FakeTwilio
) -> None:
    """`reminders send-due` as a platform's cron runs it, with the SMS settings: the reminder
    reaches the phone from the bot's number, and nothing goes to a number that sent STOP."""
    texting, stopped = Phone(bot, fake), Phone(bot, fake)
    texting.say("hi")
    stopped.say("hi")
    stopped.send(stopped.fields("STOP"))
    await subscribe(bot.env, [texting.key, stopped.key], "sms")
    before = len(fake.sent_to(stopped.key))
    out = send_due(bot.env, EIGHT)
    assert out.startswith("sent 1,") and "paused users 1" in out
    [reminder] = fake.sent_to(texting.key)[-1:]
    assert "water" in reminder.form["Body"].lower() and "1. " in reminder.form["Body"]
    assert reminder.form["From"] == NUMBER
    assert len(fake.sent_to(stopped.key)) == before


def test_a_check_in_asked_by_sms_is_promised_by_sms(bot: Bot, fake: FakeTwilio) -> None:
    """SMS has a sender, so the diary's check-in says when it will come and no "won't arrive"
    note; the time zone comes from the phone number's country, with no question about it."""
    phone = Phone(bot, fake, "+447911123456")  # a British mobile number: a zone of the UK's
    phone.say("hi")
    offer = phone.say("check on me later")
    assert "1. In 3 days" in offer
    promised = phone.say("1")
    assert "I'll check on you on" in promised and "(your time, Europe/" in promised
    assert "won't arrive" not in promised


def test_water_reminders_set_up_by_sms_are_promised_by_sms_and_arrive(bot: Bot, fake: FakeTwilio) -> None:
    """SMS has a sender: the reminders' "Done!" carries no note that they only come elsewhere, the
    phone number's zone is offered first, and `reminders send-due` delivers them by SMS."""
    phone = Phone(bot, fake, "+447911123457")
    phone.say("hi")
    offered = phone.say("/water")
    assert "Europe/" in offered  # the number's zone, offered with a yes
    assert "How often" in phone.say("1")
    phone.say("every 2 hours")
    done = phone.say("from 7 to 23")
    assert done.startswith("Done!") and "only deliver reminders" not in done
    due = bot.query("SELECT next_due_at FROM reminder_subscriptions WHERE channel = 'sms' AND user_key = ?",
                    phone.key)
    before = len(fake.sent_to(phone.key))
    counted = {**bot.env, "ADMIN_TOKEN": "operators-" + "k" * 32}  # the pass adds to the daily counts
    send_due(counted, datetime.fromtimestamp(float(due[0][0]), UTC))
    [reminder] = fake.sent_to(phone.key)[before:]
    assert "water" in reminder.form["Body"].lower() and reminder.form["From"] == NUMBER
    board = asyncio.run(_dashboard(bot, senders=frozenset({"sms"})))
    assert board.per_channel["sms"]["sent"] >= 1  # the operators' dashboard counts SMS reminders
    assert "sms" in board.waiting  # and watches SMS for reminders left waiting


async def _dashboard(bot: Bot, senders: frozenset[str]) -> Dashboard:
    store = SQLiteStorage(bot.db)
    await store.open()
    try:
        return await load_dashboard(store, datetime.now(UTC), 2, senders)
    finally:
        await store.close()


def test_chat_stands_in_for_sms_with_numbered_menus(tmp_path: Path) -> None:
    """`chat --channel sms`: a bare number picks from the last menu, as on a phone; the time zone
    comes from the number, as on SMS; with no SMS sender in a terminal, the check-in is saved and
    said not to arrive."""
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}"}
    with ChatProcess(env, "--channel", "sms", "--user", "+447911123456") as chat:
        chat.send("hi")
        chat.send("check on me later")
        said = chat.send("1")["replies"][0]["text"]  # "In 3 days"
    assert "I'll check on you on" in said and "Europe/" in said and "won't arrive" in said
