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

#: Quote-like characters people (or their keyboards) use for an apostrophe or a quote.
_QUOTES = {
    **dict.fromkeys("‘’‚‛′`´ʼʹ‵＇", "'"),
    **dict.fromkeys("“”„‟″‶«»＂", '"'),
}
#: ASCII control characters: whitespace ones become a space, the rest vanish.
_ASCII_TABLE = {c: (" " if chr(c) in "\t\n\r\x0b\x0c" else None) for c in (*range(32), 127)}
_UNICODE_TABLE = {ord(k): v for k, v in _QUOTES.items()} | _ASCII_TABLE

#: A letter repeated three or more times ("sooooo", "helppp").
_REPEATS = re.compile(r"([^\W\d_])\1{2,}")
#: A word: letters and digits, with apostrophes inside it ("can't", "i'm"), never at its edges.
WORD = r"[^\W_]+(?:'[^\W_]+)*"
_WORDS = re.compile(WORD)
#: Per letter: its triple (to look for), its runs (to replace) and its double (the replacement).
_ASCII_RUNS = [(c * 3, re.compile(c * 3 + "+"), c * 2) for c in "abcdefghijklmnopqrstuvwxyz"]
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


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
        text = _collapse_ascii(text.translate(_ASCII_TABLE).lower())
    else:
        text = _strip_marks(unicodedata.normalize("NFKC", text).casefold().translate(_UNICODE_TABLE))
        if _REPEATS.search(text):
            text = _REPEATS.sub(r"\1\1", text)
    return " ".join(text.split())


def _collapse_ascii(text: str) -> str:
    """`_REPEATS` for lower-case ASCII, letter by letter: a substring search per letter is
    ten times cheaper on a long message than one regex with a back-reference at every position."""
    for triple, runs, double in _ASCII_RUNS:
        if triple in text:
            text = runs.sub(double, text)
    return text


def _strip_marks(text: str) -> str:
    """Drop accents and invisible format characters, touching only the non-ASCII runs.

    Most non-ASCII messages are ASCII with one curly apostrophe or an accented letter, so
    decomposing just those runs keeps the cost close to the ASCII path.
    """
    if text.isascii():
        return text
    return _NON_ASCII.sub(_strip_run, text)


def _strip_run(match: re.Match[str]) -> str:
    decomposed = unicodedata.normalize("NFKD", match.group())
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
