"""The ``flask push`` commands (cli/commands.py): options, what they print, exit codes and the
files they write; through Flask's CLI runner and as real ``python -m flask`` processes.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import render_template, render_template_string

from tests.cli.helpers import (
    SITE_APP,
    first_hint,
    generate_both,
    invoke,
    needs_example,
    read_json,
    run_flask,
    site,
    write_manifest,
)
from tests.conftest import AppFactory


def test_manifest_reports_progress_and_skips(tmp_path: Path) -> None:
    result = invoke(site(), "manifest", "-o", str(tmp_path / "m.json"))
    assert result.exit_code == 0
    assert "GET /about ... 200 OK, about.html: 12 assets (2 of other origins left out)" in (
        result.stderr
    )
    assert "GET /api/status ... skipped: application/json (not in PUSH_MIMETYPES)" in result.stderr
    assert "GET /old-home ... skipped: 302 FOUND, redirects to /" in result.stderr
    assert "/contact" not in result.stderr  # POST only
    assert f"Wrote {tmp_path / 'm.json'}: 3 templates, 33 entries, from 5 pages" in result.stdout
    assert "note: PUSH_MANIFEST does not name" in result.stderr
    assert f"set PUSH_MANIFEST = {str(tmp_path / 'm.json')!r} to use it" in result.stderr


def test_failing_page_is_reported_and_the_others_still_scanned(tmp_path: Path) -> None:
    output = tmp_path / "m.json"
    result = invoke(site(TESTING=False, CLI_SITE_BROKEN=True), "manifest", "-o", str(output))
    assert result.exit_code == 1
    assert (
        "GET /broken ... FAILED: 500 INTERNAL SERVER ERROR: RuntimeError: the database is down"
        in result.stderr
    )
    assert "Error: 1 page failed (/broken)" in result.stderr
    assert sorted(json.loads(output.read_text())) == ["about.html", "index.html", "legacy.html"]


def test_manifest_writes_to_push_manifest_by_default(make_app: AppFactory, tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text("{}")
    app = make_app(
        templates={"page.html": '<link rel="stylesheet" href="/static/a.css">'},
        files={"static/a.css": ""},
        PUSH_MANIFEST="m.json",
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    assert invoke(app, "manifest").exit_code == 0
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "page.html": {"a.css": {"type": "style", "weight": 1}}
    }


def test_manifest_without_push_manifest_writes_into_the_root_path(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(templates={"page.html": '<img src="/static/a.png">'})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "manifest")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "push_manifest.json").read_text()) == {
        "page.html": {"a.png": {"type": "image", "weight": 1}}
    }
    assert "set PUSH_MANIFEST = 'push_manifest.json' to use it" in result.stderr


def test_manifest_check_detects_a_stale_file(tmp_path: Path) -> None:
    output = tmp_path / "push_manifest.json"
    app = site()
    assert invoke(app, "manifest", "-o", str(output)).exit_code == 0
    fresh = invoke(app, "manifest", "--check", "-o", str(output))
    assert fresh.exit_code == 0
    assert f"{output} is up to date" in fresh.stdout

    stale = json.loads(output.read_text())
    del stale["about.html"]["fonts/heading.woff2"]
    output.write_text(json.dumps(stale, indent=2, sort_keys=True) + "\n")
    before = output.read_text()
    result = invoke(app, "manifest", "--check", "-o", str(output))
    assert result.exit_code == 1
    assert '+    "fonts/heading.woff2": {' in result.stdout
    assert "is out of date: run 'flask push manifest'" in result.stderr
    assert output.read_text() == before  # --check writes nothing


def test_manifest_to_standard_output(tmp_path: Path) -> None:
    result = invoke(site(), "manifest", "-o", "-", "/about")
    assert result.exit_code == 0
    assert sorted(json.loads(result.stdout)) == ["about.html"]


def test_manifest_refuses_urls_of_other_origins() -> None:
    result = invoke(site(), "manifest", "https://elsewhere.example/about")
    assert result.exit_code == 2
    assert "'https://elsewhere.example/about' is not a page of this app" in result.stderr


def test_manifest_without_pages_says_what_to_do(make_app: AppFactory) -> None:
    result = invoke(make_app(), "manifest")
    assert result.exit_code == 1
    assert "no GET route without arguments to request" in result.stderr


def test_page_rendering_no_named_template_is_reported(make_app: AppFactory) -> None:
    app = make_app()
    app.add_url_rule("/", "page", lambda: render_template_string("<img src=/static/a.png>"))
    result = invoke(app, "manifest", "-o", "-")
    assert "GET / ... 200 OK, no named template rendered: its assets are not listed" in (
        result.stderr
    )
    assert result.stdout == "{}\n"


def test_early_hints_map_to_standard_output(tmp_path: Path) -> None:
    manifest = tmp_path / "m.json"
    result = invoke(site(), "manifest", "-o", str(manifest), "--early-hints", "-", "/about")
    assert result.exit_code == 0, result.output
    # Standard output holds the JSON alone; the summary goes to standard error.
    assert json.loads(result.stdout) == {"about": ["about.html"]}
    assert f"Wrote {manifest}: 1 template" in result.stderr
    both = invoke(site(), "manifest", "-o", "-", "--early-hints", "-")
    assert both.exit_code == 2
    assert "only one of -o and --early-hints can be '-'" in both.stderr


def test_early_hints_map_check(tmp_path: Path) -> None:
    manifest, hints, _ = generate_both(tmp_path, site())
    args = ("manifest", "--check", "-o", str(manifest), "--early-hints", str(hints))
    fresh = invoke(site(), *args)
    assert fresh.exit_code == 0, fresh.output
    assert f"{hints} is up to date" in fresh.stdout

    hints.write_text(json.dumps({**read_json(hints), "about": []}, indent=2, sort_keys=True))
    before = hints.read_text()
    stale = invoke(site(), *args)
    assert stale.exit_code == 1
    assert '+    "about.html"' in stale.stdout
    assert f"Error: {hints} is out of date: run 'flask push manifest'" in stale.stderr
    assert hints.read_text() == before  # --check writes nothing

    # With '-', the file compared is the one the app reads.
    configured = site(PUSH_EARLY_HINTS_TEMPLATES=str(hints))
    dash = invoke(configured, "manifest", "--check", "-o", str(manifest), "--early-hints", "-")
    assert dash.exit_code == 1
    assert f"Error: {hints} is out of date" in dash.stderr
    unconfigured = invoke(site(), "manifest", "--check", "--early-hints", "-")
    assert unconfigured.exit_code == 2
    assert "PUSH_EARLY_HINTS_TEMPLATES names, and it names none" in unconfigured.stderr


def test_early_hints_map_notes_only_what_is_missing(make_app: AppFactory, tmp_path: Path) -> None:
    templates = {"page.html": "<p>page</p>"}
    off = make_app(templates=templates, PUSH_EARLY_HINTS_TEMPLATES="hints.json")
    off.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(off, "manifest", "-o", "-", "--early-hints", str(tmp_path / "hints.json"))
    assert result.exit_code == 0, result.output
    assert (
        "note: PUSH_EARLY_HINTS is off, so no 103 Early Hints are sent; set "
        f"PUSH_EARLY_HINTS = True to use {tmp_path / 'hints.json'}" in result.stderr
    )
    on = make_app(
        templates=templates, PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES="hints.json"
    )
    on.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(on, "manifest", "-o", "-", "--early-hints", str(tmp_path / "hints.json"))
    assert result.exit_code == 0, result.output
    assert "note:" not in result.stderr
    assert read_json(tmp_path / "hints.json") == {"page": ["page.html"]}
    # The app reads what was written, relative to its root.
    assert first_hint(on, "/") == []  # page.html pushes nothing, the map loaded though
    unlisted = make_app(
        templates=templates,
        files={"other.json": "{}"},  # the app refuses to start if it is missing
        PUSH_EARLY_HINTS=True,
        PUSH_EARLY_HINTS_TEMPLATES="other.json",
    )
    result = invoke(unlisted, "manifest", "-o", "-", "--early-hints", str(tmp_path / "h.json"), "/")
    assert "set PUSH_EARLY_HINTS_TEMPLATES = 'h.json' to use it" in result.stderr


# --- as real processes: python -m flask --app ... push ... ----------------------------------


def test_process_manifest_check_and_show_on_the_test_site(tmp_path: Path) -> None:
    output = tmp_path / "push_manifest.json"
    manifest = run_flask(SITE_APP, "manifest", "-o", str(output), "/", "/about", "/post/1")
    assert manifest.returncode == 0, manifest.stderr
    assert sorted(json.loads(output.read_text())) == ["about.html", "index.html", "post.html"]
    assert "GET /post/1 ... 200 OK, post.html: 11 assets" in manifest.stderr

    check = run_flask(SITE_APP, "check", FLASK_PUSH_MANIFEST=str(output))
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("OK: 2 manifests")

    show = run_flask(SITE_APP, "show", "/post/1", FLASK_PUSH_MANIFEST=str(output))
    assert show.returncode == 0, show.stderr
    assert "  </static/img/post.png>; rel=preload; as=image\n" in show.stdout
    assert f"      from manifest {output} [post.html]\n" in show.stdout


def test_process_check_fails_on_a_missing_file(tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m.json", {"/static/css/missing.css": {"type": "style"}})
    check = run_flask(SITE_APP, "check", FLASK_PUSH_MANIFEST=manifest)
    assert check.returncode == 1
    assert check.stdout.startswith(
        f"push manifest {manifest}, line 2: entry '/static/css/missing.css': "
        "/static/css/missing.css does not exist"
    )
    assert "Error: 1 problem found" in check.stderr


def test_process_reports_a_failing_page(tmp_path: Path) -> None:
    result = run_flask(
        SITE_APP, "manifest", "-o", str(tmp_path / "m.json"), FLASK_CLI_SITE_BROKEN="true"
    )
    assert result.returncode == 1
    assert "GET /broken ... FAILED: 500 INTERNAL SERVER ERROR: RuntimeError" in result.stderr
    assert "GET /legacy ... 200 OK, legacy.html" in result.stderr  # kept going


@needs_example
def test_example_app_check_and_show() -> None:
    check = run_flask("example_app", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("OK: ")
    show = run_flask("example_app", "show", "/")
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("GET / -> 200 OK (view 'index', templates: index.html)\nLink: ")
    assert "      from {% push %} in base.html" in show.stdout
