"""README.rst is the user's manual: its Quick start, its migration promises and its
configuration table are checked against the code here."""

from __future__ import annotations

import ast
import importlib
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import flask
import pytest

from flask_push_templates import ManifestError, http2push
from flask_push_templates.settings import DEFAULTS, Settings
from tests.e2e.fronts import CONFIG_FILES

REPO = Path(__file__).parent.parent
README = (Path(__file__).parent.parent / "README.rst").read_text(encoding="utf-8")


def test_every_config_key_is_in_the_readme_table() -> None:
    # A row of the configuration table: the key, then the next column after 2+ spaces.
    table_rows = set(re.findall(r"^``(PUSH_[A-Z_]+)`` {2,}", README, flags=re.MULTILINE))
    assert table_rows == set(DEFAULTS)


def documented_defaults() -> dict[str, Any]:
    """The configuration table's default column, read as Python literals."""
    section = README[README.index("Every key, with its default.") :]
    table = section[section.index("=====") :]
    border = table.splitlines()[0]
    columns = [column.span() for column in re.finditer("=+", border)]
    start, end = columns[1][0], columns[2][0]  # the default column
    cells: dict[str, str] = {}
    key = None
    for line in table.splitlines()[3:]:
        if line.startswith("====="):
            break
        found = re.match(r"``(PUSH_[A-Z_]+)``", line)
        if found:
            key = found.group(1)
            cells[key] = ""
        assert key is not None, line
        cells[key] += line[start:end].strip() + " "  # a cell may go on below its row
    literals = {key: re.match(r"``(.*?)``", cell.strip()) for key, cell in cells.items()}
    return {key: ast.literal_eval(match.group(1)) for key, match in literals.items() if match}


def test_the_defaults_are_the_documented_ones() -> None:
    documented = documented_defaults()
    assert documented == DEFAULTS
    # What init_app makes of an empty config is what the table says it does.
    assert Settings.from_config({}) == Settings.from_config(documented)
    assert Settings.from_config({}).push_once_max_age == 7 * 24 * 3600  # "(7 days)"


def test_the_readme_names_no_key_that_does_not_exist() -> None:
    # Except in the warning about a misspelled key, which shows one.
    lines = [line for line in README.splitlines() if "is not a setting" not in line]
    named = set(re.findall(r"\bPUSH_(?!PROMISE\b)[A-Z_]+\b", "\n".join(lines)))
    assert named <= set(DEFAULTS)


# --- migrating from flask-http2-push ---------------------------------------------------------

#: flask-http2-push's own README manifest, as printed there: with its trailing comma.
HTTP2_PUSH_README_MANIFEST = """\
{
    "/path/to/file-to-push.js": {
        "type": "script",
        "weight": 1
    },
    "/path/to/file-to-push.css": {
        "type": "style",
        "weight": 1
    },
    "/path/to/file-to-push.woff2": {
        "type": "font",
        "weight": 1
    },
    "/path/to/file-to-push.html": {
        "type": "document",
        "weight": 1
    },
}
"""


def json_error_position(text: str) -> str:
    """Where Python's own JSON parser puts the error (3.13 says line 17, earlier ones 18)."""
    with pytest.raises(json.JSONDecodeError) as error:
        json.loads(text)
    return f"line {error.value.lineno}, column {error.value.colno}"


ImportApp = Callable[[str], flask.Flask]


@pytest.fixture
def import_app(tmp_path: Path) -> Iterator[ImportApp]:
    """Import a module written to tmp_path as a real module, as `flask run` would."""
    names: list[str] = []

    def load(source: str) -> flask.Flask:
        name = f"migrated_app_{len(names)}"
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
        names.append(name)
        sys.path.insert(0, str(tmp_path))
        try:
            module = importlib.import_module(name)
        finally:
            sys.path.remove(str(tmp_path))
        app = module.app
        assert isinstance(app, flask.Flask)
        return app

    yield load
    for name in names:
        sys.modules.pop(name, None)


ONLY_THE_IMPORT_CHANGED = """
    import flask
    from flask_push_templates import http2push

    app = flask.Flask(__name__)

    @app.route('/')
    @http2push('static/my_manifest.json')
    def main():
        return 'hello, world!'
"""


def write_named_manifest(root: Path, text: str) -> Path:
    """``static/my_manifest.json``, the manifest of ONLY_THE_IMPORT_CHANGED."""
    manifest = root / "static" / "my_manifest.json"
    manifest.parent.mkdir()
    manifest.write_text(text)
    return manifest


