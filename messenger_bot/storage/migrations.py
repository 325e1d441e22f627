"""Numbered schema migrations: plain SQL files applied once each, in order.

Files live in messenger_bot/migrations/<backend>/NNNN_name.sql; a store records the
numbers it applied in `schema_migrations`, so a newer release only runs what is new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(backend: str) -> list[Migration]:
    """The migrations shipped for a backend ('sqlite' or 'postgres'), oldest first."""
    folder = resources.files("messenger_bot.migrations").joinpath(backend)
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two {backend} migrations share a number: {versions}")
    return found


def split_statements(sql: str) -> list[str]:
    """Split a migration into statements (our files keep ';' out of strings and bodies)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
