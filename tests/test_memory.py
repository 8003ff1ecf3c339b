"""The heap tuning the bot applies at start, on the C library this machine runs."""

from __future__ import annotations

import gc
import platform

import pytest

from bot.advisor import Advisor
from bot.heap import cap_heap_arenas, release_free_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the heap tuning applies to glibc only")
def test_heap_arenas_are_capped_and_free_heap_is_released() -> None:
    assert cap_heap_arenas(2) is True
    assert release_free_heap() is True


def _collected_by_gc(objects: list[object]) -> list[object]:
    """Those of `objects` that a garbage collection would walk (frozen ones are not in any generation)."""
    walked = {id(o) for o in gc.get_objects()}
    return [o for o in objects if id(o) in walked]


def test_a_loaded_index_is_kept_out_of_garbage_collections(advisor: Advisor) -> None:
    """A full collection used to walk every loaded object, holding the GIL for 150-400 ms under load."""
    advisor._reload()  # as at start-up or an index switch, whatever other tests did to the collector since
    loaded: list[object] = [advisor.catalog, advisor.catalog.chunks, *advisor.catalog.chunks[:50]]
    assert all(gc.is_tracked(o) for o in loaded)  # CPython does not track some containers of plain values
    assert _collected_by_gc(loaded) == []


def test_objects_made_after_loading_are_still_collected(advisor: Advisor) -> None:
    fresh: list[object] = [[object()], {"made": [object()]}]
    assert _collected_by_gc(fresh) == fresh
