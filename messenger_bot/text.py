"""Text normalisation shared by red-flag triage and the FAQ matcher.

Both read what people type on a phone: any case, curly or straight apostrophes, accents
from autocorrect, "sooooo" for emphasis, stray zero-width characters pasted from elsewhere.
`normalise` turns all of that into one plain form, so that the vocabularies in flows/ only
ever need to be written once, in plain lower-case ASCII-like spelling.

It runs on every incoming message, so it takes a fast path for plain ASCII text (the
common case) and only pays for Unicode decomposition when the text needs it. Several
readers of one turn (commands, triage, features, small talk, the FAQ) each normalise the
message they were handed; the last few texts are remembered by identity, so the very same
string object is normalised once, and a new message (a new object) never hits.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

#: Quote-like characters people (or their keyboards) use for an apostrophe or a quote.
_QUOTES = {
    **dict.fromkeys("‘’‚‛′`´ʼʹ‵＇", "'"),
    **dict.fromkeys("“”„‟″‶«»＂", '"'),
}
#: ASCII control characters: whitespace ones become a space, the rest vanish.
_ASCII_TABLE = {c: (" " if chr(c) in "\t\n\r\x0b\x0c" else None) for c in (*range(32), 127)}
_UNICODE_TABLE = {ord(k): v for k, v in _QUOTES.items()} | _ASCII_TABLE

#: A word: letters and digits, with apostrophes inside it ("can't", "i'm"), never at its edges.
WORD = r"[^\W_]+(?:'[^\W_]+)*"
_WORDS = re.compile(WORD)
#: An ASCII letter repeated three or more times ("sooooo", "helppp"), found in one pass: the
#: Unicode class `[^\W\d_]` costs ten times as much per character, so other letters are found
#: apart, in the text's runs of non-ASCII characters (`_TRIPLED`).
_ASCII_REPEATS = re.compile(r"([a-z])\1\1+")
_TRIPLED = re.compile(r"([^\W\d_])\1\1")
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
#: The characters `_UNICODE_TABLE` changes, to find the few a text holds.
_TABLE_CHARS = re.compile("[" + re.escape("".join(map(chr, _UNICODE_TABLE))) + "]")


#: (text, its normal form) for the last few texts normalised, newest first; replaced whole, never
#: changed in place, so a thread that reads it while another normalises sees one or the other.
_recent: tuple[tuple[str, str], ...] = ()
RECENT = 4


def normalise(text: str) -> str:
    """Return `text` in the one form every matcher compares against.

    Steps, and why each one is there:

    - NFKC: full-width letters, ligatures and compatibility forms become their plain letters.
    - casefold: case carries no meaning for matching ("FACE DROOPING" = "face drooping").
    - curly quotes become ' and ", so "can’t" reads "can't" whatever keyboard sent it.
    - accents are stripped ("é" -> "e"), because autocorrect adds them unpredictably.
    - control and format characters (zero-width spaces, soft hyphens, BOMs) are removed;
      tabs and newlines count as spaces.
    - a letter repeated 3+ times becomes TWO ("sooooo" -> "soo", "droooping" -> "drooping").
      Two, not one, because no English word has a tripled letter, while many words that
      people stretch do have a real double ("drooping", "sleepy", "too", "numbness"):
      collapsing to two keeps every real double intact and leaves at most one extra letter
      where the word has a single one, which fuzzy matching forgives (1 edit). Collapsing
      to one would break the real doubles instead ("drooping" -> "droping").
    - whitespace runs become one space and the ends are trimmed.
    """
    global _recent
    for seen, normal in _recent:
        if seen is text:
            return normal
    normal = _normalised(text)
    _recent = ((text, normal), *_recent[: RECENT - 1])
    return normal


def _normalised(text: str) -> str:
    if text.isascii():
        return _spaced(_ASCII_REPEATS.sub(r"\1\1", text.translate(_ASCII_TABLE).lower()))
    text = _strip_marks(_unquoted(unicodedata.normalize("NFKC", text).casefold()))
    text = _ASCII_REPEATS.sub(r"\1\1", text)
    return _spaced(text if text.isascii() else _collapse(text, _repeatable(text)))


def _spaced(text: str) -> str:
    """Whitespace runs made one space, the ends trimmed. In ASCII text out of the tables a space is
    the only whitespace left, so most messages need no splitting and joining at all."""
    if text.isascii() and "  " not in text and not text.startswith(" ") and not text.endswith(" "):
        return text
    return " ".join(text.split())


def _unquoted(text: str) -> str:
    """`_UNICODE_TABLE` applied with one `str.replace` per character the text holds: `translate`
    looks every character of a non-ASCII text up in the table, 250 ns each (13 ms for 50,000)."""
    for char in set(_TABLE_CHARS.findall(text)):
        text = text.replace(char, _UNICODE_TABLE[ord(char)] or "")
    return text


def _repeatable(text: str) -> list[str]:
    """The non-ASCII letters the text holds three times in a row, found in its distinct runs of
    non-ASCII characters (a text in another script may use thousands of letters, few tripled)."""
    runs = {run for run in _NON_ASCII.findall(text) if len(run) >= 3}
    return list({tripled for run in runs for tripled in _TRIPLED.findall(run)})


def _collapse(text: str, letters: Iterable[str]) -> str:
    """Each of these (non-ASCII) letters, where it is repeated 3+ times, made two: `replace`
    until it is not ("ééééé" -> "éééé" -> "ééé" -> "éé"; a pass leaves two thirds of a run, so
    even a run the length of the message costs a few passes)."""
    for letter in letters:
        triple, double = letter * 3, letter * 2
        while triple in text:
            text = text.replace(triple, double)
    return text


def _strip_marks(text: str) -> str:
    """Drop accents and invisible format characters, touching only the non-ASCII runs.

    Each distinct run is worked out once and replaced everywhere with `str.replace`, longest
    first (a run is maximal, so a shorter one inside a longer one is never cut by it): a message
    of 50,000 accented characters has a few dozen distinct runs, not thousands of calls.
    """
    if text.isascii():
        return text
    for run in sorted(set(_NON_ASCII.findall(text)), key=len, reverse=True):
        text = text.replace(run, _strip_run(run))
    return text


def _strip_run(run: str) -> str:
    decomposed = unicodedata.normalize("NFKD", run)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if _keep(c)))


def _keep(char: str) -> bool:
    """Keep a character unless it is an accent, an invisible format mark or a non-space control."""
    category = unicodedata.category(char)
    if category in {"Mn", "Me", "Cf"}:
        return False
    return category != "Cc" or char.isspace()


def words(text: str) -> list[str]:
    """The word tokens of an already normalised text: letters, digits, inner apostrophes.

    Punctuation and symbols are dropped; "can't" and "i'm" stay one token each, so
    vocabularies can list them as written. Pass the output of `normalise` (this does
    not normalise again, so callers that already normalised pay nothing twice).
    """
    return _WORDS.findall(text)
