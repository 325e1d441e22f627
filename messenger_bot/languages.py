"""Which language to answer in, and what each language's understanding is built from.

Each language of the content gets its own FAQ matcher, small talk and triage, built once at
start (and on reload). Which one a turn uses is settled in this order: the user's own choice
(remembered); else the channel's hint (Telegram's `language_code`, a browser's
Accept-Language); else, when nothing is known yet, the language of the message itself, told by
a detector restricted to the content's languages; else the phone number's country
(flows/language-countries.yaml); else the default. Everything here reads content; no language
is named in code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lingua import IsoCode639_1, Language, LanguageDetector, LanguageDetectorBuilder

from messenger_bot.content import Content
from messenger_bot.content.languages import LanguageCountries
from messenger_bot.faq import FaqMatcher
from messenger_bot.faq.smalltalk import SmallTalk
from messenger_bot.lexicon import Lexicon
from messenger_bot.text import normalise, words
from messenger_bot.triage import Triage
from messenger_bot.triage.matcher import Finding, Place

#: A message needs this many words before its language is guessed from it ("hola" is small talk,
#: which each language's small talk recognises anyway).
DETECT_WORDS = 3
#: ...and the detector this sure of its best language.
CONFIDENT = 0.75
#: The detector reads at most this much of a message: enough to tell its language, and a very long
#: message costs it no more (50,000 characters would take it about 20 ms).
DETECT_CHARS = 1_000
#: A message longer than this names no language ("español" is one word, whatever the padding).
NAME_CHARS = 100
#: Another language's alert can be dropped only when the detector gives that language less than
#: this: below it, the message is not plausibly written in it.
RULED_OUT = 0.05


@dataclass(frozen=True)
class Speech:
    """One language's content and what is built from it: its FAQ, small talk and triage."""

    content: Content
    faq: FaqMatcher
    small_talk: SmallTalk
    triage: Triage

    @classmethod
    def build(cls, content: Content) -> Speech:
        return cls(
            content,
            FaqMatcher(content.topics, content.extra["faq.yaml"]),
            SmallTalk(content.extra["smalltalk.yaml"]),
            Triage(content.triage),
        )

    @property
    def code(self) -> str:
        return self.content.code


