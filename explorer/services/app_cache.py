"""The app's one cache: a key naming each heavy result, and the builders that make them.

:class:`explorer.services.app_data.AppData` holds one ``functools.lru_cache`` over
``BUILDERS[key.what](data, key)``; `explorer.services.app_data` registers the tables (raw,
controlled, codes within an area, engine results) and the app's presenters register what they
send (map payloads, table rows) with :func:`builds`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from explorer.domain.disclosure import DisclosurePolicy
from explorer.domain.metrics import Filters

RAW = DisclosurePolicy.raw()
CACHE_SIZE = 1024  # entries: tables, map payloads, table rows and engine results together

@dataclass(frozen=True)
class CacheKey:
    """What one cached result is: `what` names its builder; the rest are the view's coordinates
    (reduced by :meth:`AppData.cache_key` to what the metric uses, so equal views share entries)."""

    what: str
    level: str = ""
    metric: str = ""
    filters: Filters = field(default_factory=Filters)
    risk: Any = None
    policy: DisclosurePolicy = RAW
    extra: tuple = ()


# what -> builder(data, key): registered by this module and the app's presenters (`builds`)
BUILDERS: dict[str, Callable[[Any, CacheKey], Any]] = {}


def builds(what: str) -> Callable:
    """Register the builder of cached results named `what` (called on a cache miss)."""
    def register(fn: Callable[[Any, CacheKey], Any]) -> Callable[[Any, CacheKey], Any]:
        BUILDERS[what] = fn
        return fn
    return register
