"""The example app, page by page, through Flask's test client.

The central check: a page's ``Link`` header names exactly the files the page uses, each in
the mode the page uses it in. "Uses" is read from the HTML (``<link rel=stylesheet>``,
``<script>``, ``<img>``, and the overview's ``data-fetch``), plus the files that only the
page's CSS or JavaScript refer to, which a page must declare explicitly (in a manifest or a
push tag): those are listed in ``DECLARED_ELSEWHERE`` below, and the test also checks that
the CSS/JS really refers to them, so no preload is ever wasted.
"""

from __future__ import annotations

import json
import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.wrappers import Response

import example_app
from example_app import create_app
from tests.linkheader import ParsedLink, parse_link_fields

FONT = "/static/fonts/dejavu-serif-bold-subset.woff2"

#: Files a page preloads that its HTML does not name: only its CSS or JS do.
DECLARED_ELSEWHERE: dict[str, set[str]] = {
    # push_manifest.json, for every page; site.css loads it with @font-face.
    "/": {FONT, "/static/js/lib/link-header.mjs", "/static/js/lazy/link-table.mjs"},
    # The "gallery.html" group of push_manifest.json; gallery.css draws it.
    "/gallery": {FONT, "/static/img/pattern.svg"},
    "/gallery?lightbox=0": {FONT, "/static/img/pattern.svg"},
    "/legacy": {FONT},
    "/report": {FONT},
}
PAGES = list(DECLARED_ELSEWHERE)

#: destination -> (rel, as, fetched in CORS mode)
LINK_FORM = {
    "style": ("preload", "style", False),
    "script": ("preload", "script", False),
    "image": ("preload", "image", False),
    "font": ("preload", "font", True),
    "fetch": ("preload", "fetch", True),
    "module": ("modulepreload", None, True),
}
FONT_TYPES = {".woff2": "font/woff2"}


@pytest.fixture
def app() -> Flask:
    return create_app({"TESTING": True})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass(frozen=True)
class Use:
    """How a page uses one file."""

    destination: str
    cors: bool  # fetched in CORS mode (crossorigin)
    attributes: tuple[tuple[str, str | None], ...] = ()


