"""Chromium loads a page whose asset URLs come from Flask-Static-Digest or Flask-CDN
(tests/e2e/asset_tools_app.py, served by gunicorn; the CDN is a second gunicorn on
loopback), with no ``PUSH_*`` setting: every file the ``Link`` header preloads is the
file the page uses, fetched once (Resource Timing ``initiatorType == "link"``), with no
"preloaded but not used" warning; over HTTP/2 with TLS the 103 names the digested files
too, and Chromium takes each from the 103, once. Before the resolver followed the tools,
the header named ``/static/css/site.css`` while the page used ``site-<md5>.css`` or the
CDN's URL: each file was downloaded twice.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from flask_static_digest import digester

from tests.linkheader import parse_link_fields

from . import browser, h2client
from .delay_proxy import HINT_SAFE_RTT, delaying_proxy
from .example_servers import REPO, http_get
from .servers import Pki, Protocol, RunningServer, gunicorn_server, require

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

APP = "tests.e2e.asset_tools_app:create_app()"


@pytest.fixture(scope="module")
def asset_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("asset-tools")
    (root / "static" / "css").mkdir(parents=True)
    (root / "static" / "js").mkdir()
    (root / "static" / "css" / "site.css").write_text("#ran { color: teal }\n")
    (root / "static" / "js" / "site.js").write_text(
        "document.getElementById('ran').textContent = 'yes';\n"
    )
    return root


@contextlib.contextmanager
def serve(tool: str, root: Path, pki: Pki | None = None, **env: str) -> Iterator[RunningServer]:
    """gunicorn serving the page with ``tool``; over HTTP/2 with TLS, and 103s, with
    ``pki``."""
    require("gunicorn")
    protocol: Protocol = "h1"
    certfile = keyfile = None
    if pki is not None:
        require("h2")
        protocol, certfile, keyfile = "h2", pki.server.cert, pki.server.key
        env = {**env, "ASSET_EARLY_HINTS": "1"}
    with gunicorn_server(
        APP,
        cwd=REPO,
        pythonpath=[REPO],
        env={"ASSET_TOOL": tool, "ASSET_ROOT": str(root), **env},
        worker_class="gthread",
        threads=4,
        protocol=protocol,
        certfile=certfile,
        keyfile=keyfile,
    ) as server:
        yield server


def digested_root(asset_root: Path, tmp_path: Path) -> Path:
    root = tmp_path / "digested"
    shutil.copytree(asset_root, root)
    digester.compile(str(root / "static"), str(root / "static"), [], False, False)
    return root


def check_each_file_fetched_once(
    chromium: Browser,
    server: RunningServer,
    targets: list[str] | None = None,
    *,
    origin: str | None = None,
    initiator: str = "link",
) -> list[str]:
    """Load the page from *origin* (default: the server's); return the URLs its Link
    header preloaded, each checked to have been fetched once, because of *initiator*."""
    if targets is None:
        links = http_get(server.url("/")).links
        targets = [link.target for link in links if link.rel == "preload"]
    assert len(targets) == 2, targets
    origin = server.base_url if origin is None else origin
    urls = [origin + target if target.startswith("/") else target for target in targets]
    load = browser.load_page(chromium, origin + "/")
    assert load.status == 200
    for url in urls:
        [entry] = load.resource(url)
        assert entry.initiator_type == initiator, (url, entry)
        assert [request.status for request in load.requests_for(url)] == [200], url
    assert load.duplicate_requests() == {}
    assert load.preload_warnings() == []
    subresources = sorted(r.url for r in load.requests if r.resource_type != "document")
    assert subresources == sorted(urls)
    return targets


def test_flask_static_digest(chromium: Browser, asset_root: Path, tmp_path: Path) -> None:
    with serve("digest", digested_root(asset_root, tmp_path)) as server:
        targets = check_each_file_fetched_once(chromium, server)
    assert [re.sub(r"-[0-9a-f]{32}\.", "-<md5>.", target) for target in targets] == [
        "/static/css/site-<md5>.css",
        "/static/js/site-<md5>.js",
    ]


def test_flask_cdn(chromium: Browser, asset_root: Path) -> None:
    with serve("plain", asset_root) as cdn:
        domain = cdn.base_url.removeprefix("http://")
        with serve("cdn", asset_root, CDN_DOMAIN=domain) as server:
            targets = check_each_file_fetched_once(chromium, server)
    mtime = int(os.path.getmtime(asset_root / "static" / "css" / "site.css"))
    assert targets[0] == f"http://{domain}/static/css/site.css?t={mtime}"
    assert targets[1].startswith(f"http://{domain}/static/js/site.js?t=")


def test_flask_static_digest_103_over_http2(
    chromium: Browser, asset_root: Path, tmp_path: Path, pki: Pki
) -> None:
    with serve("digest", digested_root(asset_root, tmp_path), pki) as server:
        navigation = [("sec-fetch-mode", "navigate"), ("sec-fetch-dest", "document")]
        h2client.get(server.url("/"), headers=navigation)  # the worker learns the page
        response = h2client.get(server.url("/"), headers=navigation)
        [hint] = response.informational
        hinted = [
            link.target
            for link in parse_link_fields(
                [value for name, value in hint.headers if name.lower() == "link"]
            )
        ]
        final = [link.target for link in parse_link_fields(response.header("link"))]
        html = response.body.decode()
        assert hinted == final
        assert all(f'"{target}"' in html for target in hinted), (hinted, html)
        # Through a real network's round trip Chromium is ready for the 103 when it
        # arrives (on bare loopback it may lose it: delay_proxy.HINT_SAFE_RTT).
        with delaying_proxy(server.port, HINT_SAFE_RTT) as network:
            check_each_file_fetched_once(
                chromium, server, hinted, origin=network.origin("https"), initiator="early-hints"
            )
