"""One domain spelling corrector: typed words to the words the warning-sign phrases use.

Only words a sign phrase can match are targets, so an unknown word that is close to none of
them stays as it is, and words the file lists as ordinary (`never_correct`, the cue lists)
are never corrected. A typed word is tried, in order, as:

1. a listed spelling ("cant" -> "can't");
2. a known word (kept; "face's" reads "face");
3. the same word with its doubled letters single ("weaak", "numbb", "sluured", "dropy"):
   people double a letter or drop one of a pair all the time (the longest warning word
   with that "skeleton" wins); a word that starts a `word*` stem is only read so when that
   restores a lost letter ("dropy" -> "droopy", not "droopping" -> "dropping");
4. the start of a `word*` stem (kept: the phrase regex already accepts it);
5. in words of 4-5 letters: two swapped letters ("waek", "tlak"); then, for the few key
   words the file lists as `short_words` only, one vowel for another ("speek") or one
   letter lost after the first ("spek"): most other one-letter changes of a short word
   make another real word ("week", "logs", "heat");
6. one edit (6+ letters) or two (9+ letters), through a symmetric-delete index, so a lookup
   costs a few dictionary probes, not a scan of the vocabulary.

Every message has a correction budget: at most `budget` words not seen before are corrected;
the rest are read as typed. Results are cached (people reuse words), so a normal message
spends almost nothing, and a 50,000-character message of made-up words stays in a few ms.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from itertools import filterfalse, islice

from rapidfuzz.distance import OSA
from rapidfuzz.process import extractOne

from messenger_bot.text import normalise
from messenger_bot.triage.schema import TriageRules

#: Words shorter than this are only forgiven swapped letters or doubled ones; longer ones
#: one wrong letter, and words of TWO_EDITS letters or more two.
MIN_FUZZY = 6
TWO_EDITS = 9
#: Words not seen before that one message may have corrected (the rest are read as typed).
BUDGET = 64
_CACHE_LIMIT = 50_000
#: Endings a `word*` stem takes in the words people misspell ("droop" -> "droopy").
_STEM_ENDINGS = ("", "s", "y", "ed", "ing", "ness", "ish", "ly", "er", "es")
_DOUBLES = re.compile(r"(.)\1+")
_VOWELS = frozenset("aeiouy")


def skeleton(word: str) -> str:
    """The word with every run of one letter made single: "numbness" -> "numbnes"."""
    return _DOUBLES.sub(r"\1", word)


def _deletes(word: str) -> set[str]:
    """The word with one letter left out, each way (and the word itself)."""
    return {word, *(word[:i] + word[i + 1 :] for i in range(len(word)))}


class Speller:
    """Map a typed word to the word the phrases use (see the module docstring for the order)."""

    def __init__(self, rules: TriageRules, budget: int = BUDGET) -> None:
        self.budget = budget
        self.corrections = 0  # words corrected (not from cache) since the speller was built
        self._spellings = {normalise(k): normalise(v) for k, v in rules.spellings.items()}
        real = {w for w in rules.vocabulary if w.isalpha()}
        targets = _targets(real, rules.stems)
        self._stems = sorted((s for s in rules.stems if len(s) >= 4), key=len, reverse=True)
        self._skeletons = _unique_skeletons(real, targets - real)
        self._swaps: dict[str, list[str]] = {}
        for word in targets:
            if 4 <= len(word) < MIN_FUZZY:
                self._swaps.setdefault("".join(sorted(word)), []).append(word)
        self._vowel_keys, self._short_deletes = _short_keys(
            {normalise(w) for w in rules.short_words} & real)
        self._index: dict[str, list[str]] = {}
        for word in sorted(real):
            if len(word) >= MIN_FUZZY - 1:
                for variant in _deletes(word):
                    self._index.setdefault(variant, []).append(word)
        self._stems_by_key: dict[str, list[str]] = {}
        for stem in self._stems:
            self._stems_by_key.setdefault(stem[:4], []).append(stem)
        self._fuzzy_stems: dict[str, list[str]] = {}
        for stem in self._stems:
            if len(stem) >= MIN_FUZZY:
                self._fuzzy_stems.setdefault(stem[:2], []).append(stem)
        self._long = sorted(w for w in real if len(w) >= TWO_EDITS)
        self._known = set(rules.vocabulary) | set(rules.ordinary_words)
        self._cache: dict[str, str] = {}

    def read(self, tokens: Sequence[str]) -> list[str]:
        """Every token corrected, within this message's budget of words not seen before.

        The work runs over the message's distinct words, first seen first, at C speed: a long
        message repeats its words, and the words past the budget are read as typed anyway."""
        cache = self._cache
        fresh = islice(filterfalse(cache.__contains__, dict.fromkeys(tokens)), self.budget)
        cache.update({token: self.correct(token) for token in fresh})
        out = list(map(cache.get, tokens, tokens))
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        return out

    def correct(self, token: str) -> str:
        """One word, corrected (no cache, no budget)."""
        self.corrections += 1
        if token in self._spellings:
            return self._spellings[token]
        if token in self._known or not token.isalpha():
            return self._possessive(token)
        if len(token) < 4:
            return token
        doubled = self._skeletons.get(skeleton(token))
        stemmed = any(token.startswith(stem) for stem in self._stems_by_key.get(token[:4], ()))
        if doubled is not None and (not stemmed or len(doubled) > len(token)):
            return doubled
        if stemmed:
            return token
        if len(token) < MIN_FUZZY:
            return self._swap(token)
        return self._nearest(token)

    def _possessive(self, token: str) -> str:
        """ "face's" reads "face" when "face" is a warning word (the "'s" adds nothing)."""
        if token.endswith("'s") and token not in self._known and token[:-2] in self._known:
            return token[:-2]
        return token

    def _swap(self, token: str) -> str:
        for word in self._swaps.get("".join(sorted(token)), ()):
            if OSA.distance(token, word) == 1:
                return word
        return self._short(token)

    def _short(self, token: str) -> str:
        """A short word with one vowel changed or one letter lost, when one warning word fits."""
        found = {w for key in _vowel_variants(token) for w in self._vowel_keys.get(key, ())}
        found.update(self._short_deletes.get(token, ()))
        return found.pop() if len(found) == 1 else token

    def _nearest(self, token: str) -> str:
        candidates = {w for variant in _deletes(token) for w in self._index.get(variant, ())}
        close = sorted(w for w in candidates if OSA.distance(token, w) == 1)
        if close:
            return close[0]
        if len(token) >= TWO_EDITS:
            best = extractOne(token, self._long, scorer=OSA.distance, score_cutoff=2)
            if best is not None:
                return best[0]
        for stem in self._fuzzy_stems.get(token[:2], ()):
            if len(token) >= len(stem) and _prefix_near(token, stem):
                return stem
        return token


def _targets(vocabulary: Iterable[str], stems: Iterable[str]) -> set[str]:
    """The phrases' words and the usual forms of their stems (which only the skeleton step uses)."""
    found = {w for w in vocabulary if w.isalpha()}
    long_stems = [stem for stem in stems if stem.isalpha() and len(stem) >= 4]
    found.update(stem + ending for stem in long_stems for ending in _STEM_ENDINGS)
    return found


