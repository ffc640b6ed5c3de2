"""The resolver: an asset becomes the URL this request's page uses, and what is remembered
never carries one request's (or no request's) URL into another."""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path
from typing import Any

import flask
import pytest
from flask import (
    Blueprint,
    Flask,
    Response,
    render_template,
    render_template_string,
    stream_template,
)
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import TestResponse

from flask_push_templates import PushError, PushTemplates, http2push, push_url
from flask_push_templates import resolver as resolver_module
from flask_push_templates.linkset import RankedLinks
from flask_push_templates.pushes import AssetPush, UnresolvableAsset
from flask_push_templates.resolver import AssetResolver, expand_endpoint
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, link, links_of, static_blueprint, targets_of
from tests.linkheader import parse_link_header
from tests.test_decorator import README_MANIFEST
from tests.test_early_hints import get, hinted_targets

PAGE = "{% push 'app.css' %}<p>page</p>"


def _render_outside_a_request(app: Flask) -> str:
    with app.app_context():
        return render_template_string("{{ push_url('app.css') }}")


def test_a_render_outside_a_request_does_not_fill_the_urls_a_request_gets(
    make_app: AppFactory,
) -> None:
    app = make_app(SERVER_NAME="internal.example:8443")
    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    # A CLI command or a background job renders with no request: an external URL.
    assert _render_outside_a_request(app) == "http://internal.example:8443/static/app.css"
    response = app.test_client().get("/", base_url="http://internal.example:8443")
    assert targets_of(response) == ["/static/app.css"]


def test_application_root_outside_a_request_does_not_reach_a_request_at_another_root(
    make_app: AppFactory,
) -> None:
    app = make_app(APPLICATION_ROOT="/app")
    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    assert _render_outside_a_request(app) == "/app/static/app.css"
    client = app.test_client()
    assert targets_of(client.get("/", environ_overrides={"SCRIPT_NAME": ""})) == ["/static/app.css"]
    assert targets_of(client.get("/", environ_overrides={"SCRIPT_NAME": "/shop"})) == [
        "/shop/static/app.css"
    ]


def test_an_empty_application_root_outside_a_request_is_the_root(make_app: AppFactory) -> None:
    assert _render_outside_a_request(make_app(APPLICATION_ROOT="")) == "/static/app.css"


def test_a_relative_static_endpoint_is_each_blueprints_own(tmp_path: Path) -> None:
    app = Flask("blueprints", root_path=str(tmp_path))
    app.config["PUSH_STATIC_ENDPOINT"] = ".static"
    for name in ("shop", "blog"):
        (tmp_path / name / "static").mkdir(parents=True)
        blueprint = Blueprint(
            name, __name__, static_folder=str(tmp_path / name / "static"), url_prefix=f"/{name}"
        )
        blueprint.add_url_rule("/", "page", lambda: render_template_string(PAGE))
        app.register_blueprint(blueprint)
    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    PushTemplates(app)
    client = app.test_client()
    for _ in range(2):  # the second round is served from what the first remembered
        assert targets_of(client.get("/shop/")) == ["/shop/static/app.css"]
        assert targets_of(client.get("/blog/")) == ["/blog/static/app.css"]
        assert targets_of(client.get("/")) == ["/static/app.css"]


def test_the_resolvers_of_requests_are_remembered_per_script_root_and_bounded(
    make_app: AppFactory,
) -> None:
    # Script roots may come from a proxy's header (ProxyFix): each gets its own URLs, and
    # what is remembered of them stays bounded.
    app = make_app()
    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    resolver = get_state(app).resolver
    client = app.test_client()
    roots = [f"/r{number}" for number in range(AssetResolver.MAX_REQUEST_KEYS + 3)]
    for root in [*roots, *roots[:3]]:
        response = client.get("/", environ_overrides={"SCRIPT_NAME": root})
        assert targets_of(response) == [f"{root}/static/app.css"]
        assert len(resolver._request_urls) <= AssetResolver.MAX_REQUEST_KEYS
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/r1"}):
        assert resolver.for_request() is resolver.for_request()


def test_expand_endpoint_follows_url_for() -> None:
    assert expand_endpoint(".static", "shop") == "shop.static"
    assert expand_endpoint(".static", None) == "static"
    assert expand_endpoint("static", "shop") == "static"
    assert expand_endpoint("admin.static", "shop") == "admin.static"


def test_urls_of_an_app_with_url_defaults_are_never_remembered(make_app: AppFactory) -> None:
    app = make_app()
    version = {"v": "1"}

    @app.url_defaults
    def cache_bust(endpoint: str, values: dict[str, str]) -> None:
        if endpoint == "static":
            values.setdefault("v", version["v"])

    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/static/app.css?v=1"]
    version["v"] = "2"
    assert targets_of(client.get("/")) == ["/static/app.css?v=2"]
    assert get_state(app).resolver._urls == {}


