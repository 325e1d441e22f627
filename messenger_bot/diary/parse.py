"""Typed words the diary understands, from the vocabulary in flows/diary.yaml.

Matching is on whole words after the bot's usual normalisation, so "Top lip", "TOP" and
"top lip!" are the same answer. Nothing here is kept: only the option it picked is.
"""

from __future__ import annotations

import re
from functools import cache

from messenger_bot.diary.texts import Choice, DiaryTexts
from messenger_bot.text import normalise, words


@cache
def _digits(times: tuple[str, ...]) -> re.Pattern[str]:
    """A count in digits before one of the language's `times` words ("3 times", "3x", "3 veces")."""
    words_after = "|".join(re.escape(w) for w in sorted(times, key=len, reverse=True))
    return re.compile(rf"\b(\d{{1,2}})\s*(?:{words_after})\b")


def tokens(text: str) -> list[str]:
    return words(normalise(text))


def _has(phrase: str, said: list[str]) -> bool:
    wanted = phrase.split()
    return any(said[i : i + len(wanted)] == wanted for i in range(len(said) - len(wanted) + 1))


def pick(choices: dict[str, Choice], text: str) -> list[str]:
    """Every option the text names, in the order of the content (longest phrases win ties)."""
    said = tokens(text)
    return [key for key, choice in choices.items() if any(_has(w, said) for w in choice.words)]


def one(choices: dict[str, Choice], text: str) -> str | None:
    found = pick(choices, text)
    return found[0] if len(found) == 1 else None


def asks(text: str, texts: DiaryTexts) -> bool:
    """A question ("is it fine to drink coffee?") or a request ("tips to calm the twitch tonight")
    is for the FAQ, never an answer to a diary step nor a twitch to log."""
    said = tokens(text)
    if "?" in text or not said or said[0] in texts.question_words:
        return True
    return any(word in texts.request_words for word in said)


def skipped(text: str, texts: DiaryTexts) -> bool:
    said = tokens(text)
    return " ".join(said) in {
        texts.buttons.skip.lower(),
        "skip",
        "no",
        "none",
        "not sure",
        "dont know",
        "pass",
    }


def finished(text: str, texts: DiaryTexts) -> bool:
    return " ".join(tokens(text)) in {texts.buttons.done.lower(), "done", "thats all", "nothing else", "no"}


def twitch_count(text: str, texts: DiaryTexts) -> int | None:
    """How many twitches a sentence reports, when it reports some ("twitched 3 times today").

    None when it is not a report: no twitch word, or it is a question ("why is it twitching
    again?"), which the FAQ answers instead.
    """
    said = tokens(text)
    if asks(text, texts) or not any(w in said for w in texts.log_words):
        return None
    digits = _digits(texts.times).search(normalise(text))
    if digits:
        return max(1, min(int(digits.group(1)), 50))
    for at, word in enumerate(said):
        after = said[at + 1] if at + 1 < len(said) else ""
        if word in texts.numbers and (after in texts.times or word in texts.counts_alone):
            return texts.numbers[word]
    if len(said) <= texts.log_max_words and any(_has(cue, said) for cue in texts.log_cues):
        return 1
    return None
