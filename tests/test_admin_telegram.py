"""Feedback on Telegram: a vote is thanked in new messages, so the answer that was rated stays."""

from __future__ import annotations

from tests.test_telegram import Telegram, new_chat, seen, servers, telegram  # noqa: F401 (fixtures)


def test_a_vote_keeps_the_rated_answer_and_thanks_in_new_messages(telegram: Telegram) -> None:  # noqa: F811
    chat = new_chat()
    telegram.say(chat, "can coffee make my lip twitch?")
    [answer] = telegram.wait_messages(chat)
    assert "Caffeine is a stimulant" in seen(answer)
    labels = [label for label, _ in answer.buttons]
    assert labels[-3:] == ["👍 That helped", "👎 Not really", "Main menu"]
    [(_, data)] = [button for button in answer.buttons if button[0] == "👍 That helped"]
    telegram.tap(chat, data, answer.message_id)
    thanks = telegram.wait_messages(chat, 2)[-1]
    assert "Thank you for telling me" in seen(thanks)
    assert "What would you like to know" in seen(thanks)
    assert telegram.fake.calls_to("editMessageText", chat) == []  # the rated answer is still there
