"""Logging: one line per event, JSON when not on a terminal, readable when on one.

Every line carries the request id of the request that caused it. What users write
and any secret stay out of INFO lines: log events and ids, not contents.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from contextvars import ContextVar
from datetime import UTC, datetime

from messenger_bot.redact import scrub

request_id: ContextVar[str] = ContextVar("request_id", default="-")


class _RequestId(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", "-"),
            "event": record.getMessage(),
        }
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


class Redacting(logging.Formatter):
    """The last guard: a secret that reaches a line anyway (in a library's error message, in a
    traceback) is replaced before the line is written."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        self.secrets = tuple(secrets)

    def format(self, record: logging.LogRecord) -> str:
        return scrub(self.inner.format(record), self.secrets)


def configure(level: str = "INFO", json_lines: bool | None = None, secrets: Iterable[str] = ()) -> None:
    """Set up the root logger once; JSON unless stderr is a terminal; `secrets` never shown."""
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(_RequestId())
    readable = "%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s"
    inner = JsonFormatter() if json_lines else logging.Formatter(readable)
    handler.setFormatter(Redacting(inner, secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # httpx logs every request URL at INFO, and a Telegram URL contains the bot token.
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler", "aiosqlite", "twilio"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # A long reminder pass makes APScheduler warn at every tick it skips (max_instances=1 is the
    # point); the dispatcher logs what each pass did, so only its errors are worth a line.
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
