"""Chromium loads a page whose asset URLs come from Flask-Static-Digest or Flask-CDN
(tests/e2e/asset_tools_app.py, served by gunicorn; the CDN is a second gunicorn on
loopback), with no ``PUSH_*`` setting: every file the ``Link`` header preloads is the
file the page uses, fetched once (Resource Timing ``initiatorType == "link"``), with no
"preloaded but not used" warning. Before the resolver followed the tools, the header
named ``/static/css/site.css`` while the page used ``site-<md5>.css`` or the CDN's URL:
each file was downloaded twice.
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

from . import browser
from .example_servers import REPO, http_get
from .servers import RunningServer, gunicorn_server, require

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
def serve(tool: str, root: Path, **env: str) -> Iterator[RunningServer]:
    require("gunicorn")
    with gunicorn_server(
        APP,
        cwd=REPO,
        pythonpath=[REPO],
        env={"ASSET_TOOL": tool, "ASSET_ROOT": str(root), **env},
        worker_class="gthread",
        threads=4,
    ) as server:
        yield server


def check_each_file_fetched_once(chromium: Browser, server: RunningServer) -> list[str]:
    """Load the page; return the URLs its Link header preloaded, each checked."""
    targets = [link.target for link in http_get(server.url("/")).links if link.rel == "preload"]
    assert len(targets) == 2, targets
    load = browser.load_page(chromium, server.url("/"))
    assert load.status == 200
    for target in targets:
        url = server.url(target) if target.startswith("/") else target
        assert [entry.initiator_type for entry in load.resource(url)] == ["link"], url
        assert [request.status for request in load.requests_for(url)] == [200], url
    assert load.duplicate_requests() == {}
    assert load.preload_warnings() == []
    subresources = sorted(r.url for r in load.requests if r.resource_type != "document")
    assert subresources == sorted(server.url(t) if t.startswith("/") else t for t in targets)
    return targets


def test_flask_static_digest(chromium: Browser, asset_root: Path, tmp_path: Path) -> None:
    root = tmp_path / "digested"
    shutil.copytree(asset_root, root)
    digester.compile(str(root / "static"), str(root / "static"), [], False, False)
    with serve("digest", root) as server:
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
