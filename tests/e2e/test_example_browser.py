"""example_app in headless Chromium, through gunicorn (issue #4, part 3).

Every HTML page is loaded over HTTP/1.1 (and the overview once more over TLS HTTP/2,
with a certificate from a throwaway CA that Chromium trusts), each in a fresh browser
context, and then left alone for :data:`browser.DEFAULT_SETTLE` seconds: Chromium says
"preloaded … but not used" about 3 s after the load event. Every file the Link header
names must be fetched exactly once, because of the header, and used.

What Chromium 156 really reports, as observed here:

* ``rel=preload`` from a Link header: Resource Timing ``initiatorType == "link"``;
* ``rel=modulepreload`` from a Link header: the module is fetched at once all the same
  (see the request order below), but Resource Timing says ``"script"``, and Chromium
  never warns about an unused module preload, so the overview's test also checks in
  the page that its modules ran;
* the requests for a page's files go out in the Link header's order, before any other:
  the browser acted on the header before the HTML or a script could name the files.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.linkheader import ParsedLink, parse_link_fields

from . import browser, h2client
from .browser import PageLoad
from .example_servers import HTML_PAGES, example_gunicorn, http_get
from .servers import Pki, RunningServer, require

if TYPE_CHECKING:
    # Only a type: playwright itself is imported lazily by browser.py.
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

#: Resource Timing initiatorType of a file preloaded from the Link header, by rel.
INITIATOR = {"preload": "link", "modulepreload": "script"}


@pytest.fixture(scope="module")
def example() -> Iterator[RunningServer]:
    with example_gunicorn() as server:
        yield server


@pytest.fixture(scope="module")
def example_tls(pki: Pki) -> Iterator[RunningServer]:
    require("h2")
    with example_gunicorn(
        protocol="h2", certfile=pki.server.cert, keyfile=pki.server.key
    ) as server:
        yield server


def check_every_preload_used_once(
    load: PageLoad, server: RunningServer, links: list[ParsedLink]
) -> None:
    assert load.status == 200
    assert links, "every HTML page has links"
    for link in links:
        url = server.url(link.target)
        timing = [entry.initiator_type for entry in load.resource(url)]
        assert timing == [INITIATOR[link.rel or ""]], (link, timing)
        assert [request.status for request in load.requests_for(url)] == [200], link
    assert load.duplicate_requests() == {}
    assert load.preload_warnings() == []
    problems = [entry for entry in load.console if entry.type in {"error", "warning"}]
    assert problems == []
    # Nothing but the announced files, and those in the header's order: every link was
    # acted on as the headers arrived, before the HTML or a script could name its file.
    subresources = [r.url for r in load.requests if r.resource_type != "document"]
    assert subresources == [server.url(link.target) for link in links]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_preload_is_used_once(chromium: Browser, example: RunningServer, path: str) -> None:
    links = http_get(example.url(path)).links
    load = browser.load_page(chromium, example.url(path))
    assert load.navigation_protocol == "http/1.1"
    check_every_preload_used_once(load, example, links)


def test_overview_over_tls_http2_with_a_trusted_certificate(
    chromium: Browser, example_tls: RunningServer
) -> None:
    links = parse_link_fields(h2client.get(example_tls.url("/")).header("link"))
    # No ignore_https_errors: the load only succeeds because Chromium trusts the CA.
    load = browser.load_page(chromium, example_tls.url("/"))
    assert load.navigation_protocol == "h2"
    assert {entry.next_hop_protocol for entry in load.resources} == {"h2"}
    check_every_preload_used_once(load, example_tls, links)


def test_the_preloaded_scripts_ran(chromium: Browser, example: RunningServer) -> None:
    """Module preloads get no "unused" warning, so look at what the scripts did."""
    overview_links = http_get(example.url("/")).links
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(example.url("/"), wait_until="load")
        # app.mjs read the header with lib/link-header.mjs and import()ed
        # lazy/link-table.mjs, which writes one row per link; each row says "yes" once
        # Resource Timing has the file.
        page.wait_for_function(
            "n => document.querySelectorAll('#link-table td.fetched-yes').length === n",
            arg=len(overview_links),
            timeout=5000,
        )
        # ...and app.mjs fetch()ed the preloaded /api/stats.
        page.wait_for_function(
            "() => document.getElementById('stats-text').textContent.startsWith('Since')",
            timeout=5000,
        )
        page.goto(example.url("/legacy"), wait_until="load")
        assert page.get_attribute("#legacy-status", "data-status") == "ran"
    finally:
        context.close()
