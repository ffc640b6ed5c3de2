"""Push once through a real pushing proxy: Apache mod_http2 (``H2Push on``) before gunicorn.

A client that carries the ``push_once`` cookie back is pushed each asset once: the first
visit gets PUSH_PROMISEs for the page's ``rel=preload`` links, the second none, while the
Link header still names every asset (now with ``nopush``), so browsers still preload them.
A new version of an asset (a new URL) is pushed again. Each visit opens a new HTTP/2
connection, so Apache's own per-connection push diary cannot be what prevents the pushes.

With 103 Early Hints relayed by Apache (``H2EarlyHints on``), which pushes what a 103
names too, the second visit gets no pushes from the 103 either.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.linkheader import ParsedLink, parse_link_fields

from . import h2client, servers
from .servers import RunningServer, require

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]

APP = """
import json, os
from flask import Flask, render_template, request
from flask_push_templates import PushTemplates

app = Flask(__name__)
app.config.update(PUSH_ONCE=True, SEND_FILE_MAX_AGE_DEFAULT=3600)
app.config.update(json.loads(os.environ.get("ONCE_CONFIG", "{}")))
PushTemplates(app)


@app.route("/")
def page():
    return render_template("page.html", version=request.args.get("v"))
"""
PAGE = """{% push 'site.css' %}{% push 'app.js' %}{% push 'fonts/a.woff2' %}
{% push 'mod.mjs' %}{% push 'held.js', nopush=True %}
{% if version %}{% push '/static/theme.css?v=' ~ version %}{% endif %}<p>page</p>"""
STATIC = {
    "site.css": "p { color: rgb(1, 2, 3); }\n",
    "app.js": "console.log('app');\n",
    "fonts/a.woff2": "wOF2 (not really)\n",
    "mod.mjs": "export const x = 1;\n",
    "held.js": "console.log('held');\n",
    "theme.css": "body { margin: 0; }\n",
}
#: What Apache pushes from the page's header on a first visit: rel=preload without nopush.
PUSHED = ["/static/site.css", "/static/app.js", "/static/fonts/a.woff2"]
HINTS = {
    "PUSH_EARLY_HINTS": True,
    # Apache talks HTTP/1.1 to the app and relays the 103 to HTTP/2 clients.
    "PUSH_EARLY_HINTS_PROTOCOLS": ["HTTP/1.1", "HTTP/2"],
    "PUSH_EARLY_HINTS_TEMPLATES": {"page": ["page.html"]},
}


@pytest.fixture(scope="module")
def app_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("push_once_app")
    (directory / "push_once_app.py").write_text(APP)
    (directory / "templates").mkdir()
    (directory / "templates" / "page.html").write_text(PAGE)
    for name, content in STATIC.items():
        path = directory / "static" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return directory


def apache_before_gunicorn(app_dir: Path, **config: object) -> Iterator[RunningServer]:
    require("gunicorn")
    require("apache2")
    require("h2")
    with (
        servers.gunicorn_server(
            "push_once_app:app",
            cwd=app_dir,
            pythonpath=[REPO],
            env={"ONCE_CONFIG": json.dumps(config)},
            # Threads, so that Apache can fetch the pushed assets while the page is served.
            worker_class="gthread",
            threads=4,
        ) as app,
        servers.apache_proxy(app.port, push=True, early_hints=True) as proxy,
    ):
        yield proxy


@pytest.fixture(scope="module")
def proxy(app_dir: Path) -> Iterator[RunningServer]:
    yield from apache_before_gunicorn(app_dir)


@pytest.fixture(scope="module")
def hinting_proxy(app_dir: Path) -> Iterator[RunningServer]:
    yield from apache_before_gunicorn(app_dir, **HINTS)


def links(response: h2client.H2Response) -> list[ParsedLink]:
    return parse_link_fields(response.header("link"))


def cookie_of(response: h2client.H2Response) -> str:
    """The ``name=value`` of the push_once cookie the response sets."""
    [set_cookie] = [value for value in response.header("set-cookie") if "push_once=" in value]
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/" in set_cookie
    return set_cookie.split(";", 1)[0]


def visit(proxy: RunningServer, path: str = "/", cookie: str | None = None) -> h2client.H2Response:
    headers = [("cookie", cookie)] if cookie else []
    response = h2client.get(proxy.url(path), headers=headers)
    assert response.status == 200
    for push in response.pushes:  # whatever is pushed arrives whole
        assert push.status == 200 and push.reset is None, push
        assert push.body.decode() == STATIC[push.path.removeprefix("/static/").split("?")[0]]
    return response


def test_apache_pushes_on_the_first_visit_only_and_the_preloads_stay(
    proxy: RunningServer,
) -> None:
    first = visit(proxy)
    assert sorted(first.pushed_paths) == sorted(PUSHED)
    cookie = cookie_of(first)

    second = visit(proxy, cookie=cookie)  # a new connection: Apache's diary is empty
    assert second.pushed_paths == []
    assert second.header("set-cookie") == []  # nothing new was pushed
    before, after = links(first), links(second)
    assert [link.target for link in after] == [link.target for link in before]
    assert [link.target for link in after if link.has("nopush")] == [
        *PUSHED,
        "/static/held.js",
    ]
    assert all(link.rel in ("preload", "modulepreload") for link in after)

    # Without the cookie (another client), everything is pushed again.
    assert sorted(visit(proxy).pushed_paths) == sorted(PUSHED)


def test_a_new_asset_version_is_pushed_again_and_only_it(proxy: RunningServer) -> None:
    first = visit(proxy, "/?v=1")
    assert sorted(first.pushed_paths) == sorted([*PUSHED, "/static/theme.css?v=1"])
    cookie = cookie_of(first)
    second = visit(proxy, "/?v=2", cookie=cookie)
    assert second.pushed_paths == ["/static/theme.css?v=2"]
    third = visit(proxy, "/?v=2", cookie=cookie_of(second))
    assert third.pushed_paths == []


def test_with_early_hints_the_second_visit_is_not_pushed_from_the_103_either(
    hinting_proxy: RunningServer,
) -> None:
    first = visit(hinting_proxy)
    assert [hint.status for hint in first.informational] == [103]
    assert sorted(set(first.pushed_paths)) == sorted(PUSHED)
    second = visit(hinting_proxy, cookie=cookie_of(first))
    [hint] = second.informational
    hinted = parse_link_fields([value for name, value in hint.headers if name == "link"])
    assert {link.target for link in hinted if link.has("nopush")} >= set(PUSHED)
    assert second.pushed_paths == []


# --- issue 14: the push-once cookie at its maximum, behind nginx's default buffers ---------

MANY_ROUTE = """

