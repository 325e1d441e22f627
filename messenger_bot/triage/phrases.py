"""The phrase language of flows/triage.yaml, compiled to regular expressions over words.

A message is matched as one string, "word word word " (every word followed by one space),
so a word regex is `word ` and a match always starts on a word. Every gap is bounded (~N),
so matching is linear in the length of the message: no catastrophic backtracking.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cached_property, lru_cache

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


#: How many distinct phrase words `_normal` remembers: every language's vocabulary, with room.
WORD_MEMO = 1 << 15
Firsts = tuple[frozenset[str], frozenset[str]]
#: A remembered regex source, with the words and the stems it matches.
Built = tuple[str, frozenset[str], frozenset[str]]


@lru_cache(maxsize=WORD_MEMO)
def _normal(raw: str) -> tuple[str, tuple[str, ...]]:
    """A phrase word's normal form and its tokens. The same few thousand words recur in every
    phrase, word list and compiler of a language, and normalising each every time was a third
    of the content's load."""
    text = normalise(raw)
    return text, tuple(words(text))


class PhraseCompiler:
    """Turn phrases ("@face ~3 droop*") into regexes; collects the words and stems they use."""

    def __init__(self, lists: dict[str, list[str]], cues: Iterable[str], stops: Iterable[str] = ()) -> None:
        self.lists = lists
        self.vocabulary: set[str] = set()
        self.stems: set[str] = set()
        #: Per word list: its regex, and the words and stems it uses (given to each compiler
        #: that uses it, so a sibling can share the list without building it again).
        self._list_regex: dict[str, Built] = {}
        self._slots: dict[str, Built] = {}
        self._open: list[str] = []
        self._cues = frozenset(cues)
        #: First words of clause ends: marked only where the whole end follows ("and now").
        self._stops = frozenset(stops) - self._cues
        self._gap_word = rf"[^ {re.escape(SENTENCE_END + CUE_MARK)}][^ ]* "
        self._firsts: dict[tuple[str, ...], Firsts] = {}
        self._list_firsts: dict[str, Firsts] = {}
        self._slot_firsts: dict[str, Firsts] = {}
        #: Per phrase word as written: its regex, and the stem or the words it adds.
        self._words: dict[str, tuple[str, str | None, tuple[str, ...]]] = {}

    def sibling(self) -> PhraseCompiler:
        """A compiler over the same word lists and cues with a vocabulary of its own: the word
        lists' regexes and first words are built once for both (they depend on nothing else)."""
        twin = PhraseCompiler(self.lists, ())
        twin._cues, twin._stops, twin._gap_word = self._cues, self._stops, self._gap_word
        twin._list_regex, twin._firsts, twin._words = self._list_regex, self._firsts, self._words
        twin._list_firsts, twin._slots = self._list_firsts, self._slots
        twin._slot_firsts = self._slot_firsts
        return twin

    def compile(self, sign_id: str, phrases: list[str]) -> list[Phrase]:
        """Compile every phrase of one sign (or cue list); ValueError names the bad phrase."""
        compiled = []
        for phrase in phrases:
            source, required = self._checked(phrase)
            compiled.append(Phrase(sign_id, source, *self.first(phrase.split()), required))
        return compiled

    def required(self, phrase: str) -> tuple[Firsts, ...]:
        """For each slot that must match: the words and stems it can start with."""
        needed = []
        for slot in phrase.split():
            if _GAP.fullmatch(slot) or slot.startswith("!") or (slot.endswith("?") and len(slot) > 1):
                continue
            needed.append(self._slot_first(slot))
        return tuple(needed)

    def first(self, slots: list[str]) -> Firsts:
        """The words and stems a phrase can start with: lets a matcher try only likely phrases.
        Remembered per row of slots: word lists are walked again by every phrase that uses them."""
        key = tuple(slots)
        known = self._firsts.get(key)
        if known is None:
            known = self._firsts[key] = self._first(slots)
        return known

    def _first(self, slots: list[str]) -> Firsts:
        """The first words of each slot up to the first that must match (optional ones before it)."""
        found: tuple[set[str], set[str]] = (set(), set())
        for slot in slots:
            if slot.startswith("!") and len(slot) > 1:
                continue
            words_, stems = self._slot_first(slot)
            found[0].update(words_)
            found[1].update(stems)
            if not (slot.endswith("?") and len(slot) > 1):
                break
        return frozenset(found[0]), frozenset(found[1])

    def _slot_first(self, slot: str) -> Firsts:
        """The words and stems one slot can start with, remembered per slot as written."""
        known = self._slot_firsts.get(slot)
        if known is None:
            found: tuple[set[str], set[str]] = (set(), set())
            optional = slot.endswith("?") and len(slot) > 1
            for alternative in (slot[:-1] if optional else slot).split("|"):
                self._first_of(alternative, found)
            known = self._slot_firsts[slot] = (frozenset(found[0]), frozenset(found[1]))
        return known

    def _first_of(self, alternative: str, found: tuple[set[str], set[str]]) -> None:
        if alternative.startswith("@"):
            words_, stems = self._list_first(alternative[1:])
            found[0].update(words_)
            found[1].update(stems)
            return
        raw = next(w for w in alternative.split("_") if w)
        tokens = _normal(raw.rstrip("*"))[1]
        if raw.endswith("*") and len(tokens) == 1:
            found[1].add(tokens[0])
        else:
            found[0].add(tokens[0])

    def _list_first(self, name: str) -> Firsts:
        """The words and stems a word list's entries can start with, remembered per list: a list
        of a hundred entries is walked once, not by every phrase that uses it."""
        known = self._list_firsts.get(name)
        if known is None:
            found: tuple[set[str], set[str]] = (set(), set())
            for entry in self.lists[name]:
                words_, stems = self.first(entry.split())
                found[0].update(words_)
                found[1].update(stems)
            known = self._list_firsts[name] = (frozenset(found[0]), frozenset(found[1]))
        return known

    def _checked(self, phrase: str) -> tuple[str, tuple[Firsts, ...]]:
        """The phrase's regex source and its required slots, its mistakes found now: a phrase
        whose every slot may be missing would match no words at all (the regex itself is
        compiled on first use)."""
        try:
            body = self.phrase(phrase)
            required = self.required(phrase)
            if not required:
                raise ValueError("the phrase could match no words at all")
        except ValueError as error:
            raise ValueError(f"phrase {phrase!r}: {error}") from None
        return f"(?:{body})", required

    def phrase(self, phrase: str) -> str:
        slots = phrase.split()
        if not slots:
            raise ValueError("empty phrase")
        if _GAP.fullmatch(slots[0]) or _GAP.fullmatch(slots[-1]) or slots[0].startswith("!"):
            raise ValueError("a phrase cannot start with a gap (~N) or a '!', nor end with a gap")
        return "".join(self._slot(slot) for slot in slots)

    def _slot(self, slot: str) -> str:
        """One slot's regex, remembered: "~3", "no" or "@face" recur in hundreds of phrases."""
        known = self._slots.get(slot)
        if known is None:
            known = self._slots[slot] = self._recorded(lambda: self._slot_regex(slot))
        return self._replayed(known)

    def _slot_regex(self, slot: str) -> str:
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
        known = self._words.get(raw)
        if known is None:
            known = self._words[raw] = self._word_regex(raw)
        source, stem, tokens = known
        if stem is not None:
            self.stems.add(stem)
        else:
            self.vocabulary.update(tokens)
        return source

    def _word_regex(self, raw: str) -> tuple[str, str | None, tuple[str, ...]]:
        """One word's regex, and the stem (`word*`) or the words it matches."""
        star = raw.endswith("*")
        text, tokens = _normal(raw.rstrip("*"))
        if not _PLAIN_WORD.fullmatch(text):
            raise ValueError(f"{raw!r} is not a word (letters, digits, ' and -; '*' only at the end)")
        if star and len(tokens) == 1:
            if len(tokens[0]) < STEM_KEY:
                raise ValueError(f"{raw!r}: a 'word*' needs at least {STEM_KEY} letters before the *")
            return f"{CUE_MARK}?{re.escape(tokens[0])}[^ ]* ", tokens[0], tokens
        return "".join(self._mark(t) + re.escape(t) + " " for t in tokens), None, tokens

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
            self._list_regex[name] = self._recorded(lambda: self._built_list(name))
        return self._replayed(self._list_regex[name])

    def _built_list(self, name: str) -> str:
        self._open.append(name)
        try:
            entries = [self.phrase(entry) for entry in self.lists[name]]
        except ValueError as error:
            raise ValueError(f"in word list '@{name}': {error}") from None
        finally:
            self._open.pop()
        if not entries:
            raise ValueError(f"word list '@{name}' is empty")
        return "(?:" + "|".join(entries) + ")"

    def _recorded(self, build: Callable[[], str]) -> Built:
        """`build()`'s regex, with the words and stems it used (kept here too), so the regex can
        be remembered and its words still given to every later use, in this compiler or its sibling."""
        outer = self.vocabulary, self.stems
        self.vocabulary, self.stems = set(), set()
        try:
            source = build()
        finally:
            used = frozenset(self.vocabulary), frozenset(self.stems)
            self.vocabulary, self.stems = outer
            self.vocabulary.update(used[0])
            self.stems.update(used[1])
        return source, *used

    def _replayed(self, built: Built) -> str:
        """A remembered regex, its words and stems counted as used here."""
        source, vocabulary, stems = built
        self.vocabulary.update(vocabulary)
        self.stems.update(stems)
        return source


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
