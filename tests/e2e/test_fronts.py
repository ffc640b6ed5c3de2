"""example_app behind fronts that serve static files and relay 103 Early Hints (issue #17).

gunicorn 27 (gthread, HTTP/1.1) runs example_app with ``PUSH_EARLY_HINTS`` on and
``PUSH_EARLY_HINTS_PROTOCOLS`` including HTTP/1.1, because that is what a front speaks to
it. Caddy 2.6 and Apache 2.4 (mod_http2) run the configuration files under
``tests/e2e/fronts/`` unchanged (see :mod:`fronts`): each answers ``/static/`` from disk
itself, proxies the rest to gunicorn and talks HTTP/2 over TLS to Chromium, whose trust
in the server certificate comes from a throwaway CA (without it Chromium does not reuse
what a 103 preloaded).

What the tests hold each front to, as observed here (Caddy 2.6.2, Apache 2.4.71,
Chromium 156):

* the 103 reaches Chromium over HTTP/2 and names exactly what gunicorn's own 103 named
  (read straight from gunicorn over HTTP/1.1), and Chromium takes every one of those
  files from the 103 (Resource Timing ``initiatorType == "early-hints"``);
* no file is requested twice, neither by the browser nor at the front's access log;
* every static file is served by the front: gunicorn's access log shows only the page
  and the ``/api/stats`` JSON;
* each front reaches gunicorn through :mod:`delay_proxy`, with a 20 ms round trip
  (:data:`~.delay_proxy.HINT_SAFE_RTT`, an app server in the next zone), because
  Chromium 156 loses a 103 that comes back faster than it gets ready for it. On bare
  loopback that lost the 103 in 18 of 64 loads through Caddy in fresh browsers, and
  failed this test about once in three runs; with the delay, 60 of 60 loads (30 per
  front) used it. It sits behind the front, so that Chromium still talks to the front's
  own host and port (Caddy logs only requests for those).
* HTTP/3 works on loopback too, with Caddy (which listens for QUIC on the same port by
  default): Chromium started with ``--origin-to-force-quic-on`` (and without
  ``--disable-quic``) gets the 103 over HTTP/3 and uses it, once the Caddyfile names a
  ``default_sni``; without it Caddy closes the QUIC handshake with TLS alert 80
  (``internal_error``; Chromium's net-log: wire error 0x150) for a client that sends
  no server name, as browsers do for an IP address.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.linkheader import parse_link_fields

from . import browser, fronts
from .delay_proxy import HINT_SAFE_RTT, delaying_proxy
from .example_servers import REPO, example_gunicorn
from .servers import LOOPBACK, Pki, RunningServer, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

#: example_app hinting HTTP/1.1 requests too: the fronts speak HTTP/1.1 to gunicorn.
HINTING_APP = (
    "example_app:create_app({'PUSH_EARLY_HINTS': True, "
    "'PUSH_EARLY_HINTS_PROTOCOLS': ['HTTP/1.1', 'HTTP/2']})"
)
#: The view sleeps this long, so the 103 leads the page by a clear margin.
PAGE = "/?delay=0.3"
#: The page's files that a 103 can name and that the page then uses.
EXPECTED_HINTS = {
    "/static/css/site.css",
    "/static/fonts/dejavu-serif-bold-subset.woff2",
    "/static/js/app.mjs",
    "/static/js/lib/link-header.mjs",
    "/static/js/lazy/link-table.mjs",
    "/static/img/logo.svg",
}
NAVIGATION_HEADERS = "Sec-Fetch-Mode: navigate\r\nSec-Fetch-Dest: document\r\n"


def gunicorn_103_targets(server: RunningServer, path: str) -> list[str]:
    """The targets of the 103 gunicorn itself sends for a navigation to *path* (HTTP/1.1).

    Raw bytes, because http.client and httpx drop 1xx responses.
    """
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {LOOPBACK}:{server.port}\r\n{NAVIGATION_HEADERS}"
        "Connection: close\r\n\r\n"
    )
    data = b""
    with socket.create_connection((LOOPBACK, server.port), timeout=10) as sock:
        sock.sendall(request.encode("ascii"))
        while chunk := sock.recv(65536):
            data += chunk
    head, _, _ = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0].startswith("HTTP/1.1 103"), lines[0]
    fields = [
        line.split(":", 1)[1].strip() for line in lines[1:] if line.lower().startswith("link:")
    ]
    return [link.target for link in parse_link_fields(fields)]


def learned_103_targets(server: RunningServer) -> list[str]:
    """What gunicorn's 103 for :data:`PAGE` names once the worker has learned the page.

    The first request of an endpoint teaches the worker its templates; from the second
    on, every navigation gets this prediction.
    """
    gunicorn_103_targets(server, PAGE)
    return gunicorn_103_targets(server, PAGE)


def gunicorn_requests(server: RunningServer) -> Counter[str]:
    """Request targets in gunicorn's access log (its default format: "GET /path HTTP/1.1")."""
    return Counter(
        line.split('"GET ', 1)[1].split(" ", 1)[0]
        for line in server.log().splitlines()
        if '"GET ' in line
    )


