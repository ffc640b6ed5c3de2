"""A tiny Flask app for the proxy tests: a page with hundreds of pushes, and one with nopush.

Served by gunicorn as ``tests.e2e.many_pushes_app:app`` from the repository root:

``/many``
    pushes :data:`MANY` stylesheets. With the default ``PUSH_MAX_LINKS`` and
    ``PUSH_MAX_HEADER_BYTES`` the Link header must stay small enough for nginx's default
    ``proxy_buffer_size``.
``/mixed``
    one link of each kind a pushing proxy must tell apart: ``rel=preload`` (pushed),
    ``rel=preload`` with ``nopush``, ``rel=modulepreload`` and ``rel=prefetch`` (not pushed).
``/asset/<name>``
    the small files those pages name, :func:`asset_body` bytes each.

Everything under ``/unlimited`` is the same app with the limits lifted
(:data:`UNLIMITED`): the negative control showing that the default budget is what
keeps a proxy from failing.
"""

from __future__ import annotations

import mimetypes
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from flask_push_templates import PushTemplates, push_url_for

#: How many stylesheets /many pushes: "hundreds", far beyond any header budget.
MANY = 300
UNLIMITED_PREFIX = "/unlimited"
UNLIMITED: dict[str, Any] = {"PUSH_MAX_LINKS": 10_000, "PUSH_MAX_HEADER_BYTES": 1_000_000}

#: /mixed: (asset name, destination, link attributes), in the order the view pushes them.
MIXED: tuple[tuple[str, str, dict[str, Any]], ...] = (
    ("pushed.css", "style", {"weight": 3}),
    ("held.js", "script", {"nopush": True}),
    ("module.mjs", "module", {}),
    ("next.html", "document", {}),
    ("pushed.png", "image", {}),
)

mimetypes.add_type("text/javascript", ".mjs")

_PAGE = "<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head>" \
    "<body><p>{title}</p></body></html>"  # fmt: skip


def asset_body(name: str) -> bytes:
    """What ``/asset/<name>`` serves: a few bytes that say which file they are."""
    return f"/* asset {name} */\n".encode()


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(config or {})

    @app.get("/many")
    def many() -> str:
        for index in range(MANY):
            push_url_for("asset", name=f"style-{index:03d}.css", _as="style")
        return _PAGE.format(title=f"{MANY} pushes")

    @app.get("/mixed")
    def mixed() -> str:
        for name, destination, attributes in MIXED:
            extra = {f"_{key}": value for key, value in attributes.items()}
            push_url_for("asset", name=name, _as=destination, **extra)
        return _PAGE.format(title="preload, nopush, modulepreload and prefetch")

    @app.get("/asset/<name>")
    def asset(name: str) -> Response:
        mimetype = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = Response(asset_body(name), mimetype=mimetype)
        response.cache_control.max_age = 3600
        return response

    PushTemplates(app)
    return app


app = DispatcherMiddleware(create_app(), {UNLIMITED_PREFIX: create_app(UNLIMITED)})
