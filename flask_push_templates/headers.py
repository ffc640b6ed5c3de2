"""When a response gets a ``Link`` header, and how it is added.

A 2xx response with a whole body (not 204, 205 or 206) of a type in ``PUSH_MIMETYPES``
gets the page's links (:mod:`.pipeline`), after any ``Link`` field the view set itself
and without repeating what that field names (its targets are parsed as RFC 8288 says and
compared normalised, RFC 3986 section 6.2.2), as one more field.

The budget, ``PUSH_MAX_HEADER_BYTES``, covers every header the extension adds and the
view's own ``Link`` fields: it is the proxy's buffer that overflows, whoever wrote the
header. Each field counts its value and two bytes. The links come first: in priority
order, each that fits is kept and each that does not is skipped. The push-once cookie
(:mod:`.push_once`) then gets what is left: it forgets its oldest entries until its
``Set-Cookie`` field fits, and is not set at all if not even an empty one would.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence

from flask import Flask, Response, request

from . import push_once
from .links import Link, serialize_links
from .page_memory import PageKey, PageMemory, page_key
from .pipeline import (
    collect_links,
    field_size,
    fit_links,
    header_candidates,
    left_out,
    longer_than,
    prepare,
    select,
)
from .recording import PageRecord, page_record
from .state import PushState
from .uri import encode_target

log = logging.getLogger(__name__)

#: 2xx statuses that carry no page: no content, reset content, a part of a resource.
BODILESS_STATUSES = frozenset({204, 205, 206})


def wants_links(response: Response, state: PushState) -> bool:
    """Whether ``response`` is one that gets links: enabled, a 2xx with a whole body, and
    of a pushed mimetype."""
    return _page_fields(response, state) is not None


def _page_fields(response: Response, state: PushState) -> list[str] | None:
    """The ``Link`` fields of ``response`` if it is one that gets links, else ``None``.

    One pass over the fields for its type and its ``Link`` fields: the hot path of every
    response, where werkzeug's ``get`` and ``getlist`` each walk the fields in Python.
    """
    settings = state.settings
    status = response.status_code
    if not settings.enabled or not 200 <= status < 300 or status in BODILESS_STATUSES:
        return None
    content_type: str | None = None
    fields = []
    for name, value in response.headers:
        lowered = name.lower()
        if lowered == "content-type" and content_type is None:
            content_type = value  # the first, as werkzeug's response.mimetype reads it
        elif lowered == "link":
            fields.append(value)
    if (content_type or "").partition(";")[0].strip().lower() not in settings.mimetypes:
        return None
    return fields


def link_targets(value: str) -> Iterator[str]:
    """The target of each link-value in a ``Link`` field value (RFC 8288 section 3).

    A recipient's parser, not a validator: the view wrote the field. Commas, semicolons and
    ``<`` inside a quoted string (``title="see </x.css>"``) belong to the string; what is
    not a link-value is skipped up to the next top-level comma.
    """
    index, end = 0, len(value)
    while index < end:
        while index < end and value[index] in " \t,":
            index += 1
        if index < end and value[index] == "<":
            close = value.find(">", index + 1)
            if close < 0:
                return
            yield value[index + 1 : close]
            index = close + 1
        # The parameters, up to the comma that ends this link-value.
        quoted = False
        while index < end:
            char = value[index]
            if quoted and char == "\\":
                index += 1
            elif char == '"':
                quoted = not quoted
            elif char == "," and not quoted:
                break
            index += 1


_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


def normalized_target(url: str) -> str:
    """``url`` encoded as our targets are, with escapes in one form (RFC 3986 6.2.2.1-2):
    upper-case hex, unreserved characters decoded. ``/c%2cd.css`` is ``/c,d.css``."""

    def escape(match: re.Match[str]) -> str:
        byte = int(match.group(1), 16)
        return chr(byte) if byte in _UNRESERVED else f"%{byte:02X}"

    return _ESCAPE.sub(escape, encode_target(url))


def named_targets(values: Iterable[str]) -> set[str]:
    """The normalised targets the ``Link`` field values ``values`` name."""
    return {normalized_target(url) for value in values for url in link_targets(value)}


def add_link_header(
    response: Response, app: Flask, state: PushState, page: PageRecord | None
) -> Response:
    """Add the page's links to ``response`` if it is one that gets them."""
    memory = state.page_memory
    if page is None and state.manifest_path is None and not memory.active:
        return response  # nothing pushed, nothing to name: the hot path of most responses
    existing = _page_fields(response, state)
    if existing is None:
        return response
    streamed = response.is_streamed
    if memory.active and not streamed:
        endpoint = request.endpoint
        if endpoint is not None and memory.caches(endpoint):
            page = remember_or_recall(memory, page_key(endpoint, response.get_data()), page)
    if page is None:
        if state.manifest_path is None:
            return response  # nothing pushed, and no manifest to name anything
        page = page_record()
        if page is None:
            return response
    links = collect_links(app, state, page, body_rendered=not streamed)
    if not links:
        return response
    settings = state.settings
    candidates = header_candidates(links, state)
    budget = settings.max_header_bytes
    if existing:  # the view's own fields: not repeated, and counted in the budget
        named = named_targets(existing)
        candidates = select(candidates, lambda link: normalized_target(link.url) not in named)
        budget -= sum(field_size(value) for value in existing)
    pushed_before = push_once.from_request(settings)
    candidates = prepare(candidates, state, pushed_before)
    link_budget = budget
    if pushed_before is not None:
        link_budget -= _cookie_reserve(state, candidates, pushed_before, budget)
    kept = fit_links(candidates, settings.max_links, link_budget)
    if longer_than(candidates, len(kept)) and state.budget_warnings.first(request.endpoint):
        endpoint = request.endpoint
        dropped = [link.url for link in left_out(candidates, kept)]
        log.warning(
            "%s: %d of %d links left out of the Link header (PUSH_MAX_LINKS=%d, "
            "PUSH_MAX_HEADER_BYTES=%d, %d bytes of it taken by the view's own Link fields); "
            "left out, as they did not fit: %s",
            endpoint,
            len(dropped),
            len(candidates),
            settings.max_links,
            settings.max_header_bytes,
            settings.max_header_bytes - budget,
            ", ".join(dropped[:5]) + (", ..." if len(dropped) > 5 else ""),
        )
    if kept:
        value = serialize_links(kept)
        response.headers.add("Link", value)
        budget -= field_size(value)
    if page.provenance is not None:
        page.provenance.header = kept
    if pushed_before is not None:
        push_once.save(response, settings, pushed_before, kept, max_bytes=budget - 2)
    return response