@app.route("/many/<int:n>")
def many(n):
    # 20 assets no earlier page named: every page adds 20 entries to the cookie.
    for i in range(20):
        push_url(f"/static/theme.css?v=page-{n}-asset-{i}-of-this-long-url")
    return "<p>many</p>"
"""


def test_push_once_at_its_maximum_never_makes_nginx_answer_502(app_dir: Path) -> None:
    require("gunicorn")
    require("nginx")
    require("h2")
    (app_dir / "many_once_app.py").write_text(
        APP.replace("PushTemplates\n", "PushTemplates, push_url\n") + MANY_ROUTE
    )
    config = {"PUSH_ONCE_MAX_ENTRIES": 512}  # the documented maximum
    with (
        servers.gunicorn_server(
            "many_once_app:app",
            cwd=app_dir,
            pythonpath=[REPO],
            env={"ONCE_CONFIG": json.dumps(config)},
            worker_class="gthread",
            threads=4,
        ) as app,
        # nginx's default proxy_buffer_size (4 KiB): what the budget is a share of.
        servers.nginx_proxy(app.port) as proxy,
    ):
        cookie: str | None = None
        for n in range(50):
            headers = [("cookie", cookie)] if cookie else []
            response = h2client.get(proxy.url(f"/many/{n}"), headers=headers)
            assert response.status == 200, (n, response.status)
            # The cookie's room comes out of the links' (up to half the budget).
            assert len(links(response)) >= 12
            set_cookies = [v for v in response.header("set-cookie") if "push_once=" in v]
            assert set_cookies, n  # something new every page: the cookie keeps up
            added = response.header("link") + set_cookies
            assert sum(len(value) + 2 for value in added) <= 2048  # PUSH_MAX_HEADER_BYTES
            cookie = cookie_of(response)
        # The cookie kept its newest entries: the last page is not pushed again.
        again = h2client.get(proxy.url("/many/49"), headers=[("cookie", cookie)])
        assert again.status == 200
        assert again.pushed_paths == []
        assert all(link.has("nopush") for link in links(again))
