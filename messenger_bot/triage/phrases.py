"""The phrase language of flows/triage.yaml, compiled to regular expressions over words.

A message is matched as one string, "word word word " (every word followed by one space),
so a word regex is `word ` and a match always starts on a word. Every gap is bounded (~N),
so matching is linear in the length of the message: no catastrophic backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from messenger_bot.text import WORD, normalise, words

#: Tokens of a message: words, and the punctuation that ends a clause or a sentence.
TOKENS = re.compile(rf"{WORD}|[.,;:!?]")
#: The same for normalised ASCII text (lower-case already): a plain class scans faster.
_ASCII_TOKENS = re.compile(r"[a-z0-9]+(?:'[a-z0-9]+)*|[.,;:!?]")


def tokens(normalised: str) -> list[str]:
    """The words and clause marks of a normalised message."""
    return (_ASCII_TOKENS if normalised.isascii() else TOKENS).findall(normalised)
#: A gap may not cross these (a sentence end).
SENTENCE_END = ".!?;"
#: Put before every one-word negation cue in the string phrases are matched against, so a
#: gap (~N) can refuse to pass over a cue with one character test instead of a look-ahead.
CUE_MARK = "\x01"
_GAP = re.compile(r"~([1-9])")
#: What one word of a phrase may be: "can't", "one-sided" (read as two words), "911".
_PLAIN_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
#: Every `word*` stem has at least this many letters (stems are indexed by them).
STEM_KEY = 3


@dataclass(frozen=True)
class Phrase:
    """One compiled phrase: what it means (a sign id or a cue kind), its regex, its first words.

    `required` holds, for every slot that must match, the words and stems it can start
    with: a message lacking all of one slot's cannot match, which a matcher checks with set
    operations before running the regex anywhere.
    """

    sign: str
    source: str
    first_words: frozenset[str]
    first_stems: frozenset[str]
    required: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()

    @cached_property
    def regex(self) -> re.Pattern[str]:
        """Compiled the first time a message holds the phrase's first words, not at start: with
        three languages there are over two thousand phrases, and compiling them all was most of
        every process's start-up, while a message only ever reaches a few of them."""
        return re.compile(self.source)


