"""The functions views and templates call: ``push_url``, ``push_url_for``, ``push_link_tags``."""

from __future__ import annotations

from typing import Any

from flask import current_app
from markupsafe import Markup

from .csp import with_nonce
from .pipeline import collect_links
from .recording import page_record, record_link, record_push
from .resolver import build_url
from .state import get_state

# url_for's own underscore options; every other underscore argument is a link attribute.
_URL_FOR_OPTIONS = frozenset({"_external", "_anchor", "_method", "_scheme"})


def push_url(asset: str, destination: str | None = None, **attributes: Any) -> str:
    """Record a push of ``asset`` for this response and return its URL.

    ``asset`` is a static file name (``'css/app.css'``), a path or a full URL. Use it where
    the asset is referenced: ``<link rel="stylesheet" href="{{ push_url('app.css') }}">``.

    :param destination: ``style``, ``script``, ``font``, ``image``, ``fetch``, ``track``,
        ``module`` or ``document``; inferred from the file extension when omitted.
    :param attributes: ``rel``, ``weight``, ``nopush``, ``crossorigin``, ``type``, and any
        other link attribute (``nonce``, ``integrity``, ``media``, ``fetchpriority``...).
    """
    return record_push(asset, destination, attributes)


def push_url_for(endpoint: str, **values: Any) -> str:
    """``url_for`` that also records a push of the URL it builds.

    Link attributes are passed with a leading underscore, as ``url_for`` does for its own:
    ``push_url_for('static', filename='app.js', _as='module', _weight=2)``.
    """
    attributes = {
        name[1:]: values.pop(name)
        for name in list(values)
        if name.startswith("_") and name not in _URL_FOR_OPTIONS
    }
    destination = attributes.pop("as", None)
    url = build_url(endpoint, **values)
    record_link(url, destination, attributes)
    return url


def push_link_tags() -> Markup:
    """``<link rel="preload">`` tags for what has been pushed so far, for deployments where
    a proxy strips ``Link`` headers. Call it after the pushes it should list (for instance
    at the end of ``<head>``, after the blocks that push)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    page = page_record()
    if page is None:
        return Markup("")
    links = with_nonce(collect_links(app, state, page).by_priority(), state)
    return Markup("\n".join(link.html_tag() for link in links))
