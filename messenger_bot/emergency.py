"""The country a phone number belongs to, so an alert can name the local emergency number.

The numbers themselves are content (flows/emergency-numbers.yaml, looked up by the
engine); this only turns a number into an ISO 3166 region code. Any channel that learns
a user's phone number (WhatsApp does, from `From`) can use it.
"""

from __future__ import annotations

from functools import lru_cache

import phonenumbers

_UNKNOWN = {None, "", "ZZ", "001"}
#: The North American Numbering Plan (+1) spans ~25 regions; its area code alone names the region.
NANP = 1


_nanp_regions: dict[str, str | None] = {}


def _nanp_region(parsed: phonenumbers.PhoneNumber) -> str | None:
    """Testing a +1 number against every NANP region is the slow part of parsing; an area
    code belongs to one region, so the answer for the first number serves the whole code."""
    area_code = str(parsed.national_number)[:3]
    if area_code not in _nanp_regions:
        _nanp_regions[area_code] = phonenumbers.region_code_for_number(parsed)
    return _nanp_regions[area_code]


@lru_cache(maxsize=65_536)  # parsing costs more than the rest of a webhook; numbers repeat
def country_for_phone(number: str) -> str | None:
    """The region of an E.164 number ("+447700900123" -> "GB"), or None when it has none.

    A number that does not validate for any region (test ranges, new number blocks) still
    tells its country code, so it gets that code's main region: a +44 number is British
    even when the number is not one phonenumbers knows.
    """
    digits = number.removeprefix("whatsapp:").strip()
    if not digits.startswith("+"):
        digits = "+" + digits
    try:
        parsed = phonenumbers.parse(digits, None)
    except phonenumbers.NumberParseException:
        return None
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(parsed.country_code or 0, ())
    if len(regions) == 1:  # most codes belong to one region: no need to test the number against each
        region: str | None = regions[0]
    elif parsed.country_code == NANP:
        region = _nanp_region(parsed)
    else:
        region = phonenumbers.region_code_for_number(parsed)
    if region in _UNKNOWN:
        region = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    return None if region in _UNKNOWN else region
