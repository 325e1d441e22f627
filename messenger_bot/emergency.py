"""The country a user is in, so an alert can name the local emergency number.

The numbers themselves are content (flows/emergency-numbers.yaml, looked up by the
engine); this only turns what a channel knows into an ISO 3166 region code: a phone number
(WhatsApp's `From`), or an IANA time zone and language tags (what a browser, or the
machine `chat` runs on, tells us).
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from pathlib import Path

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


#: "pt-BR", "es-419", "zh-Hant-TW": the region is the two-letter subtag after the language.
_LANGUAGE_REGION = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z]{4})?-([A-Za-z]{2})(?:-|$)")


def country_for_place(time_zone: str | None, languages: Iterable[str] = ()) -> str | None:
    """The country of a time zone ("Europe/London" -> "GB"), else the region of the first,
    preferred language ("pt-BR" -> "BR"), else None.

    The zone comes first: a phone set to English (United States) in Madrid is in Spain. Later
    languages are not read: a German reader whose browser added "en-US" is not in the US, and
    the general line (112, 911, 999) serves better than another country's number.
    """
    country = country_for_zone(time_zone) if time_zone else None
    if country:
        return country
    first = next(iter(languages), "")
    match = _LANGUAGE_REGION.match(first)
    return match.group(1).upper() if match else None


def country_for_zone(name: str) -> str | None:
    """The country tzdata's zone.tab gives a zone, following aliases ("Asia/Calcutta");
    None for zones of no country ("UTC", "Etc/GMT+2") and for names it does not know."""
    countries, aliases = _zone_table()
    return countries.get(name) or countries.get(aliases.get(name, ""))


@lru_cache(maxsize=1)
def _zone_table() -> tuple[dict[str, str], dict[str, str]]:
    """zone -> country from zone.tab, alias -> zone from tzdata.zi's link lines ("L Target Alias").

    Both ship with the `tzdata` package (and with the system's zoneinfo, the fallback): the
    IANA database's own table, kept up to date with it, never a list of our own.
    """
    countries: dict[str, str] = {}
    aliases: dict[str, str] = {}
    zone_tab, links = _tzdata_file("zone.tab"), _tzdata_file("tzdata.zi")
    for line in zone_tab.splitlines():
        fields = line.split("\t")
        if len(fields) >= 3 and not line.startswith("#"):
            countries[fields[2]] = fields[0]
    for line in links.splitlines():
        fields = line.split()
        if len(fields) == 3 and fields[0] == "L":
            aliases[fields[2]] = fields[1]
    return countries, aliases


def _tzdata_file(name: str) -> str:
    """A file of the IANA database: from the tzdata package, else the system's zoneinfo, else ''."""
    try:
        return resources.files("tzdata").joinpath("zoneinfo", name).read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    for directory in zoneinfo.TZPATH:
        path = Path(directory) / name
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""
