"""Settings, read once from the environment or a `.env` file, and checked.

Names are fixed (the README lists them). Secrets are `SecretStr`, so printing the settings or
logging them shows `**********`, never the value.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from messenger_bot.redact import redacted_url, url_password
from messenger_bot.storage import DEFAULT_DATABASE_URL
from messenger_bot.web.middleware import parse_proxies

#: The content shipped beside the package (a checkout or an editable install).
DEFAULT_CONTENT_DIR = Path(__file__).resolve().parent.parent / "flows"
#: What Telegram accepts as a webhook secret_token.
WEBHOOK_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
#: An SMS sender: a number in E.164, or a Messaging Service SID.
SMS_SENDER = re.compile(r"^(\+[1-9][0-9]{5,14}|MG[0-9a-fA-F]{32})$")
#: An approved WhatsApp template for one kind of message in one language of the content
#: (WHATSAPP_TEMPLATE_WATER_ES, WHATSAPP_TEMPLATE_CAFFEINE_PT): the only extra settings there are.
LANGUAGE_TEMPLATE = re.compile(r"^whatsapp_template_[a-z0-9]+(_[a-z0-9]+)*_[a-z]{2}$")


class SettingsError(Exception):
    """A setting is wrong; the message names it and says what it should be."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="allow")

    database_url: str = DEFAULT_DATABASE_URL
    port: int = Field(8000, ge=1, le=65535)
    host: str = "0.0.0.0"
    content_dir: Path = DEFAULT_CONTENT_DIR
    log_level: str = "INFO"

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = "https://api.telegram.org/bot"
    telegram_webhook_url: str | None = None
    telegram_webhook_secret: SecretStr | None = None
    #: A reply of one message goes back in the webhook's HTTP answer (no outbound call).
    telegram_webhook_answer: bool = False
    #: Messages per second to Telegram overall (its limit is about 30); more only for a local Bot API server.
    telegram_mps: float = Field(30.0, gt=0)

    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = None
    twilio_whatsapp_from: str | None = None
    twilio_api_base_url: str | None = None
    public_base_url: str | None = None
    whatsapp_mps: float = Field(10.0, gt=0, le=400)
    whatsapp_interactive: bool = False
    #: Content SIDs of approved templates, by kind of message, for sends outside the 24-hour window.
    whatsapp_template_water: str | None = None
    whatsapp_template_caffeine: str | None = None
    #: The diary's check-in ("Is your lip still twitching?") outside the 24-hour window.
    whatsapp_template_followup: str | None = None
    #: SMS through Twilio: the sender, a number in E.164 (+14155550123) or a Messaging Service SID (MG…).
    twilio_sms_from: str | None = None
    #: The channels that can send first (reminders, check-ins): filled in by the wiring from the
    #: channels it switches on, never set by hand. A feature reads it instead of naming channels.
    sender_channels: frozenset[str] = frozenset()
    #: The most SMS segments one message may use; a longer reply goes as several messages.
    sms_max_segments: int = Field(6, ge=1, le=10)
    #: Messages per second from the SMS sender (a long code: 1; a toll-free or short code: more).
    sms_mps: float = Field(1.0, gt=0, le=400)
    #: How many processes send for this bot at once (serve instances; a send-due job that overlaps
    #: them counts too). Provider limits belong to the bot, so each paces to its share of the *_MPS.
    sending_instances: int = Field(1, ge=1, le=1000)

    #: Web chat flood control, in messages per minute: from one browser, and from one IP address
    #: (several people behind one office or home router share an address, so it is higher).
    webchat_rate: float = Field(30.0, gt=0)
    webchat_ip_rate: float = Field(300.0, gt=0)
    #: Proxies whose X-Forwarded-For is believed (addresses or networks, or "*" for any peer); the
    #: visitor is the rightmost entry that is not one of them (web/middleware.py).
    forwarded_allow_ips: str = "127.0.0.1,::1"

    #: Retention (retention.py, SECURITY.md): how long each kind of row is kept, pruned every hour.
    #: A web chat key unused this long is forgotten with everything it set up.
    webchat_user_days: int = Field(30, ge=1)
    #: A web chat key that only ever sent one message (a visit, a script) is forgotten sooner.
    webchat_one_message_hours: int = Field(24, ge=1)
    #: Telegram, WhatsApp and console users silent this long, with no reminder still on.
    user_days: int = Field(365, ge=1)
    #: Update ids and MessageSids kept for de-duplication (Telegram keeps an update 24 hours).
    dedup_days: int = Field(2, ge=1)
    #: Each WhatsApp message's delivery status, by its last update.
    whatsapp_outbound_days: int = Field(30, ge=1)
    #: Finished reminder sends (sent, skipped, failed, …); a pending one stays until it is settled.
    reminder_outbox_days: int = Field(30, ge=1)
    #: Glasses of water and caffeinated drinks logged, by day (only today's totals are shown).
    drink_log_days: int = Field(7, ge=1)

    #: Operators (messenger_bot/admin): the token switches on /admin and guards /metrics.
    admin_token: SecretStr | None = None
    #: Days a scrubbed unanswered question stays in the operators' inbox.
    unanswered_days: int = Field(30, ge=1, le=365)
    #: "Was this helpful?" buttons on topic answers.
    feedback: bool = True
    #: Where `serve` writes its pid file (serve-PORT.pid) for `messenger-bot reload`.
    pid_dir: Path = Path("data")

    def share(self, bot_rate: float) -> float:
        """This process's part of a rate that holds for the whole bot (see SENDING_INSTANCES).

        Whole messages when it is at least one a second: evenly paced, an instance then puts at most
        its share into any one-second window, so the instances together never exceed the bot's rate.
        """
        part = bot_rate / self.sending_instances
        return float(math.floor(part)) if part >= 1 else part

    def whatsapp_template(self, kind: str, language: str | None) -> str:
        """Which template a message of `kind` uses for someone who reads `language`: its own
        (WHATSAPP_TEMPLATE_<KIND>_<LANG>) when set, else the default language's
        (WHATSAPP_TEMPLATE_<KIND>). Named the way the WhatsApp sender looks a template up."""
        own = f"{kind}_{language}".lower()
        return own if language and getattr(self, f"whatsapp_template_{own}", None) else kind

    @model_validator(mode="before")
    @classmethod
    def _language_templates(cls, data: Any) -> Any:
        """Per-language templates are extra fields, whatever the kinds and languages (a new language
        needs no field here): from the environment, from .env and from overrides. Any other unknown
        name is ignored, as always; an empty value is unset."""
        if not isinstance(data, dict):
            return data
        kept = {k: v for k, v in data.items() if k in cls.model_fields or _template_value(k, v)}
        for name, value in os.environ.items():
            if name.lower() not in kept and _template_value(name.lower(), value):
                kept[name.lower()] = value
        return kept

    def secret_values(self) -> list[str]:
        """Every secret this process holds, so log lines and error messages can hide them."""
        held = (self.telegram_bot_token, self.telegram_webhook_secret, self.twilio_auth_token)
        values = [s.get_secret_value() for s in held if s is not None]
        password = url_password(self.database_url)
        return [*values, password] if password else values

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        """Refused here, with a message of our own, rather than by the driver, whose message
        (or traceback) may quote the URL; either way the value is shown without its password."""
        if not value.startswith(("sqlite:///", "postgres://", "postgresql://")):
            raise ValueError("must start with sqlite:/// or postgresql://")
        try:
            urlsplit(value).port  # noqa: B018 - parsing it is the check
        except ValueError:
            raise ValueError("is not a valid URL (check the host and the port)") from None
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET.match(value.get_secret_value()):
            raise ValueError("use 1-256 characters from A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("twilio_sms_from")
    @classmethod
    def _sms_from(cls, value: str | None) -> str | None:
        if value is not None and not SMS_SENDER.match(value.strip()):
            raise ValueError("must be a number in E.164 like +14155550123, or a Messaging Service SID "
                             "(MG followed by 32 hexadecimal characters)")
        return value.strip() if value is not None else None

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxies(cls, value: str) -> str:
        try:
            parse_proxies(value)
        except ValueError:
            raise ValueError('must be "*" or IP addresses and networks separated by commas') from None
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.upper()
        if value not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return value

    @field_validator(
        "telegram_bot_token", "telegram_webhook_url", "telegram_webhook_secret", "twilio_account_sid",
        "twilio_auth_token", "twilio_whatsapp_from", "twilio_sms_from", "twilio_api_base_url",
        "public_base_url", "whatsapp_template_water", "whatsapp_template_caffeine",
        "whatsapp_template_followup", "admin_token",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value


def _template_value(name: str, value: object) -> bool:
    """A per-language template setting that is set."""
    return bool(LANGUAGE_TEMPLATE.match(name.lower())) and isinstance(value, str) and bool(value.strip())


def load_settings(**overrides: object) -> Settings:
    """Settings or a SettingsError whose lines name each bad setting, as its variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        lines = []
        for err in error.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "settings"
            lines.append(f"{name}: {err['msg']} (got {_shown(name, err.get('input'))})")
        raise SettingsError("\n".join(lines)) from None


def _shown(name: str, value: object) -> str:
    """A wrong value as the error may quote it: secrets not at all, URLs without their password."""
    if any(word in name for word in ("TOKEN", "SECRET", "PASSWORD")):
        return "a hidden value"
    return repr(redacted_url(value)) if isinstance(value, str) else repr(value)
