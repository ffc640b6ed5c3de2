"""When a response gets a ``Link`` header, and which links go into it.

The links of a response are, in this order of mention: what the request recorded (views
and templates), the decorated view's manifests, for a streamed page the constant pushes
that certainly run in its templates (its body is rendered after the headers leave), the
manifest groups of the templates it rendered (and of the templates those extend or
include), and the app manifest's entries.
They are de-duplicated by URL, sorted by weight, cut to the configured budget, and added
as one more ``Link`` field, after any the view set itself.
"""

from __future__ import annotations

import logging
import re

from flask import Flask, Response, has_request_context, request

from . import push_once
from .csp import with_nonce
from .links import Link, build_link, encode_target, serialize_links
from .linkset import LinkSet
from .manifest import ManifestEntry
from .recording import RequestPushes
from .settings import Settings
from .state import PushState

log = logging.getLogger(__name__)

_LINK_TARGET = re.compile(r"<([^>]*)>")


def wants_links(response: Response, state: PushState) -> bool:
    """Whether ``response`` is one that gets links: enabled, 2xx, and of a pushed mimetype."""
    settings = state.settings
    return (
        settings.enabled
        and 200 <= response.status_code < 300
        and response.mimetype in settings.mimetypes
    )


def collect_links(
    app: Flask, state: PushState, pushes: RequestPushes | None, streamed: bool = False
) -> LinkSet:
    """Every link the current response should name, merged, in order of mention.

    :param streamed: the body is rendered after the headers are sent, so the templates'
        pushes have not been recorded yet: use the constant pushes that certainly run
        (see :meth:`~.templates.TemplateFacts.certain_pushes`) instead.
    """
    env = app.jinja_env
    app_manifest = None
    if state.manifest_path is not None:
        app_manifest = state.manifests.get(state.manifest_path, env.auto_reload)
    if pushes is None:
        pushes = RequestPushes(state, request.script_root if has_request_context() else "")
    elif app_manifest is None and not pushes.view_manifests and not streamed:
        return pushes.links  # the common case: nothing to merge, the record is the answer
    script_root = pushes.script_root
    # A copy, not a re-add: an inferred push must still yield to a manifest entry's
    # explicit attributes (manifest entries are written deliberately: they count as explicit).
    links = pushes.links.copy()
    for path in pushes.view_manifests:
        manifest = state.manifests.get(path, env.auto_reload)
        if manifest is not None:
            links.update(manifest_links(state, manifest.entries, script_root))
    if streamed:
        for push in state.templates.certain_pushes(env, pushes.templates):
            url = state.static_urls.url(push.asset, script_root)
            links.add(build_link(url, push.destination, push.attributes))
    if app_manifest is not None:
        if app_manifest.groups:
            for name in state.templates.closure(env, pushes.templates):
                group = app_manifest.groups.get(name, ())
                links.update(manifest_links(state, group, script_root))
        links.update(manifest_links(state, app_manifest.entries, script_root))
    return links


def manifest_links(
    state: PushState, entries: tuple[ManifestEntry, ...], script_root: str | None = None
) -> tuple[Link, ...]:
    """The links of manifest ``entries`` for a script root (by default the request's),
    remembered while URLs are stable."""
    if script_root is None:
        script_root = request.script_root if has_request_context() else ""
    key = (id(entries), script_root)
    cached = state.manifest_links.get(key)
    # The entries are kept in the value: their id is only theirs while they are alive.
    if cached is not None and cached[0] is entries:
        return cached[1]
    links = tuple(
        build_link(
            state.static_urls.url(entry.asset, script_root), entry.destination, entry.attributes
        )
        for entry in entries
    )
    if state.static_urls.stable:
        if len(state.manifest_links) >= 256:
            state.manifest_links.clear()
        state.manifest_links[key] = (entries, links)
    return links


def add_link_header(
    response: Response,
    app: Flask,
    state: PushState,
    pushes: RequestPushes | None,
    endpoint: str | None,
) -> Response:
    """Add this request's links to ``response`` if it is one that gets them."""
    if not wants_links(response, state):
        return response
    links = collect_links(app, state, pushes, streamed=response.is_streamed)
    if not links:
        return response
    existing = response.headers.getlist("Link")
    named = {encode_target(url) for value in existing for url in _LINK_TARGET.findall(value)}
    settings = state.settings
    candidates = [link for link in links.by_priority() if link.url not in named]
    # Before the budget is applied: a nonce and a nopush both take room in the header.
    candidates = with_nonce(candidates, state)
    pushed_before = push_once.from_request(settings)
    candidates = mark_nopush(candidates, settings, pushed_before)
    # The budget covers every Link field, the view's own included: it is the proxy's
    # buffer that overflows, whoever wrote the header.
    budget = settings.max_header_bytes - sum(len(value) + 2 for value in existing)
    kept = fit_links(candidates, settings.max_links, budget)
    if len(kept) < len(candidates) and state.budget_warnings.first(endpoint):
        log.warning(
            "%s: %d of %d links left out of the Link header (PUSH_MAX_LINKS=%d, "
            "PUSH_MAX_HEADER_BYTES=%d); the lowest weights were dropped",
            endpoint,
            len(candidates) - len(kept),
            len(candidates),
            settings.max_links,
            settings.max_header_bytes,
        )
    if kept:
        response.headers.add("Link", serialize_links(kept))
    if pushed_before is not None:
        push_once.save(response, settings, pushed_before, kept)
    return response


def mark_nopush(
    links: list[Link], settings: Settings, pushed_before: push_once.PushedDigest | None
) -> list[Link]:
    """``links``, marked ``nopush`` where a pushing proxy must not push them: those pushed
    to this client before (``PUSH_ONCE``), or all of them (``PUSH_NOPUSH``)."""
    if pushed_before is not None:
        links = pushed_before.mark(links)
    if settings.nopush:
        links = [link.with_nopush() for link in links]
    return links


def fit_links(links: list[Link], max_links: int, max_bytes: int) -> list[Link]:
    """The longest prefix of ``links`` within ``max_links`` and ``max_bytes`` of header."""
    size = -2  # no ", " before the first link
    for count, link in enumerate(links[:max_links]):
        size += len(link.header_value) + 2
        if size > max_bytes:
            return links[:count]
    return links[:max_links]
