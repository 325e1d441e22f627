"""Where a message's clauses and sentences are, and which phrases match where.

A sign mention is judged inside its clause (negation, past, hypothetical, idioms) and its
sentence (a general question, an ordinary explanation), in the NegEx / ConText tradition:
a cue's reach ends at a clause boundary, so "no fever, but my leg feels heavy" keeps the leg.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate, compress, count
from operator import itemgetter

from messenger_bot.triage.phrases import CUE_MARK, STEM_KEY, Phrase, WordSequences

_CLAUSE_MARKS = frozenset(",:;.!?")
#: A word's stem key (its first STEM_KEY letters), as a C-speed function for `map`.
_key = itemgetter(slice(None, STEM_KEY))
_SENTENCE_MARKS = frozenset(".!?;")


@dataclass(frozen=True)
class Mention:
    """One phrase matched: its kind (a sign id or a cue kind), first word, and end word."""

    kind: str
    start: int
    end: int


class Interest:
    """The words and stem keys any phrase of a set can need: all other words are filler."""

    def __init__(
        self, phrases: Iterable[Phrase], cue_words: frozenset[str],
        stops: dict[str, list[tuple[str, ...]]] | None = None,
    ) -> None:
        words, keys = set(cue_words), set[str]()
        for phrase in phrases:
            words.update(phrase.first_words)
            keys.update(stem[:STEM_KEY] for stem in phrase.first_stems)
            for slot_words, slot_stems in phrase.required:
                words.update(slot_words)
                keys.update(stem[:STEM_KEY] for stem in slot_stems)
        self.words, self.keys, self.cue_words = frozenset(words), frozenset(keys), cue_words
        self.stops = stops or {}

    def marks(self, canon: list[str], i: int) -> bool:
        """Does a gap stop at word i: a negation cue, or the start of a clause end ("and now")?"""
        word = canon[i]
        if word in self.cue_words:
            return True
        return any(tuple(canon[i : i + len(s)]) == s for s in self.stops.get(word, ()))


class Layout:
    """A message as the phrases see it: "word word " with each word's offset in that string.

    `words` and `keys` are the distinct words and stem keys some phrase can use, so a phrase
    index decides with set operations which phrases can match at all; `where` finds a set of
    words' positions. Nothing here loops over the words in Python, so a long message costs
    a few C-speed passes.
    """

    def __init__(self, canon: list[str], interest: Interest) -> None:
        self.canon = canon
        self._interest = interest
        self._distinct = set(canon)
        distinct = list(self._distinct)
        self.words = frozenset(interest.words.intersection(distinct))
        self._by_key: dict[str, list[str]] = {}
        for word in compress(distinct, map(interest.keys.__contains__, map(_key, distinct))):
            self._by_key.setdefault(word[:STEM_KEY], []).append(word)
        self.keys = frozenset(self._by_key)

    def has_stem(self, stems: frozenset[str]) -> bool:
        """Does a word of the message start with one of these stems?"""
        by_key = self._by_key
        return any(word.startswith(stem) for stem in stems for word in by_key.get(stem[:STEM_KEY], ()))

    def where(self, firsts: AbstractSet[str]) -> list[int]:
        """Positions of these words, in order (at C speed: a long message has many words)."""
        return list(compress(count(), map(firsts.__contains__, self.canon)))

    def stemmed(self, key: str) -> list[str]:
        """The message's distinct words that start with this stem key."""
        return self._by_key.get(key, [])

    @cached_property
    def marked(self) -> list[str]:
        """The words, each negation cue and clause end with CUE_MARK before it (so a gap never
        crosses one: a phrase stays inside its clause, and its words never meet over a "not")."""
        interest, canon = self._interest, self.canon
        marked = list(canon)
        cues = self.words & interest.cue_words
        for i in self.where(cues) if cues else ():
            marked[i] = CUE_MARK + canon[i]
        stops = interest.stops.keys() & self._distinct - cues
        for i in self.where(stops) if stops else ():
            if interest.marks(canon, i):
                marked[i] = CUE_MARK + canon[i]
        return marked

    @cached_property
    def string(self) -> str:
        """The words joined for the phrase regexes: "word word "."""
        return " ".join(self.marked) + " "

    @cached_property
    def starts(self) -> list[int]:
        """Where each word starts in `string` (and, last, where the string ends)."""
        return list(accumulate(map((1).__add__, map(len, self.marked)), initial=0))

    def clause(self, ends: WordSequences, start: int, end: int, reach: int) -> tuple[int, int]:
        """The words around [start, end) up to a clause boundary, at most `reach` words each way.

        A boundary is , ; : . ! ? or an end word ("but", "however", ...). The reach keeps the
        work per mention bounded and stops a cue from covering a sign far away in a run-on
        message (a cue that reaches too far would hide a red flag).
        """
        canon = self.canon
        first = start
        while first > 0 and start - first < reach and canon[first - 1] not in _CLAUSE_MARKS:
            if ends.at(canon, first):
                break
            first -= 1
        last = max(end, start + 1)
        while last < len(canon) and last - start < reach and canon[last] not in _CLAUSE_MARKS:
            if ends.at(canon, last):
                break
            last += 1
        return first, last

    def sentence(self, start: int, reach: int) -> tuple[int, int] | None:
        """(first word, end word) of the sentence holding word `start`, if it is at most `reach` words."""
        canon = self.canon
        first = start
        while first > 0 and canon[first - 1] not in _SENTENCE_MARKS:
            first -= 1
            if start - first > reach:
                return None
        last = start
        while last < len(canon) and canon[last] not in _SENTENCE_MARKS:
            last += 1
            if last - first > reach:
                return None
        return first, min(last + 1, len(canon))


