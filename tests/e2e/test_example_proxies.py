"""example_app behind pushing proxies: Apache mod_http2 and nginx 1.22 (issue #4, part 2).

gunicorn (gthread, HTTP/1.1) serves the app; Apache (``H2Push on``) and nginx
(``http2_push_preload on``) sit in front of it and speak cleartext HTTP/2 with prior
knowledge to ``h2client``, which accepts pushes. What the proxies really do with a
Link header, as observed here (Apache 2.4.71, nginx 1.22.1):

* both push exactly the links with ``rel=preload`` and without ``nopush``, in header
  order, ``as=fetch`` ones included; never ``rel=modulepreload`` nor ``rel=prefetch``;
* nginx pushes at most 10 of them per response (``http2_max_concurrent_pushes``,
  default 10): on /gallery it leaves out the 11th, img/pattern.svg; Apache pushes all;
* both forward the Link header unchanged;
* both answer 502 once upstream headers outgrow their limits (nginx: the 4 KiB default
  ``proxy_buffer_size``; Apache: ``ResponseFieldSize``, 8192 bytes), which is what the
  default ``PUSH_MAX_HEADER_BYTES`` keeps a page with hundreds of pushes from hitting.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

import pytest

from flask_push_templates.settings import DEFAULTS
from tests.linkheader import ParsedLink, parse_link_fields

from . import h2client, many_pushes_app, servers
from .example_servers import HTML_PAGES, example_gunicorn, http_get, static_file
from .servers import RunningServer, require

pytestmark = pytest.mark.e2e

PROXIES = ("apache", "nginx")
#: nginx's default ``http2_max_concurrent_pushes``.
NGINX_MAX_PUSHES = 10
FONT = "/static/fonts/dejavu-serif-bold-subset.woff2"
DEFAULT_MAX_HEADER_BYTES: int = DEFAULTS["PUSH_MAX_HEADER_BYTES"]


@contextlib.contextmanager
def pushing_proxy(proxy: str, upstream: RunningServer) -> Iterator[RunningServer]:
    """Apache or nginx, pushing from Link headers, in front of *upstream*."""
    if proxy == "apache":
        require("apache2")
        with servers.apache_proxy(upstream.port) as front:
            yield front
    else:
        require("nginx")
        with servers.nginx_proxy(upstream.port) as front:
            yield front


def expected_pushes(proxy: str, links: list[ParsedLink]) -> list[str]:
    """The paths *proxy* pushes for a response with *links*, in order."""
    pushable = [link.target for link in links if link.rel == "preload" and not link.has("nopush")]
    return pushable[:NGINX_MAX_PUSHES] if proxy == "nginx" else pushable


@pytest.fixture(scope="module")
def example() -> Iterator[RunningServer]:
    with example_gunicorn() as server:
        yield server


@pytest.fixture(scope="module", params=PROXIES)
def front(request: pytest.FixtureRequest, example: RunningServer) -> Iterator[RunningServer]:
    """One proxy per parameter for the whole module, in front of the example app."""
    with pushing_proxy(request.param, example) as server:
        yield server


@pytest.fixture(scope="module")
def cases() -> Iterator[RunningServer]:
    """tests/e2e/many_pushes_app.py: /many, /mixed and their /unlimited twins."""
    with example_gunicorn("tests.e2e.many_pushes_app:app") as server:
        yield server


def check_pushed_bodies(response: h2client.H2Response) -> None:
    for push in response.pushes:
        assert (push.status, push.reset) == (200, None), push.path
        if push.path.startswith("/static/"):
            assert push.body == static_file(push.path), push.path
        else:  # /api/stats, pushed because the index preloads it as=fetch
            assert push.path == "/api/stats"
            assert ("content-type", "application/json") in push.headers
            assert isinstance(json.loads(push.body), dict)


@pytest.mark.parametrize("path", HTML_PAGES)
def test_proxy_pushes_each_preload_link_of_the_page(
    example: RunningServer, front: RunningServer, path: str
) -> None:
    direct = http_get(example.url(path))
    response = h2client.get(front.url(path))
    assert response.status == 200
    assert response.body.rstrip().endswith(b"</html>")
    assert response.header("link") == direct.header("Link"), "forwarded unchanged"
    links = parse_link_fields(response.header("link"))
    assert links, "every HTML page has links"
    assert response.pushed_paths == expected_pushes(front.name, links)
    check_pushed_bodies(response)


def test_what_each_proxy_pushes_for_the_overview(front: RunningServer) -> None:
    """The overview's header spelled out: module preloads are announced, never pushed."""
    response = h2client.get(front.url("/"))
    links = parse_link_fields(response.header("link"))
    modules = [
        "/static/js/app.mjs",
        "/static/js/lib/link-header.mjs",
        "/static/js/lazy/link-table.mjs",
    ]
    assert [link.target for link in links if link.rel == "modulepreload"] == modules
    assert response.pushed_paths == [
        "/static/css/site.css",
        FONT,
        "/api/stats",
        "/static/img/logo.svg",
        "/static/img/how-it-works.svg",
    ]


