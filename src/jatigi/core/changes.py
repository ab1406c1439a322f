"""A counter of changes per domain, so that cached figures know when they are stale.

Services that write bump their domain's generation; caches key their results by it. The
counter is per process: figures computed in another process (a CLI import while the server
runs) are caught by the cache's time limit instead.
"""

from __future__ import annotations

import threading
from collections import defaultdict

_lock = threading.Lock()
_generations: defaultdict[str, int] = defaultdict(int)


def bump(domain: str) -> None:
    with _lock:
        _generations[domain] += 1


def generation(domain: str) -> int:
    return _generations[domain]
