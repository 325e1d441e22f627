"""Sending first: how the reminder dispatcher reaches a user on a channel.

A channel's `Sender` owns that provider's rate limits and retries, and says what
became of each message in one of a few outcomes the dispatcher can act on. Senders
are built from settings alone, so `reminders send-due` can use them without a server.

At most once: a sender retries only errors that prove the provider created nothing
(the connection was refused or never made, the name did not resolve, a 429 with its
wait). When the request may have reached the provider and the answer was lost or
garbled, the outcome is UNKNOWN: nothing sends that message again, so a person may
get none rather than two.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from messenger_bot.conversation import Reply
from messenger_bot.settings import Settings
from messenger_bot.storage import Storage


class Outcome(StrEnum):
    SENT = "sent"
    #: The user blocked the bot or opted out, or the number is not on WhatsApp: pause them.
    BLOCKED = "blocked"
    #: Not sent on purpose (e.g. outside WhatsApp's 24-hour window with no template).
    SKIPPED = "skipped"
    #: Refused in a way that proves nothing was created; may be tried again on a later pass.
    FAILED = "failed"
    #: The request may have reached the provider, but its answer was lost or garbled (a timeout
    #: after sending, a reset connection, an unreadable 2xx, a 5xx): never sent again.
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SendResult:
    outcome: Outcome
    provider_id: str | None = None
    detail: str | None = None


def partly(result: SendResult, first_id: str | None) -> SendResult:
    """A later part of a message failed after earlier parts went (`first_id`): a FAILED would be
    tried again and repeat those parts, so it counts as UNKNOWN."""
    if first_id is None or result.outcome is not Outcome.FAILED:
        return result
    return SendResult(Outcome.UNKNOWN, first_id, f"partly sent, then {result.detail}")


class Sender(Protocol):
    """Sends a reply a user did not ask for just now (a reminder) on one channel."""

    channel: str

    async def start(self, store: Storage) -> None: ...

    async def close(self) -> None: ...

    async def send(self, user_key: str, reply: Reply, template: str | None = None) -> SendResult:
        """`template` names the kind of message (e.g. "water"), for WhatsApp's approved templates."""
        ...


def senders_for(settings: Settings) -> dict[str, Sender]:
    """The senders the settings switch on, by channel name."""
    found: dict[str, Sender] = {}
    if settings.telegram_bot_token is not None:
        from messenger_bot.channels.telegram import TelegramSender

        found["telegram"] = TelegramSender(settings)
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_whatsapp_from:
        from messenger_bot.channels.whatsapp import WhatsAppSender

        found["whatsapp"] = WhatsAppSender(settings)
    if settings.twilio_account_sid and settings.twilio_auth_token and settings.twilio_sms_from:
        from messenger_bot.channels.sms import SmsSender

        found["sms"] = SmsSender(settings)
    return found
