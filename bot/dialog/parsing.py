"""Reading what people type where a button was offered: hours, money, levels, time zones.

Each parser returns a value or raises `InputError` with a message that says how to try again.
"""

from __future__ import annotations

import re
import zoneinfo
from functools import cache

from ingest.schema import Level

MAX_HOURS_PER_WEEK = 80
MAX_BUDGET_USD = 100_000


class InputError(ValueError):
    """The text could not be read; the message tells the user what to send instead."""


def parse_hours(text: str) -> float:
    match = re.search(r"-?\d+(?:[.,]\d+)?", text)
    if not match:
        raise InputError("Please send the hours per week as a number, for example 5.")
    hours = float(match.group().replace(",", "."))
    if hours <= 0 or hours > MAX_HOURS_PER_WEEK:
        raise InputError(f"Hours per week must be between 1 and {MAX_HOURS_PER_WEEK}. How many can you give a week?")
    return hours


def parse_budget(text: str) -> float | None:
    """An amount in US dollars; None means no limit."""
    lowered = text.lower().strip()
    if re.search(r"\b(free|nothing|zero|no money)\b", lowered):
        return 0.0
    if re.search(r"\b(no limit|unlimited|any|whatever|doesn'?t matter|no budget)\b", lowered):
        return None
    match = re.search(r"-?\d[\d,]*(?:\.\d+)?\s*(k\b)?", lowered)
    if not match:
        raise InputError('Please send an amount in US dollars, for example 300, or "free" or "no limit".')
    amount = float(match.group().rstrip("k ").replace(",", ""))
    if match.group(1):
        amount *= 1000
    if amount < 0 or amount > MAX_BUDGET_USD:
        raise InputError(f"Please send a budget between 0 and {MAX_BUDGET_USD:,} US dollars.")
    return amount


def parse_level(text: str) -> Level:
    lowered = text.lower()
    for level, words in (
        (Level.BEGINNER, ("beginner", "new", "none", "no experience", "starting", "novice", "entry")),
        (Level.INTERMEDIATE, ("intermediate", "some", "medium", "mid")),
        (Level.ADVANCED, ("advanced", "expert", "senior", "experienced", "lots")),
    ):
        if any(w in lowered for w in words):
            return level
    raise InputError("Please choose beginner, intermediate or advanced.")


def parse_yes_no(text: str) -> bool:
    lowered = text.lower().strip()
    if re.match(r"^(y|yes|yeah|yep|sure|ok|okay|please|on)\b", lowered):
        return True
    if re.match(r"^(n|no|nope|not now|off|never)\b", lowered):
        return False
    raise InputError("Please answer yes or no.")


def parse_free_text(text: str, *, what: str, max_chars: int = 80) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise InputError(f"Please type your {what}.")
    if len(cleaned) > max_chars:
        raise InputError(f"Please keep your {what} under {max_chars} characters.")
    return cleaned


# Zones for offsets that are not whole hours; Etc/GMT zones only exist for whole hours.
_PART_HOUR_ZONES = {
    "-09:30": "Pacific/Marquesas",
    "-03:30": "America/St_Johns",
    "+03:30": "Asia/Tehran",
    "+04:30": "Asia/Kabul",
    "+05:30": "Asia/Kolkata",
    "+05:45": "Asia/Kathmandu",
    "+06:30": "Asia/Yangon",
    "+08:45": "Australia/Eucla",
    "+09:30": "Australia/Darwin",
    "+10:30": "Australia/Lord_Howe",
    "+12:45": "Pacific/Chatham",
}
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?::?(\d{2}))?$")


@cache
def _zones_by_city() -> dict[str, str]:
    zones: dict[str, str] = {}
    for name in sorted(zoneinfo.available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")):
            continue
        city = name.rsplit("/", 1)[1].replace("_", " ").lower()
        zones.setdefault(city, name)
    return zones


# Common ways of naming a place that are not the IANA city name.
_ALIASES = {
    "new york city": "America/New_York",
    "nyc": "America/New_York",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "boston": "America/New_York",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "miami": "America/New_York",
    "atlanta": "America/New_York",
    "dallas": "America/Chicago",
    "houston": "America/Chicago",
    "austin": "America/Chicago",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "barcelona": "Europe/Madrid",
    "milan": "Europe/Rome",
    "geneva": "Europe/Zurich",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "mumbai": "Asia/Kolkata",
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "hong kong": "Asia/Hong_Kong",
    "kyiv": "Europe/Kyiv",
    "kiev": "Europe/Kyiv",
    "uk": "Europe/London",
    "london uk": "Europe/London",
}


def parse_timezone(text: str) -> str:
    """An IANA zone name from a zone name, a city, or a UTC offset such as "UTC+2" or "-05:00"."""
    cleaned = " ".join(text.strip().split())
    lowered = cleaned.lower()
    if lowered in ("utc", "gmt", "z", "utc+0", "gmt+0", "+0", "0"):
        return "UTC"
    if cleaned in zoneinfo.available_timezones():
        return cleaned
    for name in zoneinfo.available_timezones():
        if name.lower() == lowered.replace(" ", "_"):
            return name
    offset = _OFFSET.match(lowered.replace(" ", ""))
    if offset:
        sign, hours_text, minutes_text = offset.groups()
        hours, minutes = int(hours_text), int(minutes_text or 0)
        if hours > 14 or minutes >= 60:
            raise InputError("That offset is not a real time zone. Try something like UTC+2 or UTC-5.")
        if minutes == 0:
            # Etc/GMT zones have the sign inverted: UTC+2 is Etc/GMT-2
            return "UTC" if hours == 0 else f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
        key = f"{sign}{hours:02d}:{minutes:02d}"
        if key in _PART_HOUR_ZONES:
            return _PART_HOUR_ZONES[key]
        raise InputError("I don't know a time zone at that offset. Try your city instead.")
    city = lowered.split(",")[0].strip()
    zone = _ALIASES.get(city) or _zones_by_city().get(city)
    if zone:
        return zone
    raise InputError('I could not find that place. Send a big city near you (e.g. "Berlin") or an offset like UTC+2.')
