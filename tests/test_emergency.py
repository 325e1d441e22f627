"""A phone number's country, which picks the emergency number an alert names."""

from __future__ import annotations

import pytest

from messenger_bot.emergency import country_for_phone


@pytest.mark.parametrize(
    ("number", "country"),
    [
        ("whatsapp:+14155550123", "US"),
        ("+16135550123", "CA"),  # +1 is shared: the area code tells Canada from the US
        ("+18765550123", "JM"),
        ("+447700900123", "GB"),
        ("+919812345678", "IN"),
        ("+61412345678", "AU"),
        ("+79161234567", "RU"),  # +7 is shared by Russia and Kazakhstan
        ("+77011234567", "KZ"),
        ("+27821234567", "ZA"),
        ("+800123", None),  # a calling code of no country
        ("whatsapp:abc", None),
        ("+", None),
    ],
)
def test_country_for_phone(number: str, country: str | None) -> None:
    assert country_for_phone(number) == country


def test_the_same_area_code_is_answered_alike_for_every_number() -> None:
    assert {country_for_phone(f"+1613555{n:04d}") for n in range(50)} == {"CA"}
