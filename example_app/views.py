"""The pages of the demo, each showing one way of declaring what a page needs."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask, Response, current_app, render_template, request, stream_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup

from flask_push_templates import http2push, push_url_for

from .reporting import link_stats

#: The longest ``?delay=`` honoured, so that a query string cannot hold a worker for long.
MAX_DELAY = 10.0


@dataclass(frozen=True)
class Page:
    endpoint: str
    title: str
    #: What the page demonstrates: trusted HTML, written here.
    shows: Markup


PAGES = (
    Page(
        "index",
        "Overview",
        Markup(
            "Both tag spellings (<code>{% push %}</code> in the base template, "
            "<code>&lt;% push %&gt;</code> here); module preloads for a static import and a "
            "dynamic <code>import()</code>; a JSON preload from <code>push_url_for()</code> "
            "in the view; <code>push_url()</code> in an <code>&lt;img&gt;</code>; "
            "<code>push_link_tags()</code>."
        ),
    ),
    Page(
        "gallery",
        "Gallery",
        Markup(
            "<code>push_url_for('static', ..., _as='image')</code> in the view; "
            "<code>push_url()</code> in <code>&lt;link&gt;</code>, <code>&lt;script&gt;</code> "
            "and in <code>&lt;img&gt;</code> of an <code>{% include %}</code> in a loop; a push "
            "inside <code>{% if %}</code> (compare <code>?lightbox=0</code>); the "
            "<code>gallery.html</code> group of the app manifest."
        ),
    ),
    Page(
        "legacy",
        "Legacy",
        Markup(
            "A view decorated with <code>@http2push('manifests/legacy.json')</code>: a flat "
            "flask-http2-push manifest, and a template that pushes nothing itself."
        ),
    ),
    Page(
        "report",
        "Streamed report",
        Markup(
            "<code>flask.stream_template</code>: the headers leave before the template runs, "
            "so only <code>{% push %}</code> tags with constant arguments make it into the "
            "Link header."
        ),
    ),
)


@dataclass(frozen=True)
class Photo:
    file: str
    caption: str
    width: int = 240
    height: int = 160


PHOTOS = (
    Photo("img/tile-stripes.png", "Stripes"),
    Photo("img/tile-checker.png", "Checker"),
    Photo("img/tile-rings.png", "Rings"),
    Photo("img/sunburst.svg", "Sunburst"),
)


def register_views(app: Flask) -> None:
    app.before_request(_slow_down)
    app.register_error_handler(404, _not_found)

    @app.get("/")
    def index() -> str:
        # The overview's script fetches this URL; preloading it as=fetch (which implies
        # crossorigin, the mode fetch() uses) lets the request start with the page's.
        stats_url = push_url_for("stats", _as="fetch")
        return render_template("index.html", pages=PAGES, stats_url=stats_url)

    @app.get("/gallery")
    def gallery() -> str:
        # The hero image is chosen here, so the view pushes it: push_url_for is url_for
        # that also records the push; link attributes take a leading underscore.
        hero_url = push_url_for(
            "static", filename="img/hero.png", _as="image", _fetchpriority="high"
        )
        lightbox = request.args.get("lightbox", "1") != "0"
        return render_template("gallery.html", hero_url=hero_url, photos=PHOTOS, lightbox=lightbox)

    @app.get("/legacy")
    @http2push("manifests/legacy.json")
    def legacy() -> str:
        return render_template("legacy.html")

    @app.get("/report")
    def report() -> ResponseReturnValue:
        rows = _static_inventory(app.static_folder or "")
        return Response(stream_template("report.html", rows=rows), mimetype="text/html")

    @app.get("/api/stats")
    def stats() -> ResponseReturnValue:
        # A JSON response: not text/html, so it gets no Link header (PUSH_MIMETYPES).
        return link_stats(app).snapshot()


@dataclass(frozen=True)
class InventoryRow:
    path: str
    size: int


def _static_inventory(folder: str) -> Iterator[InventoryRow]:
    """The static files, found as the streamed report renders them."""
    for directory, subdirectories, files in os.walk(folder):
        subdirectories.sort()
        for name in sorted(files):
            full = os.path.join(directory, name)
            yield InventoryRow(
                os.path.relpath(full, folder).replace(os.sep, "/"), os.stat(full).st_size
            )


def _slow_down() -> None:
    """Sleep before the view runs when ``?delay=`` or ``EXAMPLE_APP_DELAY`` asks for it."""
    if request.endpoint in (None, "static"):
        return
    delay = request.args.get("delay", type=float)
    if delay is None or not math.isfinite(delay):
        delay = float(current_app.config["EXAMPLE_DELAY"])
    delay = min(max(delay, 0.0), MAX_DELAY)
    if delay > 0:
        time.sleep(delay)


def _not_found(error: Exception) -> ResponseReturnValue:
    # The 404 page pushes what any page pushes, but the extension only adds Link headers
    # to 2xx responses: a browser should not preload for an error page.
    return render_template("404.html"), 404
