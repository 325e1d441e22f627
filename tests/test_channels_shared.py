"""What every channel shares: the splitter and the numbered menu, as a reader of the messages sees them."""

from __future__ import annotations

from messenger_bot.channels.shared.numbered import menu_index, numbered
from messenger_bot.channels.shared.split import split_message
from messenger_bot.content import Button
from messenger_bot.conversation import Reply


def test_text_is_cut_at_the_coarsest_boundary_that_fits() -> None:
    assert split_message("one\n\ntwo", 100) == ["one\n\ntwo"]
    assert split_message("first para\n\nsecond para", 12) == ["first para", "second para"]
    assert split_message("line one\nline two", 9) == ["line one", "line two"]
    sentences = "It twitches. It stops! Does it come back? Often."
    assert split_message(sentences, 25) == ["It twitches. It stops!", "Does it come back? Often."]
    assert split_message("many small words here", 10) == ["many small", "words here"]


def test_nothing_is_lost_and_a_word_is_cut_only_when_longer_than_a_message() -> None:
    text = "short " + "x" * 25 + " end"
    chunks = split_message(text, 10)
    assert all(len(c) <= 10 for c in chunks)
    assert "".join(chunks).replace(" ", "") == text.replace(" ", "")
    emoji = split_message("🙂" * 9, 4, measure=lambda s: len(s.encode("utf-16-le")) // 2)
    assert emoji == ["🙂🙂", "🙂🙂", "🙂🙂", "🙂🙂", "🙂"]  # two UTF-16 units each: never half of one


def test_a_menu_is_numbered_with_the_hint_below() -> None:
    buttons = (Button("Why?", "causes"), Button("Main menu", "menu"))
    assert numbered(buttons, "Reply with a number.") == "1. Why?\n2. Main menu\n\nReply with a number."
    replies = [Reply("alert", "Call now", buttons), Reply("topic", "Text", buttons), Reply("command", "ok")]
    assert menu_index(replies) == 1  # the last reply with buttons is the one a number picks
    assert menu_index([Reply("command", "ok")]) == -1
