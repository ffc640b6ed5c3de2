"""The resolver: an asset becomes the URL this request's page uses, and what is remembered
never carries one request's (or no request's) URL into another."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Blueprint, Flask, render_template_string

from flask_push_templates import PushTemplates, push_url
from flask_push_templates.pushes import AssetPush
from flask_push_templates.resolver import AssetResolver, expand_endpoint
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, targets_of

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
