"""``flask push check --pages`` (cli/page_check.py) against a real browser: the pages it
flags are those on which Chromium fetches a file twice or warns about an unused preload,
and the pages it passes are those on which Chromium uses every preload once.

Each page of :data:`tests.cli.helpers.PAGES` (but the CDN ones: no CDN here) is checked
through Flask's CLI runner, then served by gunicorn and loaded in a fresh context of
Chromium, which is left alone for :data:`browser.DEFAULT_SETTLE` seconds (it warns about
an unused preload about 3 s after the load event).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.cli.helpers import REPOSITORY, compile_digest, invoke, site_app

from . import browser
from .servers import RunningServer, gunicorn_server

if TYPE_CHECKING:
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

#: Page kind -> whether the check flags it.
FLAGGED = {
    "digest": True,
    "digest-fixed": False,
    "font": True,
    "font-fixed": False,
    "integrity": True,
    "integrity-fixed": False,
}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_digest(tmp_path_factory.mktemp("page-check"))


@pytest.fixture
def served(root: Path, request: pytest.FixtureRequest) -> Iterator[RunningServer]:
    kind: str = request.param
    with gunicorn_server(
        f'tests.cli.helpers:site_app("{root}", "{kind}")', cwd=REPOSITORY, pythonpath=[REPOSITORY]
    ) as server:
        yield server


@pytest.mark.parametrize(
    ("served", "kind"), [(kind, kind) for kind in FLAGGED], indirect=["served"]
)
def test_the_check_flags_the_pages_chromium_fetches_twice_or_warns_about(
    chromium: Browser, root: Path, served: RunningServer, kind: str
) -> None:
    check = invoke(site_app(str(root), kind), "check", "--pages")
    load = browser.load_page(chromium, served.url("/"))
    assert load.status == 200
    wasted = {"twice": load.duplicate_requests(), "warnings": load.preload_warnings()}
    assert (check.exit_code == 1) is FLAGGED[kind], check.output
    assert bool(wasted["twice"] or wasted["warnings"]) is FLAGGED[kind], wasted
    if kind == "font":
        # The no-cors preload is not reused by the CORS fetch of the stylesheet's font.
        assert list(wasted["twice"]) == [served.url("/static/fonts/display.woff2")]
    if kind == "integrity":
        # The preload without integrity is not reused by the element that has it.
        assert list(wasted["twice"]) == [served.url("/static/css/site.css")]
    if kind == "digest":
        assert "/static/css/site.css was preloaded" in " ".join(wasted["warnings"]), wasted
