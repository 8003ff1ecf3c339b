"""A clock that tests can set: it runs at real speed from whatever instant it was set to."""

from __future__ import annotations

import datetime as dt


class SettableClock:
    def __init__(self, at: dt.datetime) -> None:
        self.set(at)

    def set(self, at: dt.datetime) -> None:
        self._offset = at - dt.datetime.now(dt.UTC)

    def __call__(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self._offset
