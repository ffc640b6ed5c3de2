"""example_app served by a real gunicorn (gthread), read over HTTP/1.1 (issue #4, part 1).

For every HTML page the Link header must parse under the strict RFC 8288 parser and name
exactly the files the page uses, each in the form the page uses it in. What a page uses is
worked out here from what the server sent, not from the app's code: the page's HTML
(``read_page`` from ``tests/test_example_app.py``: ``<link rel=stylesheet>``,
``<script>``, ``<img>``, ``data-fetch``), then, fetched from the same gunicorn, the
``url()`` references of its stylesheets (fonts inside ``@font-face``, images elsewhere) and
the static ``import`` / dynamic ``import()`` of its scripts, followed transitively.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest

from tests.linkheader import ParsedLink
from tests.test_example_app import FONT_TYPES, LINK_FORM, Use, read_page

from .example_servers import HTML_PAGES, REPO, STATIC, Fetched, example_gunicorn, http_get
from .servers import RunningServer

pytestmark = pytest.mark.e2e

TEMPLATES = REPO / "example_app" / "templates"
APP_MANIFEST = REPO / "example_app" / "push_manifest.json"
#: Every parameter a link of example_app may carry.
KNOWN_PARAMS = {"rel", "as", "crossorigin", "type", "fetchpriority"}

_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
_FONT_FACE = re.compile(r"@font-face\s*\{[^}]*\}", re.S)
_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.S)
# `import x from '…'`, `import '…'`, `export … from '…'` and `import('…')`, with a
# relative or root-relative specifier (bare specifiers would need an import map).
_JS_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["']((?:\.{1,2})?/[^"']+)["']""")
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.S)
_PUSH_TAG = re.compile(r"""\{%-?\s*push\s+'([^']+)'""")
_TEMPLATE_REF = re.compile(r"""\{%-?\s*(?:extends|include)\s+["']([^"']+)["']""")


@pytest.fixture(scope="module")
def example() -> Iterator[RunningServer]:
    with example_gunicorn() as server:
        yield server


@dataclass(frozen=True)
class Observed:
    """A page as gunicorn served it, and what it uses."""

    page: Fetched
    links: list[ParsedLink]
    uses: dict[str, Use]


@pytest.fixture(scope="module")
def observe(example: RunningServer) -> dict[str, Observed]:
    """path -> Observed, fetched on first use and kept for the module."""
    return _ObservedPages(example)


class _ObservedPages(dict[str, Observed]):
    def __init__(self, server: RunningServer) -> None:
        super().__init__()
        self.server = server

    def __missing__(self, path: str) -> Observed:
        page = http_get(self.server.url(path))
        assert page.status == 200, (path, page.status, page.text[:500])
        observed = Observed(page, page.links, uses_of(self.server, page))
        self[path] = observed
        return observed


def uses_of(server: RunningServer, page: Fetched) -> dict[str, Use]:
    """URL -> how the page uses it: its HTML, then its CSS and JS, followed transitively."""
    uses = dict(read_page(page.text).uses)
    pending = list(uses.items())
    while pending:
        url, use = pending.pop()
        if use.destination not in {"style", "script", "module"}:
            continue
        asset = http_get(server.url(url))
        assert asset.status == 200, (url, asset.status)
        source = asset.text
        found: list[tuple[str, Use]] = []
        if use.destination == "style":
            source = _CSS_COMMENT.sub("", source)
            fonts = {
                ref for face in _FONT_FACE.findall(source) for _, ref in _CSS_URL.findall(face)
            }
            for _, ref in _CSS_URL.findall(source):
                # Fonts are always fetched in CORS mode; CSS images are not.
                found.append((ref, Use("font", True) if ref in fonts else Use("image", False)))
        else:
            found = [(ref, Use("module", True)) for ref in _JS_IMPORT.findall(source)]
        for ref, found_use in found:
            target = urljoin(url, ref)
            parts = urlsplit(target)
            if parts.scheme or parts.netloc:  # data: URIs, other origins: not ours to push
                continue
            if target not in uses:
                uses[target] = found_use
                pending.append((target, found_use))
    return uses


@pytest.mark.parametrize("path", HTML_PAGES)
def test_link_header_lists_exactly_what_the_page_uses(
    observe: dict[str, Observed], path: str
) -> None:
    observed = observe[path]
    page = observed.page
    assert page.header("Content-Type") == ["text/html; charset=utf-8"]
    assert len(page.header("Link")) == 1, "one Link field per response"
    targets = [link.target for link in observed.links]
    assert len(targets) == len(set(targets)), f"a file is announced twice: {targets}"
    missing = set(observed.uses) - set(targets)
    unused = set(targets) - set(observed.uses)
    assert (missing, unused) == (set(), set()), "Link header != what the page uses"