# A push naming its endpoint is remembered by RequestUrls.static_url, the others by url.
@pytest.mark.parametrize("endpoint", [None, "static"])
def test_remembered_urls_are_bounded_and_start_over_when_full(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch, endpoint: str | None
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_URLS", 3)
    app = make_app()
    names = [f"{index}.css" for index in range(4)]
    app.add_url_rule("/", "page", lambda: "".join(push_url(n, endpoint=endpoint) for n in names))
    response = app.test_client().get("/", headers={"Accept": "text/html"})
    assert response.text == "".join(f"/static/{name}" for name in names)
    urls = get_state(app).resolver._urls
    # Three were remembered, the memory was full at the fourth: it holds only that one.
    assert list(urls.values()) == ["/static/3.css"]


def test_resolved_manifest_links_are_told_apart_when_an_id_is_reused(
    make_app: AppFactory,
) -> None:
    app = make_app()
    with app.test_request_context("/"):
        urls = get_state(app).resolver.for_request()
        pushes = (AssetPush("new.css"),)
        stale = (AssetPush("old.css"),)
        # What a dead tuple whose id the new one reuses would have left behind.
        resolver = get_state(app).resolver
        resolver._links[(id(pushes), "", "static")] = RankedLinks((urls.link(stale[0]),), stale)
        assert [link.url for link in urls.links(pushes, 0)] == ["/static/new.css"]
        assert urls.links(pushes, 0) is urls.links(pushes, 0)


def test_remembered_manifest_links_are_bounded(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_LINK_GROUPS", 2)
    app = make_app()
    groups = [(AssetPush(f"{index}.css"),) for index in range(3)]
    with app.test_request_context("/"):
        urls = get_state(app).resolver.for_request()
        for group in groups:
            urls.links(group, 0)
        assert [value.pushes for value in get_state(app).resolver._links.values()] == [groups[2]]


@pytest.mark.parametrize(
    ("asset", "url"),
    [
        # An app path: under the script root, as flask-http2-push's request.url_root did.
        ("/static/x.css", "/shop/static/x.css"),
        ("/page-data.json?limit=5", "/shop/page-data.json?limit=5"),
        # A full URL names its own origin: as given.
        ("https://cdn.example/x.css", "https://cdn.example/x.css"),
        ("//cdn.example/x.css", "//cdn.example/x.css"),
        # A static file name, and its query and fragment as given after its static URL.
        ("x.css", "/shop/static/x.css"),
        ("css/app.css?v=2", "/shop/static/css/app.css?v=2"),
        ("css/app.css#top", "/shop/static/css/app.css#top"),
        ("css/a b.css?q=a b#f?g", "/shop/static/css/a%20b.css?q=a b#f?g"),
    ],
)
def test_one_rule_for_every_asset(make_app: AppFactory, asset: str, url: str) -> None:
    app = make_app()
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/shop"}):
        urls = get_state(app).resolver.for_request()
        assert urls.url(asset) == url
        assert urls.url(asset) == url  # remembered: the same answer
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/other"}):
        # What /shop remembered is its own.
        expected = url.replace("/shop/", "/other/", 1)
        assert get_state(app).resolver.for_request().url(asset) == expected


@pytest.mark.parametrize(
    ("root", "prefix"), [("/app/", "/app"), ("/APPX", "/APPX"), ("", ""), ("/", "")]
)
def test_an_app_path_outside_a_request_is_under_application_root(
    make_app: AppFactory, root: str, prefix: str
) -> None:
    app = make_app(APPLICATION_ROOT=root)
    with app.app_context():
        urls = get_state(app).resolver.for_request()
        assert urls.url("/static/x.css") == f"{prefix}/static/x.css"
        assert urls.url("x.css?v=2") == f"{prefix}/static/x.css?v=2"


def test_the_assets_query_follows_the_query_url_defaults_add(make_app: AppFactory) -> None:
    app = make_app()

    @app.url_defaults
    def cache_bust(endpoint: str, values: dict[str, str]) -> None:
        if endpoint == "static":
            values.setdefault("v", "abc")

    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/shop"}):
        urls = get_state(app).resolver.for_request()
        assert urls.url("app.css") == "/shop/static/app.css?v=abc"
        assert urls.url("app.css?media=print#x") == "/shop/static/app.css?v=abc&media=print#x"
        assert urls.url("app.css#x") == "/shop/static/app.css?v=abc#x"
        assert urls.url("/static/app.css") == "/shop/static/app.css"


@pytest.mark.parametrize("asset", ["?v=2", "#top", "?"])
def test_a_query_without_a_file_name_is_refused_naming_it(make_app: AppFactory, asset: str) -> None:
    app = make_app()
    refusal = re.escape(f"push of {asset!r}: a query or fragment needs a file name before it")
    with app.test_request_context("/"), pytest.raises(PushError, match=refusal):
        get_state(app).resolver.for_request().url(asset)


def test_manifest_links_resolved_by_the_tools_do_not_reach_a_request(
    make_app: AppFactory,
) -> None:
    app = make_app(
        files={"push_manifest.json": '{"app.css": {"type": "style"}}'},
        PUSH_MANIFEST="push_manifest.json",
        SERVER_NAME="internal.example:8443",
    )
    app.add_url_rule("/", "page", lambda: "<p>page</p>")
    state = get_state(app)
    manifest = state.manifests.get(str(state.manifest_path), auto_reload=False)
    assert manifest is not None
    with app.app_context():  # as a CLI command or a background job resolves them
        outside = state.resolver.for_request().links(manifest.entries, 0)
    assert [link.url for link in outside] == ["http://internal.example:8443/static/app.css"]
    response = app.test_client().get("/", base_url="http://internal.example:8443")
    assert targets_of(response) == ["/static/app.css"]


# --- under a mount prefix: every source, every way out -------------------------------------

PREFIX_TEMPLATES = {
    "page.html": (
        "{% push '/static/tag.css' %}{% push 'css/app.css?v=2' %}"
        "{% push 'https://cdn.example/lib.js' %}"
        "<img src=\"{{ push_url('/media/x.png') }}\"><img src=\"{{ push_url('a.png#x') }}\">"
    ),
}
PREFIX_MANIFEST = {
    "/static/site.css": {"type": "style"},
    "img/logo.svg?v=3": {},
    "page.html": {"/static/group.js": {}},
}
#: What the page's sources name, for a request at script root ``ROOT``.
KNOWN_BEFORE_THE_VIEW = [
    "ROOT/static/tag.css",
    "ROOT/static/css/app.css?v=2",
    "https://cdn.example/lib.js",
    "ROOT/path/to/file-to-push.js",
    "ROOT/path/to/file-to-push.css",
    "ROOT/path/to/file-to-push.woff2",
    "ROOT/static/group.js",
    "ROOT/static/site.css",
    "ROOT/static/img/logo.svg?v=3",
]
RECORDED_ONLY = ["ROOT/media/x.png", "ROOT/static/a.png#x"]
#: Not in a 103, which carries preload, modulepreload and preconnect only.
PREFETCH = ["ROOT/path/to/file-to-push.html"]


def prefix_app(make_app: AppFactory) -> Flask:
    """A page with every source of links: tags, push_url(), PUSH_MANIFEST (its flat
    entries and the page's group), and flask-http2-push's README manifest on the view;
    streamed at /streamed; with 103 Early Hints."""
    app = make_app(
        templates=PREFIX_TEMPLATES,
        files={
            "push.json": json.dumps(PREFIX_MANIFEST),
            "push_manifest.json": json.dumps(README_MANIFEST),
        },
        PUSH_MANIFEST="push.json",
        PUSH_EARLY_HINTS=True,
        PUSH_EARLY_HINTS_TEMPLATES={"page": ["page.html"], "streamed": ["page.html"]},
    )
    app.add_url_rule("/", "page", http2push()(lambda: render_template("page.html")))
    app.add_url_rule(
        "/streamed",
        "streamed",
        http2push()(lambda: Response(stream_template("page.html"), mimetype="text/html")),
    )
    return app


def rooted(urls: list[str], root: str) -> list[str]:
    return sorted(url.replace("ROOT", root) for url in urls)


def fetched(response: TestResponse) -> list[str]:
    """The header's targets but the preconnects (validated by the strict parser)."""
    return sorted(link.target for link in links_of(response) if link.get("rel") != "preconnect")


@pytest.mark.parametrize("root", ["", "/shop", "/a/b"])
def test_the_header_the_stream_and_the_103_name_the_same_urls_under_the_script_root(
    make_app: AppFactory, root: str
) -> None:
    app = prefix_app(make_app)
    response, sent = get(app, "/", script_root=root)
    assert response.status_code == 200
    assert fetched(response) == rooted(KNOWN_BEFORE_THE_VIEW + RECORDED_ONLY + PREFETCH, root)
    assert sorted(hinted_targets(sent)) == sorted(
        ["https://cdn.example", *rooted(KNOWN_BEFORE_THE_VIEW, root)]
    )
    streamed, sent = get(app, "/streamed", script_root=root)
    assert streamed.status_code == 200
    assert fetched(streamed) == rooted(KNOWN_BEFORE_THE_VIEW + PREFETCH, root)
    assert sorted(hinted_targets(sent)) == sorted(
        ["https://cdn.example", *rooted(KNOWN_BEFORE_THE_VIEW, root)]
    )


@pytest.mark.parametrize("prefix", ["?", "?x", "/a?b", "/a#b", "shop", "//evil.example", "/\\x"])
def test_a_script_root_that_is_not_a_path_costs_the_request_its_links_only(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture, prefix: str
) -> None:
    caplog.set_level(logging.DEBUG, "flask_push_templates.resolver")
    app = prefix_app(make_app)
    # ProxyFix copies X-Forwarded-Prefix, whatever it holds, into SCRIPT_NAME.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    for _ in range(3):  # a client that sends it on every request
        for path in ("/", "/streamed"):
            response, sent = get(app, path, headers={"X-Forwarded-Prefix": prefix})
            assert response.status_code == 200, path
            assert "Link" not in response.headers
            assert sent == []
    # The page itself is what url_for makes of the prefix: not the extension's to fix.
    assert response.text.startswith("<img")
    refusals = [record.levelno for record in caplog.records if "script root" in record.getMessage()]
    assert refusals.count(logging.WARNING) == 1
    assert refusals.count(logging.DEBUG) >= 5  # the later requests: kept out of the way
    assert repr(prefix) in caplog.records[0].getMessage()
    # A real prefix, on the same worker, still gets every link, and nothing is logged.
    caplog.clear()
    response, sent = get(app, "/", headers={"X-Forwarded-Prefix": "/shop"})
    assert fetched(response) == rooted(KNOWN_BEFORE_THE_VIEW + RECORDED_ONLY + PREFETCH, "/shop")
    assert len(hinted_targets(sent)) == len(KNOWN_BEFORE_THE_VIEW) + 1
    assert caplog.records == []


def test_each_cause_of_a_refused_script_root_is_logged_once(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = prefix_app(make_app)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    for prefix in ("?1", "x", "/a?b", "/c?d", "//e", "//f", "?2"):
        assert get(app, "/", headers={"X-Forwarded-Prefix": prefix})[0].status_code == 200
    warnings = [
        record.getMessage() for record in caplog.records if record.levelno == logging.WARNING
    ]
    assert [warning.split(" (SCRIPT_NAME")[0] for warning in warnings] == [
        "the request's script root '?1' does not start with '/'",
        "the request's script root '/a?b' holds '?', which would start a query",
        "the request's script root '//e' starts with '//', which names another host",
    ]


def test_a_refused_script_root_costs_a_decorator_only_app_its_links_only(tmp_path: Path) -> None:
    # flask-http2-push's users: no PushTemplates(app), the decorator adds the header.
    (tmp_path / "push_manifest.json").write_text(json.dumps(README_MANIFEST))
    app = Flask(__name__, root_path=str(tmp_path))
    app.add_url_rule("/", "main", http2push()(lambda: "hi"))
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    client = app.test_client()
    refused = client.get("/", headers={"X-Forwarded-Prefix": "?"})
    assert (refused.status_code, refused.text, refused.headers.getlist("Link")) == (200, "hi", [])
    served = client.get("/", headers={"X-Forwarded-Prefix": "/shop"})
    assert targets_of(served) == [f"/shop{path}" for path in README_MANIFEST]


# --- a blueprint's static files: endpoint='admin.static' ------------------------------------

ADMIN_PAGE = (
    "<link rel=stylesheet href=\"{{ url_for('admin.static', filename='css/admin.css') }}\">"
    "{% push 'css/admin.css', 'style', endpoint='admin.static' %}"
    "{% push 'css/site.css' %}"
)


def admin_app(tmp_path: Path, **config: object) -> Flask:
    """An app whose ``admin`` blueprint (registered after ``init_app``, as factories do)
    serves its own static folder, with a page that pushes one of its files."""
    (tmp_path / "static").mkdir(exist_ok=True)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "admin.html").write_text(ADMIN_PAGE)
    app = Flask("blueprint_static", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_EARLY_HINTS=True, **config)
    PushTemplates(app)
    admin = static_blueprint("admin", tmp_path / "admin_static")
    admin.add_url_rule("/", "page", lambda: render_template("admin.html"))
    admin.add_url_rule("/streamed", "streamed", lambda: Response(stream_template("admin.html")))
    app.register_blueprint(admin)
    return app


def hinted(app: Flask, path: str, **environ: str) -> tuple[list[str], list[str]]:
    """The targets of the 103 and of the final ``Link`` header of ``path`` (once learned)."""
    sent: list[list[tuple[str, str]]] = []
    overrides = {"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": sent.append, **environ}
    client = app.test_client()
    client.get(path, environ_overrides=overrides).close()
    sent.clear()
    response = client.get(path, environ_overrides=overrides)
    response.get_data()
    [hint] = sent
    return [link.target for link in parse_link_header(hint[0][1])], targets_of(response)


@pytest.mark.parametrize("script_root", ["", "/shop"])
def test_a_blueprint_static_file_in_header_103_and_streamed_header(
    tmp_path: Path, script_root: str
) -> None:
    app = admin_app(tmp_path)
    expected = [f"{script_root}/admin/static/css/admin.css", f"{script_root}/static/css/site.css"]
    response = app.test_client().get("/admin/", environ_overrides={"SCRIPT_NAME": script_root})
    assert f'href="{expected[0]}"' in response.text  # what the page itself uses
    [admin_link, _] = links_of(response)
    # The endpoint says how to build the URL: it is no attribute of the link.
    assert dict(admin_link.params) == {"rel": "preload", "as": "style"}
    assert hinted(app, "/admin/", SCRIPT_NAME=script_root) == (expected, expected)
    # A streamed page's header leaves before its body: the tag's constant push is known.
    assert hinted(app, "/admin/streamed", SCRIPT_NAME=script_root) == (expected, expected)


def test_push_url_and_manifests_name_a_blueprint_endpoint(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text(
        '{"css/admin.css": {"type": "style", "endpoint": "admin.static"}}'
    )
    app = admin_app(tmp_path, PUSH_MANIFEST="m.json")
    app.add_url_rule("/url", "url", lambda: push_url("js/admin.js", endpoint="admin.static"))
    response = app.test_client().get("/url", headers={"Accept": "text/html"})
    assert response.text == "/admin/static/js/admin.js"
    assert targets_of(response) == ["/admin/static/js/admin.js", "/admin/static/css/admin.css"]


def test_a_relative_endpoint_on_a_push_is_the_requests_blueprints(tmp_path: Path) -> None:
    app = Flask("relative_push", root_path=str(tmp_path))
    app.config["TESTING"] = True
    PushTemplates(app)
    page = "{% push 'app.css', endpoint='.static' %}"
    shop = static_blueprint("shop", tmp_path)
    shop.add_url_rule("/", "page", lambda: render_template_string(page))
    api = Blueprint("api", __name__, url_prefix="/api")  # no static folder of its own
    api.add_url_rule("/", "page", lambda: render_template_string(page))
    app.register_blueprint(shop)
    app.register_blueprint(api)
    client = app.test_client()
    assert targets_of(client.get("/shop/")) == ["/shop/static/app.css"]
    # A blueprint without static files falls back to the app's, as its templates do.
    assert targets_of(client.get("/api/")) == ["/static/app.css"]


def test_an_unknown_endpoint_leaves_the_push_out_and_logs_it_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A blueprint that is never registered cannot be refused at start-up (it might come
    # later): the page is still served, without that link, and the error is logged.
    (tmp_path / "m.json").write_text('{"a.css": {"endpoint": "shop.static"}}')
    app = Flask("unknown_endpoint", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_MANIFEST="m.json")
    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template_string("{% push 'b.css' %}"))
    app.add_url_rule("/url", "url", lambda: push_url("c.css", endpoint="shop.static"))
    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200
        assert targets_of(response) == ["/static/b.css"]
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors == [
        "push of 'a.css': 'shop.static' names no endpoint that serves static files (the "
        "app's static endpoints are 'static'): left out of the page's links ('flask push "
        "check' lists every such push)"
    ]
    # push_url() must return a URL: it says why it cannot.
    with pytest.raises(PushError, match=r"'shop\.static' names no endpoint"):
        client.get("/url")


def test_remembered_manifest_links_go_with_the_manifest_version(make_app: AppFactory) -> None:
    app = make_app(
        files={"m.json": '{"/a.css": {}}'}, PUSH_MANIFEST="m.json", TEMPLATES_AUTO_RELOAD=True
    )
    app.add_url_rule("/", "page", lambda: "<p>page</p>")
    client = app.test_client()
    resolver = get_state(app).resolver

    def remembered() -> list[list[str]]:
        return [[link.url for link in ranked.links] for ranked in resolver._links.values()]

    assert targets_of(client.get("/")) == ["/a.css"]
    assert remembered() == [["/a.css"]]
    (Path(app.root_path) / "m.json").write_text('{"/b.css": {}}')
    os.utime(Path(app.root_path) / "m.json", ns=(1, 1))  # a new stamp on coarse clocks too
    assert targets_of(client.get("/")) == ["/b.css"]
    assert remembered() == [["/b.css"]]  # the old version's links are not kept alive
    with app.test_request_context("/"):
        # A request that read the manifests before the change remembers nothing of them.
        stale = (AssetPush("/c.css"),)
        resolver.for_request().ranked(stale, version=0)
    assert remembered() == [["/b.css"]]


def test_remembered_manifest_links_are_bounded_in_number_of_links(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_LINKS", 3)
    app = make_app()
    with app.test_request_context("/"):
        urls = get_state(app).resolver.for_request()
        two = (AssetPush("a.css"), AssetPush("b.css"))
        urls.ranked(two, 0)
        urls.ranked((AssetPush("c.css"),), 0)
        urls.ranked((AssetPush("d.css"), AssetPush("e.css")), 0)  # 5 in all: starts over
        too_many = tuple(AssetPush(f"{index}.css") for index in range(4))
        too_many_urls = [link.url for link in urls.links(too_many, 0)]
        assert too_many_urls == [f"/static/{index}.css" for index in range(4)]
        remembered = get_state(app).resolver._links.values()
        assert [len(ranked.links) for ranked in remembered] == [2]


def test_a_large_manifests_ordered_links_are_remembered_per_script_root(
    make_app: AppFactory,
) -> None:
    # 1,000 entries: merged lazily, from links resolved and ordered once per script root.
    manifest = {"//cdn.example/x.js": {"weight": 3}}  # its scheme is the page's
    manifest.update({f"/static/{index}.css": {"weight": index % 4} for index in range(1000)})
    app = make_app(files={"m.json": json.dumps(manifest)}, PUSH_MANIFEST="m.json")
    app.add_url_rule("/", "page", lambda: "<p>page</p>")
    client = app.test_client()
    for _ in range(2):
        for root, host in (("", "a.example"), ("/shop", "b.example"), ("/app", "cdn.example")):
            response = client.get(
                "/", environ_overrides={"SCRIPT_NAME": root}, base_url=f"http://{host}"
            )
            targets = targets_of(response)
            # The CDN needs a preconnect, except on a page of its own origin (the preconnect
            # is worked out per request: the host is in no remembered key).
            preconnect = [] if host == "cdn.example" else ["http://cdn.example"]
            assert targets[: len(preconnect) + 3] == [
                *preconnect,
                "//cdn.example/x.js",
                f"{root}/static/3.css",
                f"{root}/static/7.css",
            ]
            assert all(t.startswith(f"{root}/static/") for t in targets[len(preconnect) + 1 :])
    assert len(get_state(app).resolver._links) == 3


# --- what mutmut found unguarded: the memory of endpoint URLs, the builder of endpoint
# URLs, the app's own URL of a push (flask push check), the log lines -----------------------


def test_a_blueprint_static_url_is_built_once_per_script_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = admin_app(tmp_path)
    built: list[str] = []
    real_url_for = flask.url_for

    def counting_url_for(endpoint: str, **values: Any) -> str:
        built.append(f"{endpoint} {values.get('filename')}")
        return real_url_for(endpoint, **values)

    monkeypatch.setattr(resolver_module, "url_for", counting_url_for)
    client = app.test_client()
    for _ in range(2):  # the second round is served from what the first remembered
        for root in ("", "/shop"):
            response = client.get("/admin/", environ_overrides={"SCRIPT_NAME": root})
            assert targets_of(response) == [
                f"{root}/admin/static/css/admin.css",
                f"{root}/static/css/site.css",
            ]
    assert sorted(built) == sorted(2 * ["admin.static css/admin.css", "static css/site.css"])
    assert get_state(app).resolver._urls[("css/admin.css", "/shop", "admin.static")] == (
        "/shop/admin/static/css/admin.css"
    )


def test_a_blueprint_static_url_outside_a_request_is_under_application_root(
    tmp_path: Path,
) -> None:
    app = admin_app(tmp_path, APPLICATION_ROOT="/app")
    with app.app_context():
        url = render_template_string("{{ push_url('css/admin.css', endpoint='admin.static') }}")
    assert url == "/app/admin/static/css/admin.css"


def cdn_url(endpoint: str, **values: object) -> str:
    """A ``PUSH_URL_BUILDER`` whose URLs say which endpoint built them."""
    return f"https://cdn.example/{endpoint}/{values['filename']}"


def test_push_url_for_builds_static_endpoints_by_the_url_builder_and_others_by_url_for(
    tmp_path: Path,
) -> None:
    app = Flask("endpoint_urls", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_URL_BUILDER=cdn_url)
    PushTemplates(app)
    shop = Blueprint("shop", __name__, url_prefix="/shop")
    shop.register_blueprint(static_blueprint("admin", tmp_path))  # shop.admin.static
    app.register_blueprint(shop)
    app.add_url_rule("/data", "data", lambda: "{}")
    page = (
        "{{ push_url_for('static', filename='a.css') }} "
        "{{ push_url_for('shop.admin.static', filename='b.css') }} "
        "{{ push_url_for('data', _as='fetch') }}"
    )
    app.add_url_rule("/", "page", lambda: render_template_string(page))
    response = app.test_client().get("/")
    expected = [
        "https://cdn.example/static/a.css",
        "https://cdn.example/shop.admin.static/b.css",
        "/data",
    ]
    assert response.text == " ".join(expected)
    assert targets_of(response)[-3:] == expected


def test_the_apps_own_url_of_a_push_follows_the_requests_blueprint(tmp_path: Path) -> None:
    # What 'flask push check' looks for on disk when the page's URL is a CDN's.
    app = Flask("origin_urls", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_URL_BUILDER=cdn_url)
    PushTemplates(app)
    shop = static_blueprint("shop", tmp_path)
    shop.add_url_rule("/", "page", lambda: "shop")
    api = Blueprint("api", __name__, url_prefix="/api")  # no static folder of its own
    api.add_url_rule("/", "page", lambda: "api")
    app.register_blueprint(shop)
    app.register_blueprint(api)
    relative = AssetPush("a.css", endpoint=".static")
    for path, url in (("/shop/", "/shop/static/a.css"), ("/api/", "/static/a.css")):
        with app.test_request_context(path):
            urls = get_state(app).resolver.for_request()
            assert urls.url("a.css") == "https://cdn.example/static/a.css"
            assert urls.origin_url(relative) == url
            assert urls.origin_url(AssetPush("a.css")) == "/static/a.css"
    with app.test_request_context("/api/"):
        urls = get_state(app).resolver.for_request()
        with pytest.raises(UnresolvableAsset) as error:
            urls.origin_url(AssetPush("a.css", endpoint="admin.static"))
    assert str(error.value) == (
        "push of 'a.css': 'admin.static' names no endpoint that serves static files (the "
        "app's static endpoints are 'shop.static', 'static')"
    )


def test_a_push_left_out_is_logged_as_an_error_once_then_kept_out_of_the_way(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, resolver_module.__name__)
    manifest = {"a.css": {"endpoint": "shop.static"}, "b.css": {"endpoint": "blog.static"}}
    app = make_app(files={"m.json": json.dumps(manifest)}, PUSH_MANIFEST="m.json")
    # Its URLs are never remembered: each request resolves the manifest again.
    app.url_defaults(lambda endpoint, values: None)
    app.add_url_rule("/", "page", lambda: "<p>page</p>")
    client = app.test_client()
    for _ in range(3):
        assert client.get("/").status_code == 200
    logged = [
        (record.levelno, record.getMessage().split(" names no endpoint")[0])
        for record in caplog.records
        if record.name == resolver_module.__name__
    ]
    first, second = "push of 'a.css': 'shop.static'", "push of 'b.css': 'blog.static'"
    # Each push is an error once; the same push again is only a debug line.
    assert logged == [
        (logging.ERROR, first),
        (logging.ERROR, second),
        *2 * [(logging.DEBUG, first), (logging.DEBUG, second)],
    ]


def test_a_refused_script_root_is_logged_in_full(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = prefix_app(make_app)
    app.wsgi_app = ProxyFix(app.wsgi_app, x_prefix=1)  # type: ignore[method-assign]
    assert get(app, "/", headers={"X-Forwarded-Prefix": "shop"})[0].status_code == 200
    [message] = [r.getMessage() for r in caplog.records if r.name == resolver_module.__name__]
    assert message == (
        "the request's script root 'shop' does not start with '/' (SCRIPT_NAME; behind "
        "ProxyFix(x_prefix=1) it is the X-Forwarded-Prefix header): requests with such a "
        "script root get no links (logged once for each cause)"
    )


def test_manifest_links_are_remembered_at_the_version_they_were_read(
    make_app: AppFactory,
) -> None:
    app = make_app()
    resolver = get_state(app).resolver
    first, second = (AssetPush("a.css"),), (AssetPush("b.css"),)
    with app.test_request_context("/"):
        urls = resolver.for_request()
        urls.ranked(first, version=2)
        assert [link.url for link in urls.links(second, version=2)] == ["/static/b.css"]
    assert [ranked.pushes for ranked in resolver._links.values()] == [first, second]


# --- Vite entries (RequestUrls.expand, .entry): a small build in Vite's manifest format, so
# that the unit suite covers them without node (test_vite.py has the real build) -----------

VITE_MANIFEST = "static/build/.vite/manifest.json"


def vite_chunks(version: int) -> dict[str, object]:
    return {
        "src/main.js": {
            "file": f"assets/main-{version}.js",
            "isEntry": True,
            "css": [f"assets/main-{version}.css"],
            "imports": ["_shared.js"],
        },
        "_shared.js": {"file": f"assets/shared-{version}.js"},
    }


def vite_files(version: int) -> list[str]:
    """The links of the entry of :func:`vite_chunks`: its CSS, its module, what it imports."""
    names = (f"main-{version}.css", f"main-{version}.js", f"shared-{version}.js")
    return [f"/static/build/assets/{name}" for name in names]


def vite_resolver_app(tmp_path: Path, **config: object) -> Flask:
    manifest = tmp_path / VITE_MANIFEST
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps(vite_chunks(1)))
    app = Flask("vite_resolver", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_VITE_MANIFEST=VITE_MANIFEST, **config)
    PushTemplates(app)
    return app


@pytest.mark.parametrize(
    ("push", "targets"),
    [
        ("'src/main.js'", vite_files(1)),
        # A destination or an endpoint says it is a file of the static folder, not an entry.
        ("'src/main.js', 'script'", ["/static/src/main.js"]),
        ("'src/main.js', endpoint='static'", ["/static/src/main.js"]),
    ],
)
def test_a_push_of_a_vite_entry_stands_for_its_files(
    tmp_path: Path, push: str, targets: list[str]
) -> None:
    app = vite_resolver_app(tmp_path)
    app.add_url_rule("/", "page", lambda: render_template_string(f"{{% push {push} %}}"))
    assert targets_of(app.test_client().get("/")) == targets


def test_a_rebuilt_vite_manifest_is_followed_in_debug(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"src/main.js": {}}')
    app = vite_resolver_app(tmp_path, TEMPLATES_AUTO_RELOAD=True, PUSH_MANIFEST="m.json")
    app.add_url_rule("/", "page", lambda: "<p>page</p>")
    app.add_url_rule("/url", "url", lambda: push_url("src/main.js"))
    client = app.test_client()
    for version in (1, 2):
        if version == 2:
            manifest = tmp_path / VITE_MANIFEST
            manifest.write_text(json.dumps(vite_chunks(2)))
            os.utime(manifest, ns=(1, 1))
        assert targets_of(client.get("/")) == vite_files(version)
        response = client.get("/url", headers={"Accept": "text/html"})
        assert response.text == f"/static/build/assets/main-{version}.js"
        assert targets_of(response) == vite_files(version)


def test_a_static_url_outside_a_request_follows_host_matching_and_the_preferred_scheme(
    tmp_path: Path,
) -> None:
    # No SERVER_NAME: the URL is built without one, for the static rule's own host.
    app = Flask("hosts", root_path=str(tmp_path), host_matching=True, static_host="s.example")
    app.config.update(PREFERRED_URL_SCHEME="https")
    PushTemplates(app)
    with app.app_context():
        assert render_template_string("{{ push_url('a.css') }}") == "https://s.example/static/a.css"
    app.config["PREFERRED_URL_SCHEME"] = None
    with app.app_context():
        assert render_template_string("{{ push_url('a.css') }}") == "http://s.example/static/a.css"


def test_a_static_file_name_no_url_can_carry_is_refused_naming_it(make_app: AppFactory) -> None:
    app = make_app()
    with app.test_request_context("/"), pytest.raises(PushError) as error:
        push_url("a\ud800.css")
    assert str(error.value) == (
        "push of 'a\\ud800.css': the asset 'a\\ud800.css' holds a lone surrogate, which no URL "
        "or header can carry"
    )


@pytest.mark.parametrize(
    ("sizes", "kept"),
    [
        ([3], [0]),  # exactly the bound: remembered
        ([2, 1], [0, 1]),  # the bound reached, not passed: both kept
        ([2, 2, 1], [1, 2]),  # the second passed it: started over, then room for the third
        # The same key remembered again replaces its links in the count.
        ([1, "again", 1, 1], [0, 2, 3]),
    ],
)
def test_remembered_manifest_links_count_every_link_once(
    monkeypatch: pytest.MonkeyPatch, sizes: list[int | str], kept: list[int]
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_LINKS", 3)
    resolver = AssetResolver("static")
    keys: list[tuple[int, str, str]] = []
    for size in sizes:
        if size == "again":
            key = keys[-1]
            size = 1
        else:
            key = (len(keys), "", "static")
        keys.append(key)
        links = [link(f"/{key[0]}-{index}.css") for index in range(int(size))]
        resolver.remember_links(key, RankedLinks(links), version=1)
    assert [key[0] for key in resolver._links] == kept


def test_a_static_url_for_global_of_another_package_builds_the_urls_and_is_not_remembered(
    make_app: AppFactory,
) -> None:
    app = make_app()
    versions = iter(range(1, 100))

    @app.template_global()
    def static_url_for(endpoint: str, **values: str) -> str:  # a plain function, not a method
        return f"/{endpoint}/{values['filename']}?v={next(versions)}"

    app.add_url_rule("/", "page", lambda: render_template_string(PAGE))
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/static/app.css?v=1"]
    assert targets_of(client.get("/")) == ["/static/app.css?v=2"]  # asked again each time
    assert get_state(app).resolver._urls == {}
