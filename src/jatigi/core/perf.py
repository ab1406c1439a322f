"""Performance helpers for bulk work."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def bulk_work() -> Iterator[None]:
    """Pause Python's cyclic garbage collector during bulk work.

    Imports create millions of short-lived objects without reference cycles, which reference
    counting frees at once; the collector's repeated passes over them cost about a third of the
    import's time (measured: 6.5 s → 4.5 s of CPU for 20,000 households).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
