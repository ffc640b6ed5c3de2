"""Push once: mark ``nopush`` the links a pushing proxy already pushed to this client.

A proxy that pushes from ``Link: rel=preload`` (Apache mod_http2 by default, nginx before
1.25.1 with ``http2_push_preload``) pushes every preload on every page, although the client
has most of them in its cache after the first page; the client then cancels each push,
after part of it has crossed the wire. With ``PUSH_ONCE = True`` each response also says,
in a cookie, which assets it let the proxy push, and later responses to the same client
mark those links ``nopush``: the proxy no longer pushes them, and the browser still
preloads them (from its cache) because the link stays.

The cookie is a digest in the spirit of h2o's CASPer: no server-side state, and bounded.
It holds the first :data:`HASH_BYTES` bytes of the SHA-256 of each pushed link's full
target URL, as written in the header (query string included), oldest first, at most
``PUSH_ONCE_MAX_ENTRIES`` of them (the oldest are forgotten first), base64url-encoded
behind a version prefix: 64 entries make a 344-character value. Because the whole URL is
digested, a new version of an asset (``app.css?v=2``, ``app.3f9a.css``) is a new URL and is
pushed again. A hash that collides (about 1 in 67 million per lookup with 64 entries) costs
one push: the asset is still preloaded.

What a wrong digest costs is always small, which is why the cookie is neither signed nor
kept on the server: an entry for an asset the cache has since evicted means a preload
instead of a push; a missing entry means one more push. A cookie that cannot be read (edited,
truncated, from another version) counts as empty and is replaced. It is ``HttpOnly`` (no
script needs it), ``SameSite=Lax`` and ``Path=/`` by default, and ``Secure`` when the request
is (see ``PUSH_ONCE_COOKIE_SECURE``).

Only what the proxy would push is recorded: links with ``rel=preload`` and no ``nopush``
that made it into the header (not ``modulepreload`` or ``prefetch``, which proxies never
push). The cookie is only set when it changes, that is when something new was pushed.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Iterable, Iterator

from flask import Response, request
from werkzeug.http import dump_cookie

from .links import Link
from .settings import MAX_ENTRIES_LIMIT, Settings

#: The bytes of SHA-256 kept per URL: 32 bits, so a lookup among N entries collides with
#: probability N / 2**32.
HASH_BYTES = 4
#: Before the digest, so that a later format can tell old cookies apart.
VERSION = "1."

_VALUE = re.compile(r"1\.([A-Za-z0-9_-]*)")

#: The longest value this version writes: :data:`MAX_ENTRIES_LIMIT` hashes, base64url
#: without padding. A longer cookie is not ours and is not decoded at all.
MAX_COOKIE_LENGTH = len(VERSION) + -(-MAX_ENTRIES_LIMIT * HASH_BYTES * 4 // 3)


@functools.lru_cache(maxsize=4096)
def url_hash(url: str) -> bytes:
    """The digest entry of a link target (already percent-encoded, so ASCII)."""
    return hashlib.sha256(url.encode("utf-8")).digest()[:HASH_BYTES]


def pushable(link: Link) -> bool:
    """Whether a pushing proxy would push ``link``: ``rel=preload`` without ``nopush``."""
    return link.rel == "preload" and not link.nopush


class PushedDigest:
    """The hashes of what was pushed to this client, oldest first, read from its cookie."""

    __slots__ = ("_changed", "_hashes", "_known", "_max_entries")

    def __init__(self, hashes: Iterable[bytes], max_entries: int) -> None:
        self._hashes = list(hashes)[-max_entries:]
        self._known = set(self._hashes)
        self._max_entries = max_entries
        self._changed = False

    @classmethod
    def from_cookie(cls, value: str | None, max_entries: int) -> PushedDigest:
        """The digest in a cookie value; an unreadable one is empty (it is only a hint)."""
        return cls(_decode(value), max_entries)

    def __contains__(self, url: object) -> bool:
        return isinstance(url, str) and url_hash(url) in self._known

    def mark(self, links: Iterable[Link]) -> Iterator[Link]:
        """``links``, with ``nopush`` on those pushed to this client before, as they are
        read."""
        return (
            link.with_nopush() if pushable(link) and link.url in self else link for link in links
        )

    def remember(self, links: Iterable[Link]) -> None:
        """Record the links of a response that a proxy will push."""
        for link in links:
            if not pushable(link):
                continue
            digest = url_hash(link.url)
            if digest in self._known:
                continue
            self._hashes.append(digest)
            self._known.add(digest)
            self._changed = True
        while len(self._hashes) > self._max_entries:
            self._known.discard(self._hashes.pop(0))

    def __len__(self) -> int:
        return len(self._hashes)

    def entries_after(self, links: Iterable[Link]) -> int | None:
        """How many entries :meth:`remember` of ``links`` would leave; ``None`` if it would
        change nothing (then no cookie is set)."""
        new: set[bytes] = set()
        room = self._max_entries - len(self._hashes)
        for link in links:
            if pushable(link):
                digest = url_hash(link.url)
                if digest not in self._known:
                    new.add(digest)
                    if len(new) >= room:
                        break  # full: the rest cannot change the answer (nor is it read)
        if not new:
            return None
        return min(len(self._hashes) + len(new), self._max_entries)

    def keep_newest(self, count: int) -> bool:
        """Forget all but the newest ``count`` entries; whether any was forgotten."""
        count = max(count, 0)
        if count >= len(self._hashes):
            return False
        for digest in self._hashes[: len(self._hashes) - count]:
            self._known.discard(digest)
        del self._hashes[: len(self._hashes) - count]
        self._changed = True
        return True

    @property
    def changed(self) -> bool:
        return self._changed

    def cookie_value(self) -> str:
        encoded = base64.urlsafe_b64encode(b"".join(self._hashes)).rstrip(b"=").decode("ascii")
        return VERSION + encoded


def _decode(value: str | None) -> list[bytes]:
    # The cookie comes from the client: anything may be in it. It is never echoed.
    if not value or len(value) > MAX_COOKIE_LENGTH:
        return []
    match = _VALUE.fullmatch(value)
    if match is None:
        return []
    encoded = match.group(1)
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return []
    if len(raw) % HASH_BYTES:
        return []
    return [raw[index : index + HASH_BYTES] for index in range(0, len(raw), HASH_BYTES)]


def from_request(settings: Settings) -> PushedDigest | None:
    """This request's digest if ``PUSH_ONCE`` is on (needs a request context), else ``None``."""
    if not settings.push_once:
        return None
    value = request.cookies.get(settings.push_once_cookie)
    return PushedDigest.from_cookie(value, settings.push_once_max_entries)


