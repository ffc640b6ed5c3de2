"""What the example_app end-to-end modules share: how to serve it, and how to ask it.

Each of ``test_example_gunicorn``, ``test_example_proxies`` and ``test_example_browser``
starts its own gunicorn (module-scoped) with :func:`example_gunicorn`; the apps are run
from the repository root, so the tree under test is what gunicorn imports.
"""

from __future__ import annotations

import contextlib
import http.client
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from tests.linkheader import ParsedLink, parse_link_fields

from . import servers
from .servers import Protocol, RunningServer, require

REPO = Path(__file__).resolve().parents[2]
STATIC = REPO / "example_app" / "static"
EXAMPLE_APP = "example_app:app"
#: Every HTML page of example_app (the ones with a Link header).
HTML_PAGES = ("/", "/gallery", "/gallery?lightbox=0", "/legacy", "/report")


@contextlib.contextmanager
def example_gunicorn(
    app: str = EXAMPLE_APP,
    *,
    protocol: Protocol = "h1",
    certfile: Path | None = None,
    keyfile: Path | None = None,
    extra_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Iterator[RunningServer]:
    """Serve *app* from the repository root with gunicorn's gthread worker (4 threads),
    with *env* added to its environment (``SCRIPT_NAME`` for a mount prefix).

    gthread, so that a proxy can fetch a page and its pushes in parallel (and because
    gunicorn speaks HTTP/2 only with it). See :func:`servers.gunicorn_server`.
    """
    require("gunicorn")
    with servers.gunicorn_server(
        app,
        cwd=REPO,
        pythonpath=[REPO],
        worker_class="gthread",
        threads=4,
        protocol=protocol,
        certfile=certfile,
        keyfile=keyfile,
        extra_args=extra_args,
        env=env,
    ) as server:
        yield server


@dataclass(frozen=True)
class Fetched:
    """One HTTP/1.1 response, read to the end."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        """All values of header *name* (case-insensitive), in order."""
        return [value for key, value in self.headers if key.lower() == name.lower()]

    @property
    def links(self) -> list[ParsedLink]:
        """The Link fields read by the strict RFC 8288 parser (raises if malformed)."""
        return parse_link_fields(self.header("Link"))

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http_get(url: str, *, method: str = "GET") -> Fetched:
    """*method* *url* over a fresh HTTP/1.1 connection (no redirects, no decoding)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None, url
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, target)
        response = connection.getresponse()
        body = response.read()
        assert response.version == 11, "expected an HTTP/1.1 response"
        return Fetched(response.status, response.getheaders(), body)
    finally:
        connection.close()


def static_file(url_path: str) -> bytes:
    """The bytes on disk behind example_app's ``/static/...`` *url_path*."""
    assert url_path.startswith("/static/"), url_path
    path = (STATIC / url_path.removeprefix("/static/")).resolve()
    assert path.is_relative_to(STATIC), url_path
    return path.read_bytes()
