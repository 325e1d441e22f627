"""The webhook's secret token: the one Telegram sends back in every webhook request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from messenger_bot.settings import Settings

_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def webhook_secret(settings: Settings) -> str:
    """TELEGRAM_WEBHOOK_SECRET, or one derived from the token: stable across restarts and
    instances (they all agree without sharing anything), and unknowable without the token."""
    if settings.telegram_webhook_secret is not None:
        secret = settings.telegram_webhook_secret.get_secret_value()
        if not _SECRET.match(secret):
            raise ValueError("TELEGRAM_WEBHOOK_SECRET: use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return secret
    assert settings.telegram_bot_token is not None
    token = settings.telegram_bot_token.get_secret_value().encode()
    digest = hmac.new(token, b"messenger-bot telegram webhook secret", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
