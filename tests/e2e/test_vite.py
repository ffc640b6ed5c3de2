"""A real Vite build served by Flask through gunicorn 27 over TLS HTTP/2, in Chromium.

tests/vite_site is built with the real ``vite`` (tests/vite_build.py) into the static
folder of a small app whose two pages each load one entry with ``{% vite %}``: ``/``
loads ``src/main.ts`` (a shared chunk, a stylesheet whose font is in the build, a
dynamic import), ``/admin`` loads ``src/admin.ts`` (the same shared chunk). The 103 and
the final ``Link`` header must name exactly each entry's files, read here from the
manifest independently of vite.py, and Chromium must fetch every file once, without a
console warning; the dynamic import is fetched only when the page runs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests import vite_build
from tests.linkheader import parse_link_fields, parse_link_header

from . import browser, h2client, servers
from .delay_proxy import HINT_SAFE_RTT, DelayingProxy, delaying_proxy
from .servers import Pki, RunningServer, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
VIEW_SECONDS = 0.3
NAVIGATION = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]

APP = f"""
import time
from flask import Flask, render_template
from flask_push_templates import PushTemplates

app = Flask(__name__)
app.config.update(
    PUSH_EARLY_HINTS=True,
    PUSH_EARLY_HINTS_TEMPLATES={{"main": ["main.html"], "admin": ["admin.html"]}},
    PUSH_VITE_MANIFEST="static/build/.vite/manifest.json",
    # Hinted files are reused only if the page need not revalidate them.
    SEND_FILE_MAX_AGE_DEFAULT=3600,
)


@app.route("/")
def main():
    time.sleep({VIEW_SECONDS})  # a database query: the 103 leaves before it
    return render_template("main.html")


@app.route("/admin")
def admin():
    time.sleep({VIEW_SECONDS})
    return render_template("admin.html")


PushTemplates(app)
"""
# No favicon: Chromium would ask for /favicon.ico and log the 404 as a console error.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<link rel="icon" href="data:,">{{% vite '{entry}' %}}</head>
<body><p id="status">waiting</p><button id="more">more</button></body></html>
"""
PAGES = {"/": "src/main.ts", "/admin": "src/admin.ts"}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("vite_app")
    vite_build.require_build(directory / "static" / "build")
    (directory / "vite_app.py").write_text(APP)
    (directory / "templates").mkdir()
    for title, entry in (("main", "src/main.ts"), ("admin", "src/admin.ts")):
        page = PAGE.format(title=title, entry=entry)
        (directory / "templates" / f"{title}.html").write_text(page)
    return directory


@pytest.fixture(scope="module")
def manifest(app_dir: Path) -> dict[str, Any]:
    return vite_build.read_manifest(app_dir / "static" / "build" / vite_build.MANIFEST)


@pytest.fixture(scope="module")
def server(app_dir: Path, pki: Pki) -> Iterator[RunningServer]:
    require("gunicorn")
    require("h2")
    with servers.gunicorn_server(
        "vite_app:app",
        cwd=app_dir,
        pythonpath=[REPO],
        worker_class="gthread",
        threads=4,
        protocol="h2",
        certfile=pki.server.cert,
        keyfile=pki.server.key,
    ) as running:
        yield running


@pytest.fixture(scope="module")
def network(server: RunningServer) -> Iterator[DelayingProxy]:
    """Chromium's way to the server: a real network's round trip, so that it is ready for
    the 103 when the 103 arrives (:data:`~.delay_proxy.HINT_SAFE_RTT`)."""
    with delaying_proxy(server.port, HINT_SAFE_RTT) as proxy:
        yield proxy


def entry_files(manifest: dict[str, Any], entry: str) -> set[str]:
    """URLs of the entry's file, its one shared chunk's, both CSS lists and its assets."""
    chunk = manifest[entry]
    [shared] = chunk["imports"]
    files = {chunk["file"], manifest[shared]["file"]}
    files |= {*chunk.get("css", []), *manifest[shared].get("css", []), *chunk.get("assets", [])}
    return {f"/static/build/{file}" for file in files}


