"""Long text cut into messages a channel can carry, at the coarsest boundary that fits.

Paragraphs first, then lines, then sentences, then words; a single word longer than a
whole message is the only thing ever cut, and then between characters (Python strings
hold code points, so never inside a surrogate pair). A channel whose limit is not counted
in characters (SMS counts GSM-7 septets or UTF-16 units) passes its own `measure`; it
must be additive (the measure of a joined text is the sum of its pieces').
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

Measure = Callable[[str], int]
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


def split_message(text: str, limit: int, measure: Measure = len) -> list[str]:
    """Chunks of at most `limit` (by `measure`), cut between paragraphs, lines, sentences, words."""
    chunks: list[str] = []
    sizes: list[int] = []
    for unit, sep in _units(text.strip(), limit, measure, 0):
        size = measure(unit)
        if chunks and sizes[-1] + measure(sep) + size <= limit:
            chunks[-1] += sep + unit
            sizes[-1] += measure(sep) + size
        elif unit.strip():
            chunks.append(unit)
            sizes.append(size)
    return chunks


def _pieces(text: str, level: int) -> tuple[list[str], str]:
    """The pieces of `text` at one level of coarseness, and the separator that joins them again."""
    if level == 0:
        return text.split("\n\n"), "\n\n"
    if level == 1:
        return text.split("\n"), "\n"
    if level == 2:
        return _SENTENCE_END.split(text), " "
    return text.split(" "), " "


def _units(text: str, limit: int, measure: Measure, level: int) -> Iterator[tuple[str, str]]:
    """(piece, the separator before it): pieces within the limit, split as coarsely as possible."""
    pieces, sep = _pieces(text, level)
    for part in pieces:
        if measure(part) <= limit:
            yield part, sep
            continue
        inner = list(_units(part, limit, measure, level + 1)) if level < 3 else _cut(part, limit, measure)
        yield inner[0][0], sep
        yield from inner[1:]


def _cut(word: str, limit: int, measure: Measure) -> list[tuple[str, str]]:
    """A word longer than a message, in pieces of whole characters."""
    pieces: list[tuple[str, str]] = []
    current, size = "", 0
    for char in word:
        width = measure(char)
        if current and size + width > limit:
            pieces.append((current, ""))
            current, size = "", 0
        current += char
        size += width
    pieces.append((current, ""))
    return pieces
