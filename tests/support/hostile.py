"""Hostile requests for every entry point, as hypothesis strategies.

The fuzz tests (tests/test_hostile.py) and `bench/fuzz.py` draw from these same strategies: whatever
arrives, the bot answers below 500 and keeps running. Plain junk is mixed with the shapes that
once crashed it: integers of thousands of digits, digits of other scripts ("²", "①") in buttons
and typed numbers, Telegram ids that are lists or too big for a database, status callbacks with
huge error codes, and MessageSids whose field boundaries were shifted.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from tests.fakes.telegram_api import tap_update, text_update

TELEGRAM_SECRET = "fuzz-Secret_0123456789"
TWILIO_TOKEN = "fuzz-auth-token-0123456789abcdef"
TWILIO_ACCOUNT = "AC" + "2" * 32
SANDBOX = "whatsapp:+14155238886"
PUBLIC = "https://bot.example.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass(frozen=True)
class HostileRequest:
    """One POST as it goes on the wire; `what` names its kind, for a report of failures."""

    path: str
    body: bytes
    headers: dict[str, str]
    what: str


# -- what goes in the fields -----------------------------------------------------------------------

#: Digits that str.isdigit() accepts; int() takes only the decimal ones (٣, 𝟑), not ² or ①.
OTHER_DIGITS = ["²", "①", "٣", "𝟑", "߁", "፩", "Ⅻ", "½", "⁹"]
SPECIAL_TEXTS = [
    "'; DROP TABLE users; --", "<script>alert(1)</script>", "\x00", "{{7*7}}", "🙂" * 40, "\u202e\u200b",
    "my face is drooping and I can't speak", "no weakness, just a twitch", "menu", "back", "stop", "start",
    "delete my data", "yes", "my data", "help", "9pm", "21:30", "Europe/Berlin", "1", "#2", "99", "0", "-1",
]
#: Payloads the bot issues, walked in order by a few users, so later ones meet real state.
KNOWN_PAYLOADS = [
    "menu", "causes", "caffeine", "emergency", "do:menu", "do:back", "do:help", "do:mydata", "do:delete",
    "do:delete:no", "do:reminders", "do:reminders:tz:water:Etc/UTC", "do:reminders:tz:caffeine:Etc/UTC",
    "do:reminders:water", "do:reminders:water:every:1", "do:reminders:water:from:1:8",
    "do:reminders:water:save:1:8:20", "do:reminders:water:times", "do:reminders:water:at:0800-1300",
    "do:reminders:caffeine:at:0900", "do:reminders:log", "do:reminders:log:coffee", "do:reminders:list",
    "do:reminders:pause:water", "do:reminders:resume:water", "do:reminders:stop:water", "do:reminders:done",
    "do:reminders:snooze", "do:reminders:stopall",
]


def _other_digits(text: str, digit: str) -> str:
    return re.sub(r"[0-9]", digit, text)


numbers_of_other_scripts = st.builds(
    lambda digit, count, suffix: digit * count + suffix,
    st.sampled_from(OTHER_DIGITS), st.integers(1, 3), st.sampled_from(["", ".", ")", ":00", " pm"]),
)
texts = st.one_of(
    st.text(max_size=200), st.sampled_from(SPECIAL_TEXTS), numbers_of_other_scripts,
    st.builds(_other_digits, st.sampled_from(["9:00", "21:30", "1", "2", "10:15, 18:00"]),
              st.sampled_from(OTHER_DIGITS)),
    st.integers(3000, 6000).map(lambda n: "lip " * (n // 4)),
)
payloads = st.one_of(
    st.sampled_from(KNOWN_PAYLOADS),
    st.builds(_other_digits, st.sampled_from(KNOWN_PAYLOADS), st.sampled_from(OTHER_DIGITS)),
    st.text(max_size=80),
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=10,
)
#: JSON text no json.dumps makes: an integer of thousands of digits (Python's int() refuses over 4,300).
huge_integers = st.integers(4000, 6000).map(lambda n: "9" * n)
deep_json = st.integers(500, 3000).map(lambda n: "[" * n + "]" * n)
junk = st.one_of(st.binary(max_size=500), st.just(b""), st.just(b"\xff\xfe"))


def weighted(often: st.SearchStrategy[Any], sometimes: st.SearchStrategy[Any], share: int = 3
             ) -> st.SearchStrategy[Any]:
    """`often` `share` times as likely as `sometimes`: well-formed input reaches deeper code. (Listing
    a strategy twice in one_of does not weigh it: hypothesis caches strategies, and one_of keeps one.)"""
    return st.integers(0, share).flatmap(lambda i: sometimes if i == share else often)


def _dumps(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


# -- POST /api/chat --------------------------------------------------------------------------------

web_users = st.sampled_from([f"fuzz-browser-{n}" for n in range(4)])


def web_chat() -> st.SearchStrategy[HostileRequest]:
    messages = st.one_of(
        st.builds(lambda user, text: ("text", _dumps({"user": user, "text": text})), web_users, texts),
        st.builds(lambda user, tap: ("button", _dumps({"user": user, "button": tap})), web_users, payloads),
    )
    malformed = st.one_of(
        st.builds(lambda user, n: ("huge integer", f'{{"user": "{user}", "text": {n}}}'.encode()), web_users,
                  huge_integers),
        st.builds(lambda n: ("huge integer user", f'{{"user": {n}, "text": "hi"}}'.encode()), huge_integers),
        deep_json.map(lambda b: ("deep", f'{{"user": "fuzz-browser-0", "text": {b}}}'.encode())),
        json_values.map(lambda v: ("any json", _dumps(v))),
        junk.map(lambda b: ("junk", b)),
    )
    headers = {"content-type": "application/json"}
    return weighted(messages, malformed).map(
        lambda kb: HostileRequest("/api/chat", kb[1], headers, f"web chat {kb[0]}"))


# -- POST /telegram/webhook (with the right secret) ----------------------------------------------

#: A new chat each time (private, or now and then a group): Telegram's one-message-a-second pace per
#: chat would otherwise set the run's speed, and hypothesis likes to repeat small integers.
_chat_ids = itertools.count(70_001)
chats = st.one_of(*(st.builds(lambda: next(_chat_ids)) for _ in range(3)),
                  st.builds(lambda: -(10**12) - next(_chat_ids)))
update_ids = st.integers(1, 2**31)
bad_ids = st.one_of(
    st.lists(st.integers(), max_size=2), st.integers(2**63, 2**200), st.integers(-(2**200), -(2**63)),
    st.text(max_size=5), st.floats(), st.none(), st.just({}),
)
ID_PATHS = [("update_id",), ("message", "chat", "id"), ("message", "from", "id"), ("message", "message_id")]


def with_value(update: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    """A copy of the update with the value at `path` replaced."""
    copy = json.loads(json.dumps(update))
    node = copy
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return copy


def telegram() -> st.SearchStrategy[HostileRequest]:
    updates = weighted(
        st.one_of(
            st.builds(lambda u, c, t: ("text", text_update(u, c, t)), update_ids, chats, texts),
            st.builds(lambda u, c, t: ("command", text_update(u, c, "/" + t)), update_ids, chats, texts),
            st.builds(lambda u, c, p: ("tap", tap_update(u, c, p, 1)), update_ids, chats, payloads),
        ),
        st.one_of(
            st.builds(lambda u, c, path, bad: ("bad id", with_value(text_update(u, c, "hi"), path, bad)),
                      update_ids, chats, st.sampled_from(ID_PATHS), bad_ids),
            st.builds(lambda n: ("huge integer", f'{{"update_id": {n}}}'), huge_integers),
            json_values.map(lambda v: ("any json", v)),
        ),
    )
    headers = {"content-type": "application/json", SECRET_HEADER: TELEGRAM_SECRET}
    return updates.map(lambda kv: HostileRequest(
        "/telegram/webhook", kv[1].encode() if isinstance(kv[1], str) else _dumps(kv[1]), headers,
        f"telegram {kv[0]}"))


# -- POST /whatsapp/webhook and /whatsapp/status (signed) ---------------------------------------

good_sids = st.from_regex(r"(SM|MM)[0-9a-f]{32}", fullmatch=True)
bad_sids = st.one_of(
    good_sids.map(lambda s: s + "NumMedia0"), good_sids.map(lambda s: s[:-1]), good_sids.map(str.upper),
    st.builds(_other_digits, good_sids, st.sampled_from(OTHER_DIGITS)), st.text(max_size=40),
)
numbers = weighted(
    st.sampled_from([f"whatsapp:+4477009{n:05d}" for n in range(4)] + ["whatsapp:+14155550100"]),
    st.one_of(st.builds(_other_digits, st.just("whatsapp:+447700900123"), st.sampled_from(OTHER_DIGITS)),
              st.text(max_size=30)),
)
counts = st.one_of(st.sampled_from(["0", "1", "-1", "①", "²", ""]), huge_integers, st.text(max_size=5))
error_codes = st.one_of(st.sampled_from(["63016", "21610", "30008", "", "-5", "①", "1e5"]),
                        st.integers(10, 400).map(lambda n: "9" * n), huge_integers, st.text(max_size=8))


def signed(path: str, fields: dict[str, str], what: str) -> HostileRequest:
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(PUBLIC + path, fields)
    headers = {"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": signature}
    return HostileRequest(path, urlencode(fields).encode(), headers, what)


def whatsapp() -> st.SearchStrategy[HostileRequest]:
    extras = st.dictionaries(
        st.sampled_from(["ButtonPayload", "ListId", "NumMedia", "Latitude", "ProfileName"]),
        st.one_of(payloads, counts, bad_sids), max_size=3,
    )
    return st.builds(
        lambda sid, user, body, more: signed("/whatsapp/webhook", {
            "MessageSid": sid, "AccountSid": TWILIO_ACCOUNT, "From": user, "To": SANDBOX, "Body": body,
            "NumMedia": "0", **more}, "whatsapp message"),
        weighted(good_sids, bad_sids), numbers, texts, extras,
    )


def whatsapp_status() -> st.SearchStrategy[HostileRequest]:
    return st.builds(
        lambda sid, state, to, code: signed("/whatsapp/status", {
            "MessageSid": sid, "MessageStatus": state, "To": to, "From": SANDBOX,
            **({"ErrorCode": code} if code is not None else {})}, "whatsapp status"),
        weighted(good_sids, bad_sids),
        st.one_of(st.sampled_from(["queued", "sent", "delivered", "read", "failed", "undelivered"]),
                  st.text(max_size=10)),
        numbers, st.one_of(st.none(), error_codes),
    )


# -- `chat --json` lines -----------------------------------------------------------------------------

chat_lines = st.one_of(
    texts.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.builds(lambda t: _dumps({"text": t}), texts),
    st.builds(lambda p: _dumps({"button": p}), payloads),
    huge_integers.map(lambda n: f'{{"text": {n}}}'.encode()),
    huge_integers.map(lambda n: f'{{"button": "menu", "x": [{n}]}}'.encode()),
    deep_json.map(lambda b: f'{{"text": {b}}}'.encode()),
    json_values.map(_dumps),
    junk,
).map(lambda line: line.replace(b"\n", b" ").replace(b"\r", b" "))


# -- the server they are sent to ----------------------------------------------------------------------


def serve_env(database_url: str, telegram_base_url: str, telegram_token: str, twilio_base_url: str,
              **extra: str) -> dict[str, str]:
    """Every channel on (Telegram by webhook), limits raised so nothing but the input is under test."""
    own = ("TELEGRAM_", "TWILIO_", "DATABASE_", "WHATSAPP_", "WEBCHAT_", "PUBLIC_BASE_URL", "FORWARDED_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(own)}
    env.update({
        "DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1",
        "TELEGRAM_BOT_TOKEN": telegram_token, "TELEGRAM_BASE_URL": telegram_base_url,
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET, "TELEGRAM_MPS": "1000",
        "TWILIO_ACCOUNT_SID": TWILIO_ACCOUNT, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_WHATSAPP_FROM": SANDBOX, "TWILIO_API_BASE_URL": twilio_base_url, "PUBLIC_BASE_URL": PUBLIC,
        "WHATSAPP_MPS": "400", "WEBCHAT_RATE": "1000000", "WEBCHAT_IP_RATE": "1000000", **extra,
    })
    return env


class Drain:
    """Reads a process's output as it comes: a pipe nobody reads fills up (64 KB) and then blocks
    every log line, and so every request, of a long run."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc,), daemon=True)
        self._thread.start()

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.lines.append(line)

    def text(self) -> str:
        """All of it, once the process has exited."""
        self._thread.join(timeout=30)
        return "".join(self.lines)
