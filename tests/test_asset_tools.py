"""Bare names resolve the way the app's templates build static URLs (resolver.py's
``template_url_builder`` and ``PUSH_URL_BUILDER``), with the real asset tools from PyPI:
Flask-Static-Digest (``static_url_for``, ``css/site-<md5>.css``) and Flask-CDN (its own
``url_for`` in the templates, ``https://CDN_DOMAIN/static/...?t=<mtime>``), and Flask's
own ``static_host`` / ``static_url_path``.

Each test renders a page whose HTML names its stylesheet with the tool's own template
function, and compares every URL the extension pushes (the ``Link`` header, the 103,
``push_url()``'s return value, ``push_link_tags()``, ``push_url_for('static', ...)``)
with the URL in that HTML.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, render_template, render_template_string, request
from flask_cdn import CDN
from flask_static_digest import FlaskStaticDigest, digester

from flask_push_templates import ConfigError, PushTemplates
from flask_push_templates.state import get_state
from tests.conftest import links_of, targets_of, write
from tests.linkheader import parse_link_header

#: The stylesheet as the page's own HTML names it (the asset tool's function), then every
#: way the extension pushes the same file.
PAGE = (
    '<link rel="stylesheet" href="{{ page_url }}">\n'
    "{% push 'css/site.css' %}"
    "<p id=push_url>{{ push_url('css/site.css') }}</p>\n"
    "<p id=push_url_for>{{ push_url_for('static', filename='css/site.css') }}</p>\n"
    "{{ push_link_tags() }}"
)
#: What the page's templates write, by tool.
DIGEST_URL = "{% set page_url = static_url_for('static', filename='css/site.css') %}"
CDN_URL = "{% set page_url = url_for('static', filename='css/site.css') %}"

Hints = list[list[tuple[str, str]]]


def site(tmp_path: Path, **config: Any) -> Flask:
    write(tmp_path / "static" / "css" / "site.css", "body { color: teal }")
    app = Flask("asset_tools", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_EARLY_HINTS=True, **config)
    return app


def digest(app: Flask) -> None:
    """``flask digest compile``: ``css/site-<md5>.css`` and ``cache_manifest.json``."""
    assert app.static_folder is not None
    digester.compile(app.static_folder, app.static_folder, [], False, False)


def serve_page(app: Flask, page_url: str) -> None:
    """A page at ``/`` from a template file: the 103 learns which template it renders."""
    write(Path(app.root_path) / "templates" / "page.html", page_url + PAGE)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))


def pushed_urls(app: Flask, path: str = "/", **environ: Any) -> tuple[str, dict[str, list[str]]]:
    """The page's own URL of the stylesheet, and each URL the extension pushed for it."""
    sent: Hints = []
    environ = {"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": sent.append, **environ}
    client = app.test_client()
    client.get(path, environ_overrides=environ)  # the 103 is learned from the first page
    sent.clear()
    response = client.get(path, environ_overrides=environ)
    assert response.status_code == 200, response.text
    html = response.text
    page_url = _unescape(re.search(r'rel="stylesheet" href="([^"]+)"', html))
    [hint] = sent
    return page_url, {
        "Link header": [link.target for link in links_of(response) if link.rel == "preload"],
        "103": [link.target for link in parse_link_header(hint[0][1]) if link.rel == "preload"],
        "push_url()": [_unescape(re.search(r"<p id=push_url>([^<]+)</p>", html))],
        "push_url_for()": [_unescape(re.search(r"<p id=push_url_for>([^<]+)</p>", html))],
        "push_link_tags()": [
            _unescape(match)
            for match in re.finditer(r'<link rel="preload" href="([^"]+)" as="style"', html)
        ],
    }


def _unescape(match: re.Match[str] | None) -> str:
    assert match is not None
    return match.group(1).replace("&amp;", "&")


def assert_every_push_is(app: Flask, expected: str, **environ: Any) -> None:
    page_url, pushed = pushed_urls(app, **environ)
    assert page_url == expected
    assert pushed == {key: [expected] for key in pushed}


# --- Flask-Static-Digest -------------------------------------------------------------------