def lazy_file(manifest: dict[str, Any]) -> str:
    [lazy] = manifest["src/main.ts"]["dynamicImports"]
    return f"/static/build/{manifest[lazy]['file']}"


def test_the_entries_are_what_the_test_build_says(manifest: dict[str, Any]) -> None:
    """The premises of the other tests: a shared chunk, CSS, a font, a dynamic import."""
    main = entry_files(manifest, "src/main.ts")
    assert len(main) == 5  # main.js, shared.js, main.css, shared.css, the font
    assert any(url.endswith(".woff2") for url in main)
    assert entry_files(manifest, "src/admin.ts") < main | {
        f"/static/build/{manifest['src/admin.ts']['file']}"
    }
    assert lazy_file(manifest) not in main


@pytest.mark.parametrize("path", PAGES)
def test_103_and_link_header_name_exactly_the_entry_its_chunk_and_css(
    server: RunningServer, manifest: dict[str, Any], path: str
) -> None:
    response = h2client.get(server.url(path), headers=NAVIGATION)
    assert response.status == 200
    expected = entry_files(manifest, PAGES[path])
    [hint] = response.informational
    assert hint.status == 103
    [hint_value] = [value for name, value in hint.headers if name.lower() == "link"]
    hinted = parse_link_header(hint_value)
    final = parse_link_fields(response.header("link"))
    for links in (hinted, final):
        assert {link.target for link in links} == expected
        assert lazy_file(manifest) not in {link.target for link in links}
        # CSS first, then the font, then the modules.
        rels = [link.rel for link in links]
        assert rels == sorted(rels, key=lambda rel: rel == "modulepreload")
    print(f"{path}: 103 at {hint.at * 1000:.0f} ms, 200 at {response.headers_at * 1000:.0f} ms")
    assert response.headers_at - hint.at >= VIEW_SECONDS - 0.05


@pytest.mark.parametrize("path", PAGES)
def test_chromium_loads_each_file_once_without_a_warning(
    chromium: Browser, network: DelayingProxy, manifest: dict[str, Any], path: str
) -> None:
    origin = network.origin("https")
    load = browser.load_page(chromium, origin + path)
    assert load.status == 200
    assert load.navigation_protocol == "h2"
    expected = {origin + url for url in entry_files(manifest, PAGES[path])}
    fetched = {request.url for request in load.requests if request.resource_type != "document"}
    assert fetched == expected
    assert load.duplicate_requests() == {}
    assert all(request.status == 200 for request in load.requests), load.requests
    assert [entry for entry in load.console if entry.type in {"error", "warning"}] == []
    # Each file once in Resource Timing too, all from the 103 ("early-hints").
    timing = {entry.name: entry.initiator_type for entry in load.resources}
    assert len(load.resources) == len(expected)
    assert timing == dict.fromkeys(expected, "early-hints")


def test_the_dynamic_import_is_fetched_once_when_it_runs(
    chromium: Browser, server: RunningServer, manifest: dict[str, Any]
) -> None:
    context = chromium.new_context()
    try:
        requested: list[str] = []
        context.on("request", lambda request: requested.append(request.url))
        page = context.new_page()
        console: list[str] = []
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.goto(server.url("/"), wait_until="load")
        page.wait_for_function("() => document.getElementById('status').textContent === 'main ran'")
        assert server.url(lazy_file(manifest)) not in requested
        page.click("#more")
        page.wait_for_function("() => document.getElementById('status').textContent === 'lazy ran'")
        subresources = requested[1:]
        assert sorted(subresources) == sorted(
            {server.url(url) for url in entry_files(manifest, "src/main.ts")}
            | {server.url(lazy_file(manifest))}
        )
        assert console == []
    finally:
        context.close()
