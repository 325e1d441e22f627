"""The twitch diary as people use it: `chat --json`, `reminders send-due --now`, a real `serve`
with the fake Telegram Bot API, and signed WhatsApp posts. The chart and the PDF are fetched
from their links and opened: what a person would see (dates, counts, the disclaimer)."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader
from twilio.request_validator import RequestValidator

from messenger_bot.content import Content
from messenger_bot.diary.parse import twitch_count
from tests.conftest import bot_env_in
from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess, free_port
from tests.test_reminders_e2e import send_due, telegram_env

DISCLAIMER = "not a diagnosis"


def last(out: dict[str, Any]) -> dict[str, Any]:
    return out["replies"][-1]


def payloads(reply: dict[str, Any]) -> list[str]:
    return [b["payload"] for b in reply["buttons"]]


def log_three_by_typing(chat: ChatProcess) -> dict[str, Any]:
    """Typed from start to end: the count, the lip, the side (a button), how long, the triggers."""
    asked = last(chat.send("twitched 3 times today"))
    assert "3 twitches" in asked["text"] and "Which lip" in asked["text"]
    sides = last(chat.send("top lip"))
    assert "one side, or on both" in sides["text"]
    side = next(p for p in payloads(sides) if p.endswith(":one"))
    assert "How long" in last(chat.send({"button": side}))["text"]
    assert "Did any of these" in last(chat.send("a few seconds"))["text"]
    assert "Coffee or tea, Poor sleep" in last(chat.send("coffee and poor sleep"))["text"]
    return last(chat.send("done"))


def check_files(reply: dict[str, Any], http: httpx.Client, today: str) -> None:
    """The PNG is a phone-sized picture; the PDF is one page with the dates, the count and the disclaimer."""
    files = {f["type"]: f["url"] for f in reply["files"]}
    assert set(files) == {"image/png", "application/pdf"}
    png = http.get(files["image/png"])
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    max_age = int(re.search(r"max-age=(\d+)", png.headers["cache-control"]).group(1))  # type: ignore[union-attr]
    assert 0 < max_age <= 24 * 3600 and "private" in png.headers["cache-control"]
    assert Image.open(io.BytesIO(png.content)).size == (800, 500)
    pdf = PdfReader(io.BytesIO(http.get(files["application/pdf"]).content))
    text = " ".join(pdf.pages[0].extract_text().split())
    assert len(pdf.pages) == 1
    assert f"First logged: {today}" in text and "Twitches logged: 3 on 1 day(s)" in text
    assert "Upper lip 1" in text and "Coffee or tea 1" in text and DISCLAIMER in text
    forged = files["image/png"][:-3] + ("AAA" if not files["image/png"].endswith("AAA") else "BBB")
    assert http.get(forged).status_code == 404


def today_text() -> str:
    day = datetime.now(UTC).date()
    return f"{day.day} {day.strftime('%b %Y')}"


def test_typed_sentences_that_report_a_twitch_are_logged_and_questions_are_not(content: Content):
    texts = content.extra["diary.yaml"]
    assert twitch_count("it's twitching again", texts) == 1
    assert twitch_count("twitched 3 times today", texts) == 3
    assert twitch_count("my lip twitched twice", texts) == 2
    assert twitch_count("why is my lip twitching again?", texts) is None
    assert twitch_count("what causes lip twitching", texts) is None
    assert twitch_count("started new pills last week and now my lip twitches", texts) is None  # a story
    assert twitch_count("tips to calm the twitch down tonight", texts) is None  # a request, not a report
    assert twitch_count("any way to stop it twitching today", texts) is None


def test_log_by_typing_and_buttons_then_the_summary_text_chart_and_pdf(bot_env: dict[str, str]):
    port = free_port()
    env = {**bot_env, "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}"}
    with ChatProcess(env, "--user", "pat") as chat:
        done = log_three_by_typing(chat)
        assert "3 twitch(es) in the last 7 days" in done["text"]
        tried = last(chat.send({"button": "do:diary:tried"}))
        water = next(p for p in payloads(tried) if p.endswith(":water"))
        assert "More water" in last(chat.send({"button": water}))["text"]
        last(chat.send("done"))
        summary = last(chat.send("summary for my doctor"))
        listed = last(chat.send("my data"))["text"]
    text = summary["text"]
    assert f"First logged: {today_text()}" in text and "Twitches logged: 3 on 1 day(s)" in text
    assert "Which lip: Upper lip 1" in text and "Tried so far: More water 1" in text and DISCLAIMER in text
    assert summary["kind"] == "command" and summary["buttons"][-1]["payload"] == "menu"
    assert "twitch diary: 3 twitch(es)" in listed
    with ServeProcess(env, "--no-scheduler", port=port) as _, httpx.Client(timeout=10) as http:
        check_files(summary, http, today_text())
        with ChatProcess(env, "--user", "pat") as chat:
            last(chat.send("delete my data"))
            last(chat.send("yes"))
            assert "empty" in last(chat.send("summary for my doctor"))["text"]
        # The running server reads the deletion from the database: the link is gone at once.
        assert http.get(summary["files"][0]["url"]).status_code == 404  # deleted with the rest


def checkin_time(chat: ChatProcess) -> datetime:
    """When the bot says it will check in, from what "my data" shows the user."""
    listed = last(chat.send("my data"))["text"]
    found = re.search(r"check-in: (\d{4}-\d\d-\d\d \d\d:\d\d) UTC", listed)
    assert found, listed
    return datetime.strptime(found.group(1), "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_follow_up_arrives_once_never_in_quiet_hours_and_is_answered_three_ways(
    bot_env: dict[str, str], telegram: FakeTelegram
):
    env = telegram_env(bot_env, telegram)
    users = {"better": "9101", "same": "9102", "new": "9103"}
    due = None
    for user in users.values():  # each run of chat is a new process: the database keeps the plan
        with ChatProcess(env, "--channel", "telegram", "--user", user) as chat:
            chat.send("it's twitching again")
            offer = last(chat.send({"button": "do:diary:followup"}))
            assert "do:diary:followup:7" in payloads(offer)
            assert "what time is it" in last(chat.send({"button": "do:diary:followup:7"}))["text"]
            assert "(your time, Europe/London)" in last(chat.send("London"))["text"]
            due = checkin_time(chat)
    assert due is not None and due.astimezone(UTC).hour in (9, 10)  # 10:00 in London
    assert "sent 0," in send_due(env, due - timedelta(minutes=1))
    night = due + timedelta(hours=12)  # 22:00 in London: quiet hours, moved to the next morning
    assert "sent 0," in send_due(env, night)
    assert not any(telegram.delivered(int(u)) for u in users.values())
    assert "sent 3," in send_due(env, due + timedelta(days=1))
    assert "sent 0," in send_due(env, due + timedelta(days=1, minutes=5))  # never twice
    for user in users.values():
        [question] = telegram.delivered(int(user))
        assert "Is your lip still twitching?" in question.text
        assert [label for label, _ in question.buttons][:4] == ["Better", "About the same", "Worse",
                                                                "Something new"]
    with ChatProcess(env, "--channel", "telegram", "--user", users["better"]) as chat:
        better = chat.send({"button": "do:diary:answer:better"})["replies"]
        assert "won't ask again" in better[0]["text"] and better[-1]["topic"] == "prevention"
        assert "check-in:" not in last(chat.send("my data"))["text"]  # better: no more asking
    with ChatProcess(env, "--channel", "telegram", "--user", users["same"]) as chat:
        asked = chat.send("is it fine to drink coffee?")["replies"]
        assert asked[-1]["kind"] == "topic"  # a question in between is answered, not taken as the answer
        same = chat.send("about the same")["replies"]  # typed, not tapped
        assert [r.get("topic") for r in same][1] == "when-to-see-doctor"
        assert any(r.get("files") for r in same) and "Check-ins: About the same" in same[2]["text"]
        assert "do:diary:followup:7" in payloads(same[-1])  # an offer to ask again
    with ChatProcess(env, "--channel", "telegram", "--user", users["new"]) as chat:
        new = last(chat.send({"button": "do:diary:answer:new"}))
        assert "what is new" in new["text"]
        alert = chat.send("my face is drooping on one side")["replies"]
        assert alert[0]["kind"] == "alert"  # triage first, as always


def test_telegram_summary_arrives_as_a_photo_and_a_document(bot_env: dict[str, str], telegram: FakeTelegram):
    env = telegram_env(bot_env, telegram)
    with ServeProcess(env, "--no-scheduler") as _:
        chat_id = 9301
        for text in ("twitched twice today", "summary for my doctor"):
            telegram.push(text_update(telegram.next_update_id(), chat_id, text))
        photo = telegram.wait_for(lambda: telegram.calls_to("sendPhoto", chat_id))[0]
        document = telegram.wait_for(lambda: telegram.calls_to("sendDocument", chat_id))[0]
        summary = telegram.wait_for(
            lambda: [c for c in telegram.delivered(chat_id) if "Twitches logged: 2" in c.text]
        )[0]
    name, png = photo.files["photo"]
    assert Image.open(io.BytesIO(png)).size == (800, 500) and name.endswith(".png")
    name, pdf = document.files["document"]
    text = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert name.endswith(".pdf") and "Twitches logged: 2 on 1 day(s)" in text and DISCLAIMER in text
    assert summary.at >= document.at  # the text with its buttons ends the turn
    assert summary.buttons


ACCOUNT, TOKEN, SANDBOX = "AC" + "2" * 32, "whatsapp-diary-token", "whatsapp:+14155238886"


def test_whatsapp_summary_goes_out_as_media_links_that_open(bot_env: dict[str, str], twilio: FakeTwilio):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**bot_env, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_WHATSAPP_FROM": SANDBOX, "TWILIO_API_BASE_URL": twilio.base_url, "PUBLIC_BASE_URL": base}
    number = "whatsapp:+447700900555"
    sids = iter(range(1, 100))

    def say(http: httpx.Client, body: str) -> ET.Element:
        fields = {"MessageSid": f"SM{next(sids):032d}", "AccountSid": ACCOUNT, "From": number, "To": SANDBOX,
                  "Body": body, "NumMedia": "0"}
        url = base + "/whatsapp/webhook"
        signature = RequestValidator(TOKEN).compute_signature(url, fields)
        answer = http.post(url, data=fields, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 200, answer.text
        return ET.fromstring(answer.text)

    with ServeProcess(env, "--no-scheduler", port=port) as _, httpx.Client(timeout=10) as http:
        assert "3 twitches" in "".join(say(http, "twitched 3 times today").itertext())
        for answer in ("upper", "1", "seconds", "coffee", "done"):  # "1": the numbered menu's first option
            say(http, answer)
        reply = say(http, "summary for my doctor")
        media = [m.text for m in reply.iter("Media")]
        assert len(media) == 2 and all(u and u.startswith(base + "/files/") for u in media)
        files = [{"type": t, "url": u} for t, u in zip(("image/png", "application/pdf"), media, strict=True)]
        check_files({"files": files}, http, today_text())
        assert DISCLAIMER in "".join(reply.itertext())


async def plan_followups(env: dict[str, str], channel: str, users: list[str], due: datetime) -> None:
    """Follow-ups as the conversation saves them, for many users at once."""
    from messenger_bot.diary import store as db
    from messenger_bot.storage import SQLiteStorage
    from tests.test_reminders_e2e import database

    store = SQLiteStorage(database(env))
    await store.open()
    try:
        for user in users:
            await db.schedule_followup(store, channel, user, "Europe/London", due, due - timedelta(days=7))
    finally:
        await store.close()


NOON = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)  # 12:00 in London (BST)


async def test_kill_9_mid_dispatch_then_restart_asks_each_user_at_most_once(
    bot_env: dict[str, str], telegram: FakeTelegram
):
    env = telegram_env(bot_env, telegram, TELEGRAM_MPS="10")
    chats = [str(9500 + i) for i in range(40)]
    await plan_followups(env, "telegram", chats, NOON)
    cmd = [sys.executable, "-m", "messenger_bot", "reminders", "send-due", "--now", NOON.isoformat()]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        telegram.wait_for(lambda: len(telegram.calls_to("sendMessage")) >= 8, timeout=60)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    first = {c.chat_id for c in telegram.calls_to("sendMessage") if c.status == 200}
    assert 0 < len(first) < len(chats)  # really killed in the middle
    out = send_due(env, NOON + timedelta(minutes=3))  # after the killed process's lease ran out
    interrupted = int(re.search(r"in flight at an earlier stop (\d+)", out).group(1))  # type: ignore[union-attr]
    delivered = [c.chat_id for c in telegram.calls_to("sendMessage") if c.status == 200]
    assert len(delivered) == len(set(delivered))  # nobody was asked twice
    assert len(set(delivered)) + interrupted >= len(chats)  # every one asked, or listed as in doubt
    assert interrupted <= 20  # at most one chunk (2 s at 10/s) was in the air
    assert f"sent {len(set(delivered) - first)}," in out
    assert "sent 0," in send_due(env, NOON + timedelta(minutes=10))


async def test_whatsapp_follow_up_outside_the_24_hour_window_needs_its_template(
    bot_env: dict[str, str], twilio: FakeTwilio
):
    env = {**bot_env, "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_WHATSAPP_FROM": SANDBOX, "TWILIO_API_BASE_URL": twilio.base_url}
    late, templated = "whatsapp:+447700900601", "whatsapp:+447700900602"
    await plan_followups(env, "whatsapp", [late], NOON)
    assert "skipped 1" in send_due(env, NOON)  # nobody wrote in the last 24 hours: no free text
    assert not twilio.sent_to(late)
    template = "HX" + "f" * 32
    env["WHATSAPP_TEMPLATE_FOLLOWUP"] = template
    await plan_followups(env, "whatsapp", [templated], NOON)
    assert "sent 1," in send_due(env, NOON + timedelta(minutes=1))
    [sent] = twilio.sent_to(templated)
    assert sent.form.get("ContentSid") == template


def test_a_user_who_said_stop_is_not_asked(bot_env: dict[str, str], telegram: FakeTelegram):
    env = telegram_env(bot_env, telegram)
    with ChatProcess(env, "--channel", "telegram", "--user", "9701") as chat:
        chat.send({"button": "do:diary:followup:3"})
        chat.send("UTC")
        due = checkin_time(chat)
        chat.send("stop")
    out = send_due(env, due)
    assert "sent 0," in out and not telegram.delivered(9701)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServeProcess, httpx.Client]]:
    """One plain `serve` (the web chat, no public address) for the browser tests: each is its own
    browser, so none needs a fresh server."""
    env = bot_env_in(tmp_path_factory.mktemp("web"))
    with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=10) as http:
        yield serve, http


def test_the_web_chat_shows_the_chart_from_its_own_address(web: tuple[ServeProcess, httpx.Client]):
    serve, http = web
    user = "diary-browser-1"
    http.post(serve.url + "/api/chat", json={"user": user, "text": "it's twitching again"})
    answer = http.post(serve.url + "/api/chat", json={"user": user, "text": "summary for my doctor"})
    [reply] = [r for r in answer.json()["replies"] if r.get("files")]
    urls = [f["url"] for f in reply["files"]]
    assert all(u.startswith("/files/") for u in urls)  # relative: the page's own server
    assert http.get(serve.url + urls[0]).headers["content-type"] == "image/png"


def test_my_week_charts_water_and_caffeine_without_a_diary(web: tuple[ServeProcess, httpx.Client]):
    serve, http = web
    user = "diary-browser-2"

    def say(**message: str) -> list[dict[str, Any]]:
        return http.post(serve.url + "/api/chat", json={"user": user, **message}).json()["replies"]

    nothing = say(text="my week")
    assert "haven't logged" in nothing[-2]["text"] and nothing[-1]["topic"] == "reminders"
    say(button="do:reminders:log:coffee")
    say(button="do:reminders:log:coffee")
    say(button="do:reminders:done")
    [week] = [r for r in say(text="my week") if r.get("files")]
    assert "1 glass(es) of water and 160 mg of caffeine" in week["text"]
    png = http.get(serve.url + week["files"][0]["url"]).content
    assert Image.open(io.BytesIO(png)).size == (800, 500)
