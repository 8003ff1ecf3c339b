"""Keep the long-running bot's resident memory small (glibc), and its garbage collections short.

glibc gives each thread that allocates its own heap arena, up to eight per core, and keeps freed
memory in them for reuse. Loading the model frees a lot of temporary memory, and answers run on
several threads, so without these two calls the bot holds on to memory it no longer uses.
"""

from __future__ import annotations

import ctypes
import gc
import logging

logger = logging.getLogger(__name__)

_M_ARENA_MAX = -8  # mallopt parameter number, from glibc's malloc.h


def _libc_function(name: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
    try:
        return getattr(ctypes.CDLL(None), name)  # the C library this process already runs on
    except (OSError, AttributeError):
        return None  # not glibc (musl, macOS): nothing to tune


def cap_heap_arenas(arenas: int = 2) -> bool:
    """Let threads share at most `arenas` heaps; call before threads start allocating."""
    mallopt = _libc_function("mallopt")
    done = bool(mallopt and mallopt(_M_ARENA_MAX, arenas) == 1)
    logger.debug("heap arenas capped at %d: %s", arenas, done)
    return done


def release_free_heap() -> bool:
    """Hand memory that was freed (model loading, a burst of answers) back to the system."""
    malloc_trim = _libc_function("malloc_trim")
    released = bool(malloc_trim and malloc_trim(0) == 1)
    logger.debug("free heap returned to the system: %s", released)
    return released


def freeze_long_lived() -> None:
    """Keep what was loaded (the model's objects, the catalog, the indexes) out of later garbage collections.

    They are hundreds of thousands of objects that live until the next index switch, and the collector's
    oldest generation walks every one of them each time it runs: under a burst of answers that held the GIL
    for 150-400 ms at a time, and the event loop, every chat's replies with it, stood still meanwhile. Frozen
    objects are still freed by reference counting; the unfreeze first lets the one full collection here find
    cycles left by the previous load, so a reload leaks nothing. That collection costs one such pause per
    index switch instead of one every few seconds.
    """
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    logger.debug("%d loaded objects frozen out of garbage collection", gc.get_freeze_count())