@pytest.mark.parametrize("push_first", [True, False])
def test_static_digest_names_the_digested_file(tmp_path: Path, push_first: bool) -> None:
    app = site(tmp_path)
    digest(app)
    # Either order of the two init_app calls: the builder is looked up at the first push.
    extensions: list[Callable[[Flask], object]] = [PushTemplates, FlaskStaticDigest]
    for extension in extensions if push_first else reversed(extensions):
        extension(app)
    serve_page(app, DIGEST_URL)
    digested = "/static/" + os.path.relpath(
        next((tmp_path / "static" / "css").glob("site-*.css")), tmp_path / "static"
    )
    assert re.fullmatch(r"/static/css/site-[0-9a-f]{32}\.css", digested)
    assert_every_push_is(app, digested)
    # Under a mount prefix too, and the second request (remembered URLs) the same.
    assert_every_push_is(app, "/shop" + digested, SCRIPT_NAME="/shop")
    assert_every_push_is(app, digested)


def test_static_digest_host_url_is_followed(tmp_path: Path) -> None:
    app = site(tmp_path, FLASK_STATIC_DIGEST_HOST_URL="https://assets.example.com/")
    digest(app)
    FlaskStaticDigest(app)
    PushTemplates(app)
    serve_page(app, DIGEST_URL)
    page_url, pushed = pushed_urls(app)
    assert re.fullmatch(r"https://assets\.example\.com/static/css/site-[0-9a-f]{32}\.css", page_url)
    assert pushed == {key: [page_url] for key in pushed}


def test_static_digest_urls_are_remembered(tmp_path: Path) -> None:
    # Its manifest is read once, at its start-up: its URLs depend on the key alone.
    app = site(tmp_path)
    digest(app)
    FlaskStaticDigest(app)
    PushTemplates(app)
    serve_page(app, DIGEST_URL)
    pushed_urls(app)
    assert list(get_state(app).resolver._urls) == [("css/site.css", "", "static")]


def test_static_digest_of_a_blueprint_folder(tmp_path: Path) -> None:
    app = site(tmp_path)
    write(tmp_path / "admin" / "static" / "css" / "admin.css", "h1 { color: red }")
    admin = Blueprint(
        "admin", __name__, static_folder=str(tmp_path / "admin" / "static"), url_prefix="/admin"
    )
    admin.add_url_rule(
        "/",
        "page",
        lambda: render_template_string(
            "<link rel=stylesheet href=\"{{ static_url_for('admin.static', "
            "filename='css/admin.css') }}\">"
            "{% push 'css/admin.css', endpoint='admin.static' %}"
        ),
    )
    app.register_blueprint(admin)
    assert admin.static_folder is not None
    digester.compile(admin.static_folder, admin.static_folder, [], False, False)
    FlaskStaticDigest(app)
    PushTemplates(app)
    response = app.test_client().get("/admin/")
    page_url = _unescape(re.search(r'href="([^"]+)"', response.text))
    assert re.fullmatch(r"/admin/static/css/admin-[0-9a-f]{32}\.css", page_url)
    assert targets_of(response) == [page_url]


# --- Flask-CDN -----------------------------------------------------------------------------


def cdn_site(tmp_path: Path, **config: Any) -> Flask:
    app = site(tmp_path, CDN_DOMAIN="cdn.example.com", **config)
    PushTemplates(app)
    CDN(app)  # after this extension, as most factories list them: looked up at first push
    serve_page(app, CDN_URL)
    return app


def test_cdn_urls_name_the_cdn_with_its_timestamp(tmp_path: Path) -> None:
    app = cdn_site(tmp_path)
    mtime = int(os.path.getmtime(tmp_path / "static" / "css" / "site.css"))
    assert_every_push_is(app, f"http://cdn.example.com/static/css/site.css?t={mtime}")
    # The scheme follows the request (CDN_HTTPS = None): nothing of one is remembered.
    assert_every_push_is(
        app,
        f"https://cdn.example.com/static/css/site.css?t={mtime}",
        **{"wsgi.url_scheme": "https"},
    )
    assert get_state(app).resolver._urls == {}


