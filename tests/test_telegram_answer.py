"""TELEGRAM_WEBHOOK_ANSWER: a one-message reply rides back in the webhook's HTTP answer.

Two real `serve` processes by webhook against one fake Bot API, one with the setting and
one without. The same message from two new chats: what the first puts in its HTTP answer
must be what the second sends through the API, field for field.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegram, text_update
from tests.support.server import ServeProcess

SECRET = "answer-Secret_0123456789"
_chats = itertools.count(7000)
FIELDS = ("text", "parse_mode", "reply_markup", "link_preview_options")


@pytest.fixture
def pair(bot_env: dict[str, str], telegram: FakeTelegram, tmp_path: Any) -> Iterator[dict[str, ServeProcess]]:
    servers = {}
    for name, answer in (("answer", "true"), ("api", "false")):
        servers[name] = ServeProcess({
            **bot_env, "DATABASE_URL": f"sqlite:///{tmp_path / name}.sqlite3",
            "TELEGRAM_BOT_TOKEN": telegram.token, "TELEGRAM_BASE_URL": telegram.base_url,
            "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram/webhook",
            "TELEGRAM_WEBHOOK_SECRET": SECRET, "TELEGRAM_WEBHOOK_ANSWER": answer,
        }, "--no-scheduler")
    try:
        for server in servers.values():
            server.wait_healthy()
        yield servers
    finally:
        for server in servers.values():
            server.stop()


def post(server: ServeProcess, telegram: FakeTelegram, chat: int, text: str) -> httpx.Response:
    update = text_update(telegram.next_update_id(), chat, text)
    response = httpx.post(f"{server.url}/telegram/webhook", json=update,
                          headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}, timeout=60)
    assert response.status_code == 200
    return response


@pytest.mark.parametrize("text", ["can coffee make my lip twitch?", "/start", "/help"])
def test_the_answer_in_the_webhook_response_is_the_message_the_api_path_sends(
    pair: dict[str, ServeProcess], telegram: FakeTelegram, text: str
) -> None:
    by_answer, by_api = next(_chats), next(_chats)
    answer = post(pair["answer"], telegram, by_answer, text).json()
    post(pair["api"], telegram, by_api, text)
    [sent] = telegram.wait_for(lambda: telegram.calls_to("sendMessage", by_api))
    assert answer["method"] == "sendMessage" and answer["chat_id"] == by_answer
    assert {f: answer.get(f) for f in FIELDS} == {f: sent.params.get(f) for f in FIELDS}
    assert telegram.calls_to("sendMessage", by_answer) == []  # nothing went through the API for it


def test_a_reply_of_several_messages_still_goes_through_the_api_in_order(
    pair: dict[str, ServeProcess], telegram: FakeTelegram
) -> None:
    chat = next(_chats)
    response = post(pair["answer"], telegram, chat, "my face is drooping and I can't speak properly")
    assert response.content == b""
    messages = telegram.wait_for(lambda: telegram.calls_to("sendMessage", chat))
    assert messages[0].text.startswith("<b>These signs can mean a stroke")
