"""The /nudges screen and what its buttons and arguments mean."""

from __future__ import annotations

import datetime as dt
import re

from bot.dialog.callbacks import NudgeCommand, NudgeDay, NudgeTime, NudgeWord, encode
from bot.dialog.parsing import InputError
from bot.dialog.replies import Button, Reply
from bot.store.nudges import NudgeSettings

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TIME_CHOICES = (dt.time(8, 0), dt.time(12, 30), dt.time(18, 0), dt.time(20, 0))
_TIME = re.compile(r"^([01]?\d|2[0-3])[:.h]?([0-5]\d)?$")


def parse_time(text: str) -> dt.time:
    match = _TIME.match(text.strip().lower().replace(" ", ""))
    if not match:
        raise InputError("Please give the time as HH:MM, for example 18:30.")
    return dt.time(int(match.group(1)), int(match.group(2) or 0))


def parse_day(text: str) -> int:
    lowered = text.strip().lower()
    for index, name in enumerate(DAY_NAMES):
        if len(lowered) >= 3 and name.lower().startswith(lowered):
            return index
    raise InputError("Please name a day of the week, for example Monday.")


def nudges_view(settings: NudgeSettings, next_due: dt.datetime | None, note: str = "") -> Reply:
    lines = [note, ""] if note else []
    if settings.enabled:
        lines.append(
            f"Weekly nudges are on: {DAY_NAMES[settings.weekday]}s at {settings.local_time:%H:%M} ({settings.timezone})."
        )
        if next_due is not None:
            local = next_due.astimezone(settings.zone)
            lines.append(f"Next one: {local:%A %d %B, %H:%M}.")
    else:
        lines.append("Weekly nudges are off.")
    lines.append("Change them with the buttons, or e.g. /nudges friday 19:30, /nudges off, /nudges snooze.")
    if settings.enabled:
        toggle = Button("Turn off", encode(NudgeCommand(NudgeWord.OFF)))
    else:
        toggle = Button("Turn on", encode(NudgeCommand(NudgeWord.ON)))
    snooze = Button("Snooze a week", encode(NudgeCommand(NudgeWord.SNOOZE)))
    days = [Button(name[:3], encode(NudgeDay(index))) for index, name in enumerate(DAY_NAMES)]
    times = [Button(f"{at:%H:%M}", encode(NudgeTime(at))) for at in TIME_CHOICES]
    rows = [[toggle, snooze], days[:4], days[4:], times]
    return Reply("\n".join(lines), rows)
