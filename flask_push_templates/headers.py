"""When a response gets a ``Link`` header, and how it is added.

A 2xx response of a type in ``PUSH_MIMETYPES`` gets the page's links (:mod:`.pipeline`),
after any ``Link`` field the view set itself and without repeating what that field names,
as one more field cut to the configured budget. The push-once cookie (:mod:`.push_once`)
is set with it.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, request

from . import push_once
from .links import serialize_links
from .pipeline import collect_links, fit_links, header_candidates, prepare
from .recording import PageRecord, page_record
from .state import PushState
from .uri import encode_target

log = logging.getLogger(__name__)

_LINK_TARGET = re.compile(r"<([^>]*)>")


def wants_links(response: Response, state: PushState) -> bool:
    """Whether ``response`` is one that gets links: enabled, 2xx, and of a pushed mimetype."""
    settings = state.settings
    return (
        settings.enabled
        and 200 <= response.status_code < 300
        and mimetype_of(response) in settings.mimetypes
    )


def mimetype_of(response: Response) -> str:
    """``response.mimetype``, without parsing the parameters it does not need (the hot path
    of every response)."""
    return response.headers.get("Content-Type", "").partition(";")[0].strip().lower()


def add_link_header(
    response: Response, app: Flask, state: PushState, page: PageRecord | None
) -> Response:
    """Add the page's links to ``response`` if it is one that gets them."""
    if not wants_links(response, state):
        return response
    if page is None:
        if state.manifest_path is None:
            return response  # nothing pushed, and no manifest to name anything
        page = page_record()
        if page is None:
            return response
    links = collect_links(app, state, page, body_rendered=not response.is_streamed)
    if not links:
        return response
    existing = response.headers.getlist("Link")
    named = {encode_target(url) for value in existing for url in _LINK_TARGET.findall(value)}
    settings = state.settings
    candidates = [link for link in header_candidates(links, state) if link.url not in named]
    pushed_before = push_once.from_request(settings)
    candidates = prepare(candidates, state, pushed_before)
    # The budget covers every Link field, the view's own included: it is the proxy's
    # buffer that overflows, whoever wrote the header.
    budget = settings.max_header_bytes - sum(len(value) + 2 for value in existing)
    kept = fit_links(candidates, settings.max_links, budget)
    if len(kept) < len(candidates) and state.budget_warnings.first(request.endpoint):
        log.warning(
            "%s: %d of %d links left out of the Link header (PUSH_MAX_LINKS=%d, "
            "PUSH_MAX_HEADER_BYTES=%d); the lowest weights were dropped",
            request.endpoint,
            len(candidates) - len(kept),
            len(candidates),
            settings.max_links,
            settings.max_header_bytes,
        )
    if kept:
        response.headers.add("Link", serialize_links(kept))
    if page.provenance is not None:
        page.provenance.header = kept
    if pushed_before is not None:
        push_once.save(response, settings, pushed_before, kept)
    return response