def test_only_the_import_changed_broken_manifest_fails_the_import(
    tmp_path: Path, import_app: ImportApp
) -> None:
    manifest = write_named_manifest(tmp_path, HTTP2_PUSH_README_MANIFEST)
    with pytest.raises(ManifestError) as error:
        import_app(ONLY_THE_IMPORT_CHANGED)
    where = json_error_position(HTTP2_PUSH_README_MANIFEST)
    assert str(error.value).startswith(f"push manifest {manifest}, {where}: invalid JSON")


def test_extension_before_the_routes_broken_manifest_fails_the_import(
    tmp_path: Path, import_app: ImportApp
) -> None:
    (tmp_path / "push_manifest.json").write_text(HTTP2_PUSH_README_MANIFEST)
    with pytest.raises(ManifestError, match=r"push_manifest\.json, line 1[78], column"):
        import_app(
            """
            from flask import Flask
            from flask_push_templates import PushTemplates, http2push

            app = Flask(__name__)
            PushTemplates(app)

            @app.route('/')
            @http2push()
            def main():
                return 'hello, world!'
            """
        )


def test_only_the_import_changed_valid_manifest_gets_its_links(
    tmp_path: Path, import_app: ImportApp
) -> None:
    write_named_manifest(tmp_path, HTTP2_PUSH_README_MANIFEST.replace("    },\n}", "    }\n}"))
    app = import_app(ONLY_THE_IMPORT_CHANGED)
    response = app.test_client().get("/")
    assert response.text == "hello, world!"
    # Relative URLs now: flask-http2-push wrote request.url_root + path (absolute).
    assert response.headers["Link"].startswith(
        "</path/to/file-to-push.js>; rel=preload; as=script, "
    )


def test_manifest_found_only_under_another_root_is_logged_at_the_first_request(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # The decorator looks beside the view's module (here tests/) and in the working
    # directory; an app whose root_path is elsewhere is only read at its first request.
    (tmp_path / "push_manifest.json").write_text(HTTP2_PUSH_README_MANIFEST)
    app = flask.Flask(__name__, root_path=str(tmp_path))

    @app.route("/")
    @http2push()
    def main() -> str:
        return "hello, world!"

    response = app.test_client().get("/")
    assert (response.status_code, response.text) == (200, "hello, world!")
    assert "Link" not in response.headers
    assert "invalid JSON" in caplog.text
    assert "no links from it until it is fixed" in caplog.text


# --- the Quick start -------------------------------------------------------------------------


def section(title: str) -> str:
    """The text of README's section ``title``, up to the next section heading."""
    start = README.index(f"\n{title}\n{'-' * len(title)}\n")
    next_heading = re.search(r"\n[^\n]+\n-{3,}\n", README[start + len(title) + 2 :])
    assert next_heading is not None
    return README[start : start + len(title) + 2 + next_heading.start()]


def code_blocks(text: str, language: str) -> list[str]:
    """The ``.. code-block:: language`` blocks of ``text``, dedented."""
    pattern = rf"\.\. code-block:: {re.escape(language)}\n\n((?:    .*\n|\n)+)"
    return [textwrap.dedent(block).strip() + "\n" for block in re.findall(pattern, text)]


def test_quick_start_prints_the_header_its_code_and_template_produce(
    tmp_path: Path, import_app: ImportApp
) -> None:
    quick_start = section("Quick start")
    [code] = code_blocks(quick_start, "python")
    [template] = code_blocks(quick_start, "html+jinja")
    [console] = code_blocks(quick_start, "console")
    printed = [line for line in console.splitlines() if line.startswith("Link: ")]
    assert len(printed) == 1, console
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "index.html").write_text(template, encoding="utf-8")
    app = import_app(code)
    # curl -sI sends a HEAD request; Flask answers it as the GET, without the body.
    for response in (app.test_client().head("/"), app.test_client().get("/")):
        assert response.status_code == 200
        assert [f"Link: {value}" for value in response.headers.getlist("Link")] == printed


@pytest.mark.parametrize("front", sorted(CONFIG_FILES))
def test_the_readme_gives_the_front_configurations_the_e2e_tests_run(front: str) -> None:
    path = CONFIG_FILES[front]
    marker = f".. The tested configuration: {path.relative_to(REPO).as_posix()}\n"
    assert README.count(marker) == 1, marker
    after = README.split(marker, 1)[1]
    # The code-block that follows, up to the first line that is not indented.
    match = re.match(r"\n\.\. code-block:: \w+\n\n((?:(?: {4}.*)?\n)+)", after)
    assert match is not None, f"no code-block after {marker!r}"
    block = textwrap.dedent(match.group(1)).strip("\n") + "\n"
    assert block == path.read_text()