def remember_or_recall(
    memory: PageMemory, key: PageKey, page: PageRecord | None
) -> PageRecord | None:
    """``page``, remembered if it rendered templates; if it rendered none (a cache hit) and
    its body is a remembered page's, made the record of a copy of that page.

    A page that rendered no named template but pushed (``render_template_string``, a
    view's own ``push_url()``) is remembered when its body is not already: a hit whose
    ``before_request`` hook pushed must not overwrite the page it is a copy of.
    """
    if page is not None and page.templates:
        memory.remember(key, page.remembered())
        return page
    remembered = memory.recall(key)
    if remembered is None:
        if page is not None and page.pushes:
            memory.remember(key, page.remembered())
        return page
    if page is None:
        page = page_record()
        if page is None:
            return None
    page.copy_of(remembered)
    return page


def _cookie_reserve(
    state: PushState,
    candidates: Sequence[Link],
    pushed_before: push_once.PushedDigest,
    budget: int,
) -> int:
    """The room kept from the links for the push-once cookie: the field it would need if
    every candidate were kept, up to half of what is left of the budget."""
    entries = pushed_before.entries_after(candidates)
    if entries is None:
        return 0  # nothing new to push: no cookie is set
    need = push_once.field_length(state.settings, entries) + 2
    return min(need, max(budget, 0) // 2)
