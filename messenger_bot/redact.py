"""Keeping secrets out of what the bot prints: URLs shown without their password, and any known
secret replaced wherever it turns up (a log line, a traceback, an error message).

These never raise: they run on the paths that report something already wrong, so a URL too
broken to parse is still shown safely.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, unquote

HIDDEN = "***"
#: Shorter values would hide ordinary words; no secret the bot takes is this short.
MIN_SECRET = 4
_QUERY_PASSWORD = re.compile(r"(?i)(password=)[^&#\s]*")


def _split_credentials(url: str) -> tuple[str, str, str] | None:
    """(before, user:password, after) around a URL's credentials, found by hand so that a URL
    urllib refuses (a bad port, a stray bracket) is split all the same."""
    start = url.find("://")
    start = start + 3 if start >= 0 else 0
    at = url.rfind("@", start)
    if at < 0:
        return None
    return url[:start], url[start:at], url[at:]


def url_password(url: str) -> str | None:
    """The password a database URL carries (in its credentials or as ?password=), if any."""
    parts = _split_credentials(url)
    if parts is not None and ":" in parts[1]:
        return unquote(parts[1].split(":", 1)[1]) or None
    match = re.search(r"(?i)password=([^&#\s]*)", url)
    return unquote(match.group(1)) if match and match.group(1) else None


def redacted_url(url: str) -> str:
    """The URL as it may be shown: any password replaced by ***."""
    parts = _split_credentials(url)
    if parts is not None and ":" in parts[1]:
        before, credentials, after = parts
        url = f"{before}{credentials.split(':', 1)[0]}:{HIDDEN}{after}"
    return _QUERY_PASSWORD.sub(rf"\g<1>{HIDDEN}", url)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret replaced, also as it appears URL-quoted or JSON-escaped."""
    for secret in secrets:
        if len(secret) < MIN_SECRET:
            continue
        for form in {secret, quote(secret, safe=""), json.dumps(secret)[1:-1]}:
            text = text.replace(form, HIDDEN)
    return text