def test_gallery_has_eleven_preloads_and_nginx_pushes_ten(front: RunningServer) -> None:
    response = h2client.get(front.url("/gallery"))
    preloads = [link.target for link in parse_link_fields(response.header("link"))]
    assert len(preloads) == 11
    assert preloads[-1] == "/static/img/pattern.svg"
    if front.name == "nginx":
        assert response.pushed_paths == preloads[:10]
    else:
        assert response.pushed_paths == preloads


@pytest.mark.parametrize("proxy", PROXIES)
def test_push_nopush_config_forwards_links_but_stops_pushes(proxy: str) -> None:
    # gunicorn calls the app factory with this literal config.
    app = "example_app:create_app({'PUSH_NOPUSH': True})"
    with example_gunicorn(app) as upstream, pushing_proxy(proxy, upstream) as front:
        for path in HTML_PAGES:
            direct = http_get(upstream.url(path))
            response = h2client.get(front.url(path))
            assert response.status == 200, path
            assert response.header("link") == direct.header("Link"), path
            links = parse_link_fields(response.header("link"))
            assert links and all(link.has("nopush") for link in links), path
            assert response.pushes == [], path


@pytest.mark.parametrize("proxy", PROXIES)
def test_only_preload_without_nopush_is_pushed(cases: RunningServer, proxy: str) -> None:
    with pushing_proxy(proxy, cases) as front:
        response = h2client.get(front.url("/mixed"))
    assert response.status == 200
    links = {link.target: link for link in parse_link_fields(response.header("link"))}
    # One of each kind, as the app's view pushed them.
    assert links["/asset/held.js"].rel == "preload" and links["/asset/held.js"].has("nopush")
    assert links["/asset/module.mjs"].rel == "modulepreload"
    assert links["/asset/next.html"].rel == "prefetch"
    assert response.pushed_paths == ["/asset/pushed.css", "/asset/pushed.png"]
    for push in response.pushes:
        assert (push.status, push.reset) == (200, None)
        assert push.body == many_pushes_app.asset_body(push.path.removeprefix("/asset/"))


@pytest.mark.parametrize("proxy", PROXIES)
def test_hundreds_of_pushes_fit_the_proxy_default_buffers(cases: RunningServer, proxy: str) -> None:
    direct = http_get(cases.url("/many"))
    with pushing_proxy(proxy, cases) as front:
        response = h2client.get(front.url("/many"))
    assert response.status == 200
    assert response.body == direct.body
    (field,) = response.header("link")
    assert len(field.encode("latin-1")) <= DEFAULT_MAX_HEADER_BYTES
    links = parse_link_fields([field])
    # Cut to the budget (the lowest-priority links dropped), and still many.
    assert 10 < len(links) < many_pushes_app.MANY
    assert response.pushed_paths == expected_pushes(proxy, links)
    assert all(push.status == 200 for push in response.pushes)


@pytest.mark.parametrize("proxy", PROXIES)
def test_without_the_header_budget_the_proxies_fail(cases: RunningServer, proxy: str) -> None:
    """Negative control: the same page with the limits lifted breaks both proxies."""
    path = many_pushes_app.UNLIMITED_PREFIX + "/many"
    direct = http_get(cases.url(path))
    assert direct.status == 200
    (field,) = direct.header("Link")
    assert len(parse_link_fields([field])) == many_pushes_app.MANY
    assert len(field) > 8192  # beyond nginx's 4 KiB buffer and Apache's 8 KiB field limit
    with pushing_proxy(proxy, cases) as front:
        response = h2client.get(front.url(path))
    assert response.status == 502
    assert response.pushes == []
