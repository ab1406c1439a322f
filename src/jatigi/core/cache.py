"""Figures over many households (the dashboard, the size of the registry list) are computed once
per set of visible households, filters and registry state, and reused for a short while: twenty
coordinators opening the dashboard cost one query.

Entries are keyed by the database's change counters (`core.changes`), so a change made by any
process — another web worker, a command-line import — makes them stale at once; they are also
dropped after `TTL` seconds. Each user's view is still audited on every request.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from jatigi.core.authz import Actor
from jatigi.core.changes import generations, pending

T = TypeVar("T")
TTL = 60.0
SIZE = 1024

_lock = threading.Lock()
_entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()


def database(session: Session) -> str:
    """Which database a session reads, as a cache key."""
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, sa.Connection) else bind
    return engine.url.render_as_string(hide_password=True)


def audience(session: Session, actor: Actor) -> Hashable:
    """Which database and who the figures are for: actors who see the same households of the
    same database share cached figures."""
    who = ("all",) if actor.sees_all else (actor.org_id, tuple(sorted(actor.visible_org_ids)))
    return database(session), who


DATA = ("dedup", "places", "registry")  # what figures over households depend on


def cached(session: Session, key: Hashable, compute: Callable[[], T], domains: tuple[str, ...] = DATA) -> T:
    """`compute()`, or its value from a moment ago if none of `domains` changed since."""
    if pending(session):
        return compute()  # this session's own changes are not committed: not for others to reuse
    full = (tuple(g for g in generations(session) if g[0] in domains), key)
    now = time.monotonic()
    with _lock:
        hit = _entries.get(full)
        if hit is not None and now - hit[0] < TTL:
            _entries.move_to_end(full)
            return hit[1]  # type: ignore[no-any-return]
    value = compute()
    with _lock:
        _entries[full] = (now, value)
        _entries.move_to_end(full)
        while len(_entries) > SIZE:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
