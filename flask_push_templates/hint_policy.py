"""Which requests get a 103 Early Hint, and which responses teach the learner.

Only ``GET`` requests that may be top-level navigations (Fetch Metadata), over a protocol
in ``PUSH_EARLY_HINTS_PROTOCOLS``, to endpoints that do not serve static files. The
reasons are in :mod:`.early_hints`.
"""

from __future__ import annotations

import fnmatch
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