class PhraseCompiler:
    """Turn phrases ("@face ~3 droop*") into regexes; collects the words and stems they use."""

    def __init__(self, lists: dict[str, list[str]], cues: Iterable[str], stops: Iterable[str] = ()) -> None:
        self.lists = lists
        self.vocabulary: set[str] = set()
        self.stems: set[str] = set()
        self._list_regex: dict[str, str] = {}
        self._open: list[str] = []
        self._cues = frozenset(cues)
        #: First words of clause ends: marked only where the whole end follows ("and now").
        self._stops = frozenset(stops) - self._cues
        self._gap_word = rf"[^ {re.escape(SENTENCE_END + CUE_MARK)}][^ ]* "
        self._firsts: dict[tuple[str, ...], tuple[frozenset[str], frozenset[str]]] = {}

    def compile(self, sign_id: str, phrases: list[str]) -> list[Phrase]:
        """Compile every phrase of one sign (or cue list); ValueError names the bad phrase."""
        compiled = []
        for phrase in phrases:
            source = self._checked(phrase)
            first_words, first_stems = self.first(phrase.split())
            firsts = (frozenset(first_words), frozenset(first_stems))
            compiled.append(Phrase(sign_id, source, *firsts, self.required(phrase)))
        return compiled

    def required(self, phrase: str) -> tuple[tuple[frozenset[str], frozenset[str]], ...]:
        """For each slot that must match: the words and stems it can start with."""
        needed = []
        for slot in phrase.split():
            if _GAP.fullmatch(slot) or slot.startswith("!") or (slot.endswith("?") and len(slot) > 1):
                continue
            words_, stems = self.first([slot])
            needed.append((frozenset(words_), frozenset(stems)))
        return tuple(needed)

    def first(self, slots: list[str]) -> tuple[set[str], set[str]]:
        """The words and stems a phrase can start with: lets a matcher try only likely phrases.
        Remembered per row of slots: word lists are walked again by every phrase that uses them."""
        key = tuple(slots)
        if key not in self._firsts:
            fresh = self._first(slots)
            self._firsts[key] = (frozenset(fresh[0]), frozenset(fresh[1]))
        known = self._firsts[key]
        return set(known[0]), set(known[1])

    def _first(self, slots: list[str]) -> tuple[set[str], set[str]]:
        found: tuple[set[str], set[str]] = (set(), set())
        for slot in slots:
            if slot.startswith("!") and len(slot) > 1:
                continue
            optional = slot.endswith("?") and len(slot) > 1
            for alternative in (slot[:-1] if optional else slot).split("|"):
                self._first_of(alternative, found)
            if not optional:
                return found
        return found

    def _first_of(self, alternative: str, found: tuple[set[str], set[str]]) -> None:
        if alternative.startswith("@"):
            for entry in self.lists[alternative[1:]]:
                words_, stems = self.first(entry.split())
                found[0].update(words_)
                found[1].update(stems)
            return
        raw = next(w for w in alternative.split("_") if w)
        tokens = words(normalise(raw.rstrip("*")))
        if raw.endswith("*") and len(tokens) == 1:
            found[1].add(tokens[0])
        else:
            found[0].add(tokens[0])

    def _checked(self, phrase: str) -> str:
        """The phrase's regex source, its mistakes found now: a phrase whose every slot may be
        missing would match no words at all (the regex itself is compiled on first use)."""
        try:
            body = self.phrase(phrase)
            if not self.required(phrase):
                raise ValueError("the phrase could match no words at all")
        except ValueError as error:
            raise ValueError(f"phrase {phrase!r}: {error}") from None
        return f"(?:{body})"

    def phrase(self, phrase: str) -> str:
        slots = phrase.split()
        if not slots:
            raise ValueError("empty phrase")
        if _GAP.fullmatch(slots[0]) or _GAP.fullmatch(slots[-1]) or slots[0].startswith("!"):
            raise ValueError("a phrase cannot start with a gap (~N) or a '!', nor end with a gap")
        return "".join(self._slot(slot) for slot in slots)

    def _slot(self, slot: str) -> str:
        gap = _GAP.fullmatch(slot)
        if gap:
            return f"(?:{self._gap_word}){{0,{gap.group(1)}}}?"
        if slot.startswith("!") and len(slot) > 1:
            return f"(?!{self._alternatives(slot[1:])})"
        if slot.endswith("?") and len(slot) > 1:
            return f"(?:{self._alternatives(slot[:-1])})?"
        return self._alternatives(slot)

    def _alternatives(self, slot: str) -> str:
        alternatives = slot.split("|")
        if any(not a for a in alternatives):
            raise ValueError(f"empty alternative in {slot!r} (a stray '|'?)")
        return "(?:" + "|".join(self._alternative(a) for a in alternatives) + ")"

    def _alternative(self, text: str) -> str:
        if text.startswith("@"):
            return self._list(text[1:])
        return "".join(self._word(w) for w in text.split("_") if w)

    def _word(self, raw: str) -> str:
        star = raw.endswith("*")
        text = normalise(raw.rstrip("*"))
        if not _PLAIN_WORD.fullmatch(text):
            raise ValueError(f"{raw!r} is not a word (letters, digits, ' and -; '*' only at the end)")
        tokens = words(text)
        if star and len(tokens) == 1:
            if len(tokens[0]) < STEM_KEY:
                raise ValueError(f"{raw!r}: a 'word*' needs at least {STEM_KEY} letters before the *")
            self.stems.add(tokens[0])
            return f"{CUE_MARK}?{re.escape(tokens[0])}[^ ]* "
        self.vocabulary.update(tokens)
        return "".join(self._mark(t) + re.escape(t) + " " for t in tokens)

    def _mark(self, token: str) -> str:
        """What comes before a word in its regex: the mark a cue always has, or may have."""
        if token in self._cues:
            return CUE_MARK
        return f"{CUE_MARK}?" if token in self._stops else ""

    def _list(self, name: str) -> str:
        if name not in self.lists:
            raise ValueError(f"unknown word list '@{name}' (add it under 'words:')")
        if name in self._open:
            raise ValueError(f"word list '@{name}' refers to itself")
        if name not in self._list_regex:
            self._open.append(name)
            try:
                entries = [self.phrase(entry) for entry in self.lists[name]]
            except ValueError as error:
                raise ValueError(f"in word list '@{name}': {error}") from None
            finally:
                self._open.pop()
            if not entries:
                raise ValueError(f"word list '@{name}' is empty")
            self._list_regex[name] = "(?:" + "|".join(entries) + ")"
        return self._list_regex[name]


def single_words(phrases: Iterable[str]) -> set[str]:
    """The one-word entries of a list (normalised); used where only single words make sense."""
    found = set()
    for phrase in phrases:
        tokens = words(normalise(phrase))
        if len(tokens) == 1:
            found.add(tokens[0])
    return found


def phrase_set(phrases: Iterable[str]) -> set[tuple[str, ...]]:
    """Plain word sequences (no phrase syntax), tokenised like a message."""
    return {tuple(TOKENS.findall(normalise(p))) for p in phrases if normalise(p)}


class WordSequences:
    """A set of short plain word sequences, looked up in a tokenised message."""

    def __init__(self, phrases: Iterable[str]) -> None:
        found = phrase_set(phrases)
        self._singles = frozenset(p[0] for p in found if len(p) == 1)
        self._longer = [p for p in found if len(p) > 1]
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        for sequence in self._longer:
            self._by_first.setdefault(sequence[0], []).append(sequence)

    def at(self, canon: list[str], i: int) -> bool:
        """Does one of the sequences start at word i?"""
        if canon[i] in self._singles:
            return True
        return any(tuple(canon[i : i + len(p)]) == p for p in self._by_first.get(canon[i], ()))

    def blanked(self, canon: list[str]) -> list[str]:
        """`canon` with every occurrence of a sequence replaced by empty words."""
        out = [("" if w in self._singles else w) for w in canon]
        for i in range(len(out)):
            for phrase in self._longer:
                if tuple(out[i : i + len(phrase)]) == phrase:
                    out[i : i + len(phrase)] = [""] * len(phrase)
        return out

    def within(self, canon: list[str]) -> bool:
        """Does one of the sequences occur anywhere?"""
        if self._singles.intersection(canon):
            return True
        return bool(self._longer) and any(self.at(canon, i) for i in range(len(canon)))
