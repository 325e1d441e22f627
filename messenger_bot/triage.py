"""Red-flag triage: does a message describe a stroke or another emergency?

The vocabulary lives in flows/triage.yaml (see the comments there for the phrase syntax), so
an editor can add a phrasing without touching code. This module:

1. validates that file (`TriageRules`) and compiles every phrase into a regular expression
   over a message's words, so a broken phrase stops the app at load time, naming the sign;
2. reads a message (`Triage.check`): normalise it, cut it into words, correct typos of the
   warning words, match every sign's phrases, and drop the matches that a negation cancels
   or that sit in a general question.

Design choices, all made because a missed red flag is the worst defect the bot can have:

- Typo tolerance is per word (Damerau/OSA edit distance, bounded by word length), against
  the words the phrases use; real words that sit one edit away from a warning word are listed
  in `never_correct` so that "week" is not read as "weak".
- Negation is narrow. A cue ("no", "not", "don't have", ...) cancels a sign only when the
  words between the cue and the sign are all "carry_over" words (articles, "or", other
  symptom words...). A comma, "but", a pronoun or any other word ends its reach, so
  "no headache but my face is drooping" still alerts. A cue that is part of a sign's own
  phrase ("can't feel my leg", "not responding") never cancels it.
- A general question ("is numbness a sign of stroke?") is not an alert, but only when the
  message mentions nobody it is happening to ("my", "she", "this", "now", ...). The word
  "stroke" alone never alerts; "having a stroke", "is this a stroke", "I think I'm having a
  strok" do. "Can lip twitching be a sign of stroke?" describes no sign, so it does not alert.
- Every regex is built from bounded gaps (~N) over whole words, so matching is linear in the
  length of the message: no catastrophic backtracking on long or hostile input.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator
from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from messenger_bot.text import WORD, normalise, words

#: Tokens of a message: words, and the punctuation that ends a clause or a sentence.
_TOKENS = re.compile(rf"{WORD}|[.,;:!?]")
#: A gap may not cross these (a sentence end).
_SENTENCE_END = ".!?;"
#: Put before every one-word negation cue in the string phrases are matched against, so a
#: gap (~N) can refuse to pass over a cue with one character test instead of a look-ahead.
CUE_MARK = "\x01"
_SIGN_ID = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
_GAP = re.compile(r"~([1-9])")
#: What one word of a phrase may be: "can't", "one-sided" (read as two words), "911".
_PLAIN_WORD = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")
#: How far back (in words) a negation cue can reach over carry-over words.
_NEGATION_REACH = 8
_CACHE_LIMIT = 50_000
#: Stems are indexed by their first letters (every stem has at least this many).
_STEM_KEY = 3
#: Words shorter than this are only forgiven swapped letters; longer ones one wrong letter,
#: and words of _TWO_EDITS letters or more two (see `_Speller`).
_MIN_FUZZY = 6
_TWO_EDITS = 9


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Sign(_Strict):
    """One warning sign: a human name and the phrases that mean it."""

    name: str = Field(min_length=1)
    phrases: list[str] = Field(min_length=1)


class Negation(_Strict):
    """Words that cancel a sign right after them, and words a cue reaches over."""

    cues: list[str] = Field(min_length=1)
    carry_over: list[str] = Field(default_factory=list)


class GeneralQuestion(_Strict):
    """When a message is a general question about signs rather than a description of one."""

    starts: list[str]
    about: list[str]
    personal: list[str]
    urgent: list[str] = Field(default_factory=list)
    generic_frames: list[str] = Field(default_factory=list)


class TriageRules(_Strict):
    """The validated shape of flows/triage.yaml; phrases are compiled while validating."""

    spellings: dict[str, str] = Field(default_factory=dict)
    never_correct: list[str] = Field(default_factory=list)
    words: dict[str, list[str]] = Field(default_factory=dict)
    negation: Negation
    general_question: GeneralQuestion
    signs: dict[str, Sign] = Field(min_length=1)

    _phrases: list[Phrase] = PrivateAttr(default_factory=list)
    _vocabulary: frozenset[str] = PrivateAttr(default=frozenset())
    _stems: frozenset[str] = PrivateAttr(default=frozenset())

    @field_validator("signs")
    @classmethod
    def _sign_ids(cls, value: dict[str, Sign]) -> dict[str, Sign]:
        for sign_id in value:
            if not _SIGN_ID.fullmatch(sign_id):
                raise ValueError(f"sign id {sign_id!r} must be lower-case letters, digits and dashes")
        return value

    @model_validator(mode="after")
    def _compile(self) -> TriageRules:
        compiler = _PhraseCompiler(self.words, _single_words(self.negation.cues))
        problems: list[str] = []
        for sign_id, sign in self.signs.items():
            try:
                self._phrases.extend(compiler.sign(sign_id, sign.phrases))
            except ValueError as error:
                problems.append(f"sign '{sign_id}': {error}")
        if problems:
            raise ValueError("; ".join(problems))
        self._vocabulary = frozenset(compiler.vocabulary)
        self._stems = frozenset(compiler.stems)
        return self

    @property
    def ordinary_words(self) -> frozenset[str]:
        """Words the file names that must never be "corrected" into a warning word."""
        lists = [
            self.never_correct, self.negation.cues, self.negation.carry_over, self.spellings,
            self.spellings.values(), self.general_question.starts, self.general_question.about,
            self.general_question.personal, self.general_question.urgent,
        ]
        return frozenset(w for entries in lists for entry in entries for w in words(normalise(entry)))

    @property
    def phrases(self) -> list[Phrase]:
        """Every sign's phrases, compiled, in file order."""
        return self._phrases

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every whole word a phrase can match: the targets of typo correction."""
        return self._vocabulary

    @property
    def stems(self) -> frozenset[str]:
        """Every `word*` prefix a phrase uses."""
        return self._stems


@dataclass(frozen=True)
class Phrase:
    """One compiled phrase: its sign, its regex, and the words/stems it can start with."""

    sign: str
    regex: re.Pattern[str]
    first_words: frozenset[str]
    first_stems: frozenset[str]


@dataclass(frozen=True)
class Finding:
    """A red flag: the ids of the signs found (in the order of flows/triage.yaml)."""

    signs: tuple[str, ...]


class _PhraseCompiler:
    """Turn phrases ("@face ~3 droop*") into regex source over "word word word " strings.

    Every word in the string is followed by one space, so a word regex is `word ` and a
    match always starts after a space (or at 0): that keeps matches on whole words.
    """

    def __init__(self, lists: dict[str, list[str]], cues: Iterable[str]) -> None:
        self.lists = lists
        self.vocabulary: set[str] = set()
        self.stems: set[str] = set()
        self._list_regex: dict[str, str] = {}
        self._open: list[str] = []
        self._cues = frozenset(cues)
        self._gap_word = rf"[^ {re.escape(_SENTENCE_END + CUE_MARK)}][^ ]* "

    def sign(self, sign_id: str, phrases: list[str]) -> list[Phrase]:
        compiled = []
        for phrase in phrases:
            body = self._checked(phrase)
            first_words, first_stems = self.first(phrase.split())
            compiled.append(Phrase(sign_id, re.compile(body), frozenset(first_words), frozenset(first_stems)))
        return compiled

    def first(self, slots: list[str]) -> tuple[set[str], set[str]]:
        """The words and stems a phrase can start with: lets `check` try only likely phrases."""
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
        try:
            body = self.phrase(phrase)
            if re.fullmatch(body, ""):
                raise ValueError("the phrase could match no words at all")
            re.compile(body)
        except (ValueError, re.error) as error:
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
        alternatives = [a for a in slot.split("|")]
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
            if len(tokens[0]) < _STEM_KEY:
                raise ValueError(f"{raw!r}: a 'word*' needs at least {_STEM_KEY} letters before the *")
            self.stems.add(tokens[0])
            return f"{CUE_MARK}?{re.escape(tokens[0])}[^ ]* "
        self.vocabulary.update(tokens)
        return "".join((CUE_MARK if t in self._cues else "") + re.escape(t) + " " for t in tokens)

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


def _single_words(phrases: Iterable[str]) -> set[str]:
    """The one-word entries of a list (normalised); used where only single words make sense."""
    found = set()
    for phrase in phrases:
        tokens = words(normalise(phrase))
        if len(tokens) == 1:
            found.add(tokens[0])
    return found


def _phrase_set(phrases: Iterable[str]) -> set[tuple[str, ...]]:
    return {tuple(_TOKENS.findall(normalise(p))) for p in phrases if normalise(p)}


class _Speller:
    """Map a typed word to the word the phrases use: spellings, then typo correction.

    Only words a phrase can match are targets, so an unknown word that is not close to any
    of them stays as it is. Results are cached: people reuse the same words all the time.
    """

    def __init__(self, rules: TriageRules) -> None:
        self._spellings = {normalise(k): normalise(v) for k, v in rules.spellings.items()}
        self._targets = sorted(w for w in rules.vocabulary if len(w) >= _MIN_FUZZY and w.isalpha())
        self._stems = sorted((s for s in rules.stems if len(s) >= 4), key=len, reverse=True)
        self._swaps: dict[str, list[str]] = {}
        for word in rules.vocabulary:
            if 4 <= len(word) < _MIN_FUZZY and word.isalpha():
                self._swaps.setdefault("".join(sorted(word)), []).append(word)
        self._known = set(rules.vocabulary) | set(rules.ordinary_words)
        self._cache: dict[str, str] = {}

    def __call__(self, token: str) -> str:
        found = self._cache.get(token)
        if found is None:
            found = self._correct(token)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[token] = found
        return found

    def _correct(self, token: str) -> str:
        if token in self._spellings:
            return self._spellings[token]
        if token in self._known or not token.isalpha():
            return self._possessive(token)
        if any(token.startswith(stem) for stem in self._stems):
            return token
        if len(token) < 4:
            return token
        if len(token) < _MIN_FUZZY:
            return self._swap(token)
        return self._nearest(token)

    def _possessive(self, token: str) -> str:
        """ "face's" reads "face" when "face" is a warning word (the "'s" adds nothing)."""
        if token.endswith("'s") and token not in self._known and token[:-2] in self._known:
            return token[:-2]
        return token

    def _swap(self, token: str) -> str:
        """Short words: only two swapped letters count as a typo ("waek"), never a substitution.

        One changed letter in a 4- or 5-letter word is usually another real word ("week",
        "drink", "check"), so short words are only forgiven a swap.
        """
        for word in self._swaps.get("".join(sorted(token)), ()):
            if OSA.distance(token, word) == 1:
                return word
        return token

    def _nearest(self, token: str) -> str:
        limit = 2 if len(token) >= _TWO_EDITS else 1
        best = extractOne(token, self._targets, scorer=OSA.distance, score_cutoff=limit)
        if best is not None and (best[1] == 1 or len(best[0]) >= _TWO_EDITS):
            return best[0]
        for stem in self._stems:
            if len(stem) >= _MIN_FUZZY and len(token) >= len(stem) and self._prefix_near(token, stem):
                return stem
        return token

    @staticmethod
    def _prefix_near(token: str, stem: str) -> bool:
        size = len(stem)
        return any(OSA.distance(token[:n], stem) <= 1 for n in (size - 1, size, size + 1))


class Triage:
    """Decide whether a message describes a red flag. Build once; `check` every message."""

    def __init__(self, rules: TriageRules) -> None:
        self._order = list(rules.signs)
        self._by_word: dict[str, list[Phrase]] = {}
        self._by_stem: dict[str, list[tuple[str, Phrase]]] = {}
        for phrase in rules.phrases:
            for word in phrase.first_words:
                self._by_word.setdefault(word, []).append(phrase)
            for stem in phrase.first_stems:
                self._by_stem.setdefault(stem[:_STEM_KEY], []).append((stem, phrase))
        self._starters: dict[str, tuple[Phrase, ...]] = {}
        self._spell = _Speller(rules)
        self._cues: dict[str, list[tuple[str, ...]]] = {}
        for cue in _phrase_set(rules.negation.cues):
            self._cues.setdefault(cue[-1], []).append(cue)
        self._carry = frozenset(_single_words(rules.negation.carry_over))
        self._cue_words = frozenset(_single_words(rules.negation.cues))
        question = rules.general_question
        self._starts = _Phrases(question.starts)
        self._about = _Phrases(question.about)
        self._personal = _Phrases([*question.personal, *question.urgent])
        self._frames = _Phrases(question.generic_frames)

    def check(self, text: str) -> Finding | None:
        """The red flags `text` describes, or None when it describes none."""
        canon = [self._spell(t) for t in _TOKENS.findall(normalise(text))]
        if not canon or self._general_question(canon):
            return None
        matches = self._matches(canon)
        if not matches:
            return None
        cover = _cover(matches, len(canon))
        found = {sign for sign, start, _ in matches if not self._negated(canon, start, cover)}
        if not found:
            return None
        return Finding(tuple(sign for sign in self._order if sign in found))

    def _matches(self, canon: list[str]) -> list[tuple[str, int, int]]:
        """Every (sign, first word, end word) a phrase matches, negated or not."""
        marked = [CUE_MARK + t if t in self._cue_words else t for t in canon]
        string = " ".join(marked) + " "
        ends = {}
        found = []
        position = 0
        starts = []
        for i, token in enumerate(marked):
            ends[position] = i
            starts.append(position)
            position += len(token) + 1
        ends[position] = len(canon)
        for i, token in enumerate(canon):
            for phrase in self._starting_with(token):
                match = phrase.regex.match(string, starts[i])
                if match:
                    found.append((phrase.sign, i, ends[match.end()]))
        return found

    def _starting_with(self, token: str) -> tuple[Phrase, ...]:
        """The phrases whose first slot can match `token` (cached per word)."""
        phrases = self._starters.get(token)
        if phrases is None:
            by_stem = self._by_stem.get(token[:_STEM_KEY], ())
            phrases = (*self._by_word.get(token, ()), *(p for stem, p in by_stem if token.startswith(stem)))
            if len(self._starters) >= _CACHE_LIMIT:
                self._starters.clear()
            self._starters[token] = phrases
        return phrases

    def _negated(self, canon: list[str], start: int, cover: list[int]) -> bool:
        """True when a negation cue reaches this match: "no [a headache or] vision problems"."""
        i = start - 1
        steps = 0
        while i >= 0 and steps < _NEGATION_REACH:
            if cover[i] <= i:
                i = cover[i] - 1
            elif self._cue_ends_at(canon, i):
                return True
            elif canon[i] in self._carry:
                i -= 1
            else:
                return False
            steps += 1
        return False

    def _cue_ends_at(self, canon: list[str], i: int) -> bool:
        return any(tuple(canon[i - len(cue) + 1 : i + 1]) == cue for cue in self._cues.get(canon[i], ()))

    def _general_question(self, canon: list[str]) -> bool:
        """A question about signs in general, mentioning nobody it happens to, is not an alert."""
        if not self._starts.at(canon, 0):
            return False
        if canon[-1] != "?" and not self._about.within(canon):
            return False
        return not self._personal.within(self._frames.blanked(canon))


def _cover(matches: list[tuple[str, int, int]], size: int) -> list[int]:
    """For each word, the first word of the earliest match covering it (size when none).

    Lets the negation walk jump over whole sign phrases, whose own words ("no feeling",
    "not responding") are never cues.
    """
    cover = [size] * size
    for _, start, end in matches:
        for i in range(start, max(end, start + 1)):
            cover[i] = min(cover[i], start)
    return cover


class _Phrases:
    """A set of short word sequences, looked up in a tokenised message."""

    def __init__(self, phrases: Iterable[str]) -> None:
        found = _phrase_set(phrases)
        self._singles = frozenset(p[0] for p in found if len(p) == 1)
        self._longer = [p for p in found if len(p) > 1]

    def at(self, canon: list[str], i: int) -> bool:
        """Does one of the phrases start at word i?"""
        if canon[i] in self._singles:
            return True
        return any(tuple(canon[i : i + len(p)]) == p for p in self._longer)

    def blanked(self, canon: list[str]) -> list[str]:
        """`canon` with every occurrence of a phrase replaced by empty words."""
        out = [("" if w in self._singles else w) for w in canon]
        for i in range(len(out)):
            for phrase in self._longer:
                if tuple(out[i : i + len(phrase)]) == phrase:
                    out[i : i + len(phrase)] = [""] * len(phrase)
        return out

    def within(self, canon: list[str]) -> bool:
        """Does one of the phrases occur anywhere?"""
        if self._singles.intersection(canon):
            return True
        return bool(self._longer) and any(self.at(canon, i) for i in range(len(canon)))
