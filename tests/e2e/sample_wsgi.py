"""A tiny throwaway WSGI app that the infrastructure tests serve.

Plain WSGI with no dependency on the package under test, so a failure here
points at the test infrastructure, not at flask_push_templates.  Run it as
``gunicorn sample_wsgi:app`` from this directory.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

# b.js carries nopush: proxies must forward the hint but not push the file.
LINK = "</static/a.css>; rel=preload; as=style, </static/b.js>; rel=preload; as=script; nopush"
EARLY_HINT_LINK = "</static/a.css>; rel=preload; as=style"
EARLY_HINTS_DELAY = 0.4  # seconds the /early-hints view "thinks" after its 103

_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>e2e sample</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/static/a.css">
<script src="/static/b.js" defer></script>
</head><body><p>sample page</p></body></html>
"""
# Preloads c.css but never uses it: Chromium must warn about it.
_UNUSED_PRELOAD_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>unused preload</title>
<link rel="icon" href="data:,"></head><body><p>nothing uses c.css</p></body></html>
"""
# Preloads b.js in CORS mode but loads it without crossorigin: the preload
# cannot be reused and Chromium fetches b.js twice.
_MISMATCHED_PRELOAD_PAGE = b"""<!doctype html>
<html><head><meta charset="utf-8"><title>mismatched preload</title>
<link rel="icon" href="data:,"><script src="/static/b.js"></script>
</head><body><p>the preload of b.js is not reused</p></body></html>
"""
_STATIC = {
    "/static/a.css": ("text/css; charset=utf-8", b"p { color: rgb(1, 2, 3); }\n"),
    "/static/b.js": (
        "text/javascript; charset=utf-8",
        b"document.documentElement.dataset.scriptRan = 'yes';\n",
    ),
    "/static/c.css": ("text/css; charset=utf-8", b"p { margin: 0; }\n"),
}
_HTML = "text/html; charset=utf-8"


def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if path == "/":
        return _respond(start_response, "200 OK", _HTML, _PAGE, [("Link", LINK)])
    if path == "/unused-preload":
        link = "</static/c.css>; rel=preload; as=style"
        return _respond(start_response, "200 OK", _HTML, _UNUSED_PRELOAD_PAGE, [("Link", link)])
    if path == "/mismatched-preload":
        link = "</static/b.js>; rel=preload; as=script; crossorigin"
        return _respond(start_response, "200 OK", _HTML, _MISMATCHED_PRELOAD_PAGE, [("Link", link)])
    if path == "/early-hints":
        # ?before=SECONDS delays the 103 itself.  On bare loopback a 103 can
        # reach Chromium before it has finished sending the request, and
        # Chromium then drops it; real network latency never allows that.
        before = parse_qs(environ.get("QUERY_STRING", "")).get("before", ["0"])[0]
        time.sleep(float(before))
        # gunicorn >= 25 offers this callable; it sends "103 Early Hints" at
        # once, before the slow part of the view, which is the whole point.
        send_hints = environ.get("wsgi.early_hints")
        if send_hints is not None:
            send_hints([("Link", EARLY_HINT_LINK)])
        time.sleep(EARLY_HINTS_DELAY)
        return _respond(start_response, "200 OK", _HTML, _PAGE, [("Link", EARLY_HINT_LINK)])
    if path in _STATIC:
        content_type, body = _STATIC[path]
        # A cache lifetime, as a real deployment would set: with no-cache the
        # browser revalidates preloaded files and the test would see extra
        # requests that are not duplicates.
        return _respond(
            start_response, "200 OK", content_type, body, [("Cache-Control", "max-age=3600")]
        )
    return _respond(start_response, "404 Not Found", "text/plain", b"not found\n", [])


def _respond(
    start_response: StartResponse,
    status: str,
    content_type: str,
    body: bytes,
    headers: list[tuple[str, str]],
) -> list[bytes]:
    base = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    if content_type == _HTML:
        # Pages are always fetched afresh, so each load shows the full flow.
        base.append(("Cache-Control", "no-store"))
    start_response(status, base + headers)
    return [body]