def _vowel_variants(word: str) -> list[str]:
    """The word with each vowel in turn replaced by "_" ("speek" -> "sp_ek", "spe_k")."""
    return [word[:i] + "_" + word[i + 1 :] for i, c in enumerate(word) if c in _VOWELS]


def _short_keys(keys: set[str]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The key words of 4-5 letters by vowel slot, and those of 5-6 letters with one letter
    after the first left out (a typed 4-5 letter word), for `Speller._short`."""
    vowels: dict[str, set[str]] = {}
    deletes: dict[str, set[str]] = {}
    for word in keys:
        if 4 <= len(word) < MIN_FUZZY:
            for key in _vowel_variants(word):
                vowels.setdefault(key, set()).add(word)
        if 5 <= len(word) <= MIN_FUZZY:
            for variant in {word[:i] + word[i + 1 :] for i in range(1, len(word))}:
                deletes.setdefault(variant, set()).add(word)
    return vowels, deletes


def _unique_skeletons(real: set[str], forms: set[str]) -> dict[str, str]:
    """Skeleton -> target (4+ letters): a word the phrases use, else a form of a stem; the
    longest of them, and none where two different ones are as long.

    The longest, because a typed word that shares a skeleton with a longer one has most
    likely lost a letter of a pair ("dropy" is "droopy" more often than a form of "drop").
    """
    found: dict[str, str] = {}
    for group in (real, forms):
        best: dict[str, str | None] = {}
        for word in sorted(group, key=len, reverse=True):
            key = skeleton(word)
            if len(word) < 4 or key in found:
                continue
            if key not in best:
                best[key] = word
            elif best[key] is not None and len(best[key] or "") == len(word):
                best[key] = None
        found.update((k, v) for k, v in best.items() if v is not None)
    return found


def _prefix_near(token: str, stem: str) -> bool:
    size = len(stem)
    return any(OSA.distance(token[:n], stem) <= 1 for n in (size - 1, size, size + 1))
