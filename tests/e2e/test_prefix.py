"""example_app under a mount prefix: gunicorn 27 with ``SCRIPT_NAME=/shop`` (issue 12).

Served over TLS HTTP/2 with 103 Early Hints on (tests/e2e/prefix_wsgi.py), as a proxy
that forwards ``/shop/`` to the app would have it served:

* every target of every page's ``Link`` header and 103 is under ``/shop/`` and answers
  200 through the same gunicorn (manifest paths included: the app's ``PUSH_MANIFEST``,
  example_app's flask-http2-push manifest of ``/legacy``);
* Chromium, trusting the test CA, requests each file of each page once, and none 404s;
* flask-http2-push's README manifest, on a view of its own, lands under ``/shop/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.linkheader import ParsedLink, parse_link_fields
from tests.test_decorator import README_MANIFEST

from . import browser, h2client
from .example_servers import HTML_PAGES, example_gunicorn
from .servers import Pki, RunningServer, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

PREFIX = "/shop"
#: What a browser's navigation sends: the 103 goes to (and is learned from) navigations.
NAVIGATION = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]


@pytest.fixture(scope="module")
def shop(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    require("h2")
    manifest = tmp_path_factory.mktemp("prefix") / "push_manifest.json"
    manifest.write_text(json.dumps(README_MANIFEST), encoding="utf-8")
    with example_gunicorn(
        "tests.e2e.prefix_wsgi:app",
        protocol="h2",
        certfile=pki.server.cert,
        keyfile=pki.server.key,
        env={"SCRIPT_NAME": PREFIX, "PREFIX_README_MANIFEST": str(manifest)},
    ) as server:
        yield server


def header_and_hint(server: RunningServer, path: str) -> tuple[list[ParsedLink], list[ParsedLink]]:
    """The final ``Link`` header and the 103's links of a navigation to *path*, each read
    by the strict parser; the page is requested once before, for the worker to learn
    which templates it renders."""
    h2client.get(server.url(path), headers=NAVIGATION)
    response = h2client.get(server.url(path), headers=NAVIGATION)
    assert response.status == 200, path
    hints = [info for info in response.informational if info.status == 103]
    assert len(hints) == 1, path
    hinted = parse_link_fields([value for name, value in hints[0].headers if name == "link"])
    return parse_link_fields(response.header("link")), hinted


def test_every_link_and_hint_of_every_page_answers_200_under_the_prefix(
    shop: RunningServer,
) -> None:
    for path in HTML_PAGES:
        header, hint = header_and_hint(shop, PREFIX + path)
        assert header and hint, path
        targets = {link.target for link in [*header, *hint]}
        assert {link.target for link in hint} <= {link.target for link in header}, path
        for target in sorted(targets):
            assert target.startswith(PREFIX + "/"), (path, target)
            assert h2client.get(shop.url(target)).status == 200, (path, target)
        if path == "/legacy":  # example_app's flask-http2-push manifest: app paths
            assert {f"{PREFIX}/static/css/legacy.css", f"{PREFIX}/static/js/legacy.js"} <= targets


@pytest.mark.parametrize("path", HTML_PAGES)
def test_chromium_fetches_each_file_once_under_the_prefix(
    chromium: Browser, shop: RunningServer, path: str
) -> None:
    header, _ = header_and_hint(shop, PREFIX + path)
    # Long enough for the page's own requests; a duplicate would be one of them.
    load = browser.load_page(chromium, shop.url(PREFIX + path), settle=1.0)
    assert (load.status, load.navigation_protocol) == (200, "h2")
    assert load.duplicate_requests() == {}
    assert [(r.url, r.status) for r in load.requests if r.status != 200] == []
    for link in header:
        assert [r.status for r in load.requests_for(shop.url(link.target))] == [200], link


def test_flask_http2_push_readme_manifest_lands_under_the_script_root(
    shop: RunningServer,
) -> None:
    response = h2client.get(shop.url(PREFIX + "/http2push-readme"))
    assert response.status == 200
    targets = {link.target for link in parse_link_fields(response.header("link"))}
    # With example_app's PUSH_MANIFEST, which names a font for every page.
    assert targets - {PREFIX + path for path in README_MANIFEST} == {
        f"{PREFIX}/static/fonts/dejavu-serif-bold-subset.woff2"
    }
