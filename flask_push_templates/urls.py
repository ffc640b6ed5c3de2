"""Where an asset lives: bare names go through the static endpoint, URLs are kept."""

from __future__ import annotations

import re
from typing import Any

from flask import current_app, has_request_context, url_for

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def is_url(asset: str) -> bool:
    """Whether ``asset`` is a path or URL to take as given, rather than a static file name."""
    return asset.startswith("/") or _SCHEME.match(asset) is not None


def asset_url(asset: str, static_endpoint: str) -> str:
    """The URL of ``asset``: itself if it is a path or URL, else its static file URL."""
    if is_url(asset):
        return asset
    return build_url(static_endpoint, filename=asset)


def build_url(endpoint: str, **values: Any) -> str:
    """``url_for``, which also works in an app context without a request.

    Rendering with no request (a CLI command, a background job) must still produce URLs;
    ``url_for`` refuses unless ``SERVER_NAME`` is set, so fall back to a relative URL built
    against ``APPLICATION_ROOT``.
    """
    if has_request_context():
        return url_for(endpoint, **values)
    app = current_app
    if app.config.get("SERVER_NAME"):
        return url_for(endpoint, **values)
    adapter = app.url_map.bind(
        "localhost",
        script_name=app.config.get("APPLICATION_ROOT") or "/",
        url_scheme=app.config.get("PREFERRED_URL_SCHEME") or "http",
    )
    return adapter.build(endpoint, values)
