"""When a user's weekly nudge is due, in UTC, from their weekday, local time and IANA time zone.

Times are computed per occurrence in the user's zone, so a daylight-saving change keeps the local
time (18:00 stays 18:00) and moves the UTC instant instead.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from bot.store.nudges import NudgeSettings

Clock = Callable[[], dt.datetime]
# A nudge found late when the bot starts is still sent within this window, else recorded as missed.
LATE_LIMIT = dt.timedelta(hours=24)


def system_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def occurrence(settings: NudgeSettings, local_date: dt.date) -> dt.datetime:
    """The UTC instant of the nudge on `local_date` (a day in the user's zone)."""
    local = dt.datetime.combine(local_date, settings.local_time, tzinfo=settings.zone)
    # A wall-clock time that does not exist (skipped by a spring-forward change) maps forward past the gap.
    return local.astimezone(dt.UTC)


def iso_week(due: dt.datetime, settings: NudgeSettings) -> str:
    """The ISO week of the due date as the user sees it: the ledger's unit of "once"."""
    year, week, _ = due.astimezone(settings.zone).date().isocalendar()
    return f"{year}-W{week:02d}"


def _counts(settings: NudgeSettings, due: dt.datetime) -> bool:
    local_date = due.astimezone(settings.zone).date()
    if settings.snoozed_until is not None and local_date < settings.snoozed_until:
        return False
    return settings.enabled_at is None or due >= settings.enabled_at


def _candidates(settings: NudgeSettings, around: dt.datetime, weeks: range) -> list[dt.datetime]:
    today = around.astimezone(settings.zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    return [occurrence(settings, monday + dt.timedelta(days=settings.weekday, weeks=w)) for w in weeks]


def latest_due(settings: NudgeSettings, now: dt.datetime) -> dt.datetime | None:
    """The most recent occurrence at or before `now` that counts (not snoozed, not before opting in)."""
    past = [due for due in _candidates(settings, now, range(-1, 1)) if due <= now]
    return max(past) if past and _counts(settings, max(past)) else None


def next_due(settings: NudgeSettings, now: dt.datetime) -> dt.datetime:
    """The first occurrence after `now` that counts."""
    for due in _candidates(settings, now, range(0, 60)):
        if due > now and _counts(settings, due):
            return due
    raise ValueError("no nudge is due in the next year")  # only a snooze of more than a year gets here
