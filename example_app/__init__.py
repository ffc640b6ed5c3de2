"""A small multi-page site that shows every feature of Flask-Push-Templates.

Run it from the repository root with ``flask --app example_app run``; the end-to-end tests
serve the same ``app`` with gunicorn, behind Apache and nginx, and load it in Chromium.
The overview page (``/``) lists the pages and what each demonstrates.

Environment variables:

``EXAMPLE_APP_DELAY``
    Seconds every view sleeps before it renders (default 0), to measure what 103 Early
    Hints and preloading gain when the server is slow. ``?delay=0.3`` does the same for
    one request.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from flask_push_templates import PushTemplates

from .reporting import install_reporting
from .views import MAX_DELAY, register_views

# Browsers refuse a module script served with a non-JavaScript type, and Python only knows
# .mjs and .woff2 from the host's /etc/mime.types, which slim container images lack.
mimetypes.add_type("text/javascript", ".mjs")
mimetypes.add_type("font/woff2", ".woff2")


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the demo app; ``config`` overrides the defaults (tests pass ``TESTING`` etc.)."""
    app = Flask(__name__)
    app.config.update(
        # Flask's default (no max-age) makes the browser revalidate every static file it
        # was told to preload; a real lifetime lets the preloaded copy simply be used.
        SEND_FILE_MAX_AGE_DEFAULT=3600,
        # The app-wide manifest: entries for every page, and groups by template name.
        PUSH_MANIFEST="push_manifest.json",
        EXAMPLE_DELAY=_delay_from_environment(),
    )
    if config is not None:
        app.config.update(config)

    # Order matters twice here. Views first, so that init_app finds the @http2push view
    # and validates its manifest at start-up rather than on the first request. And Flask
    # runs after_request hooks in reverse order of registration: the reporting hooks are
    # registered before PushTemplates so that they run after it, once the Link header is set.
    register_views(app)
    install_reporting(app)
    PushTemplates(app)
    return app


def _delay_from_environment() -> float:
    raw = os.environ.get("EXAMPLE_APP_DELAY", "").strip()
    if not raw:
        return 0.0
    try:
        delay = float(raw)
    except ValueError:
        raise ValueError(f"EXAMPLE_APP_DELAY must be a number of seconds, not {raw!r}") from None
    if not 0 <= delay <= MAX_DELAY:
        raise ValueError(f"EXAMPLE_APP_DELAY must be between 0 and {MAX_DELAY}, not {raw!r}")
    return delay


app = create_app()
