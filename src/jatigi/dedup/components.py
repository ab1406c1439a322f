"""Connected components: records (or registrations) joined, directly or through others, by pairs."""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

T = TypeVar("T", bound=Hashable)


class Components(Generic[T]):
    """Union-find over the items of the pairs joined so far; items never joined are not held."""

    def __init__(self, pairs: Iterable[tuple[T, T]] = ()) -> None:
        self._parent: dict[T, T] = {}
        for a, b in pairs:
            self.join(a, b)

    def __contains__(self, item: object) -> bool:
        return item in self._parent

    def root(self, item: T) -> T:
        """The item standing for `item`'s component (itself when never joined)."""
        parent = self._parent
        if item not in parent:
            return item
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def join(self, a: T, b: T) -> None:
        self._parent.setdefault(a, a)
        self._parent.setdefault(b, b)
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self._parent[rb] = ra

    def groups(self) -> list[list[T]]:
        """Every component of two items or more (items joined only to themselves are alone)."""
        out: dict[T, list[T]] = {}
        for item in list(self._parent):
            out.setdefault(self.root(item), []).append(item)
        return [members for members in out.values() if len(members) > 1]