def cookie_field(settings: Settings, value: str) -> str:
    """The ``Set-Cookie`` field value that carries the digest ``value`` (needs a request)."""
    secure = settings.push_once_secure
    return dump_cookie(
        settings.push_once_cookie,
        value,
        max_age=settings.push_once_max_age,
        path=settings.push_once_path,
        secure=request.is_secure if secure is None else secure,
        httponly=True,
        samesite=settings.push_once_samesite,
    )


def field_length(settings: Settings, entries: int) -> int:
    """The length of the ``Set-Cookie`` field value of a digest of ``entries`` entries."""
    # base64url without padding: 4 bytes per entry make 16/3 characters, rounded up.
    return len(cookie_field(settings, VERSION)) + -(-entries * HASH_BYTES * 4 // 3)


def save(
    response: Response,
    settings: Settings,
    digest: PushedDigest,
    kept: list[Link],
    max_bytes: int | None = None,
) -> None:
    """Record what ``response`` lets the proxy push, and set the cookie if that changed.

    :param max_bytes: the longest ``Set-Cookie`` value the header budget leaves room for
        (see :mod:`.headers`): the oldest entries are forgotten until the value fits, and
        no cookie is set if even one without entries would not.
    """
    digest.remember(kept)
    if not digest.changed:
        return
    if max_bytes is not None and field_length(settings, len(digest)) > max_bytes:
        room = max_bytes - len(cookie_field(settings, VERSION))
        if room < 0:
            return
        digest.keep_newest(room * 3 // (4 * HASH_BYTES))
    response.headers.add("Set-Cookie", cookie_field(settings, digest.cookie_value()))
