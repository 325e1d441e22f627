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
#: Country calling codes are 1 to 3 digits and prefix-free: no code starts another.
_CODES = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
_nanp_regions: dict[str, str] = {}


def country_for_phone(number: str) -> str | None:
    """The region of an E.164 number ("+447700900123" -> "GB"), or None when it has none.

    Called on every WhatsApp message, so the common cases avoid a full parse: most calling
    codes belong to one region, and a +1 number's area code names its region. A number that
    does not validate (test ranges, new blocks) still gets its calling code's main region:
    a +44 number is British even when phonenumbers does not know the number.
    """
    digits = number.removeprefix("whatsapp:").strip().removeprefix("+")
    if not digits.isdigit():
        return None
    code = next((int(digits[:n]) for n in (1, 2, 3) if int(digits[:n]) in _CODES), None)
    if code is None:
        return None
    regions = _CODES[code]
    if len(regions) == 1:
        region: str | None = regions[0]
    elif code == NANP:
        region = _nanp_region(digits)
    else:
        region = _region_by_parsing("+" + digits)
    if region in _UNKNOWN:
        region = phonenumbers.region_code_for_country_code(code)
    return None if region in _UNKNOWN else region


def _nanp_region(digits: str) -> str | None:
    """Testing a +1 number against every NANP region is slow; the first valid number of an
    area code answers for the whole code."""
    area_code = digits[1:4]
    if area_code in _nanp_regions:
        return _nanp_regions[area_code]
    region = _region_by_parsing("+" + digits)
    if region not in _UNKNOWN:
        _nanp_regions[area_code] = region  # type: ignore[assignment]
    return region


@lru_cache(maxsize=4096)  # +1 numbers are cached by area code instead
def _region_by_parsing(number: str) -> str | None:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(number, None))
    except phonenumbers.NumberParseException:
        return None