@pytest.mark.parametrize("path", HTML_PAGES)
def test_each_link_matches_how_the_page_uses_the_file(
    observe: dict[str, Observed], path: str
) -> None:
    observed = observe[path]
    for link in observed.links:
        use = observed.uses[link.target]
        rel, as_value, _ = LINK_FORM[use.destination]
        assert (link.rel, link.get("as"), link.has("as")) == (
            rel,
            as_value,
            as_value is not None,
        ), link
        # A preload in another fetch mode than the page's is not reused (fetched twice).
        assert link.has("crossorigin") == use.cors, link
        if use.cors:
            assert link.get("crossorigin") is None, f"expected a bare crossorigin: {link}"
        if use.destination == "font":
            assert link.get("type") == FONT_TYPES[os.path.splitext(link.target)[1]], link
        else:
            assert not link.has("type"), link
        assert not link.has("nopush"), link
        assert {name for name, _ in link.params} <= KNOWN_PARAMS, link


@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_linked_file_is_served_and_static_ones_are_cacheable(
    example: RunningServer, observe: dict[str, Observed], path: str
) -> None:
    for link in observe[path].links:
        response = http_get(example.url(link.target))
        assert response.status == 200, link
        if link.target.startswith("/static/"):
            # Without a lifetime the browser revalidates what it was told to preload.
            cache_control = ", ".join(response.header("Cache-Control"))
            assert "max-age=3600" in cache_control, (link.target, cache_control)
            assert "no-cache" not in cache_control, (link.target, cache_control)


def test_json_endpoint_has_no_link_header(example: RunningServer) -> None:
    response = http_get(example.url("/api/stats"))
    assert response.status == 200
    assert response.header("Content-Type") == ["application/json"]
    assert response.header("Link") == []
    assert isinstance(json.loads(response.body), dict)


def test_not_found_has_no_link_header(example: RunningServer) -> None:
    response = http_get(example.url("/no/such/page"))
    assert response.status == 404
    assert response.header("Link") == []
    # The 404 page renders base.html and its pushes all the same: only 2xx get a header.
    assert "<h1>Not found</h1>" in response.text
    assert "/static/css/site.css" in read_page(response.text).uses


def test_streamed_report_is_complete_and_announces_its_constant_pushes(
    observe: dict[str, Observed],
) -> None:
    page = observe["/report"].page
    # Streamed: gunicorn could not know the length, so HTTP/1.1 chunked encoding.
    assert page.header("Content-Length") == []
    assert page.header("Transfer-Encoding") == ["chunked"]
    body = page.text
    assert body.rstrip().endswith("</html>")
    files = sorted(
        os.path.relpath(os.path.join(folder, name), STATIC).replace(os.sep, "/")
        for folder, _, names in os.walk(STATIC)
        for name in names
    )
    assert sorted(re.findall(r'<tr><td><a href="/static/([^"]+)">', body)) == files
    total = sum((STATIC / name).stat().st_size for name in files)
    assert f"End of report: {len(files)} files, {total} bytes." in body
    # Its headers left before the template ran: they can only carry the {% push %} tags
    # with constant arguments of its templates, and the app manifest's entries for them.
    announced = [link.target for link in observe["/report"].links]
    assert sorted(announced) == sorted(constant_pushes("report.html"))


def constant_pushes(template: str) -> set[str]:
    """URLs of the constant ``{% push '…' %}`` tags of *template* and the templates it
    extends or includes, plus the app manifest's flat entries and groups for them.

    (Good enough for example_app, whose push tags are all unconditional.)
    """
    seen: set[str] = set()
    assets: set[str] = set()
    pending = [template]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        source = _JINJA_COMMENT.sub("", (TEMPLATES / name).read_text(encoding="utf-8"))
        assets.update(_PUSH_TAG.findall(source))
        pending.extend(_TEMPLATE_REF.findall(source))
    manifest: dict[str, dict[str, object]] = json.loads(APP_MANIFEST.read_text(encoding="utf-8"))
    for key, value in manifest.items():
        if (TEMPLATES / key).is_file():  # a group of files for the pages using a template
            if key in seen:
                assets.update(value)
        else:  # a flat entry: for every page
            assets.add(key)
    return {"/static/" + asset for asset in assets}
