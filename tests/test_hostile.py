"""Hostile input on every entry point, as property tests: whatever arrives, no 5xx and no traceback,
nothing stored from a rejected request, a replayed request answered once, and no response or log
line carrying a token, a secret or another user's data.

The first tests run the app in process (httpx.ASGITransport, the real lifespan) with every channel on
by webhook, against the fake Bot API and Twilio servers on loopback; `chat --json` runs as one
subprocess. The fuzz run then sends the bodies of tests/support/hostile.py (those bench/fuzz.py sends)
to one real `serve` for the module, and each known hostile case once more.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from twilio.request_validator import RequestValidator

from tests.fakes.telegram_api import FakeTelegram, tap_update, text_update
from tests.fakes.twilio_api import FakeTwilio
from tests.support import hostile
from tests.support.chat import ChatProcess
from tests.support.server import ServeProcess
from tests.support.twilio import PUBLIC, TOKEN
from tests.test_faults import (
    SECRET_HEADER,
    running,
    settings_for,
    twiml_messages,
    whatsapp_fields,
)
from tests.test_telegram import SECRET

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
VICTIM_WEB, VICTIM_CHAT, VICTIM_NUMBER = "victim-browser-key-7Q", 777_000_111, "whatsapp:+447700900999"
VICTIM_WORDS = "my private question about my neighbour's pills"
STORED = ("users", "inbound_messages", "whatsapp_outbound", "reminder_subscriptions")
_ids = itertools.count(50_000)

# -- what hostile senders put in fields ------------------------------------------------------------

metachars = st.sampled_from([
    "'; DROP TABLE users; --", "\" OR 1=1 --", "<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
    "&lt;b&gt;&amp;", "%00%27", "\x00", "${jndi:ldap://x}", "{{7*7}}", "../../etc/passwd", "🙂" * 50,
    "\u202e\u200b", "a" * 5000,
])
hostile_text = st.one_of(
    st.text(max_size=300), metachars, st.tuples(metachars, st.text(max_size=40)).map("".join)
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
deep_json = st.integers(min_value=500, max_value=6000).map(lambda n: ("[" * n + "]" * n).encode())
raw_bodies = st.one_of(st.binary(max_size=2000), deep_json, st.just(b"\xff\xfe\xfd"), st.just(b""))
content_types = st.sampled_from([
    "application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data",
    "text/html; charset=utf-7", "application/json; charset=latin-1", "",
])


# -- the app, with a victim whose data must never leak --------------------------------------------------


@pytest.fixture
async def bot(
    tmp_path: Path, telegram: FakeTelegram, twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    caplog.set_level(logging.DEBUG, logger="messenger_bot")
    async with running(settings_for(f"sqlite:///{tmp_path}/bot.sqlite3", telegram, twilio)) as (app, client):
        await client.post("/api/chat", json={"user": VICTIM_WEB, "text": VICTIM_WORDS})
        await post_update(client, text_update(next(_ids), VICTIM_CHAT, VICTIM_WORDS))
        await post_whatsapp(client, whatsapp_fields(VICTIM_NUMBER, VICTIM_WORDS))
        yield app, client
    assert_no_leaks(caplog.text, "the logs", telegram, victim=False)
    assert VICTIM_WORDS not in caplog.text, "what users write stays out of the logs"


def assert_no_leaks(text: str, where: str, telegram: FakeTelegram, victim: bool = True) -> None:
    """No secret anywhere; in what a hostile user gets back, nothing of the victim either."""
    secrets = [telegram.token, SECRET, TOKEN]
    if victim:
        secrets += [VICTIM_WEB, str(VICTIM_CHAT), VICTIM_NUMBER[-8:], VICTIM_WORDS]
    for secret in secrets:
        assert secret not in text, f"{where} carry {secret[:6]}…"


def assert_clean(response: httpx.Response, telegram: FakeTelegram) -> None:
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert not response.headers.get("content-type", "").startswith("text/html")
    assert_no_leaks(response.text, "a response", telegram)


async def counts(app: Starlette) -> dict[str, int]:
    store = app.state.runtime.store
    return {table: (await store.fetch(f"SELECT COUNT(*) FROM {table}"))[0][0] for table in STORED}


async def post_update(client: httpx.AsyncClient, update: Any, secret: str | None = SECRET) -> httpx.Response:
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {"content-type": "application/json", **({SECRET_HEADER: secret} if secret is not None else {})}
    return await client.post("/telegram/webhook", content=body, headers=headers)


async def post_whatsapp(
    client: httpx.AsyncClient, fields: dict[str, str], path: str = "/whatsapp/webhook", token: str = TOKEN
) -> httpx.Response:
    signature = RequestValidator(token).compute_signature(PUBLIC + path, fields)
    return await client.post(path, data=fields, headers={"X-Twilio-Signature": signature})


# -- POST /api/chat ---------------------------------------------------------------------------------------


@HYPOTHESIS
@given(
    body=st.one_of(
        raw_bodies,
        json_values.map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"user": st.one_of(st.from_regex(r"[A-Za-z0-9_-]{8,20}", fullmatch=True),
                                                 hostile_text),
                               "text": hostile_text}).map(lambda v: json.dumps(v).encode()),
        st.fixed_dictionaries({"user": st.from_regex(r"hostile[0-9]{6}", fullmatch=True),
                               "button": hostile_text}).map(lambda v: json.dumps(v).encode()),
        st.just(json.dumps({"user": "oversized-01", "text": "x" * 20_000}).encode()),
    ),
    content_type=content_types,
)
async def test_web_chat_answers_anything_as_json_data(
    bot: tuple[Starlette, httpx.AsyncClient], telegram: FakeTelegram, body: bytes, content_type: str
) -> None:
    app, client = bot
    before = await counts(app)
    response = await client.post("/api/chat", content=body, headers={"content-type": content_type})
    assert_clean(response, telegram)
    assert response.headers["content-type"] == "application/json"
    assert response.status_code in {200, 400, 413}
    if response.status_code == 200:
        replies = response.json()["replies"]
        assert replies and all(isinstance(r["text"], str) for r in replies)
    else:
        assert "error" in response.json()
        assert await counts(app) == before, "nothing stored from a rejected request"


# -- POST /telegram/webhook -----------------------------------------------------------------------------


updates = st.one_of(
    st.builds(lambda text: ("text", text), hostile_text),
    st.builds(lambda data: ("tap", data), st.one_of(  # callback data from another bot, or junk
        hostile_text.map(lambda t: t[:64]), st.from_regex(r"[a-z]{1,3}:[A-Za-z0-9]{1,10}", fullmatch=True))),
)


@HYPOTHESIS
@given(kind_value=updates, secret=st.one_of(st.just(SECRET), st.none(), hostile_text, st.just(SECRET + "x")),
       garbage=st.one_of(st.none(), raw_bodies, json_values.map(lambda v: json.dumps(v).encode())))
async def test_telegram_webhook_refuses_forgeries_and_answers_each_update_once(
    bot: tuple[Starlette, httpx.AsyncClient], telegram: FakeTelegram,
    kind_value: tuple[str, str], secret: str | None, garbage: bytes | None,
) -> None:
    app, client = bot
    chat, update_id = next(_ids), next(_ids)
    kind, value = kind_value
    update = (text_update(update_id, chat, value) if kind == "text"
              else tap_update(update_id, chat, value, message_id=1))
    before = await counts(app)
    try:
        response = await post_update(client, garbage if garbage is not None else update, secret)
    except (UnicodeEncodeError, httpx.LocalProtocolError):  # a header no HTTP client could send
        return
    assert_clean(response, telegram)
    if secret != SECRET:
        assert response.status_code == 403
        assert await counts(app) == before, "nothing stored from a forged request"
        return
    if garbage is not None:
        assert response.status_code in {200, 400, 413}
        if response.status_code != 200:
            assert await counts(app) == before
        return
    assert response.status_code == 200
    answered = len(telegram.delivered(chat))
    for_another_bot = kind == "text" and value.startswith("/") and "@" in value.split(" ")[0]
    assert answered >= 1 or for_another_bot, "a tap or a message gets an answer (a stale tap: the menu)"
    replay = await post_update(client, update)
    assert replay.status_code == 200 and len(telegram.delivered(chat)) == answered, "a replay: not again"
    for call in telegram.calls_to("sendMessage", chat) + telegram.calls_to("editMessageText", chat):
        assert_no_leaks(json.dumps(call.params), "a reply", telegram)
        assert "<script" not in call.text and "<img" not in call.text, "Telegram HTML is escaped"


# -- POST /whatsapp/webhook and /whatsapp/status ---------------------------------------------------


form_fields = st.dictionaries(
    st.sampled_from(["MessageSid", "From", "To", "Body", "NumMedia", "ButtonPayload", "ListId", "Latitude",
                     "AccountSid", "ErrorCode", "MessageStatus", "ProfileName"]),
    hostile_text, max_size=8,
)


@HYPOTHESIS
@given(body=hostile_text, extra=form_fields,
       forgery=st.sampled_from([None, "unsigned", "other-token", "tampered", "raw"]), raw=raw_bodies)
async def test_whatsapp_webhook_refuses_forgeries_and_answers_each_message_once(
    bot: tuple[Starlette, httpx.AsyncClient], telegram: FakeTelegram,
    body: str, extra: dict[str, str], forgery: str | None, raw: bytes,
) -> None:
    app, client = bot
    user = f"whatsapp:+4477009{next(_ids):05d}"
    fields = {**whatsapp_fields(user, body), **extra}
    before = await counts(app)
    if forgery is None:
        response = await post_whatsapp(client, fields)
    elif forgery == "unsigned":
        response = await client.post("/whatsapp/webhook", data=fields)
    elif forgery == "other-token":
        response = await post_whatsapp(client, fields, token="someone-elses-auth-token")
    elif forgery == "tampered":
        signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/whatsapp/webhook", fields)
        response = await client.post("/whatsapp/webhook", data={**fields, "Body": body + "!"},
                                     headers={"X-Twilio-Signature": signature})
    else:
        response = await client.post("/whatsapp/webhook", content=raw, headers={
            "X-Twilio-Signature": "c2lnbmF0dXJl", "content-type": "application/x-www-form-urlencoded"})
    assert_clean(response, telegram)
    if forgery is not None:
        assert response.status_code in {400, 403, 413}
        assert await counts(app) == before, "nothing stored from a forged request"
        return
    assert response.status_code in {200, 400, 413}
    if response.status_code != 200:
        assert await counts(app) == before
        return
    answer = twiml_messages(response)  # well-formed XML: whatever the user wrote, it is escaped
    if "MessageSid" not in extra:  # (a made-up sid may repeat an earlier example's: then a replay)
        assert answer, "a message from a new number gets an answer"
    replay = await post_whatsapp(client, fields)
    assert replay.status_code == 200 and twiml_messages(replay) == [], "a replayed post: answered once"


@HYPOTHESIS
@given(fields=form_fields, signed=st.booleans())
async def test_whatsapp_status_never_fails_and_forgeries_touch_nothing(
    bot: tuple[Starlette, httpx.AsyncClient], telegram: FakeTelegram, fields: dict[str, str], signed: bool
) -> None:
    app, client = bot
    before = await counts(app)
    if signed:
        response = await post_whatsapp(client, fields, path="/whatsapp/status")
    else:
        response = await client.post("/whatsapp/status", content=urlencode(fields).encode(), headers={
            "X-Twilio-Signature": "Zm9yZ2Vk", "content-type": "application/x-www-form-urlencoded"})
    assert_clean(response, telegram)
    if not signed:
        assert response.status_code in {403, 413} and await counts(app) == before
    else:
        assert response.status_code in {204, 400, 413}
        if response.status_code != 204:
            assert await counts(app) == before


# -- `chat --json` lines ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatProcess]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_"))}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path_factory.mktemp('chat')}/bot.sqlite3"
    with ChatProcess(env, "--user", "hostile-console") as process:
        yield process
    assert process.proc.returncode == 0


lines = st.one_of(
    hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(lambda t: json.dumps({"text": t}).encode(), hostile_text),
    st.builds(lambda b: json.dumps({"button": b}).encode(), hostile_text),
    deep_json.map(lambda b: b"{" + b'"text": ' + b + b"}"),
    st.binary(max_size=200),
)


@HYPOTHESIS
@given(line=lines)
def test_chat_json_answers_every_line_with_one_json_line(chat: ChatProcess, line: bytes) -> None:
    answer_line(chat, line)


def answer_line(chat: ChatProcess, line: bytes) -> None:
    """One line in, exactly one JSON line out: replies, or an error object, never a traceback."""
    line = line.replace(b"\n", b" ").replace(b"\r", b" ")  # one line (a bare CR ends a line too)
    assert chat.proc.stdin and chat.proc.stdout
    chat.proc.stdin.buffer.write(line + b"\n")  # type: ignore[attr-defined]
    chat.proc.stdin.flush()
    out = chat.proc.stdout.readline()
    assert out, f"chat exited on {line[:80]!r}"
    answer = json.loads(out)
    assert set(answer) in ({"replies"}, {"error"}), answer
    assert "Traceback" not in out


# -- the fuzz run: every endpoint of one real `serve`, the bodies bench/fuzz.py sends too ------------

#: No shrinking: against a real server it would take minutes, and the failing request is reported whole.
FUZZ = settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate])


@dataclass
class Served:
    """One `serve` for the module, with every channel on, and the fakes it talks to."""

    serve: ServeProcess
    http: httpx.Client
    telegram: FakeTelegram
    statuses: Counter[int]

    def send(self, call: hostile.HostileRequest) -> httpx.Response:
        response = self.http.post(self.serve.url + call.path, content=call.body, headers=call.headers)
        self.statuses[response.status_code] += 1
        assert response.status_code < 500, (call.what, call.body[:200], response.status_code, response.text)
        assert self.serve.proc.poll() is None, "serve is still running"
        return response


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with FakeTelegram() as telegram, FakeTwilio() as twilio:
        db = tmp_path_factory.mktemp("fuzz") / "bot.sqlite3"
        env = hostile.serve_env(f"sqlite:///{db}", telegram.base_url, telegram.token, twilio.base_url)
        with ServeProcess(env, "--no-scheduler") as serve, httpx.Client(timeout=30) as http:
            drain = hostile.Drain(serve.proc)
            found = Served(serve, http, telegram, Counter())
            yield found
        log = drain.text()
    assert max(found.statuses, default=0) < 500
    assert "Traceback" not in log and '"level": "ERROR"' not in log, "no turn failed, on any channel"
    for secret in (hostile.TELEGRAM_SECRET, hostile.TWILIO_TOKEN, telegram.token):
        assert secret not in log


@FUZZ
@given(call=hostile.web_chat())
def test_fuzzed_web_chat_bodies_get_an_answer_or_a_4xx(served: Served, call: hostile.HostileRequest) -> None:
    response = served.send(call)
    assert response.status_code in {200, 400, 413}, (call.what, response.text)
    if response.status_code == 200:
        assert response.json()["replies"][-1]["buttons"], "every answer ends with a way on"


@FUZZ
@given(call=hostile.telegram())
def test_fuzzed_telegram_updates_get_a_200_or_a_400(served: Served, call: hostile.HostileRequest) -> None:
    assert served.send(call).status_code in {200, 400}


@FUZZ
@given(call=hostile.whatsapp())
def test_fuzzed_whatsapp_messages_get_twiml_or_a_400(served: Served, call: hostile.HostileRequest) -> None:
    response = served.send(call)
    assert response.status_code in {200, 400}, (call.what, response.text)
    if response.status_code == 200:
        twiml_messages(response)  # well-formed XML, whatever was written


@FUZZ
@given(call=hostile.whatsapp_status())
def test_fuzzed_whatsapp_status_callbacks_get_a_204_or_a_400(
    served: Served, call: hostile.HostileRequest
) -> None:
    assert served.send(call).status_code in {204, 400}


@FUZZ
@given(line=hostile.chat_lines)
def test_fuzzed_chat_json_lines_each_get_one_json_line(chat: ChatProcess, line: bytes) -> None:
    answer_line(chat, line)


# -- the known cases, each once -------------------------------------------------------------------


def _signed_post(served: Served, path: str, fields: dict[str, str], signature_of: dict[str, str] | None = None
                 ) -> httpx.Response:
    request = hostile.signed(path, signature_of or fields, "known case")
    return served.http.post(served.serve.url + path, data=fields,
                            headers={"x-twilio-signature": request.headers["x-twilio-signature"]})


def test_a_captured_message_with_shifted_field_boundaries_is_refused_not_answered_again(
    served: Served,
) -> None:
    sid = "SM" + "ab" * 16
    fields = {"MessageSid": sid, "AccountSid": hostile.TWILIO_ACCOUNT, "From": "whatsapp:+447700911111",
              "To": hostile.SANDBOX, "Body": "hello", "NumMedia": "0"}
    assert twiml_messages(_signed_post(served, "/whatsapp/webhook", fields)), "the real message is answered"
    shifted = {k: v for k, v in fields.items() if k != "NumMedia"} | {"MessageSid": sid + "NumMedia0"}
    replay = _signed_post(served, "/whatsapp/webhook", shifted, signature_of=fields)
    assert replay.status_code == 400, "the same signature still matches, but the sid is not Twilio's"
    assert "MessageSid must be SM or MM and 32 hex digits" in replay.json()["error"]


def test_digits_of_other_scripts_in_buttons_and_numbers_get_answers(served: Served) -> None:
    def tap(button: str) -> list[dict[str, Any]]:
        body = {"user": "digits-0001", "button": button}
        response = served.http.post(served.serve.url + "/api/chat", json=body)
        assert response.status_code == 200, response.text
        return response.json()["replies"]

    tap("do:reminders:tz:water:Etc/UTC")
    for crafted in ("do:reminders:water:save:1:²:5", "do:reminders:water:from:1:①",
                    "do:reminders:caffeine:at:²²00"):
        assert tap(crafted)[-1]["kind"] == "menu", "a payload the bot never issued shows the menu"
    fields = {"MessageSid": "SM" + "cd" * 16, "AccountSid": hostile.TWILIO_ACCOUNT, "To": hostile.SANDBOX,
              "From": "whatsapp:+447700922222", "Body": "①", "NumMedia": "②", "ButtonPayload": "²"}
    assert twiml_messages(_signed_post(served, "/whatsapp/webhook", fields))
    sids = iter(f"SM{n:032x}" for n in range(0xD161, 0xD170))

    def say(body: str) -> list[str]:
        message = {"MessageSid": next(sids), "AccountSid": hostile.TWILIO_ACCOUNT, "To": hostile.SANDBOX,
                   "From": "whatsapp:+447700922223", "Body": body, "NumMedia": "0"}
        return twiml_messages(_signed_post(served, "/whatsapp/webhook", message))

    say("menu")
    second = say("2")
    say("menu")
    assert say("٢") == second, "an Arabic-Indic two picks the second option, as 2 does"
    say("menu")
    assert "1. " in say("²")[-1], "a superscript two is no option number: the menu again, not a crash"


def test_a_status_callback_with_a_huge_error_code_is_recorded_without_it(served: Served) -> None:
    for code in ("9" * 40, "9" * 5000, "①"):
        fields = {"MessageSid": "SM" + "ef" * 16, "MessageStatus": "failed", "To": "whatsapp:+447700933333",
                  "ErrorCode": code}
        assert _signed_post(served, "/whatsapp/status", fields).status_code == 204


def test_telegram_updates_whose_ids_are_lists_or_too_big_get_400(served: Served) -> None:
    headers = {"content-type": "application/json", hostile.SECRET_HEADER: hostile.TELEGRAM_SECRET}
    good = text_update(4242, 4242, "hello")
    for path, bad in [(("message", "chat", "id"), [4242]), (("message", "from", "id"), [1, 2]),
                      (("update_id",), 10**30), (("message", "message_id"), [1])]:
        response = served.http.post(served.serve.url + "/telegram/webhook", headers=headers,
                                    content=json.dumps(hostile.with_value(good, path, bad)))
        assert response.status_code == 400, (path, response.text)


def test_chat_json_answers_a_line_with_a_huge_integer_with_an_error(chat: ChatProcess) -> None:
    assert "error" in chat.send('{"text": ' + "9" * 5000 + "}")
    assert chat.send({"text": "menu"})["replies"], "and the session goes on"


# -- long messages: cut at what the platform carries, read by triage up to there -------------------

WARNING_SIGN = " my face is drooping and I can't speak"


def test_a_whatsapp_message_as_long_as_whatsapp_allows_is_read_to_its_end(served: Served) -> None:
    longest = "lip " * ((4096 - len(WARNING_SIGN)) // 4) + WARNING_SIGN
    assert len(longest) <= 4096
    fields = {"MessageSid": "SM" + "12" * 16, "AccountSid": hostile.TWILIO_ACCOUNT, "To": hostile.SANDBOX,
              "From": "whatsapp:+447700944444", "Body": longest, "NumMedia": "0"}
    answer = twiml_messages(_signed_post(served, "/whatsapp/webhook", fields))
    assert "Call 999 now" in answer[0], "the warning sign at the very end was read"
    beyond = {**fields, "MessageSid": "SM" + "34" * 16, "Body": "lip " * 1024 + WARNING_SIGN}
    answer = twiml_messages(_signed_post(served, "/whatsapp/webhook", beyond))
    assert answer and "Call 999 now" not in answer[0], "past 4,096 characters nothing reaches the engine"


def test_a_telegram_message_as_long_as_telegram_allows_is_read_to_its_end(served: Served) -> None:
    chat = 4343
    longest = "lip " * ((4096 - len(WARNING_SIGN)) // 4) + WARNING_SIGN
    headers = {"content-type": "application/json", hostile.SECRET_HEADER: hostile.TELEGRAM_SECRET}
    response = served.http.post(served.serve.url + "/telegram/webhook", headers=headers,
                                content=json.dumps(text_update(43_430_001, chat, longest)))
    assert response.status_code == 200
    delivered = served.telegram.wait_for(lambda: served.telegram.delivered(chat))
    assert "These signs can mean a stroke" in delivered[0].text
