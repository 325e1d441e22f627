"""Rendered summaries behind unguessable links that expire.

A link is `<base>/files/<token>`. The token is a random file id and its expiry, signed
with a key kept in the database (so every instance, and `chat`, agree on it): no user id
or phone number is in it, a forged or altered token is refused before the database is
asked, and an expired one is refused even if its row is still there. The bytes live in
`diary_files` until they expire; "delete my data" removes them with the rest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import datetime, timedelta

from messenger_bot.conversation import Attachment
from messenger_bot.storage import Storage
from messenger_bot.storage.base import ts

LIFETIME = timedelta(hours=24)
PATH = "/files/"
_ID_BYTES, _SIG_BYTES = 16, 16
_KEY_NAME = "file-links"
EXTENSIONS = {"image/png": "png", "application/pdf": "pdf"}


@dataclass(frozen=True)
class Stored:
    mime: str
    body: bytes
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


async def signing_key(store: Storage) -> bytes:
    """The database's link key, made on first use; two instances racing agree on the first one."""
    await store.execute(
        "INSERT INTO diary_keys (name, secret) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
        _KEY_NAME,
        secrets.token_urlsafe(32),
    )
    rows = await store.fetch("SELECT secret FROM diary_keys WHERE name = ?", _KEY_NAME)
    return str(rows[0][0]).encode()


def make_token(key: bytes, file_id: bytes, expires_at: float) -> str:
    payload = file_id + struct.pack(">I", int(expires_at))
    signature = hmac.new(key, payload, hashlib.sha256).digest()[:_SIG_BYTES]
    return f"{_b64(payload)}.{_b64(signature)}"


def read_token(key: bytes, token: str, now: float) -> str | None:
    """The file id of a valid, unexpired token; None for anything else (never an exception)."""
    try:
        head, _, sig = token.partition(".")
        payload, signature = _unb64(head), _unb64(sig)
    except (ValueError, TypeError):
        return None
    if len(payload) != _ID_BYTES + 4 or len(signature) != _SIG_BYTES:
        return None
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:_SIG_BYTES]
    if not hmac.compare_digest(expected, signature):
        return None
    (expires_at,) = struct.unpack(">I", payload[_ID_BYTES:])
    return _b64(payload[:_ID_BYTES]) if now < expires_at else None


async def publish(
    store: Storage,
    channel: str,
    user_key: str,
    mime: str,
    body: bytes,
    label: str,
    base_url: str,
    now: datetime,
) -> Attachment:
    """Keep the file until its link expires and return it with its link; expired files go first."""
    await purge(store, now)
    file_id = secrets.token_bytes(_ID_BYTES)
    expires_at = int(ts(now) + LIFETIME.total_seconds())  # type: ignore[operator]
    await store.execute(
        "INSERT INTO diary_files (id, channel, user_key, mime, body, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
        _b64(file_id),
        channel,
        user_key,
        mime,
        body,
        float(expires_at),
    )
    token = make_token(await signing_key(store), file_id, expires_at)
    url = f"{base_url.rstrip('/')}{PATH}{token}"
    return Attachment(mime, url, label, f"{label}.{EXTENSIONS.get(mime, 'bin')}", body)


async def fetch_file(store: Storage, token: str, now: datetime) -> Stored | None:
    stamp = now.timestamp()
    file_id = read_token(await signing_key(store), token, stamp)
    if file_id is None:
        return None
    rows = await store.fetch(
        "SELECT mime, body, expires_at FROM diary_files WHERE id = ? AND expires_at > ?", file_id, stamp
    )
    if not rows:
        return None
    return Stored(rows[0][0], bytes(rows[0][1]), float(rows[0][2]))


async def purge(store: Storage, now: datetime) -> int:
    """Files are never kept beyond their link's life."""
    return await store.execute("DELETE FROM diary_files WHERE expires_at <= ?", ts(now))
