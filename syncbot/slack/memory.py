"""Giving a replaced snapshot's memory back to the system.

A copy of the latest sync is loaded in a worker thread, and glibc's allocator gives each thread
an arena of its own: the pages a replaced copy freed stay with the process, so the web dyno's
resident set grew by tens of megabytes with every sync (144 to 313 MB over five syncs of
395,000 numbers, ``make bench ARGS='web-sync ...'``). ``malloc_trim`` hands free pages of every
arena back. Elsewhere (musl, macOS) there is nothing to call and nothing is done.
"""

from __future__ import annotations

import ctypes
import functools
import gc
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    # The symbols already loaded (dlopen(NULL)), not ctypes.util.find_library("c"): that one
    # forks the process to run ldconfig, a copy of the web dyno for a moment.
    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def give_back_memory() -> bool:
    """Collect what only cycles keep, then return free heap pages to the system; False when
    this C library cannot."""
    gc.collect()
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