def test_cdn_timestamp_follows_the_file(tmp_path: Path) -> None:
    app = cdn_site(tmp_path)
    stylesheet = tmp_path / "static" / "css" / "site.css"
    os.utime(stylesheet, (1_700_000_000, 1_700_000_000))
    assert_every_push_is(app, "http://cdn.example.com/static/css/site.css?t=1700000000")
    os.utime(stylesheet, (1_800_000_000, 1_800_000_000))  # redeployed
    assert_every_push_is(app, "http://cdn.example.com/static/css/site.css?t=1800000000")


def test_cdn_debug_serves_from_the_origin(tmp_path: Path) -> None:
    # CDN_DEBUG leaves Flask's url_for in the templates: the extension follows.
    app = cdn_site(tmp_path, CDN_DEBUG=True)
    assert_every_push_is(app, "/static/css/site.css")


# --- Flask's own static_host and static_url_path -------------------------------------------


def test_static_host_and_static_url_path(tmp_path: Path) -> None:
    write(tmp_path / "static" / "css" / "site.css", "body {}")
    app = Flask(
        "asset_tools",
        root_path=str(tmp_path),
        host_matching=True,
        static_host="static.example.com",
        static_url_path="/assets",
    )
    app.config.update(TESTING=True, PUSH_EARLY_HINTS=True)
    PushTemplates(app)
    write(tmp_path / "templates" / "page.html", CDN_URL + PAGE)
    app.add_url_rule(
        "/", "page", host="www.example.com", view_func=lambda: render_template("page.html")
    )
    page_url, pushed = pushed_urls(app, HTTP_HOST="www.example.com")
    assert page_url == "http://static.example.com/assets/css/site.css"
    assert pushed == {key: [page_url] for key in pushed}


# --- PUSH_URL_BUILDER ----------------------------------------------------------------------


def versioned_url(endpoint: str, **values: Any) -> str:
    """A URL builder of the app's own: a stamp of the file in the query."""
    from flask import url_for

    return url_for(endpoint, **values, v=request.headers.get("X-Release", "dev"))


def test_url_builder_setting_is_used_and_never_remembered(tmp_path: Path) -> None:
    app = site(tmp_path, PUSH_URL_BUILDER=f"{__name__}:versioned_url")
    app.add_template_global(versioned_url)
    PushTemplates(app)
    serve_page(app, "{% set page_url = versioned_url('static', filename='css/site.css') %}")
    assert_every_push_is(app, "/static/css/site.css?v=dev")
    assert_every_push_is(app, "/static/css/site.css?v=7", HTTP_X_RELEASE="7")
    assert get_state(app).resolver._urls == {}


def test_url_builder_is_also_used_outside_a_request(tmp_path: Path) -> None:
    app = site(tmp_path, PUSH_URL_BUILDER=lambda endpoint, **values: f"/built/{values['filename']}")
    PushTemplates(app)
    with app.app_context():
        assert render_template_string("{{ push_url('css/site.css') }}") == "/built/css/site.css"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (42, "PUSH_URL_BUILDER must be None (what the app's templates use), a callable"),
        ("no_such_module_here:url", "PUSH_URL_BUILDER 'no_such_module_here:url' cannot be"),
        (f"{__name__}:DIGEST_URL", "which is not callable"),
    ],
)
def test_url_builder_errors_at_startup(tmp_path: Path, value: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        PushTemplates(site(tmp_path, PUSH_URL_BUILDER=value))


def test_cdn_push_of_a_missing_file_is_left_out_not_a_500(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Flask-CDN reads the file's modification time: for a missing file it raises.
    write(tmp_path / "push.json", '{"css/gone.css": {}}')
    app = site(tmp_path, PUSH_MANIFEST="push.json", CDN_DOMAIN="cdn.example.com")
    PushTemplates(app)
    CDN(app)
    app.add_url_rule("/", "page", lambda: render_template_string("{% push 'js/gone.js' %}"))
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert targets_of(response) == []
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert [message.split(": ")[:2] for message in errors] == [
        ["push of 'js/gone.js'", "flask_cdn's URL builder cannot read the file"],
        ["push of 'css/gone.css'", "flask_cdn's URL builder cannot read the file"],
    ]
