"""One way to check and fill the `{name}` placeholders of sentences in flows/.

Content files are checked at load against the names each sentence may use, so a typo in a
placeholder stops the bot at start instead of reaching a user as "{nmber}". Filling is a plain
replace: a user's own words never reach `str.format()`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def unknown(text: str, allowed: Iterable[str]) -> list[str]:
    """The placeholders `text` uses that are not in `allowed`, sorted."""
    return sorted(set(PLACEHOLDER.findall(text)) - set(allowed))


def problem(key: str, text: str, allowed: Iterable[str]) -> str | None:
    """One content-check line for a sentence with unknown placeholders, else None."""
    bad = unknown(text, allowed)
    return f"sentence '{key}': unknown placeholder(s) {', '.join(bad)}" if bad else None


def fill(text: str, **values: object) -> str:
    """`text` with each `{name}` replaced by its value."""
    for name, value in values.items():
        text = text.replace("{" + name + "}", str(value))
    return text