class _PageReader(HTMLParser):
    """The subresources an HTML page uses, and the text of elements by id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.uses: dict[str, Use] = {}
        self.text_by_id: dict[str, str] = {}
        self._open_ids: list[str | None] = []

    def _use(self, url: str | None, destination: str, attrs: dict[str, str | None]) -> None:
        if not url or url.startswith("data:"):
            return
        cors = LINK_FORM[destination][2] or "crossorigin" in attrs
        use = Use(destination, cors, tuple(sorted(attrs.items())))
        assert self.uses.setdefault(url, use).destination == destination, url

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        rels = (attrs.get("rel") or "").lower().split()
        if tag == "link" and "stylesheet" in rels:
            self._use(attrs.get("href"), "style", attrs)
        elif tag == "link" and {"preload", "modulepreload", "prefetch"} & set(rels):
            pytest.fail(f"preloads belong in the Link header, not in the HTML: {attrs}")
        elif tag == "script" and attrs.get("src"):
            kind = "module" if attrs.get("type") == "module" else "script"
            self._use(attrs.get("src"), kind, attrs)
        elif tag == "img":
            self._use(attrs.get("src"), "image", attrs)
        if "data-fetch" in attrs:
            self._use(attrs["data-fetch"], "fetch", attrs)
        if tag not in {"img", "link", "meta", "br", "wbr", "input", "hr"}:
            self._open_ids.append(attrs.get("id"))
            if attrs.get("id"):
                self.text_by_id[str(attrs["id"])] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag not in {"img", "link", "meta", "br", "wbr", "input", "hr"} and self._open_ids:
            self._open_ids.pop()

    def handle_data(self, data: str) -> None:
        for element_id in self._open_ids:
            if element_id:
                self.text_by_id[element_id] += data


def read_page(html: str) -> _PageReader:
    reader = _PageReader()
    reader.feed(html)
    reader.close()
    return reader


# url("..."), url('...') or url(...) in CSS; relative module specifiers in JS, in
# `import ... from './x.mjs'`, `import './x.mjs'` and `import('./x.mjs')`.
_CSS_URL = re.compile(r"""url\(\s*(["']?)([^"')]+)\1\s*\)""")
_JS_IMPORT = re.compile(r"""(?:\bfrom|\bimport)\s*\(?\s*["'](\.{1,2}/[^"']+)["']""")


def referenced_by_assets(client: FlaskClient, uses: dict[str, Use]) -> dict[str, Use]:
    """Files the page's stylesheets and scripts refer to, followed through imports."""
    found: dict[str, Use] = {}
    pending = [(url, use.destination) for url, use in uses.items()]
    while pending:
        url, destination = pending.pop()
        if destination not in {"style", "script", "module"}:
            continue
        with client.get(url) as response:
            assert response.status_code == 200, url
            source = response.get_data(as_text=True)
        if destination == "style":
            for _, ref in _CSS_URL.findall(source):
                target = urljoin(url, ref)
                is_font = posixpath.splitext(urlsplit(target).path)[1] in FONT_TYPES
                found[target] = Use("font", True) if is_font else Use("image", False)
        else:
            for ref in _JS_IMPORT.findall(source):
                target = urljoin(url, ref)
                if target not in found:
                    found[target] = Use("module", True)
                    pending.append((target, "module"))
    return found


def link_fields(response: Response) -> list[str]:
    return response.headers.getlist("Link")


def links_of(response: Response) -> list[ParsedLink]:
    return parse_link_fields(link_fields(response))


def get_page(client: FlaskClient, path: str) -> tuple[Response, str, list[ParsedLink]]:
    with client.get(path) as response:
        body = response.get_data(as_text=True)
    return response, body, links_of(response)


# --- every page ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_link_header_names_exactly_what_the_page_uses(client: FlaskClient, path: str) -> None:
    response, body, links = get_page(client, path)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert len(link_fields(response)) == 1, "one Link field per response"

    targets = [link.target for link in links]
    assert len(targets) == len(set(targets)), f"a file is announced twice: {targets}"

    html_uses = read_page(body).uses
    asset_uses = referenced_by_assets(client, html_uses)
    declared = DECLARED_ELSEWHERE[path]
    assert set(targets) == set(html_uses) | declared
    # What is declared outside the HTML is really used by the page's CSS or JS...
    assert declared - set(html_uses) <= set(asset_uses)
    # ...and nothing the CSS or JS loads is left for the browser to discover late.
    assert set(asset_uses) <= set(targets)


@pytest.mark.parametrize("path", PAGES)
def test_each_link_matches_how_the_file_is_used(client: FlaskClient, path: str) -> None:
    _, body, links = get_page(client, path)
    html_uses = read_page(body).uses
    uses = {**referenced_by_assets(client, html_uses), **html_uses}
    for link in links:
        use = uses[link.target]
        rel, as_value, _ = LINK_FORM[use.destination]
        assert link.rel == rel, link
        assert link.get("as") == as_value, link
        assert link.has("as") == (as_value is not None), link
        # A preload in the wrong mode is not reused: the browser fetches the file twice.
        assert link.has("crossorigin") == use.cors, link
        if use.cors:
            assert link.get("crossorigin") is None, "bare crossorigin (anonymous)"
        if use.destination == "font":
            assert link.get("type") == FONT_TYPES[posixpath.splitext(link.target)[1]], link
        else:
            assert not link.has("type"), link
        assert not link.has("nopush"), link
        unexpected = {name for name, _ in link.params} - {
            "rel",
            "as",
            "crossorigin",
            "type",
            "fetchpriority",
        }
        assert not unexpected, link


@pytest.mark.parametrize("path", PAGES)
def test_render_blocking_files_come_first(client: FlaskClient, path: str) -> None:
    _, _, links = get_page(client, path)
    first = [link.target for link in links[:3]]
    stylesheets = ["/static/css/site.css", "/static/css/gallery.css"]
    if path.startswith("/gallery"):
        # Both stylesheets have weight 3, then the font (weight 2), in order of mention.
        assert first == [*stylesheets, FONT]
    else:
        assert first[:2] == ["/static/css/site.css", FONT]


@pytest.mark.parametrize("path", PAGES)
def test_head_request_gets_the_same_link_header(client: FlaskClient, path: str) -> None:
    with client.get(path) as get, client.head(path) as head:
        assert link_fields(head) == link_fields(get)


# --- page by page ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/no/such/page"])
def test_every_page_shows_its_own_link_header(client: FlaskClient, path: str) -> None:
    response, body, links = get_page(client, path)
    page = read_page(body)
    # The text of <pre id="link-header"> is the header's exact value (the <br>s add no
    # text); the streamed /report gets it too, written into its chunks as they go out.
    assert page.text_by_id["link-header"] == (
        ", ".join(link_fields(response)) or "(no Link header)"
    )
    assert "<!--" not in body, "the placeholders were replaced"
    # One table row per link, in the header's order, whose last cell the page's inline
    # script fills from Resource Timing.
    assert re.findall(r'<td data-url="([^"]*)">', body) == [link.target for link in links]


def test_link_table_says_what_each_link_asks_for(client: FlaskClient) -> None:
    _, body, _ = get_page(client, "/gallery")
    rows = dict(re.findall(r"<tr><td>([^<]*)</td><td>([^<]*)</td><td data-url=", body))
    assert rows[FONT] == "preload a font, in CORS mode (crossorigin), of type font/woff2"
    assert rows["/static/img/hero.png"] == "preload an image, with high priority"
    assert rows["/static/js/lightbox.js"] == "preload a classic script"


def test_not_found_page_says_why_it_has_no_link_header(client: FlaskClient) -> None:
    _, body, _ = get_page(client, "/no/such/page")
    assert "This 404 response had no Link header: only successful (2xx)" in body
    # The footer's curl example points at a page that has a Link header, not at this one.
    assert "curl -sI http://localhost/ |" in body
    assert "curl -sI http://localhost/no/such/page" not in body
    with client.get("/gallery") as gallery:
        assert "curl -sI http://localhost/gallery |" in gallery.get_data(as_text=True)


def test_overview_push_link_tags_list_the_header_links(client: FlaskClient) -> None:
    _, body, links = get_page(client, "/")
    # The escaped push_link_tags() output, read back as HTML.
    tags_html = re.search(r'<pre class="link-tags">(.*?)</pre>', body, re.S)
    assert tags_html is not None
    tags = _LinkTagReader()
    tags.feed(read_text(tags_html.group(1)))
    assert tags.links == [
        (link.target, link.rel, link.get("as"), link.has("crossorigin")) for link in links
    ]


class _LinkTagReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str | None, str | None, str | None, bool]] = []

    def handle_starttag(self, tag: str, attr_list: list[tuple[str, str | None]]) -> None:
        attrs = dict(attr_list)
        assert tag == "link"
        self.links.append((attrs["href"], attrs["rel"], attrs.get("as"), "crossorigin" in attrs))


class _TextReader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def read_text(html: str) -> str:
    """The text of an HTML fragment, entities decoded."""
    reader = _TextReader()
    reader.feed(html)
    reader.close()
    return "".join(reader.parts)


def test_overview_preloads_the_json_it_fetches(client: FlaskClient) -> None:
    _, body, links = get_page(client, "/")
    stats = next(link for link in links if link.target == "/api/stats")
    assert (stats.rel, stats.get("as"), stats.has("crossorigin")) == ("preload", "fetch", True)
    assert 'data-fetch="/api/stats"' in body


def test_gallery_hero_is_pushed_by_the_view_with_high_priority(client: FlaskClient) -> None:
    _, body, links = get_page(client, "/gallery")
    hero = next(link for link in links if link.target == "/static/img/hero.png")
    assert hero.get("fetchpriority") == "high"
    assert dict(read_page(body).uses["/static/img/hero.png"].attributes)["fetchpriority"] == "high"
    # Pushed by the view, before any template ran: first after the weighted links.
    assert [link.target for link in links].index("/static/img/hero.png") == 3


def test_gallery_lightbox_push_follows_its_if(client: FlaskClient) -> None:
    lightbox = "/static/js/lightbox.js"
    _, with_body, with_links = get_page(client, "/gallery")
    _, without_body, without_links = get_page(client, "/gallery?lightbox=0")
    assert lightbox in {link.target for link in with_links}
    assert lightbox in read_page(with_body).uses
    assert lightbox not in {link.target for link in without_links}
    assert lightbox not in read_page(without_body).uses
    assert len(without_links) == len(with_links) - 1


def test_legacy_links_come_from_its_http2push_manifest(app: Flask, client: FlaskClient) -> None:
    view = app.view_functions["legacy"]
    assert getattr(view, "push_manifest", None) == "manifests/legacy.json"
    with open(os.path.join(app.root_path, "manifests", "legacy.json"), encoding="utf-8") as file:
        manifest = json.load(file)
    _, _, links = get_page(client, "/legacy")
    assert set(manifest) <= {link.target for link in links}


def test_streamed_report_is_complete(app: Flask, client: FlaskClient) -> None:
    response, body, links = get_page(client, "/report")
    assert response.status_code == 200
    assert "Content-Length" not in response.headers, "the report is streamed"
    assert body.rstrip().endswith("</html>")
    static = app.static_folder
    assert static is not None
    files = sorted(
        os.path.relpath(os.path.join(folder, name), static).replace(os.sep, "/")
        for folder, _, names in os.walk(static)
        for name in names
    )
    rows = re.findall(r'<tr><td><a href="/static/([^"]+)">', body)
    assert sorted(rows) == files
    total = sum(os.path.getsize(os.path.join(static, name)) for name in files)
    assert f"End of report: {len(files)} files, {total} bytes." in body
    assert [link.target for link in links] == [
        "/static/css/site.css",
        FONT,
        "/static/css/report.css",
        "/static/img/logo.svg",
    ]


# --- responses without links -----------------------------------------------------------------


def test_json_endpoint_has_no_link_header(client: FlaskClient) -> None:
    get_page(client, "/gallery")
    with client.get("/api/stats") as response:
        assert response.status_code == 200
        assert response.mimetype == "application/json"
        assert "Link" not in response.headers
        stats = response.get_json()
    assert stats["responses"] == 1
    assert stats["responses_with_link_header"] == 1
    assert set(stats["last_link_header_by_path"]) == {"/gallery"}


def test_not_found_has_no_link_header(client: FlaskClient) -> None:
    response, body, _ = get_page(client, "/no/such/page")
    assert response.status_code == 404
    assert "Link" not in response.headers
    # The error page renders the base template, whose pushes are recorded all the same.
    assert "<h1>Not found</h1>" in body
    assert "/static/css/site.css" in read_page(body).uses


def test_push_can_be_disabled() -> None:
    quiet = create_app({"TESTING": True, "PUSH_ENABLED": False}).test_client()
    for path in PAGES:
        with quiet.get(path) as response:
            assert response.status_code == 200
            assert "Link" not in response.headers


# --- static files ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "mimetype", "magic"),
    [
        ("/static/css/site.css", "text/css", b"/*"),
        ("/static/js/app.mjs", "text/javascript", b"//"),
        (FONT, "font/woff2", b"wOF2"),
        ("/static/img/hero.png", "image/png", b"\x89PNG\r\n\x1a\n"),
        ("/static/img/logo.svg", "image/svg+xml", b"<svg"),
    ],
)
def test_static_files_are_cacheable_and_typed(
    client: FlaskClient, path: str, mimetype: str, magic: bytes
) -> None:
    with client.get(path) as response:
        assert response.status_code == 200
        assert response.mimetype == mimetype
        assert response.cache_control.max_age == 3600
        assert not response.cache_control.no_cache
        assert response.get_data().startswith(magic)


