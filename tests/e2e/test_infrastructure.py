"""Prove the end-to-end helpers work, against the throwaway app in sample_wsgi.

These tests pin down what the real parts do with a hand-written Link header,
so that later tests of flask_push_templates can rely on the helpers.
"""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from . import browser, h2client, sample_wsgi, servers
from .servers import Pki, RunningServer, require

if TYPE_CHECKING:
    # Only a type: playwright itself is imported lazily by browser.py.
    from playwright.sync_api import Browser

pytestmark = pytest.mark.e2e

HERE = Path(__file__).resolve().parent
APP = "sample_wsgi:app"
A_CSS = sample_wsgi._STATIC["/static/a.css"][1]


@pytest.fixture(scope="module")
def app_h1() -> Iterator[RunningServer]:
    """The sample app over HTTP/1.1; gthread so proxies can fetch pushes in parallel."""
    require("gunicorn")
    with servers.gunicorn_server(APP, cwd=HERE, worker_class="gthread", threads=4) as server:
        yield server


@pytest.fixture(scope="module")
def app_tls_h2(pki: Pki) -> Iterator[RunningServer]:
    require("gunicorn")
    require("h2")
    with servers.gunicorn_server(
        APP,
        cwd=HERE,
        worker_class="gthread",
        threads=4,
        protocol="h2",
        certfile=pki.server.cert,
        keyfile=pki.server.key,
    ) as server:
        yield server


def test_free_port_is_bindable() -> None:
    port = servers.free_port()
    with socket.socket() as sock:
        sock.bind((servers.LOOPBACK, port))


def test_require_skips_locally_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    missing = "no-such-binary-e2e-xyz"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=missing):
        require(missing)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=missing):
        require(missing)
    require("sh")  # present: no exception either way


def test_missing_binary_error_names_it() -> None:
    with pytest.raises(servers.MissingPart, match="'no-such-binary-e2e-xyz'"):
        servers.find_binary("no-such-binary-e2e-xyz")


def test_start_error_includes_server_log() -> None:
    require("gunicorn")
    with pytest.raises(servers.ServerStartError, match="no_such_module_e2e"), \
            servers.gunicorn_server("no_such_module_e2e:app", cwd=HERE):  # fmt: skip
        pass


def test_gunicorn_h1_returns_link_header(app_h1: RunningServer) -> None:
    connection = http.client.HTTPConnection(servers.LOOPBACK, app_h1.port, timeout=5)
    try:
        connection.request("GET", "/")
        page = connection.getresponse()
        page.read()
        connection.request("GET", "/static/a.css")
        css = connection.getresponse()
        body = css.read()
    finally:
        connection.close()
    assert page.status == 200
    assert page.version == 11
    assert page.getheader("Link") == sample_wsgi.LINK
    assert css.getheader("Cache-Control") == "max-age=3600"
    assert body == A_CSS


def test_gunicorn_h2c_prior_knowledge() -> None:
    require("gunicorn")
    with servers.gunicorn_server(
        APP, cwd=HERE, worker_class="gthread", threads=2, protocol="h2c"
    ) as app:
        response = h2client.get(app.url("/"))
    assert response.status == 200
    assert response.alpn is None
    assert response.header("link") == [sample_wsgi.LINK]
    assert response.pushes == []  # gunicorn itself never pushes


@pytest.mark.parametrize("proxy", ["apache", "nginx"])
def test_proxy_pushes_preload_but_not_nopush(app_h1: RunningServer, proxy: str) -> None:
    require("apache2" if proxy == "apache" else "nginx")
    start = servers.apache_proxy if proxy == "apache" else servers.nginx_proxy
    with start(app_h1.port) as front:
        response = h2client.get(front.url("/"))
    assert response.status == 200
    assert response.header("link") == [sample_wsgi.LINK]  # forwarded unchanged
    assert response.pushed_paths == ["/static/a.css"]  # b.js is nopush
    (push,) = response.pushes
    assert (push.status, push.body, push.reset) == (200, A_CSS, None)


def test_gunicorn_tls_h2_sends_103_before_final(app_tls_h2: RunningServer) -> None:
    response = h2client.get(app_tls_h2.url("/early-hints"))
    assert response.alpn == "h2"
    assert response.status == 200
    assert [hint.status for hint in response.informational] == [103]
    hint = response.informational[0]
    assert ("link", sample_wsgi.EARLY_HINT_LINK) in hint.headers
    # The view sleeps 0.4 s after sending the hint: it must not be held back.
    assert hint.at + 0.3 < response.headers_at


def test_chromium_uses_both_preloads_once(chromium: Browser, app_h1: RunningServer) -> None:
    load = browser.load_page(chromium, app_h1.url("/"))
    assert load.status == 200
    for path in ("/static/a.css", "/static/b.js"):
        (entry,) = load.resource(app_h1.url(path))
        assert entry.initiator_type == "link"  # fetched because of the Link header
    assert load.duplicate_requests() == {}
    assert load.preload_warnings() == []


def test_chromium_reports_wasted_preloads(chromium: Browser, app_h1: RunningServer) -> None:
    """Negative controls: the detectors used above do fire when they should."""
    unused = browser.load_page(chromium, app_h1.url("/unused-preload"))
    assert any("/static/c.css" in text for text in unused.preload_warnings())
    # No need to wait for the 3 s timer: this warning comes at once.
    mismatched = browser.load_page(chromium, app_h1.url("/mismatched-preload"), settle=0.5)
    assert mismatched.duplicate_requests() == {app_h1.url("/static/b.js"): 2}
    assert mismatched.preload_warnings()


def test_chromium_trusts_test_ca_over_tls_h2(chromium: Browser, app_tls_h2: RunningServer) -> None:
    # No ignore_https_errors: the load only succeeds if the NSS db trusts our
    # CA.  before=0.05: an instant 103 on loopback can beat Chromium's own
    # request bookkeeping and be dropped (about 1 load in 7 here).
    load = browser.load_page(chromium, app_tls_h2.url("/early-hints?before=0.05"), settle=0.5)
    assert load.status == 200
    assert load.navigation_protocol == "h2"
    (css,) = load.resource(app_tls_h2.url("/static/a.css"))
    assert css.initiator_type == "early-hints"  # the 103 was trusted and used
    assert load.duplicate_requests() == {}
