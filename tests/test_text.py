"""normalise() and words(): the one text form triage and the FAQ matcher compare."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from messenger_bot import text as text_module
from messenger_bot.text import normalise, words


def test_case_and_whitespace() -> None:
    assert normalise("  FACE\tDrooping \n NOW ") == "face drooping now"


def test_curly_quotes_become_plain() -> None:
    assert normalise("I can’t talk") == "i can't talk"
    assert normalise("“help”") == '"help"'
    assert normalise("it`s ‘bad’") == "it's 'bad'"


def test_accents_are_stripped() -> None:
    assert normalise("Café naïve Zoë") == "cafe naive zoe"


def test_nfkc_and_casefold() -> None:
    assert normalise("ＦＡＣＥ") == "face"
    assert normalise("Straße") == "strasse"


def test_emphasis_collapses_to_two_letters() -> None:
    assert normalise("sooooo droooooping") == "soo drooping"
    assert normalise("helppp") == "helpp"
    assert normalise("numbness") == "numbness"  # real doubles stay


def test_digits_are_not_collapsed() -> None:
    assert normalise("call 1000 or 999") == "call 1000 or 999"


def test_control_and_invisible_characters_removed() -> None:
    assert normalise("fa\u200bce\x00 droop\u00ad") == "face droop"
    assert normalise("a\x85b") == "a b"


def test_words_keep_inner_apostrophes() -> None:
    assert words(normalise("I can't feel my arm, it's numb!")) == [
        "i", "can't", "feel", "my", "arm", "it's", "numb",
    ]
    assert words("'quoted' one-sided") == ["quoted", "one", "sided"]


@given(st.text())
def test_normalise_is_idempotent(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once


@given(st.text())
def test_words_never_contain_spaces(text: str) -> None:
    assert all(w and " " not in w for w in words(normalise(text)))


@given(st.lists(st.text(max_size=30), min_size=1, max_size=12))
def test_each_text_gets_its_own_form_however_they_interleave(texts: list[str]) -> None:
    """A turn normalises one message many times (remembered), and turns interleave: whichever
    order texts come in, and however often, each gets the form it would get on its own."""
    expected = {text: text_module._normalised(text) for text in texts}  # the work itself, never remembered
    for text in [*texts, *reversed(texts), *texts]:
        assert normalise(text) == expected[text]
        assert normalise("".join(list(text))) == expected[text]


def _plainly(text: str) -> str:
    """normalise() written the plain way (one table, one regex per step): what the fast paths must equal."""
    if text.isascii():  # "`" is a quote only in a text that has other kinds of quote
        text = text.translate(text_module._ASCII_TABLE).lower()
        return " ".join(re.sub(r"([a-z])\1{2,}", r"\1\1", text).split())
    text = unicodedata.normalize("NFKC", text).casefold().translate(text_module._UNICODE_TABLE)

    def strip(run: re.Match[str]) -> str:
        kept = (c for c in unicodedata.normalize("NFKD", run.group()) if text_module._keep(c))
        return unicodedata.normalize("NFC", "".join(kept))

    text = re.sub(r"[^\x00-\x7f]+", strip, text)
    return " ".join(re.sub(r"([^\W\d_])\1{2,}", r"\1\1", text).split())


_TYPED = st.text(alphabet=st.sampled_from("aAeé é\u0301ñ ’`\t\x00\u200bß\u00adçã語ΣσaaaÉÉÉ.,!"), max_size=60)


@given(st.one_of(_TYPED, st.text(max_size=60)))
def test_normalise_equals_the_plain_definition(text: str) -> None:
    assert text_module._normalised(text) == _plainly(text)


def test_a_long_stretched_message_collapses_like_a_short_one() -> None:
    assert normalise("a" * 50_000 + " face") == "aa face"
    assert normalise("é" * 50_000 + " cara") == "ee cara"
