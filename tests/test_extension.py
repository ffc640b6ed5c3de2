"""The Flask glue: which responses get links, merging, limits, config, isolation."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from flask import (
    Blueprint,
    Flask,
    Response,
    jsonify,
    redirect,
    render_template,
    render_template_string,
    stream_template,
)

from flask_push_templates import (
    ConfigError,
    ManifestError,
    PushTemplates,
    PushWarning,
    http2push,
    push_url,
    push_url_for,
)
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, links_of, targets_of
from tests.e2e.parts import require


def test_factory_pattern_keeps_state_on_the_app(make_app: AppFactory) -> None:
    extension = PushTemplates()
    app = make_app(init=False)
    extension.init_app(app)
    assert "push_templates" in app.extensions
    assert not hasattr(extension, "app")
    assert app.config["PUSH_MAX_HEADER_BYTES"] == 2048


def test_views_push_with_push_url_and_push_url_for(make_app: AppFactory) -> None:
    app = make_app()

    @app.route("/")
    def index() -> str:
        css = push_url("app.css")
        js = push_url_for("static", filename="app.js", _as="module", _weight=2)
        return f'<link href="{css}"><script type=module src="{js}"></script>'

    response = app.test_client().get("/")
    assert (
        response.text
        == '<link href="/static/app.css"><script type=module src="/static/app.js"></script>'
    )
    [module, style] = links_of(response)
    assert (module.target, module.rel, module.has("crossorigin")) == (
        "/static/app.js",
        "modulepreload",
        True,
    )
    assert (style.target, style.get("as")) == ("/static/app.css", "style")


def test_push_url_for_keeps_url_for_options(make_app: AppFactory) -> None:
    app = make_app()
    app.add_url_rule("/data/<int:n>.json", "data", lambda n: "{}")
    with app.test_request_context(base_url="https://example.com"):
        assert (
            push_url_for("data", n=3, _external=True, _anchor="x")
            == "https://example.com/data/3.json#x"
        )


def test_template_functions(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "page.html": (
                '<link rel=stylesheet href="{{ push_url("app.css") }}">'
                "<script src=\"{{ push_url_for('static', filename='app.js') }}\"></script>"
            )
        }
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    assert targets_of(app.test_client().get("/")) == ["/static/app.css", "/static/app.js"]


@pytest.mark.parametrize(
    "view",
    [
        lambda: jsonify(a=1),
        lambda: ("<p>missing</p>", 404),
        lambda: ("<p>boom</p>", 500),
        lambda: redirect("/elsewhere"),
        lambda: Response("body { }", mimetype="text/css"),
    ],
)
def test_only_successful_html_gets_links(make_app: AppFactory, view: object) -> None:
    app = make_app()

    def wrapped() -> object:
        push_url("app.css")
        return view()  # type: ignore[operator]

    app.add_url_rule("/", "v", wrapped)
    assert app.test_client().get("/").headers.getlist("Link") == []


def test_configured_mimetypes(make_app: AppFactory) -> None:
    app = make_app(PUSH_MIMETYPES=["text/html", "application/xhtml+xml"])
    app.add_url_rule(
        "/", "v", lambda: Response(push_url("a.css"), mimetype="application/xhtml+xml")
    )
    assert targets_of(app.test_client().get("/")) == ["/static/a.css"]


def test_existing_link_header_is_kept_and_not_repeated(make_app: AppFactory) -> None:
    app = make_app()

    @app.route("/")
    def index() -> Response:
        push_url("a.css")
        push_url("b.css")
        response = Response("<p>")
        response.headers["Link"] = "</static/a.css>; rel=preload; as=style; nopush"
        return response

    response = app.test_client().get("/")
    assert response.headers.getlist("Link") == [
        "</static/a.css>; rel=preload; as=style; nopush",
        "</static/b.css>; rel=preload; as=style",
    ]


def test_one_link_per_url_first_explicit_attributes_win(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "p.html": "{% push 'f.woff2' %}{% push 'f.woff2', crossorigin='use-credentials' %}"
            "{% push 'f.woff2', crossorigin=False %}{% push 'a.css' %}{% push 'a.css' %}"
        }
    )
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    links = links_of(app.test_client().get("/"))
    assert [link.target for link in links] == ["/static/f.woff2", "/static/a.css"]
    assert links[0].get("crossorigin") == "use-credentials"


def test_order_is_by_weight_then_first_mention(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "p.html": "{% push 'a.css' %}{% push 'b.js', weight=5 %}{% push 'c.css' %}"
            "{% push 'd.png', weight=0.5 %}{% push 'c.css', weight=9 %}"
        }
    )
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    assert targets_of(app.test_client().get("/")) == [
        "/static/c.css",
        "/static/b.js",
        "/static/a.css",
        "/static/d.png",
    ]


def test_limits_drop_the_lowest_weights_and_warn_once_per_endpoint(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_MAX_LINKS=3)

    @app.route("/")
    def index() -> str:
        for n in range(6):
            push_url(f"asset{n}.css", weight=n)
        return "<p>"

    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        assert targets_of(client.get("/")) == [
            "/static/asset5.css",
            "/static/asset4.css",
            "/static/asset3.css",
        ]
        client.get("/")
    warnings = [r for r in caplog.records if "left out of the Link header" in r.getMessage()]
    assert len(warnings) == 1
    assert "index: 3 of 6 links" in warnings[0].getMessage()


def test_header_byte_budget_counts_the_views_own_links(make_app: AppFactory) -> None:
    app = make_app(PUSH_MAX_HEADER_BYTES=120)

    @app.route("/")
    def index() -> Response:
        for n in range(10):
            push_url(f"a{n}.css")
        response = Response("<p>")
        response.headers["Link"] = "</own.js>; rel=preload; as=script"  # 33 bytes
        return response

    values = app.test_client().get("/").headers.getlist("Link")
    assert sum(len(v) + 2 for v in values) - 2 <= 120
    assert len(values) == 2 and values[1].count("<") == 2


def test_nopush_per_link_and_globally(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": "{% push 'a.css', nopush=True %}{% push 'b.css' %}"})
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    links = links_of(app.test_client().get("/"))
    assert [link.has("nopush") for link in links] == [True, False]
    app = make_app(templates={"p.html": "{% push 'b.css' %}"}, PUSH_NOPUSH=True)
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    assert links_of(app.test_client().get("/"))[0].has("nopush")


def test_disabled(make_app: AppFactory) -> None:
    app = make_app(PUSH_ENABLED=False)
    app.add_url_rule("/", "v", lambda: push_url("a.css"))
    response = app.test_client().get("/")
    assert response.text == "/static/a.css"
    assert "Link" not in response.headers


def test_no_leak_between_requests(make_app: AppFactory) -> None:
    app = make_app()

    @app.route("/<name>")
    def page(name: str) -> str:
        push_url(f"{name}.css")
        return "<p>"

    client = app.test_client()
    assert targets_of(client.get("/one")) == ["/static/one.css"]
    assert targets_of(client.get("/two")) == ["/static/two.css"]


def test_streamed_template_is_not_broken_and_carries_its_static_pushes(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={
            "s.html": "{% push 'a.css' %}{% for i in range(3) %}{{ i }}{% endfor %}"
            "{% push name ~ '.js' %}"
        }
    )
    app.add_url_rule("/", "s", lambda: stream_template("s.html", name="dyn"))
    response = app.test_client().get("/")
    assert response.text == "012"
    # Known before the body renders: the constant push; the dynamic one cannot be known.
    assert targets_of(response) == ["/static/a.css"]


def test_async_views(make_app: AppFactory) -> None:
    require("asgiref")  # Flask runs async views through it
    app = make_app()

    @app.route("/")
    async def index() -> str:
        return push_url("async.css")

    assert targets_of(app.test_client().get("/")) == ["/static/async.css"]


def test_custom_static_endpoint(make_app: AppFactory) -> None:
    app = make_app(PUSH_STATIC_ENDPOINT="assets")
    app.add_url_rule("/assets/<path:filename>", "assets", lambda filename: filename)
    app.add_url_rule("/", "v", lambda: render_template_string("{% push 'a.css' %}"))
    assert targets_of(app.test_client().get("/")) == ["/assets/a.css"]


def test_link_tags_for_deployments_that_strip_headers(make_app: AppFactory) -> None:
    app = make_app(
        templates={"p.html": "{% push 'f.woff2' %}{% push 'a.css' %}{{ push_link_tags() }}"},
        files={"m.json": '{"/static/site.js": {"type": "script"}}'},
        PUSH_MANIFEST="m.json",
    )
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    assert app.test_client().get("/").text == (
        '<link rel="preload" href="/static/f.woff2" as="font" crossorigin type="font/woff2">\n'
        '<link rel="preload" href="/static/a.css" as="style">\n'
        '<link rel="preload" href="/static/site.js" as="script">'
    )


def test_script_root_is_respected(make_app: AppFactory) -> None:
    app = make_app()
    app.add_url_rule("/", "v", lambda: render_template_string("{% push 'a.css' %}"))
    response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert targets_of(response) == ["/shop/static/a.css"]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("PUSH_ENABLED", "yes", "PUSH_ENABLED must be True or False, not 'yes'"),
        ("PUSH_MAX_LINKS", 0, "PUSH_MAX_LINKS must be a whole number of at least 1, not 0"),
        ("PUSH_MAX_HEADER_BYTES", "4k", "PUSH_MAX_HEADER_BYTES must be a whole number"),
        ("PUSH_MIMETYPES", "text/html", "PUSH_MIMETYPES must be a list of mimetypes"),
        ("PUSH_NOPUSH", 1, "PUSH_NOPUSH must be True or False"),
        ("PUSH_STATIC_ENDPOINT", "", "PUSH_STATIC_ENDPOINT must be an endpoint name"),
        ("PUSH_MANIFEST", 3, "PUSH_MANIFEST must be None or a path"),
    ],
)
def test_bad_config_fails_at_startup_naming_the_key(key: str, value: object, message: str) -> None:
    app = Flask(__name__)
    app.config[key] = value
    with pytest.raises(ConfigError, match=None) as error:
        PushTemplates(app)
    assert message in str(error.value)


def test_urls_are_rebuilt_for_apps_that_change_them_per_request(make_app: AppFactory) -> None:
    app = make_app()
    versions = iter(range(100))

    @app.url_defaults
    def cache_bust(endpoint: str, values: dict[str, object]) -> None:
        if endpoint == "static":
            values["v"] = next(versions)

    app.add_url_rule("/", "i", lambda: render_template_string("{% push 'a.css' %}"))
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/static/a.css?v=0"]
    assert targets_of(client.get("/")) == ["/static/a.css?v=1"]


def test_a_manifests_attributes_win_over_an_inferred_push_of_the_same_asset(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={"p.html": "{% push 'f.woff2' %}"},
        files={"m.json": '{"f.woff2": {"crossorigin": "use-credentials"}}'},
        PUSH_MANIFEST="m.json",
    )
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    [font] = links_of(app.test_client().get("/"))
    assert font.get("crossorigin") == "use-credentials"


# --- init_app: registration order, and only once --------------------------------------------

#: flask-http2-push's own README manifest, with its trailing comma.
BROKEN_MANIFEST = '{"/static/css/main.css": {"type": "style", "weight": 1},}'


def _broken_manifest_error(tmp_path: Path) -> str:
    """The error init_app gives when the decorated view already exists."""
    (tmp_path / "push_manifest.json").write_text(BROKEN_MANIFEST)
    app = Flask("before", root_path=str(tmp_path))
    app.add_url_rule("/", "index", http2push()(lambda: "hi"))
    with pytest.raises(ManifestError) as error:
        PushTemplates(app)
    return str(error.value)


def test_a_view_registered_after_init_app_has_its_manifest_validated_the_same(
    tmp_path: Path,
) -> None:
    expected = _broken_manifest_error(tmp_path)
    assert "push_manifest.json, line 1, column" in expected
    app = Flask("after", root_path=str(tmp_path))
    PushTemplates(app)
    with pytest.raises(ManifestError) as error:
        app.add_url_rule("/", "index", http2push()(lambda: "hi"))
    assert str(error.value) == expected
    assert "index" not in app.view_functions


def test_a_blueprint_registered_after_init_app_has_its_manifests_validated(
    tmp_path: Path,
) -> None:
    expected = _broken_manifest_error(tmp_path)
    app = Flask("factory", root_path=str(tmp_path))
    PushTemplates(app)  # the usual factory order: extensions, then blueprints
    shop = Blueprint("shop", __name__)
    shop.add_url_rule("/", "index", http2push()(lambda: "hi"))
    with pytest.raises(ManifestError) as error:
        app.register_blueprint(shop)
    assert str(error.value) == expected


def test_views_registered_after_init_app_with_good_manifests_serve_their_links(
    make_app: AppFactory,
) -> None:
    app = make_app(files={"push_manifest.json": '{"/x.css": {"type": "style"}}'})
    shop = Blueprint("shop", __name__)
    shop.add_url_rule("/", "index", http2push()(lambda: "<p>hi</p>"))
    app.register_blueprint(shop, url_prefix="/shop")
    assert targets_of(app.test_client().get("/shop/")) == ["/x.css"]


def test_a_second_init_app_on_the_same_app_is_refused(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": "{% push 'a.css' %}"}, PUSH_EARLY_HINTS=True)
    extension = PushTemplates()
    with pytest.raises(RuntimeError, match="already registered on this Flask app"):
        extension.init_app(app)
    with pytest.raises(RuntimeError, match="already registered"):
        PushTemplates(app)
    hints: list[object] = []
    app.add_url_rule("/", "page", lambda: render_template("p.html"))
    client = app.test_client()
    client.get(
        "/", environ_overrides={"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": hints.append}
    )
    response = client.get(
        "/", environ_overrides={"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": hints.append}
    )
    assert response.headers.getlist("Link") == ["</static/a.css>; rel=preload; as=style"]
    assert hints == [[("Link", "</static/a.css>; rel=preload; as=style")]]


def test_init_app_after_the_decorator_alone_installs_the_hooks(tmp_path: Path) -> None:
    (tmp_path / "push_manifest.json").write_text('{"/x.css": {"type": "style"}}')
    app = Flask("legacy", root_path=str(tmp_path))
    app.add_url_rule("/", "index", http2push()(lambda: "<p>hi</p>"))
    assert not get_state(app).hooks_installed  # the state the decorator alone works with
    PushTemplates(app)
    app.add_url_rule("/t", "t", lambda: render_template_string("{% push 'a.css' %}"))
    assert targets_of(app.test_client().get("/")) == ["/x.css"]
    assert targets_of(app.test_client().get("/t")) == ["/static/a.css"]


# --- PUSH_STATIC_ENDPOINT and manifest endpoints at start-up -------------------------------


def _admin(tmp_path: Path, static: bool) -> Blueprint:
    folder = str(tmp_path / "admin_static") if static else None
    admin = Blueprint("admin", __name__, static_folder=folder, url_prefix="/admin")
    admin.add_url_rule("/", "page", lambda: "admin")
    return admin


def test_a_misspelt_static_endpoint_is_refused_at_init_app(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError) as error:
        make_app(PUSH_STATIC_ENDPOINT="statics")
    assert str(error.value) == (
        "PUSH_STATIC_ENDPOINT: 'statics' names no endpoint that serves static files (the "
        "app's static endpoints are 'static'); did you mean 'static'?"
    )


def test_a_blueprint_endpoint_registered_before_init_app_is_checked_then(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(init=False, PUSH_STATIC_ENDPOINT="admin.static")
    app.register_blueprint(_admin(tmp_path, static=False))
    with pytest.raises(ConfigError, match=r"'admin\.static' names no endpoint"):
        PushTemplates(app)


def test_a_blueprint_without_static_files_registered_later_is_refused_when_it_registers(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(PUSH_STATIC_ENDPOINT="admin.static")
    with pytest.raises(ConfigError) as error:
        app.register_blueprint(_admin(tmp_path, static=False))
    assert str(error.value) == (
        "PUSH_STATIC_ENDPOINT: 'admin.static' names no endpoint that serves static files "
        "(the app's static endpoints are 'static') (blueprint 'admin' has no static_folder)"
    )


def test_a_blueprint_endpoint_registered_later_is_accepted(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(PUSH_STATIC_ENDPOINT="admin.static")
    app.register_blueprint(_admin(tmp_path, static=True))
    app.add_url_rule("/", "v", lambda: render_template_string("{% push 'a.css' %}"))
    assert targets_of(app.test_client().get("/")) == ["/admin/admin_static/a.css"]


def test_a_manifest_entry_of_a_blueprint_without_static_files_is_refused(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(
        files={"m.json": '{"a.css": {"endpoint": "admin.static"}}'}, PUSH_MANIFEST="m.json"
    )
    with pytest.raises(ManifestError, match=r"m\.json: entry 'a.css': 'admin.static' names no"):
        app.register_blueprint(_admin(tmp_path, static=False))


def test_no_static_folder_and_the_default_endpoint_is_no_error(tmp_path: Path) -> None:
    # An app without static files pushes URLs (a CDN's, a view's): nothing to refuse.
    app = Flask("no_static", root_path=str(tmp_path), static_folder=None)
    PushTemplates(app)
    app.add_url_rule("/", "v", lambda: push_url("https://cdn.example/a.css"))
    assert targets_of(app.test_client().get("/"))[-1:] == ["https://cdn.example/a.css"]


def test_a_misspelled_key_warns_at_init_app_at_the_apps_line(make_app: AppFactory) -> None:
    app = make_app(init=False, PUSH_MANIFST="m.json")
    with pytest.warns(PushWarning) as caught:
        PushTemplates(app)
    [warning] = caught
    assert str(warning.message) == (
        "PUSH_MANIFST is not a setting of Flask-Push-Templates and is ignored; "
        "did you mean PUSH_MANIFEST?"
    )
    assert warning.filename == __file__  # this line, not the extension's
    other = make_app(init=False, PUSH_EARLY_HINT=True)
    with pytest.warns(PushWarning, match="did you mean PUSH_EARLY_HINTS"):
        PushTemplates().init_app(other)
    assert get_state(other).settings.early_hints is False  # ignored, as said