def check_the_103_was_used(
    load: browser.PageLoad, front: fronts.Front, predicted: list[str], protocol: str
) -> None:
    """One 103 with the *predicted* targets reached Chromium, which used every one once."""
    assert load.status == 200
    assert load.navigation_protocol == protocol
    assert {entry.next_hop_protocol for entry in load.resources} == {protocol}
    [hint] = load.early_hints
    assert [link.target for link in parse_link_fields(hint.splitlines())] == predicted
    for target in predicted:
        timing = [entry.initiator_type for entry in load.resource(front.url(target))]
        assert timing == ["early-hints"], (target, timing)
    assert load.duplicate_requests() == {}


@pytest.fixture(scope="module")
def upstream() -> Iterator[RunningServer]:
    with example_gunicorn(HINTING_APP) as server:
        yield server


@pytest.fixture(scope="module", params=fronts.FRONTS)
def front(
    request: pytest.FixtureRequest, upstream: RunningServer, pki: Pki
) -> Iterator[fronts.Front]:
    require("caddy" if request.param == "caddy" else "apache2")
    with (
        delaying_proxy(upstream.port, HINT_SAFE_RTT) as link,
        fronts.front(request.param, link.port, REPO / "example_app", pki.server) as running,
    ):
        yield running


def test_the_fronts_relay_gunicorns_103_and_serve_the_static_files(
    chromium: Browser, upstream: RunningServer, front: fronts.Front
) -> None:
    predicted = learned_103_targets(upstream)
    assert set(predicted) == EXPECTED_HINTS
    before_front, before_app = front.requests(), gunicorn_requests(upstream)

    load = browser.load_page(chromium, front.url(PAGE), settle=1.0)

    check_the_103_was_used(load, front, predicted, "h2")
    # Nothing fetched twice at the front's end either.
    at_front = front.requests() - before_front
    assert at_front and max(at_front.values()) == 1, at_front
    assert load.preload_warnings() == []
    # The front served every static file; gunicorn only the page and its JSON.
    static = {target for target in at_front if target.startswith("/static/")}
    assert static >= EXPECTED_HINTS
    assert gunicorn_requests(upstream) - before_app == Counter({PAGE: 1, "/api/stats": 1})


def test_the_front_speaks_http11_to_gunicorn_and_http2_to_the_browser(
    chromium: Browser, upstream: RunningServer, front: fronts.Front
) -> None:
    """Why PUSH_EARLY_HINTS_PROTOCOLS must include HTTP/1.1 behind these fronts."""
    before = len(front.requests_with_protocol())
    browser.load_page(chromium, front.url("/"), settle=0.5)
    protocols = {protocol for _target, protocol in front.requests_with_protocol()[before:]}
    assert protocols == {"HTTP/2.0"}
    assert '"GET / HTTP/1.1"' in upstream.log()


def test_caddy_relays_the_103_over_http3(
    chromium: Browser, upstream: RunningServer, pki: Pki
) -> None:
    """HTTP/3 on loopback: Chromium told to use QUIC for Caddy's origin from the start.

    Caddy listens for QUIC on the same port (UDP) by default; ``default_sni`` in the
    Caddyfile is what makes the handshake succeed for a client that sends no server name.
    """
    require("caddy")
    predicted = learned_103_targets(upstream)
    with (
        fronts.front("caddy", upstream.port, REPO / "example_app", pki.server) as caddy,
        browser.relaunch(
            chromium.browser_type, home=pki.home, quic_origins=[f"{LOOPBACK}:{caddy.port}"]
        ) as quic,
    ):
        load = browser.load_page(quic, caddy.url(PAGE), settle=1.0)
        logged = caddy.requests_with_protocol()
    # Straight to gunicorn: over HTTP/3 on bare loopback no 103 was lost (30 loads in 30
    # fresh browsers all used it).
    check_the_103_was_used(load, caddy, predicted, "h3")
    assert {protocol for _target, protocol in logged} == {"HTTP/3.0"}