class Languages:
    """Every language of the content, the default first, with the ways of telling which is meant."""

    def __init__(self, content: Content) -> None:
        contents = list(content.languages.values()) or [content]
        self.speech: dict[str, Speech] = {c.code: Speech.build(c) for c in contents}
        self.default = next(iter(self.speech.values()))
        self._names = {
            " ".join(words(normalise(name))): code
            for code, speech in self.speech.items()
            for name in speech.content.language.names  # type: ignore[union-attr]
        }
        countries = content.extra.get("language-countries.yaml") or LanguageCountries()
        self._by_region = {r: c for r, c in countries.by_region().items() if c in self.speech}
        self._detector = _detector(self.speech)
        self.lexicon = Lexicon.of({code: speech.content for code, speech in self.speech.items()})

    def __getitem__(self, code: str | None) -> Speech:
        return self.speech.get(code or "", self.default)

    def __iter__(self) -> Iterator[Speech]:
        return iter(self.speech.values())

    @property
    def several(self) -> bool:
        return len(self.speech) > 1

    def named(self, text: str) -> str | None:
        """The language a message names all by itself ("español", "portugues"), if any."""
        if len(text) > NAME_CHARS:
            return None
        return self._names.get(" ".join(words(normalise(text))))

    def hinted(self, tag: str | None) -> str | None:
        """The content's language for a BCP 47 tag ("pt-BR" -> "pt"), if it has that language."""
        primary = (tag or "").split(",")[0].split(";")[0].strip().split("-")[0].lower()
        return primary if primary in self.speech else None

    def for_region(self, region: str | None) -> str | None:
        return self._by_region.get(region or "")

    def detected(self, text: str) -> str | None:
        """The language a message is clearly written in, among the content's; None when it is too
        short to tell or the detector is unsure. The content's own words decide first (lexicon.py:
        they know this subject and its misspellings); the statistical detector only when they
        do not."""
        clear = self.lexicon.clear(text) if self.several else None
        if clear is not None:
            return clear
        return _sure(self.likelihoods(text))

    def likelihoods(self, text: str) -> dict[str, float]:
        """The detector's confidence in each of the content's languages, best first; empty when
        the message is too short to tell."""
        # Lone surrogates (undecodable bytes a console kept) cannot cross into the detector's Rust.
        text = text[:DETECT_CHARS].encode("utf-8", "ignore").decode("utf-8")
        if self._detector is None or len(words(normalise(text))) < DETECT_WORDS:
            return {}
        values = self._detector.compute_language_confidence_values(text)
        found = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        return {code: value for code, value in found.items() if code in self.speech}

    def triage(self, text: str, first: str) -> tuple[str, Finding] | None:
        """A warning sign in any language, the user's own (`first`) read first: the language the
        alert is in, and the finding.

        Each language's vocabulary also reads the others' words ("convulsiones", "paralisia",
        the Spanish "tia"), but only the message's own language knows its grammar. So when some
        language fires and another one judged sign words calm, or another one fires and the user's
        own does not (rare: the detector is asked only then), the message's own reader decides:
        the language it is clearly written in, else the user's. It alerts; or it found sign words
        there and dismissed them (negated, past, a question, an idiom, an everyday cause), and an
        other language's alert is dropped where it rests only on those words. Where the own reader
        saw no sign words, the other's alert stands ("tuvo un stroke ahorita"): safe first. So does
        the alert of a language the detector does not rule out (close languages such as Spanish and
        Portuguese share most words, and the detector can be sure of the wrong one). The
        alert is in the language the detector is sure the message is in, else in the one that
        fired (the user's own first); in the user's own, without asking, when no other language
        judged a sign word calm.
        """
        own = self[first]
        others = [s for s in self.speech.values() if s.code != own.code]
        found = own.triage.check(text)
        if found is not None:
            readings = [(s, s.triage.read(text)) for s in others]
            if not any(reading.dismissed for _, reading in readings):
                return own.code, found  # no other reader judged a sign word calm: none can overrule
            fired = [(own, found), *((s, r.finding) for s, r in readings if r.finding is not None)]
        else:
            fired = [(s, f) for s in others if (f := s.triage.check(text)) is not None]
            if not fired:
                return None
        return self._judged(text, own, fired)

    def _judged(
        self, text: str, own: Speech, fired: list[tuple[Speech, Finding]]
    ) -> tuple[str, Finding] | None:
        """The alert that stands once the message's own reader has read it (see `triage`)."""
        likely = self.likelihoods(text)
        sure = _sure(likely)
        reader = self[sure] if sure else own
        for speech, finding in fired:
            if speech.code == reader.code:
                return reader.code, finding
        dismissed = reader.triage.read(text).dismissed
        for speech, finding in fired:
            possible = likely.get(speech.code, 1.0) >= RULED_OUT
            if possible or not _within(speech.triage.read(text).standing, dismissed):
                return (sure or speech.code), finding
        return None


def _sure(likely: dict[str, float]) -> str | None:
    best = next(iter(likely.items()), None)
    return best[0] if best is not None and best[1] >= CONFIDENT else None


def _within(standing: tuple[Place, ...], dismissed: tuple[Place, ...]) -> bool:
    """Does every standing mention lie inside a mention the message's own reader dismissed?
    (None stands alone: a sign word the own reader never saw keeps the alert.)"""
    return all(any(a <= start and end <= b for a, b in dismissed) for start, end in standing)


def _detector(speech: dict[str, Speech]) -> LanguageDetector | None:
    """One detector for the content's languages, its models loaded now (once), not on a first
    message; None with a single language (nothing to tell apart). Low-accuracy mode (trigrams
    only) holds about 14 MB for three languages instead of about 115 MB, and tells the messages
    it is asked about (three words or more) apart as well."""
    known = [_lingua(code) for code in speech]
    chosen = [language for language in known if language is not None]
    if len(chosen) < 2:
        return None
    builder = LanguageDetectorBuilder.from_languages(*chosen).with_preloaded_language_models()
    return builder.with_low_accuracy_mode().build()


def _lingua(code: str) -> Language | None:
    try:
        return Language.from_iso_code_639_1(IsoCode639_1.from_str(code))
    except ValueError:
        return None
