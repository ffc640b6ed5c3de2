"""What rendered pages pushed, remembered per process so that a cached copy of one gets
the same links.

A cache of rendered views (Flask-Caching's ``@cache.cached``) answers a hit with the body
of an earlier render and runs no template, so nothing is pushed. For the views that are
cached (:meth:`PageMemory.caches`), each page that rendered templates is remembered under
its endpoint and a digest of its body (BLAKE2b): the same bytes are the same page, which
needs the same assets. A response that rendered nothing and whose body is one remembered
gets what that page pushed (:class:`RememberedPage`), resolved for *its* request: what is
kept is the pushes as the page made them (asset names, endpoints), never URLs built for
another request, so a hit under another script root or host gets its own URLs, and no
request's data reaches another's response. Streamed pages are not remembered (their body
is not known when the header leaves).

Bounded (``PUSH_CACHED_PAGES`` pages, the least recently used forgotten first) and
thread-safe. Only the pages of cached views are hashed; in an app without any, a response
pays one attribute test.
"""

from __future__ import annotations

import fnmatch
import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: A remembered page's key: its endpoint and the digest of its body.
PageKey = tuple[str, bytes]

#: A push as a page made it, before its URL was built: the function that makes it in a
#: record (:class:`~.recording.PageRecord`), then its arguments, so that a cached copy of
#: the page can make it again in its own request. One flat tuple: every push appends one.
PushMade = tuple[Any, ...]


@dataclass(frozen=True)
class RememberedPage:
    """What one rendered page recorded, before any URL was built
    (:meth:`~.recording.PageRecord.remembered`)."""

    #: Its pushes, in the order they were made.
    pushes: tuple[PushMade, ...]
    #: The templates it rendered (their ``PUSH_MANIFEST`` groups apply to a copy too).
    templates: tuple[str, ...]
    #: The ``@http2push`` manifests of its view.
    view_manifests: tuple[str, ...]


def page_key(endpoint: str, body: bytes) -> PageKey:
    """The key of a page: 128 bits of BLAKE2b, so that no page can pose as another."""
    return endpoint, hashlib.blake2b(body, digest_size=16).digest()


class PageMemory:
    """One app's remembered pages, the least recently used forgotten first."""

    def __init__(self, max_pages: int, endpoints: tuple[str, ...]) -> None:
        self.max_pages = max_pages
        #: ``PUSH_CACHED_ENDPOINTS``: endpoints cached by other means than Flask-Caching's.
        self._patterns = endpoints
        self._pages: OrderedDict[PageKey, RememberedPage] = OrderedDict()
        #: The endpoints of the views Flask-Caching decorates (:meth:`view_registered`).
        self._cached_views: set[str] = set()
        #: Whether each endpoint seen matches ``PUSH_CACHED_ENDPOINTS`` (bounded by the
        #: app's endpoints).
        self._listed: dict[str, bool] = {}
        self._lock = threading.Lock()
        #: Whether any page may be remembered: when none can, a response does not even
        #: look up its endpoint (the hot path of every app without cached views). An
        #: attribute kept up to date rather than a property: it is read for every page.
        self.active = self._can_remember()

    def _can_remember(self) -> bool:
        return bool(self.max_pages) and bool(self._cached_views or self._patterns)

    def view_registered(self, endpoint: str, view: object) -> None:
        """Note whether the view just registered for ``endpoint`` is a cached one."""
        if is_cached_view(view):
            self._cached_views.add(endpoint)
        else:
            self._cached_views.discard(endpoint)
        self.active = self._can_remember()

    def caches(self, endpoint: str) -> bool:
        """Whether the pages of ``endpoint`` may be cached copies, so are remembered."""
        if endpoint in self._cached_views:
            return True
        listed = self._listed.get(endpoint)
        if listed is None:
            listed = any(fnmatch.fnmatchcase(endpoint, pattern) for pattern in self._patterns)
            self._listed[endpoint] = listed
        return listed

    def remember(self, key: PageKey, remembered: RememberedPage) -> None:
        """Remember what the page with this key recorded (again: it may have changed, as
        a template edited in debug)."""
        with self._lock:
            self._pages[key] = remembered
            self._pages.move_to_end(key)
            while len(self._pages) > self.max_pages:
                self._pages.popitem(last=False)

    def recall(self, key: PageKey) -> RememberedPage | None:
        """What the page with this key recorded when it rendered, if it is remembered."""
        with self._lock:
            remembered = self._pages.get(key)
            if remembered is not None:
                self._pages.move_to_end(key)
        return remembered

    def __len__(self) -> int:
        return len(self._pages)


def is_cached_view(view: object) -> bool:
    """Whether ``view`` is decorated with Flask-Caching's ``@cache.cached`` or
    ``@cache.memoize``: found by the attributes both give the function they return
    (``uncached``, ``make_cache_key``), which ``functools.wraps`` carries through the
    decorators above them."""
    return callable(getattr(view, "uncached", None)) and callable(
        getattr(view, "make_cache_key", None)
    )
