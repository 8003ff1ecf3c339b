"""The heap tuning the bot applies at start, on the C library this machine runs."""

from __future__ import annotations

import platform

import pytest

from bot.memory import cap_heap_arenas, release_free_heap


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="the heap tuning applies to glibc only")
def test_heap_arenas_are_capped_and_free_heap_is_released() -> None:
    assert cap_heap_arenas(2) is True
    assert release_free_heap() is True