# --- the delay option ------------------------------------------------------------------------


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    calls: list[float] = []
    monkeypatch.setattr("example_app.views.time.sleep", calls.append)
    yield calls


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", []),
        ("?delay=0.25", [0.25]),
        ("?delay=99", [10.0]),
        ("?delay=-1", []),
        ("?delay=nan", []),
        ("?delay=soon", []),
    ],
)
def test_delay_query_parameter(
    client: FlaskClient, sleeps: list[float], query: str, expected: list[float]
) -> None:
    with client.get("/gallery" + query) as response:
        assert response.status_code == 200
    assert sleeps == expected


def test_delay_from_config_and_not_for_static_files(sleeps: list[float]) -> None:
    client = create_app({"TESTING": True, "EXAMPLE_DELAY": 0.1}).test_client()
    with client.get("/legacy"), client.get("/static/css/site.css"):
        pass
    assert sleeps == [0.1]


@pytest.mark.parametrize("value", ["0.3", " 0.3 "])
def test_delay_from_environment(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EXAMPLE_APP_DELAY", value)
    assert create_app().config["EXAMPLE_DELAY"] == 0.3


@pytest.mark.parametrize("value", ["soon", "-1", "11"])
def test_bad_delay_in_environment_is_refused(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("EXAMPLE_APP_DELAY", value)
    with pytest.raises(ValueError, match="EXAMPLE_APP_DELAY"):
        create_app()


def test_module_level_app_for_flask_run() -> None:
    assert isinstance(example_app.app, Flask)
    assert "push_templates" in example_app.app.extensions
