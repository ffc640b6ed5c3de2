"""flask-http2-push's README examples (only the import changed), and the decorator."""

from __future__ import annotations

import json
import os
import re
import textwrap
from pathlib import Path

import flask
import pytest
from flask import render_template_string

from flask_push_templates import ManifestError, http2push
from tests.conftest import AppFactory, links_of, targets_of
from tests.e2e.parts import require

# The README's manifest, without the trailing comma that makes its own example invalid JSON.
README_MANIFEST = {
    "/path/to/file-to-push.js": {"type": "script", "weight": 1},
    "/path/to/file-to-push.css": {"type": "style", "weight": 1},
    "/path/to/file-to-push.woff2": {"type": "font", "weight": 1},
    "/path/to/file-to-push.html": {"type": "document", "weight": 1},
}
EXPECTED = [
    "</path/to/file-to-push.js>; rel=preload; as=script",
    "</path/to/file-to-push.css>; rel=preload; as=style",
    '</path/to/file-to-push.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"',
    "</path/to/file-to-push.html>; rel=prefetch",
]


def run_readme_example(tmp_path: Path, code: str, manifest_path: str) -> flask.Flask:
    """Execute a README example as a module in tmp_path, as its users did."""
    target = tmp_path / manifest_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(README_MANIFEST, indent=4))
    module = tmp_path / "readme_app.py"
    module.write_text(textwrap.dedent(code))
    namespace: dict[str, object] = {"__name__": "readme_app", "__file__": str(module)}
    exec(compile(module.read_text(), str(module), "exec"), namespace)
    app = namespace["app"]
    assert isinstance(app, flask.Flask)
    app.root_path = str(tmp_path)
    return app


def test_readme_default_manifest(tmp_path: Path) -> None:
    app = run_readme_example(
        tmp_path,
        """
        import flask
        from flask_push_templates import ManifestError, http2push

        app = flask.Flask(__name__)

        @app.route('/')
        @http2push()
        def main():
            return 'hello, world!'
        """,
        "push_manifest.json",
    )
    response = app.test_client().get("/")
    assert response.text == "hello, world!"
    assert response.headers["Link"] == ", ".join(EXPECTED)
    assert len(links_of(response)) == 4


def test_readme_named_manifest(tmp_path: Path) -> None:
    app = run_readme_example(
        tmp_path,
        """
        import flask
        from flask_push_templates import ManifestError, http2push

        app = flask.Flask(__name__)

        @app.route('/')
        @http2push('static/my_manifest.json')
        def main():
            return 'hello, world!'
        """,
        "static/my_manifest.json",
    )
    assert app.test_client().get("/").headers["Link"] == ", ".join(EXPECTED)


def test_relative_manifest_falls_back_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "cwd").mkdir()
    (tmp_path / "cwd" / "push_manifest.json").write_text('{"/x.css": {"type": "style"}}')
    monkeypatch.chdir(tmp_path / "cwd")
    app = flask.Flask(__name__, root_path=str(tmp_path / "elsewhere"))
    app.add_url_rule("/", "main", http2push()(lambda: "hi"))
    assert targets_of(app.test_client().get("/")) == ["/x.css"]