class PhraseIndex:
    """A list of compiled phrases, tried only where they can match.

    First, set operations on the message's distinct words drop every phrase one of whose
    required slots has no word in the message (most phrases, for most messages); then the
    rest are tried only at the words they can start with, and only once per distinct window
    of words: a phrase's regex reads a bounded number of words (`_reach`), so two places
    whose next words are the same get the same answer. A long message that repeats itself
    (a paste, a flood) costs one regex per phrase per distinct window, and finding the places
    and their windows runs at C speed.
    """

    def __init__(self, phrases: Iterable[Phrase]) -> None:
        self._by_anchor: dict[str, list[Phrase]] = {}
        for phrase in phrases:
            words, stems = min(phrase.required, key=lambda slot: len(slot[0]) + len(slot[1]))
            for anchor in words | {stem[:STEM_KEY] for stem in stems}:
                self._by_anchor.setdefault(anchor, []).append(phrase)

    def matches(self, layout: Layout, limit: int | None = None) -> list[Mention]:
        """Every (kind, first word, end word) one of the phrases matches, in word order;
        with `limit`, at most that many of each kind (a flood of one phrase stays cheap)."""
        active = self._active(layout)
        if not active:
            return []
        starters = self._starters(layout, active)
        where = layout.where(set(starters))
        most = len(layout.canon) + 1 if limit is None else limit
        reach = self.reach(active) if len(where) > _FEW_PLACES else None
        if reach is None:
            return _counted(((i, self._at(layout, starters, i)) for i in where), most)
        return _counted(self._windows(layout, starters, where, reach, most), most)

    def _active(self, layout: Layout) -> list[Phrase]:
        """The phrases every required slot of which has a word in the message."""
        words, keys, by_anchor = layout.words, layout.keys, self._by_anchor
        hits = by_anchor.keys() & words | by_anchor.keys() & keys
        candidates = {p for anchor in hits for p in by_anchor[anchor]}
        return [
            p for p in candidates
            if all(not words.isdisjoint(w) or layout.has_stem(s) for w, s in p.required)
        ]

    @staticmethod
    def _starters(layout: Layout, active: list[Phrase]) -> dict[str, list[Phrase]]:
        """Each distinct word of the message a phrase can start at, with those phrases (the ones
        listing the word first, then the ones whose stem it starts with)."""
        starters: dict[str, list[Phrase]] = {}
        stemmed: dict[str, list[tuple[str, Phrase]]] = {}
        for phrase in active:
            for word in phrase.first_words & layout.words:
                starters.setdefault(word, []).append(phrase)
            for stem in phrase.first_stems:
                if stem[:STEM_KEY] in layout.keys:
                    stemmed.setdefault(stem[:STEM_KEY], []).append((stem, phrase))
        for key, pairs in stemmed.items():
            for word in layout.stemmed(key):
                more = [phrase for stem, phrase in pairs if word.startswith(stem)]
                if more:
                    starters.setdefault(word, []).extend(more)
        return starters

    def reach(self, phrases: Iterable[Phrase]) -> int | None:
        """At most how many words (counting the one after) these phrases' regexes read from
        where they start; None when one has no bound (then every place is tried)."""
        most = 0
        for phrase in phrases:
            if phrase.source not in _REACHES:
                _REACHES[phrase.source] = _reach(phrase.source)
            words = _REACHES[phrase.source]
            if words is None:
                return None
            most = max(most, words)
        return most

    @staticmethod
    def _at(layout: Layout, starters: dict[str, list[Phrase]], i: int) -> list[tuple[Phrase, int]]:
        """The phrases that match at word i, each with the word its match ends at."""
        string, starts = layout.string, layout.starts
        found = []
        for phrase in starters[layout.canon[i]]:
            match = phrase.regex.match(string, starts[i])
            if match:
                found.append((phrase, bisect_left(starts, match.end())))
        return found

    def _windows(
        self, layout: Layout, starters: dict[str, list[Phrase]], where: list[int], reach: int, most: int
    ) -> Iterator[tuple[int, list[tuple[Phrase, int]]]]:
        """The places where a phrase matches, and what matches there, trying each distinct window
        of `reach` words once (at its first place), in order, until every kind has `most`."""
        string, starts = layout.string, layout.starts
        ends = starts[reach:]
        ends += [starts[-1]] * (len(starts) - len(ends))
        windows = list(map(string.__getitem__, map(slice, map(starts.__getitem__, where),
                                                   map(ends.__getitem__, where))))
        first = dict(zip(reversed(windows), reversed(where), strict=True))  # each window's first place
        matched: dict[str, list[tuple[Phrase, int]]] = {}
        kinds = {phrase.sign: 0 for phrases in starters.values() for phrase in phrases}
        for window, i in sorted(first.items(), key=itemgetter(1)):
            found = self._at(layout, starters, i)
            if found:
                matched[window] = [(phrase, end - i) for phrase, end in found]
                for phrase, _ in found:
                    kinds[phrase.sign] += 1
                if min(kinds.values()) >= most:
                    break  # every kind has enough places before any window not tried yet
        places = compress(zip(where, windows, strict=True), map(matched.__contains__, windows))
        return ((i, [(phrase, i + offset) for phrase, offset in matched[window]]) for i, window in places)


