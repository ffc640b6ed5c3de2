"""``flask push check`` (cli/checks.py): missing files, routes that serve nothing, stale and
ignored groups, invalid constant pushes, and the header budget.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from flask import Blueprint, Flask, render_template
from flask_cdn import CDN

from flask_push_templates import PushTemplates, PushWarning, http2push
from flask_push_templates.cli.checks import display_path
from tests.cli.helpers import SITE, generate, invoke, run_flask, site, write_manifest
from tests.conftest import AppFactory, static_blueprint, write


def test_check_passes_on_a_clean_site(tmp_path: Path) -> None:
    generate(tmp_path)
    result = invoke(site(PUSH_MANIFEST=str(tmp_path / "push_manifest.json")), "check")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        "OK: 2 manifests (34 entries) and 5 templates (1 constant push) checked; "
        "the largest known Link header is"
    )


def test_check_names_a_manifest_entry_whose_file_is_missing(tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "m.json",
        {
            "/static/css/site.css": {"type": "style"},
            "index.html": {"js/missing.js": {"type": "script"}},
            "/static/css/missing.css": {"type": "style"},
        },
    )
    result = invoke(site(PUSH_MANIFEST=manifest), "check")
    assert result.exit_code == 1
    static = os.path.relpath(SITE / "static")
    assert result.stdout.splitlines() == [
        f"push manifest {manifest}, line 10: entry '/static/css/missing.css': "
        f"/static/css/missing.css does not exist (looked for {static}/css/missing.css)",
        f"push manifest {manifest}, line 6: entry 'js/missing.js' of 'index.html': "
        f"/static/js/missing.js does not exist (looked for {static}/js/missing.js)",
    ]
    assert "Error: 2 problems found" in result.stderr


def test_check_reports_routes_that_serve_nothing(make_app: AppFactory, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.json", {"/nowhere/app.js": {"type": "script"}})
    result = invoke(make_app(PUSH_MANIFEST=manifest), "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"push manifest {manifest}, line 2: entry '/nowhere/app.js': /nowhere/app.js is served "
        "by no route of the app (404)"
    ]


def test_check_finds_files_of_blueprint_static_folders(
    make_app: AppFactory, tmp_path: Path
) -> None:
    manifest = write_manifest(
        tmp_path / "m.json",
        {"/shop/assets/cart.js": {"type": "script"}, "/shop/assets/gone.js": {"type": "script"}},
    )
    app = make_app(files={"shop_static/cart.js": ""}, PUSH_MANIFEST=manifest)
    shop = Blueprint(
        "shop",
        __name__,
        static_folder=str(tmp_path / "shop_static"),
        static_url_path="/assets",
        url_prefix="/shop",
    )
    app.register_blueprint(shop)
    result = invoke(app, "check")
    assert result.stdout.splitlines() == [
        f"push manifest {manifest}, line 5: entry '/shop/assets/gone.js': /shop/assets/gone.js "
        f"does not exist (looked for {tmp_path}/shop_static/gone.js)"
    ]


def test_check_reports_stale_and_ignored_groups(make_app: AppFactory, tmp_path: Path) -> None:
    app_manifest = write_manifest(tmp_path / "m.json", {"indx.html": {"/static/a.css": {}}})
    write_manifest(tmp_path / "view.json", {"index.html": {"/static/a.css": {}}})
    app = make_app(
        templates={"index.html": ""}, files={"static/a.css": ""}, PUSH_MANIFEST=app_manifest
    )

    @app.get("/")
    @http2push("view.json")
    def index() -> str:
        return render_template("index.html")

    result = invoke(app, "check")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert any(
        line.endswith(
            "line 2: group 'indx.html' names no template of the app (renamed or deleted?); "
            "did you mean 'index.html'?"
        )
        for line in lines
    ), lines
    assert any(
        "group 'index.html' is ignored: @http2push on view 'index' applies only flat entries"
        in line
        for line in lines
    ), lines


def test_check_reports_pushes_of_missing_files_with_their_line(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "base.html": "<html>\n{% push 'css/site.css' %}\n{% push 'css/gone.css' %}",
            "dynamic.html": "{% push asset %}",  # not constant: not checkable
        },
        files={"static/css/site.css": ""},
    )
    result = invoke(app, "check")
    assert result.exit_code == 1
    root = app.root_path  # a temporary folder: outside the working directory, so absolute
    assert result.stdout.splitlines() == [
        f"{root}/templates/base.html, line 3: push of 'css/gone.css': /static/css/gone.css "
        f"does not exist (looked for {root}/static/css/gone.css)"
    ]


def test_check_reports_invalid_pushes(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "\n\n{% push 'data.bin' %}"})
    result = invoke(app, "check")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert "templates/page.html, line 3: push of 'data.bin': cannot infer a destination" in line
    assert "give one of: document, fetch, font, image, module, script, style, track" in line


def test_check_reports_header_budget_overruns(make_app: AppFactory, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "m.json", {"page.html": {f"/static/{n}.css": {} for n in "abc"}}
    )
    files = {f"static/{n}.css": "" for n in "abc"}
    app = make_app(
        templates={"page.html": ""}, files=files, PUSH_MANIFEST=manifest, PUSH_MAX_LINKS=2
    )
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "template 'page.html': 3 links make a 118-byte Link header, over PUSH_MAX_LINKS=2 or "
        "PUSH_MAX_HEADER_BYTES=2048: 1 that do not fit would be left out (/static/c.css)"
    ]


def test_check_covers_view_manifests(make_app: AppFactory, tmp_path: Path) -> None:
    write_manifest(tmp_path / "legacy.json", {"/static/legacy.js": {"type": "script"}})
    app = make_app()

    @app.get("/")
    @http2push("legacy.json")
    def legacy() -> str:
        return ""

    result = invoke(app, "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"push manifest {tmp_path}/legacy.json, line 2: entry '/static/legacy.js': "
        f"/static/legacy.js does not exist (looked for {tmp_path}/static/legacy.js)"
    ]


def test_check_finds_queried_assets_and_app_paths_under_application_root(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={"page.html": "{% push 'css/app.css?v=2' %}{% push 'css/gone.css#x' %}"},
        files={
            "static/css/app.css": "",
            "m.json": '{"/static/css/app.css?v=3": {}, "/static/css/lost.css": {}}',
        },
        PUSH_MANIFEST="m.json",
        APPLICATION_ROOT="/shop",
    )
    result = invoke(app, "check")
    assert result.exit_code == 1
    # The path of the name before the query is what is looked for; paths are the app's.
    assert sorted(line.split(": ", 1)[1] for line in result.stdout.splitlines()) == [
        "entry '/static/css/lost.css': /shop/static/css/lost.css does not exist "
        f"(looked for {display_path(os.path.join(app.root_path, 'static/css/lost.css'))})",
        "push of 'css/gone.css#x': /shop/static/css/gone.css#x does not exist "
        f"(looked for {display_path(os.path.join(app.root_path, 'static/css/gone.css'))})",
    ]


# --- static endpoints: PUSH_STATIC_ENDPOINT='.static', endpoint='admin.static' -------------


def _blueprint_site(tmp_path: Path, **config: object) -> Flask:
    """An app without static files of its own; its ``shop`` blueprint has them."""
    app = Flask("blueprint_site", root_path=str(tmp_path), static_folder=None)
    app.config.update(TESTING=True, **config)
    PushTemplates(app)
    shop = static_blueprint("shop", tmp_path / "shop_static")
    shop.add_url_rule("/", "index", lambda: render_template("index.html"))
    app.register_blueprint(shop)
    return app


def test_check_resolves_a_relative_static_endpoint_for_the_blueprints(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(
        "{% push 'app.css' %}\n{% push 'gone.css' %}"
    )
    (tmp_path / "shop_static").mkdir()
    (tmp_path / "shop_static" / "app.css").write_text("")
    result = invoke(_blueprint_site(tmp_path, PUSH_STATIC_ENDPOINT=".static"), "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{display_path(str(tmp_path / 'templates' / 'index.html'))}, line 2: push of 'gone.css': "
        f"/shop/static/gone.css does not exist (looked for {tmp_path}/shop_static/gone.css)"
    ]


def test_check_names_an_unknown_endpoint_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(
        "\n{% push 'a.css', endpoint='shp.static' %}"
    )
    manifest = write_manifest(
        tmp_path / "m.json", {"b.css": {"type": "style", "endpoint": "blog.static"}}
    )
    result = invoke(_blueprint_site(tmp_path, PUSH_MANIFEST=manifest), "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"push manifest {manifest}, line 2: entry 'b.css': 'blog.static' names no endpoint "
        "that serves static files (the app's static endpoints are 'shop.static')",
        f"{display_path(str(tmp_path / 'templates' / 'index.html'))}, line 2: push of 'a.css': "
        "'shp.static' names no endpoint that serves static files (the app's static "
        "endpoints are 'shop.static')",
    ]
    assert "Traceback" not in result.output


def test_check_lists_pushes_of_an_unknown_static_endpoint_without_logging_them(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # The blueprint is never registered: nothing at start-up could tell.
    app = make_app(
        templates={"page.html": "{% push 'a.css' %}"}, PUSH_STATIC_ENDPOINT="admin.static"
    )
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].endswith(
        "line 1: push of 'a.css': 'admin.static' names no endpoint that serves static files "
        "(the app's static endpoints are 'static')"
    )
    # Each is a problem with its line; the budget check resolving them again logs nothing.
    assert [record.getMessage() for record in caplog.records] == []


def test_check_looks_for_the_files_a_cdn_serves_in_the_static_folder(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={"page.html": "{% push 'site.css' %}\n{% push 'gone.css' %}"},
        files={"static/site.css": ""},
        CDN_DOMAIN="cdn.example.com",
    )
    CDN(app)
    result = invoke(app, "check")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{display_path(app.root_path + '/templates/page.html')}, line 2: push of 'gone.css': "
        "/static/gone.css does not exist "
        f"(looked for {display_path(app.root_path)}/static/gone.css)"
    ]


# --- never a traceback: every failure is one line naming its item --------------------------


def app_file(folder: Path, config: str = "") -> str:
    """An app module in ``folder`` (its root), for ``flask --app FILE``."""
    path = folder / "app.py"
    lines = ["from flask import Flask", "from flask_push_templates import PushTemplates", ""]
    lines += ["app = Flask(__name__)", *([config] if config else []), "PushTemplates(app)", ""]
    write(path, "\n".join(lines))
    return str(path)


def test_a_constant_push_with_a_query_string_is_checked_by_its_file(make_app: AppFactory) -> None:
    # Once a traceback; the query follows the file's URL, and the file is what is looked for.
    app = make_app(
        templates={
            "page.html": "<html>\n{% push 'css/app.css?v=2' %}{% push 'css/gone.css?v=2' %}"
        },
        files={"static/css/app.css": ""},
    )
    result = invoke(app, "check")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(
        f"{app.root_path}/templates/page.html, line 2: push of 'css/gone.css?v=2': "
        "/static/css/gone.css?v=2 does not exist"
    ), line
    assert "Traceback" not in result.output
    assert "Error: 1 problem found" in result.stderr


def test_a_relative_static_endpoint_the_app_cannot_build_is_one_line_per_item(
    make_app: AppFactory, tmp_path: Path
) -> None:
    # '.static' outside any blueprint is the app's 'static', which this app does not have.
    manifest = write_manifest(tmp_path / "m.json", {"shop.css": {"type": "style"}})
    app = Flask("no_static", root_path=str(tmp_path), static_folder=None)
    app.config.update(PUSH_STATIC_ENDPOINT=".static", PUSH_MANIFEST=manifest)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "shop.html").write_text("{% push 'shop.css' %}")
    PushTemplates(app)
    result = invoke(app, "check")
    assert result.exit_code == 1
    unbuildable = (
        "'static' names no endpoint that serves static files (the app serves no static files)"
    )
    lines = result.stdout.splitlines()
    assert lines[0] == f"push manifest {manifest}, line 2: entry 'shop.css': {unbuildable}"
    assert lines[1].startswith(f"{tmp_path}/templates/shop.html, line 1: push of 'shop.css': ")
    assert all(unbuildable in line for line in lines), lines


def test_an_unexpected_error_in_one_item_leaves_the_others_checked(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={
            "a.html": "{% push 'css/broken.css' %}",
            "b.html": "{% push 'css/gone.css' %}",
        },
    )

    @app.url_defaults
    def explode(endpoint: str, values: dict[str, object]) -> None:
        if values.get("filename") == "css/broken.css":
            raise LookupError("no version for css/broken.css")

    result = invoke(app, "check")
    assert result.exit_code == 1
    root = app.root_path
    assert result.stdout.splitlines() == [
        f"{root}/templates/a.html, line 1: push of 'css/broken.css': unexpected LookupError: "
        "no version for css/broken.css",
        f"{root}/templates/b.html, line 1: push of 'css/gone.css': /static/css/gone.css does "
        f"not exist (looked for {root}/static/css/gone.css)",
    ]


def test_process_check_prints_no_traceback(tmp_path: Path) -> None:
    app = app_file(tmp_path)
    write(tmp_path / "templates" / "page.html", "{% push 'css/gone.css?v=2' %}")
    write(tmp_path / "static" / "css" / "app.css", "")
    check = run_flask(app, "check")
    assert check.returncode == 1
    assert "Traceback" not in check.stderr
    [line] = check.stdout.splitlines()
    assert line.startswith(f"{tmp_path}/templates/page.html, line 1: push of 'css/gone.css?v=2'")
    assert check.stderr == "Error: 1 problem found\n"


# --- typos: misspelled attributes and PUSH_* keys ------------------------------------------


def test_check_reports_misspelled_attributes_and_keys(make_app: AppFactory, tmp_path: Path) -> None:
    manifest = write_manifest(
        tmp_path / "m.json", {"/static/a.css": {"type": "style", "fetchpriorty": "high"}}
    )
    with pytest.warns(PushWarning, match="PUSH_EARLY_HINT is not a setting"):
        app = make_app(
            templates={"page.html": "<html>\n{% push 'a.css', crosorigin=True %}"},
            files={"static/a.css": ""},
            PUSH_MANIFEST=manifest,
            PUSH_EARLY_HINT=True,
        )
    result = invoke(app, "check")  # no warning escapes: the check reports them
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        key_typo("PUSH_EARLY_HINT", "PUSH_EARLY_HINTS"),
        f"push manifest {manifest}, line 2: entry '/static/a.css': "
        + attribute_typo("fetchpriorty", "fetchpriority"),
        f"{tmp_path}/templates/page.html, line 2: push of 'a.css': "
        + attribute_typo("crosorigin", "crossorigin"),
    ]


def key_typo(key: str, meant: str) -> str:
    return (
        f"app.config: {key} is not a setting of Flask-Push-Templates and is ignored; "
        f"did you mean {meant}?"
    )


def attribute_typo(name: str, meant: str) -> str:
    return (
        f"attribute {name!r} is not a link attribute (it would go into the header as it is); "
        f"did you mean {meant!r}?"
    )


def test_process_check_reports_typos(tmp_path: Path) -> None:
    app = app_file(tmp_path, 'app.config.update(PUSH_MANIFST="push_manifest.json")')
    write(tmp_path / "templates" / "page.html", "{% push 'a.css', fetchpriorty='high' %}")
    write(tmp_path / "static" / "a.css", "")
    check = run_flask(app, "check")
    assert check.returncode == 1
    assert check.stdout.splitlines() == [
        key_typo("PUSH_MANIFST", "PUSH_MANIFEST"),
        f"{tmp_path}/templates/page.html, line 1: push of 'a.css': "
        + attribute_typo("fetchpriorty", "fetchpriority"),
    ]
    # The app's own warning when it loads, at its line; the template's only once, above.
    assert f"{app}:6: PushWarning: PUSH_MANIFST is not a setting" in check.stderr
    assert "fetchpriorty" not in check.stderr
