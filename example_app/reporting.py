"""How the demo shows what it sent: each page's own Link header, and counters.

Both are ``after_request`` hooks registered *before* ``PushTemplates(app)``, so that Flask,
which runs those hooks last-registered first, runs them after the extension's hook has
added the ``Link`` header.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

from flask import Flask, Response, request
from markupsafe import Markup, escape

#: Where partials/sent.html wants the page's own Link header, and one table row per link.
LINK_HEADER_PLACEHOLDER = "<!-- the Link header of this response goes here -->"
LINK_ROWS_PLACEHOLDER = "<!-- one row per link of this response goes here -->"

_STATS_KEY = "example_app.link_stats"


def install_reporting(app: Flask) -> None:
    stats = LinkStats()
    app.extensions[_STATS_KEY] = stats

    @app.after_request
    def show_own_link_header(response: Response) -> Response:
        # A page cannot read its own response headers while it renders: they are computed
        # from what the render pushed, after it. So every page renders placeholders
        # (partials/sent.html) and this hook, which runs once the header is set, writes
        # the header's exact value and its links in their place.
        if response.mimetype != "text/html" or request.endpoint == "static":
            return response
        fields = response.headers.getlist("Link")
        replacements = {
            LINK_HEADER_PLACEHOLDER: header_html(fields),
            LINK_ROWS_PLACEHOLDER: rows_html(fields, response.status_code),
        }
        if response.is_streamed:
            # The body is rendered after this hook: replace as the chunks go out. Each
            # placeholder is template text, which Jinja yields in one piece.
            response.response = _replaced_in_chunks(response.response, replacements)
        else:
            body = response.get_data(as_text=True)
            for placeholder, html in replacements.items():
                body = body.replace(placeholder, html, 1)
            response.set_data(body)
        return response

    @app.after_request
    def count_links(response: Response) -> Response:
        if request.endpoint != "static":
            stats.record(request.path, response.headers.getlist("Link"))
        return response


def header_html(fields: list[str]) -> str:
    """The header's value, one link per line: a ``<br>`` before each ``<target>`` adds no
    text, so the element's text is still exactly the header's value."""
    if not fields:
        return "(no Link header)"
    # ", <" only occurs between links: the extension percent-encodes "," and "<" in
    # targets, and no parameter of this app has a quoted value containing it.
    return str(escape(", ".join(fields))).replace(", &lt;", ", <br>&lt;")


def rows_html(fields: list[str], status: int) -> str:
    """One ``<tr>`` per link: its file, in plain words what it asks for, and a cell that
    the page's inline script fills from Resource Timing (``data-url``)."""
    links = list(parse_links(", ".join(fields)))
    if not links:
        return str(
            Markup(
                '<tr><td colspan="3">This {} response had no Link header: only '
                "successful (2xx) HTML responses get one.</td></tr>"
            ).format(status)
        )
    return "".join(
        Markup('<tr><td>{}</td><td>{}</td><td data-url="{}">(needs JavaScript)</td></tr>').format(
            target, describe(params), target
        )
        for target, params in links
    )


#: One link of a header value: ``<target>`` and its ``; name[=value]`` parameters.
_LINK = re.compile(r'<([^>]*)>((?:\s*;\s*[^\s;,=]+(?:\s*=\s*(?:"(?:[^"\\]|\\.)*"|[^\s;,]*))?)*)')
_PARAM = re.compile(r'\s*;\s*([^\s;,=]+)(?:\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;,]*))?')


def parse_links(value: str) -> Iterator[tuple[str, dict[str, str | None]]]:
    """The links of a ``Link`` value written by the extension (enough for display)."""
    for link in _LINK.finditer(value):
        params: dict[str, str | None] = {}
        for name, raw in _PARAM.findall(link.group(2)):
            if raw.startswith('"'):
                raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            params[name.lower()] = raw or None
        yield link.group(1), params


_AS_WORDS = {
    "style": "a stylesheet",
    "script": "a classic script",
    "font": "a font",
    "image": "an image",
    "fetch": "data for fetch()",
    "track": "a text track",
}


def describe(params: dict[str, str | None]) -> str:
    """What a link asks the browser (or a proxy) to do, in plain words."""
    rel = params.get("rel") or "(no rel)"
    if rel == "modulepreload":
        words = ["preload a JavaScript module"]
    elif rel == "preload":
        destination = params.get("as")
        words = [f"preload {_AS_WORDS.get(destination or '', f'as={destination}')}"]
    else:
        words = [rel]
    for name, value in params.items():
        if name == "crossorigin":
            words.append("in CORS mode (crossorigin)")
        elif name == "type":
            words.append(f"of type {value}")
        elif name == "nopush":
            words.append("not to be pushed by a proxy (nopush)")
        elif name == "fetchpriority":
            words.append(f"with {value} priority")
        elif name not in ("rel", "as"):
            words.append(name if value is None else f"{name}={value}")
    return ", ".join(words)


def _replaced_in_chunks(
    chunks: Iterable[str] | Iterable[bytes], replacements: dict[str, str]
) -> Iterator[bytes]:
    encoded = {placeholder.encode(): html.encode() for placeholder, html in replacements.items()}
    try:
        for chunk in chunks:
            # As werkzeug would have encoded it (a text/html response's charset is UTF-8).
            data = chunk.encode() if isinstance(chunk, str) else chunk
            for placeholder, html in encoded.items():
                data = data.replace(placeholder, html, 1)
            yield data
    finally:
        # The streamed template's generator holds the request context: close it when the
        # server closes this one.
        close = getattr(chunks, "close", None)
        if close is not None:
            close()


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