def _counted(places: Iterable[tuple[int, list[tuple[Phrase, int]]]], most: int) -> list[Mention]:
    """The mentions of these places (in word order), at most `most` of each kind."""
    mentions: list[Mention] = []
    counts: dict[str, int] = {}
    for i, found in places:
        for phrase, end in found:
            if counts.get(phrase.sign, 0) < most:
                counts[phrase.sign] = counts.get(phrase.sign, 0) + 1
                mentions.append(Mention(phrase.sign, i, end))
    return mentions


#: With this few places to try (an ordinary message), each is tried directly: windows pay off
#: only where places repeat.
_FEW_PLACES = 48
#: Each phrase source's reach, worked out the first time a message can match it (a quarter of what
#: compiling its regex costs) and kept for the process: every triage built from the same rules
#: (a reload, a language's copy) shares it.
_REACHES: dict[str, int | None] = {}


class _Unbounded(Exception):
    """A regex with no bound on the words it reads (or one that looks behind its start)."""


def _reach(source: str) -> int | None:
    """At most how many words a phrase regex reads from where it starts (counting one more, for
    a look-ahead into the word after), or None when nothing bounds it.

    Every word the compiler writes ends in a literal space, so the spaces a match (or a
    look-ahead) can read bound the words: the most of any alternative, times a repeat's most.
    Only the few constructs the phrase compiler writes are read; any other is no bound."""
    try:
        spaces, end = _alternatives(source, 0)
    except (_Unbounded, IndexError, ValueError):
        return None
    return spaces + 2 if end == len(source) else None


def _alternatives(source: str, i: int) -> tuple[int, int]:
    best = 0
    while True:
        spaces, i = _sequence(source, i)
        best = max(best, spaces)
        if i < len(source) and source[i] == "|":
            i += 1
            continue
        return best, i


def _sequence(source: str, i: int) -> tuple[int, int]:
    total = 0
    while i < len(source) and source[i] not in "|)":
        spaces, i = _item(source, i)
        spaces, i = _repeated(source, i, spaces)
        total += spaces
    return total, i


def _item(source: str, i: int) -> tuple[int, int]:
    """The most spaces one item (a group, a class, an escape, a character) reads, and where it ends."""
    char = source[i]
    if char == "(":
        if source[i : i + 3] not in ("(?:", "(?!", "(?="):
            raise _Unbounded
        spaces, end = _alternatives(source, i + 3)
        if source[end] != ")":
            raise _Unbounded
        return spaces, end + 1
    if char == "[":
        end = source.index("]", i + 2)  # a class never starts with "]" in what the compiler writes
        members = source[i + 1 : end]
        if members.startswith("^"):
            return int(" " not in members), end + 1
        return int(" " in members or "\\s" in members), end + 1
    if char == "\\":
        if source[i + 1] in "bBAZ":
            raise _Unbounded
        return int(source[i + 1] in " sSWD"), i + 2
    if char in "^$":
        raise _Unbounded
    return int(char in " ."), i + 1


def _repeated(source: str, i: int, spaces: int) -> tuple[int, int]:
    """An item's spaces times its repeat, if one follows (and past a lazy "?")."""
    if i >= len(source) or source[i] not in "?*+{":
        return spaces, i
    if source[i] == "?":
        return spaces, i + 1
    if source[i] in "*+":
        most, i = (0 if spaces == 0 else -1), i + 1
    else:
        end = source.index("}", i)
        upper = source[i + 1 : end].split(",")[-1]
        most, i = (int(upper) if upper.isdigit() else -1), end + 1
    if most < 0:
        raise _Unbounded
    if i < len(source) and source[i] == "?":
        i += 1
    return spaces * most, i
