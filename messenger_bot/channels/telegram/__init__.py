"""Telegram, through python-telegram-bot: the channel (polling or webhook) and the sender that
reminders use. One idea per module:

- `channel`: the lifecycle (build, start, stop) and the route; `webhook`: the endpoint;
  `handlers`: PTB's handlers; `reading`: what the bot reads from an update; `plain`: a private
  chat's plain text read by webhook without PTB's objects; `turn`: one turn;
  `failures`: the error handler (redelivery or apology); `updates`: the shared inbound
  de-duplication, by update id; `locks`: one turn at a time per chat; `secret`: the webhook
  secret; `commands`: each language's command menu from flows/<code>/telegram.yaml.
- `render`: replies as Telegram messages; `calls`: their Bot API calls as plain JSON; `outbox`:
  sending with an outcome; `limits`: the send limits; `sender`: `TelegramSender`; `answer`: the
  reply in the webhook's HTTP answer.
- `bots`, `request`, `tolerant`, `persistence`: python-telegram-bot's machinery, on aiohttp,
  tolerant of an unreadable update, with bounded bookkeeping.
"""

from messenger_bot.channels.telegram.channel import TelegramChannel
from messenger_bot.channels.telegram.sender import TelegramSender
from messenger_bot.channels.telegram.turn import FLOOD_BURST
from messenger_bot.channels.telegram.updates import UpdateLog

__all__ = ["FLOOD_BURST", "TelegramChannel", "TelegramSender", "UpdateLog"]
