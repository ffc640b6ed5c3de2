"""Which requests get a 103 Early Hint, and which responses teach the learner.

Only ``GET`` requests that may be top-level navigations (Fetch Metadata), over a protocol
in ``PUSH_EARLY_HINTS_PROTOCOLS``, to endpoints that do not serve static files. The
reasons are in :mod:`.early_hints`.

Requests are also told apart by whether they carry credentials
(:func:`carries_credentials`): a request without any is hinted only what pages served to
requests without any rendered (:mod:`.learning`), so that a 103, which leaves before
authentication runs, cannot name what only a logged-in visitor's page needed.
"""

from __future__ import annotations

import fnmatch
import functools
import re
from collections.abc import Mapping
from typing import Any

from flask import Flask, Request
from werkzeug.datastructures import Headers

from .settings import Settings

_PROTOCOL = re.compile(r"HTTP/(\d+)(?:\.(\d+))?")


def request_protocol(environ: Mapping[str, Any]) -> str | None:
    """``"HTTP/1.0"``, ``"HTTP/1.1"``, ``"HTTP/2"``... from ``SERVER_PROTOCOL``, or ``None``.

    gunicorn says ``HTTP/2.0`` for HTTP/2; from version 2 on there are no minor versions.
    """
    match = _PROTOCOL.fullmatch(str(environ.get("SERVER_PROTOCOL", "")).strip().upper())
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return f"HTTP/{major}" if major >= 2 else f"HTTP/{major}.{minor}"


def may_be_navigation(headers: Headers) -> bool:
    """Whether the request may be a top-level navigation, as Fetch Metadata tells.

    Clients that send no ``Sec-Fetch-*`` headers (older browsers, curl) may be navigating.
    """
    mode = headers.get("Sec-Fetch-Mode")
    dest = headers.get("Sec-Fetch-Dest")
    return (mode is None or mode == "navigate") and (dest is None or dest == "document")


def may_be_page_request(req: Request, settings: Settings) -> bool:
    """Whether ``req`` may be what hints are for (and learned from): a navigation by GET."""
    return req.method == "GET" and (
        not settings.early_hints_navigations_only or may_be_navigation(req.headers)
    )


def wants_hints(req: Request, settings: Settings) -> bool:
    """Whether the policy lets ``req`` have a 103 (the server's support aside)."""
    return (
        settings.enabled
        and settings.early_hints
        and request_protocol(req.environ) in settings.early_hints_protocols
        and may_be_page_request(req, settings)
    )


def carries_credentials(environ: Mapping[str, Any], settings: Settings) -> bool:
    """Whether the request carries what could authenticate it: an ``Authorization``
    header, a user the server authenticated (``REMOTE_USER``), or any cookie other than
    the extension's own push-once cookie.

    Any other cookie counts, whatever it is (a session of an anonymous visitor, an
    analytics cookie): the app alone knows which cookies log in, and a false "carries
    credentials" only moves a visitor to the other kind of request, while a false "carries
    none" could hint a logged-in page's assets to an anonymous visitor. The push-once cookie
    (with ``PUSH_ONCE`` on) is not a credential: it is set to anonymous visitors too, and
    counting it would move each of them to the logged-in kind after their first page. A
    cookie field counts as push once's only in the exact form push once writes
    (``NAME=1.`` and base64url), so that fields a server joined with commas (gunicorn does
    with HTTP/2's cookie crumbs) or anything added to the value still count.
    """
    if environ.get("HTTP_AUTHORIZATION") is not None or environ.get("REMOTE_USER"):
        return True
    cookies = environ.get("HTTP_COOKIE")
    if not cookies:
        return False
    own = _push_once_field(settings.push_once_cookie) if settings.push_once else None
    return any(
        field.strip() and (own is None or own.fullmatch(field) is None)
        for field in cookies.split(";")
    )


@functools.lru_cache(maxsize=8)
def _push_once_field(name: str) -> re.Pattern[str]:
    """One ``;``-separated field of a ``Cookie`` header that is only the push-once cookie."""
    return re.compile(rf"[ \t]*{re.escape(name)}=1\.[A-Za-z0-9_-]*[ \t]*")


def serves_files(app: Flask, settings: Settings, endpoint: str) -> bool:
    """Whether ``endpoint`` serves static files (the app's or a blueprint's): never pages.

    Without this, the first request for each asset would get a 103 naming the manifests,
    which a proxy pushing the hinted assets (Apache's H2EarlyHints) would then relay.
    """
    view = app.view_functions.get(endpoint)
    return endpoint == settings.static_endpoint or getattr(view, "__name__", "") == (
        "send_static_file"
    )


def excluded(settings: Settings, endpoint: str) -> bool:
    """Whether ``PUSH_EARLY_HINTS_EXCLUDE`` excludes ``endpoint`` (names or ``fnmatch``
    patterns such as ``"admin.*"``, case-sensitive)."""
    return any(fnmatch.fnmatchcase(endpoint, pattern) for pattern in settings.early_hints_exclude)
