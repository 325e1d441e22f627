"""The check-in's question and the diary's texts of a language: what the check-in sender needs.

Kept apart from feature.py, so sending check-ins (`reminders send-due`, the scheduler) does not
import the charts and the PDF, and with them matplotlib, on every start of the command line.
"""

from __future__ import annotations

from messenger_bot.content import Button, Content
from messenger_bot.conversation import Reply
from messenger_bot.diary.payloads import Answer
from messenger_bot.diary.texts import DiaryTexts
from messenger_bot.payloads import Payload


def texts_of(content: Content) -> DiaryTexts:
    texts: DiaryTexts = content.extra["diary.yaml"]
    return texts


def button(label: str, payload: Payload) -> Button:
    return Button(label, payload.format())


def answer_buttons(texts: DiaryTexts) -> tuple[Button, ...]:
    """The follow-up's buttons, shared with the dispatcher that sends it."""
    return tuple(button(c.label, Answer(key)) for key, c in texts.answers.items())


def followup_question(texts: DiaryTexts) -> Reply:
    return Reply("reminder", texts.say("follow_up_question"), answer_buttons(texts))
