"""Rendered charts kept in memory, so the same plan version is drawn once.

Entries are keyed by a hash of exactly what a chart shows; the least recently used goes first when
the cache is full. Safe to share between threads: a chart asked for by two threads at once is
rendered by one while the other waits for its bytes.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from enum import Enum

from pydantic import BaseModel

from bot.advisor.catalog import Catalog
from bot.charts.compare import render_comparison
from bot.charts.progress_card import render_progress_card
from bot.charts.roadmap import render_roadmap
from bot.planner.models import LearningPlan, StepStatus
from ingest.schema import Credential

DEFAULT_MAX_ENTRIES = 128


def content_key(kind: str, *parts: object) -> str:
    """A SHA-256 hex digest of the chart kind and its inputs, written as canonical JSON."""
    text = json.dumps([kind, *(_plain(part) for part in parts)], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _plain(value: object) -> object:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _statuses(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> dict[str, str]:
    """The status of each step of the plan: all a chart reads from the progress map."""
    return {s.credential_id: StepStatus(progress.get(s.credential_id, StepStatus.TODO)).value for s in plan.steps}


def roadmap_key(plan: LearningPlan, progress: Mapping[str, StepStatus], catalog: Catalog, today: dt.date) -> str:
    # From the catalog the roadmap reads only each step's primary domain (its colour).
    domains = {
        s.credential_id: (c.primary_domain.value if (c := catalog.credentials.get(s.credential_id)) else None)
        for s in plan.steps
    }
    return content_key("roadmap", plan, _statuses(plan, progress), domains, today)


def progress_card_key(plan: LearningPlan, progress: Mapping[str, StepStatus]) -> str:
    return content_key("progress", plan, _statuses(plan, progress))


def comparison_key(credentials: Sequence[Credential]) -> str:
    return content_key("comparison", list(credentials))


class ChartCache:
    """An LRU of rendered PNG bytes keyed by content hash; thread-safe."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self.hits = 0
        self.renders = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._pending: dict[str, Future[bytes]] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries

    def get_or_render(self, key: str, render: Callable[[], bytes]) -> bytes:
        """The cached bytes for key, or render() once (also across threads) and keep its result."""
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                self.hits += 1
                return cached
            pending = self._pending.get(key)
            if pending is None:
                future: Future[bytes] = Future()
                self._pending[key] = future
                self.renders += 1
        if pending is not None:
            # Another thread is drawing this chart right now: share its result (or its error).
            return pending.result()
        try:
            data = render()
        except BaseException as error:
            with self._lock:
                del self._pending[key]
            future.set_exception(error)
            raise
        with self._lock:
            del self._pending[key]
            self._entries[key] = data
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        future.set_result(data)
        return data

    def roadmap(
        self, plan: LearningPlan, progress: Mapping[str, StepStatus], catalog: Catalog, today: dt.date
    ) -> bytes:
        return self.get_or_render(
            roadmap_key(plan, progress, catalog, today), lambda: render_roadmap(plan, progress, catalog, today)
        )

    def progress_card(self, plan: LearningPlan, progress: Mapping[str, StepStatus]) -> bytes:
        return self.get_or_render(progress_card_key(plan, progress), lambda: render_progress_card(plan, progress))

    def comparison(self, credentials: Sequence[Credential]) -> bytes:
        return self.get_or_render(comparison_key(credentials), lambda: render_comparison(credentials))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
