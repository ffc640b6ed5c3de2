"""example_app configured from the environment, for gunicorn in the page-load benchmark.

``BENCH_APP_CONFIG``: a JSON object of Flask config keys passed to
``example_app.create_app`` (``{"PUSH_EARLY_HINTS": true}``, ...).

``BENCH_APP_HAND_WRITTEN_103``: if set, the ``Link`` value of a ``103 Early Hints`` that a
small WSGI middleware sends, by hand, to every navigation of ``/`` before the app runs:
the page-specific reference that the extension is measured against.

Served as ``gunicorn tests.benchmarks.bench_app:app`` from the repository root.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from example_app import create_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


class HandWrittenEarlyHints:
    """Send one fixed 103 to HTTP/2 navigations of ``path``, then run the app."""

    def __init__(self, wsgi_app: WSGIApplication, path: str, link: str) -> None:
        self.wsgi_app = wsgi_app
        self.path = path
        self.link = link

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        send: Any = environ.get("wsgi.early_hints")
        if (
            send is not None
            and environ.get("PATH_INFO") == self.path
            and environ.get("HTTP_SEC_FETCH_MODE") == "navigate"
        ):
            send([("Link", self.link)])
        return self.wsgi_app(environ, start_response)


app = create_app(json.loads(os.environ.get("BENCH_APP_CONFIG", "{}")))
_hand_written = os.environ.get("BENCH_APP_HAND_WRITTEN_103", "").strip()
if _hand_written:
    app.wsgi_app = HandWrittenEarlyHints(app.wsgi_app, "/", _hand_written)  # type: ignore[method-assign]
