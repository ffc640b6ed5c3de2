"""The resolver: an asset becomes the URL this request's page uses, and what is remembered
never carries one request's (or no request's) URL into another."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import (
    Blueprint,
    Flask,
    Response,
    render_template,
    render_template_string,
    stream_template,
)

from flask_push_templates import PushError, PushTemplates, push_url
from flask_push_templates.pushes import AssetPush
from flask_push_templates.resolver import AssetResolver, expand_endpoint
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, links_of, static_blueprint, targets_of
from tests.linkheader import parse_link_header

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


def test_remembered_urls_are_bounded_and_start_over_when_full(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_URLS", 3)
    app = make_app()
    names = [f"{index}.css" for index in range(4)]
    app.add_url_rule("/", "page", lambda: "".join(push_url(name) for name in names))
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
        resolver._links[(id(pushes), "", "static")] = (stale, (urls.link(stale[0]),))
        assert [link.url for link in urls.links(pushes)] == ["/static/new.css"]
        assert urls.links(pushes) is urls.links(pushes)


def test_remembered_manifest_links_are_bounded(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(AssetResolver, "MAX_LINK_GROUPS", 2)
    app = make_app()
    groups = [(AssetPush(f"{index}.css"),) for index in range(3)]
    with app.test_request_context("/"):
        urls = get_state(app).resolver.for_request()
        for group in groups:
            urls.links(group)
        assert [value[0] for value in get_state(app).resolver._links.values()] == [groups[2]]


def test_paths_and_urls_are_taken_as_given(make_app: AppFactory) -> None:
    app = make_app()
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/shop"}):
        urls = get_state(app).resolver.for_request()
        assert urls.url("/static/x.css") == "/static/x.css"
        assert urls.url("https://cdn.example/x.css") == "https://cdn.example/x.css"
        assert urls.url("x.css") == "/shop/static/x.css"


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
        outside = state.resolver.for_request().links(manifest.entries)
    assert [link.url for link in outside] == ["http://internal.example:8443/static/app.css"]
    response = app.test_client().get("/", base_url="http://internal.example:8443")
    assert targets_of(response) == ["/static/app.css"]


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
