"""Where an asset lives: bare names go through the static endpoint, URLs are kept."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, current_app, has_request_context, url_for

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


class StaticUrls:
    """Asset URLs remembered per app, by asset and script root.

    ``url_for('static', filename=name)`` is the hot path of a page with many pushes, and its
    answer depends only on the name and the request's script root, unless the app changes
    URLs per request: URL defaults, host or subdomain matching, or its own ``url_for``.
    Such an app gets nothing remembered. The memory is bounded: it starts over when full.
    """

    MAX_ENTRIES = 4096

    def __init__(self, static_endpoint: str) -> None:
        self.static_endpoint = static_endpoint
        self._urls: dict[tuple[str, str], str] = {}
        self._stable: bool | None = None

    def url(self, asset: str, script_root: str) -> str:
        key = (asset, script_root)
        url = self._urls.get(key)
        if url is not None:
            return url
        url = asset_url(asset, self.static_endpoint)
        if self.stable:
            if len(self._urls) >= self.MAX_ENTRIES:
                self._urls.clear()
            self._urls[key] = url
        return url

    @property
    def stable(self) -> bool:
        """Whether URLs may be remembered: the app builds them the same in every request."""
        if self._stable is None:
            self._stable = _static_urls_are_stable(current_app._get_current_object())  # type: ignore[attr-defined]
        return self._stable


def _static_urls_are_stable(app: Flask) -> bool:
    # Setup is over once requests are served (Flask refuses later changes), so this is
    # asked once, at the first push.
    return (
        not any(app.url_default_functions.values())
        and not app.url_map.host_matching
        and not app.subdomain_matching
        and type(app).url_for is Flask.url_for
    )
