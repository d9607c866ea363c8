"""Secondary keys of a cache's objects (client-go's Indexer, controller-runtime's field
index): "the objects whose key under this index is V" without scanning them all. Pure data
structures: the informer keeps them, under its lock."""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Index:
    """A secondary key of a cache's objects: `values` gives an object's keys under it (none
    when it is not in the index). A pure function of the object: the cache computes it once
    per version it stores, and again to take that version out."""

    name: str
    values: Callable[[dict[str, Any]], Iterable[str]]


class Bucket:
    """The objects of one namespace with one key under an index, kept in name order (the
    order of list(), so readers see the same order either way)."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[str, Any]] = {}
        self.names: list[str] = []

    def put(self, name: str, obj: dict[str, Any]) -> None:
        if name not in self.objects:
            bisect.insort(self.names, name)
        self.objects[name] = obj

    def drop(self, name: str) -> None:
        if self.objects.pop(name, None) is not None:
            del self.names[bisect.bisect_left(self.names, name)]

    def ordered(self) -> list[dict[str, Any]]:
        return [self.objects[n] for n in self.names]


# (namespace, key under the index) -> its objects
Buckets = dict[tuple[str, str], Bucket]


def build_index(index: Index, items: dict[str, dict[str, dict[str, Any]]]) -> Buckets:
    """The buckets of `index` over a cache's objects (namespace -> name -> object)."""
    buckets: Buckets = {}
    for namespace, names in items.items():
        for name, obj in names.items():
            for value in index.values(obj):
                buckets.setdefault((namespace, value), Bucket()).objects[name] = obj
    for bucket in buckets.values():
        bucket.names = sorted(bucket.objects)  # one sort, not an insertion per object
    return buckets
