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

from tests.fakes.telegram_api import USERNAME, FakeTelegram, edited_update, forum_update, text_update
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


def post(
    server: ServeProcess, telegram: FakeTelegram, chat: int, text: str, update: dict[str, Any] | None = None
) -> httpx.Response:
    update = update or text_update(telegram.next_update_id(), chat, text)
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


def test_in_a_forum_topic_the_answer_in_the_webhook_response_goes_to_that_topic(
    pair: dict[str, ServeProcess], telegram: FakeTelegram
) -> None:
    by_answer, by_api = next(_chats), next(_chats)
    asked = [forum_update(telegram.next_update_id(), chat, f"@{USERNAME} /help", 42)
             for chat in (by_answer, by_api)]
    answer = post(pair["answer"], telegram, by_answer, "", asked[0]).json()
    post(pair["api"], telegram, by_api, "", asked[1])
    [sent] = telegram.wait_for(lambda: telegram.calls_to("sendMessage", by_api))
    assert answer["method"] == "sendMessage" and answer["message_thread_id"] == 42
    assert sent.params["message_thread_id"] == "42"
    assert {f: answer.get(f) for f in FIELDS} == {f: sent.params.get(f) for f in FIELDS}


def test_an_alert_of_one_message_goes_through_the_api_and_is_sent_again_if_it_may_not_have_arrived(
    pair: dict[str, ServeProcess], telegram: FakeTelegram
) -> None:
    """An edit that adds a warning sign gets the alert alone, one message: it never rides in the
    webhook's answer (nobody would learn whether it arrived), so a 5xx sends it once more."""
    chat = next(_chats)
    post(pair["answer"], telegram, chat, "can coffee make my lip twitch?")
    telegram.fail(chat, status=500, times=1)
    edit = edited_update(telegram.next_update_id(), chat, "now my face is drooping and I can't speak", 1)
    response = post(pair["answer"], telegram, chat, "", edit)
    assert response.content == b""
    alerts = telegram.wait_for(lambda: [
        c for c in telegram.delivered(chat) if c.text.startswith("<b>These signs can mean a stroke")
    ])
    # The first answer went in its webhook's response; the alert's 500 left its outcome unknown.
    assert [c.status for c in telegram.calls_to("sendMessage", chat)] == [500, 200]
    assert len(alerts) == 1
