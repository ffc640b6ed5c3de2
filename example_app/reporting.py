"""How the demo shows what it sent: the overview's own Link header, and counters.

Both are ``after_request`` hooks registered *before* ``PushTemplates(app)``, so that Flask,
which runs those hooks last-registered first, runs them after the extension's hook has
added the ``Link`` header.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Response, request
from markupsafe import escape

#: Where the overview page wants its own Link header shown (see templates/index.html).
LINK_HEADER_PLACEHOLDER = "<!-- the Link header of this response goes here -->"

_STATS_KEY = "example_app.link_stats"


def install_reporting(app: Flask) -> None:
    stats = LinkStats()
    app.extensions[_STATS_KEY] = stats

    @app.after_request
    def show_own_link_header(response: Response) -> Response:
        # A page cannot read its own response headers while it renders: they are computed
        # from what the render pushed, after it. So the overview renders a placeholder and
        # this hook, which runs once the header is set, writes the header's exact value
        # into the body. A streamed body cannot be rewritten; the overview is not streamed.
        if request.endpoint == "index" and not response.is_streamed:
            value = ", ".join(response.headers.getlist("Link")) or "(no Link header)"
            # One link per line: a <br> before each "<target>" adds no text, so the
            # element's text is still exactly the header's value. (", <" only occurs between
            # links: the extension percent-encodes "," and "<" in targets, and no parameter
            # of this app has a quoted value containing it.)
            shown = str(escape(value)).replace(", &lt;", ", <br>&lt;")
            body = response.get_data(as_text=True)
            response.set_data(body.replace(LINK_HEADER_PLACEHOLDER, shown, 1))
        return response

    @app.after_request
    def count_links(response: Response) -> Response:
        if request.endpoint != "static":
            stats.record(request.path, response.headers.getlist("Link"))
        return response


def link_stats(app: Flask) -> LinkStats:
    stats: LinkStats = app.extensions[_STATS_KEY]
    return stats


class LinkStats:
    """Responses and Link headers sent since this process started (one per worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._started = time.time()
        self._responses = 0
        self._with_links = 0
        self._last_header: dict[str, str] = {}

    def record(self, path: str, link_fields: list[str]) -> None:
        with self._lock:
            self._responses += 1
            if link_fields:
                self._with_links += 1
                self._last_header[path] = ", ".join(link_fields)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "uptime_seconds": round(time.time() - self._started, 1),
                "responses": self._responses,
                "responses_with_link_header": self._with_links,
                "last_link_header_by_path": dict(sorted(self._last_header.items())),
            }