def test_missing_manifest_never_costs_the_response(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = flask.Flask(__name__, root_path=str(tmp_path))
    app.add_url_rule("/", "main", http2push("nope.json")(lambda: "hi"))
    response = app.test_client().get("/")
    assert (response.status_code, response.text) == (200, "hi")
    assert "Link" not in response.headers
    assert "nope.json does not exist" in caplog.text


def test_first_host_is_not_frozen_into_later_responses(tmp_path: Path) -> None:
    # flask-http2-push cached the first request's host in a module global.
    (tmp_path / "push_manifest.json").write_text('{"app.css": {}}')
    app = flask.Flask(__name__, root_path=str(tmp_path))
    app.add_url_rule("/", "main", http2push()(lambda: "hi"))
    client = app.test_client()
    assert targets_of(client.get("/", environ_overrides={"SCRIPT_NAME": "/a"})) == [
        "/a/static/app.css"
    ]
    assert targets_of(client.get("/", environ_overrides={"SCRIPT_NAME": "/b"})) == [
        "/b/static/app.css"
    ]


def test_manifest_paths_follow_the_script_root_as_flask_http2_push_did(tmp_path: Path) -> None:
    # flask-http2-push wrote request.url_root + path[1:]: its manifests' paths are the app's.
    (tmp_path / "push_manifest.json").write_text(json.dumps(README_MANIFEST))
    app = flask.Flask(__name__, root_path=str(tmp_path))
    app.add_url_rule("/", "main", http2push()(lambda: "hi"))
    response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert response.status_code == 200
    assert targets_of(response) == [f"/shop{path}" for path in README_MANIFEST]


def test_queries_and_fragments_in_a_view_manifest(tmp_path: Path) -> None:
    manifest = {"css/app.css?v=2": {}, "/static/a.js?v=3#x": {}, "img/a.png#top": {}}
    (tmp_path / "push_manifest.json").write_text(json.dumps(manifest))
    app = flask.Flask(__name__, root_path=str(tmp_path))
    app.add_url_rule("/", "main", http2push()(lambda: "hi"))
    response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert response.status_code == 200
    assert [(link.target, link.get("as")) for link in links_of(response)] == [
        ("/shop/static/css/app.css?v=2", "style"),
        ("/shop/static/a.js?v=3#x", "script"),
        ("/shop/static/img/a.png#top", "image"),
    ]


@pytest.mark.parametrize(
    ("key", "problem"),
    [("", "the asset is empty"), ("?v=2", "a query or fragment needs a file name")],
)
def test_a_view_manifest_naming_no_file_fails_at_start_up_not_at_a_request(
    make_app: AppFactory, key: str, problem: str
) -> None:
    app = make_app(files={"v.json": json.dumps({key: {"type": "style"}})})
    with pytest.raises(ManifestError, match=f"entry {re.escape(repr(key))}: {problem}"):
        app.add_url_rule("/", "main", http2push("v.json")(lambda: "hi"))


def test_with_the_extension_the_manifest_merges_with_template_pushes(make_app: AppFactory) -> None:
    app = make_app(files={"v.json": '{"/static/a.css": {"type": "style", "weight": 2}}'})

    @app.route("/")
    @http2push("v.json")
    def index() -> str:
        return render_template_string("{% push 'a.css' %}{% push 'b.js' %}")

    response = app.test_client().get("/")
    assert targets_of(response) == ["/static/a.css", "/static/b.js"]
    assert len(response.headers.getlist("Link")) == 1


def test_async_decorated_view(tmp_path: Path) -> None:
    require("asgiref")  # Flask runs async views through it
    (tmp_path / "push_manifest.json").write_text('{"/x.js": {}}')
    app = flask.Flask(__name__, root_path=str(tmp_path))

    @app.route("/")
    @http2push()
    async def main() -> str:
        return "hi"

    assert targets_of(app.test_client().get("/")) == ["/x.js"]


def test_decorated_view_keeps_its_name_and_marks_its_manifest() -> None:
    def main() -> str:
        return "x"

    decorated = http2push("m.json")(main)
    assert decorated.__name__ == "main"
    assert decorated.push_manifest == "m.json"  # type: ignore[attr-defined]
    assert os.path.basename(__file__) == "test_decorator.py"


def test_a_view_manifest_changed_in_debug_is_read_again(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(files={"v.json": '{"/static/a.js": {}}'}, TEMPLATES_AUTO_RELOAD=True)

    @app.route("/")
    @http2push("v.json")
    def index() -> str:
        return "<p>"

    client = app.test_client()
    assert targets_of(client.get("/")) == ["/static/a.js"]
    (tmp_path / "v.json").write_text('{"/static/b.js": {}}')
    os.utime(tmp_path / "v.json", ns=(1, 1))
    assert targets_of(client.get("/")) == ["/static/b.js"]
