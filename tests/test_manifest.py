"""Manifests: both formats, every error case, caching and reloading."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import pytest

from flask_push_templates import ManifestError, PushTemplates
from flask_push_templates.manifest import (
    ManifestStore,
    load_manifest,
    parse_manifest,
)
from flask_push_templates.pushes import AssetPush
from tests.conftest import AppFactory, targets_of, write


def test_flat_format() -> None:
    manifest = parse_manifest('{"/static/app.js": {"type": "script", "weight": 2}}', "m.json")
    assert manifest.entries == (AssetPush("/static/app.js", "script", (("weight", 2),)),)
    assert manifest.groups == {}


def test_multi_page_format() -> None:
    manifest = parse_manifest(
        json.dumps({"index.html": {"/a.css": {"type": "style"}}, "about.html": {}}), "m.json"
    )
    assert manifest.entries == ()
    assert manifest.groups == {"index.html": (AssetPush("/a.css", "style"),), "about.html": ()}


def test_type_may_be_omitted_when_the_extension_says_it() -> None:
    assert parse_manifest('{"/a.css": {}}', "m").entries == (AssetPush("/a.css"),)


def test_flask_http2_push_readme_example_with_its_trailing_comma_is_a_located_error() -> None:
    text = (
        '{\n    "/path/to/file-to-push.js": {\n'
        '        "type": "script",\n        "weight": 1\n    },\n}\n'
    )
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "push_manifest.json")
    assert str(error.value).startswith(
        "push manifest push_manifest.json, line 6, column 1: invalid JSON"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object mapping asset URLs"),
        ('"x"', "not str"),
        ('{"/a.js": "script"}', "line 1: entry '/a.js': must be an object like"),
        (
            '{\n"/a.js": {"type": "scrpt"}}',
            "line 2: entry '/a.js': unknown destination 'scrpt'; accepted:",
        ),
        ('{"/a.js": {"type": 3}}', '"type" must be a string, not 3'),
        ('{"/a.js": {"weight": "1"}}', "weight must be a number"),
        ('{"/a.js": {"media": {"x": 1}}}', "'media' must be a string, number or boolean"),
        ('{"/a.unknown": {}}', "cannot infer a destination"),
        (
            '{"p.html": {"/a.js": {"type": "bad"}}}',
            "entry '/a.js' of 'p.html': unknown destination",
        ),
        ('{"/a.js": {"nonce": "x\\ny"}}', "control or non-ASCII"),
    ],
)
def test_invalid_manifests_name_the_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "site/m.json")
    assert str(error.value).startswith("push manifest site/m.json")
    assert message in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"push manifest .*nope.json does not exist"):
        load_manifest(str(tmp_path / "nope.json"))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'{"/caf\xe9.css": {}}')
    with pytest.raises(ManifestError, match="is not UTF-8 \\(byte 6\\)"):
        load_manifest(str(path))


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'\xef\xbb\xbf{"/a.css": {}}')
    assert load_manifest(str(path)).entries == (AssetPush("/a.css"),)


def test_symlink_loop(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.json", tmp_path / "a.json")
    os.symlink(tmp_path / "a.json", tmp_path / "b.json")
    with pytest.raises(ManifestError, match="cannot be read"):
        load_manifest(str(tmp_path / "a.json"))


def test_bad_manifest_fails_at_startup(make_app: AppFactory) -> None:
    with pytest.raises(ManifestError, match=r"m\.json, line 1, column"):
        make_app(files={"m.json": "{"}, PUSH_MANIFEST="m.json")


def test_missing_app_manifest_is_a_warning_so_that_it_can_be_generated(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_MANIFEST="later.json", TEMPLATES_AUTO_RELOAD=True)
    assert "PUSH_MANIFEST" in caplog.text and "later.json does not exist yet" in caplog.text
    app.add_url_rule("/", "i", lambda: "<p>")
    client = app.test_client()
    assert client.get("/").headers.get("Link") is None
    write(tmp_path / "later.json", '{"/a.css": {}}')
    assert targets_of(client.get("/")) == ["/a.css"]


def test_app_manifest_applies_to_every_html_page(make_app: AppFactory) -> None:
    app = make_app(
        files={"m.json": '{"/static/site.css": {"type": "style"}, "app.js": {"weight": 0.5}}'},
        PUSH_MANIFEST="m.json",
    )
    app.add_url_rule("/a", "a", lambda: "<p>a</p>")
    app.add_url_rule("/b", "b", lambda: "<p>b</p>")
    client = app.test_client()
    assert targets_of(client.get("/a")) == ["/static/site.css", "/static/app.js"]
    assert targets_of(client.get("/b")) == ["/static/site.css", "/static/app.js"]


def test_groups_apply_to_the_template_and_the_templates_it_extends_or_includes(
    make_app: AppFactory,
) -> None:
    manifest = {
        "base.html": {"/static/base.css": {"type": "style"}},
        "nav.html": {"/static/nav.js": {"type": "script"}},
        "page.html": {"/static/page.css": {"type": "style"}},
        "other.html": {"/static/other.css": {"type": "style"}},
    }
    app = make_app(
        templates={
            "base.html": "<html>{% block body %}{% endblock %}</html>",
            "nav.html": "<nav></nav>",
            "page.html": (
                "{% extends 'base.html' %}{% block body %}{% include 'nav.html' %}{% endblock %}"
            ),
            "other.html": "other",
        },
        files={"m.json": json.dumps(manifest)},
        PUSH_MANIFEST="m.json",
    )
    from flask import render_template

    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    assert sorted(targets_of(app.test_client().get("/"))) == [
        "/static/base.css",
        "/static/nav.js",
        "/static/page.css",
    ]


def test_store_reloads_a_changed_file_only_when_auto_reloading(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"/a.css": {}}')
    store = ManifestStore()
    store.load(str(path))
    path.write_text('{"/b.css": {}, "/c.css": {}}')
    assert [e.asset for e in store.get(str(path), auto_reload=False).entries] == ["/a.css"]  # type: ignore[union-attr]
    assert [e.asset for e in store.get(str(path), auto_reload=True).entries] == ["/b.css", "/c.css"]  # type: ignore[union-attr]


def test_a_broken_or_deleted_file_keeps_the_last_good_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"/a.css": {}}')
    store = ManifestStore()
    store.load(str(path))
    path.write_text('{"/a.css": {},')  # half-saved
    with caplog.at_level(logging.ERROR):
        manifest = store.get(str(path), auto_reload=True)
    assert manifest is not None and manifest.entries == (AssetPush("/a.css"),)
    assert "keeping the last valid version" in caplog.text
    path.unlink()
    manifest = store.get(str(path), auto_reload=True)
    assert manifest is not None and manifest.entries == (AssetPush("/a.css"),)


def test_debug_app_picks_up_manifest_changes_between_requests(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(
        files={"m.json": '{"/a.css": {}}'}, PUSH_MANIFEST="m.json", TEMPLATES_AUTO_RELOAD=True
    )
    app.add_url_rule("/", "i", lambda: "<p>")
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/a.css"]
    write(tmp_path / "m.json", '{"/b.css": {}}')
    os.utime(tmp_path / "m.json", ns=(1, 1))  # a different mtime even on coarse clocks
    assert targets_of(client.get("/")) == ["/b.css"]


def test_huge_manifest_is_loaded_and_capped(make_app: AppFactory) -> None:
    entries = {f"/static/asset{i}.js": {"type": "script", "weight": i % 7} for i in range(10_000)}
    app = make_app(files={"m.json": json.dumps(entries)}, PUSH_MANIFEST="m.json")
    app.add_url_rule("/", "i", lambda: "<p>")
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert 0 < len(targets_of(response)) <= 50
    assert len(response.headers["Link"]) <= 2048


def test_init_app_validates_manifests_of_decorated_views(make_app: AppFactory) -> None:
    from flask_push_templates import http2push

    app = make_app(init=False, files={"v.json": "{oops"})

    @app.route("/")
    @http2push("v.json")
    def index() -> str:
        return "x"

    with pytest.raises(ManifestError, match=r"v\.json, line 1, column 2"):
        PushTemplates(app)
