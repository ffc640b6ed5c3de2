"""The ``flask push`` commands (cli/commands.py): options, what they print, exit codes and the
files they write; through Flask's CLI runner and as real ``python -m flask`` processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template, render_template_string

from tests.cli.helpers import (
    LOG_IN,
    MEMBERS_APP,
    SITE_APP,
    first_hint,
    generate_both,
    invoke,
    members,
    needs_example,
    ran,
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


# --- file options resolve like the config: relative to the app's root path -----------------


def page_app(make_app: AppFactory, **config: Any) -> Flask:
    app = make_app(templates={"page.html": '<img src="/static/a.png">'}, **config)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    app.add_url_rule("/about", "about", lambda: render_template("page.html"))
    return app


PAGE_GROUP = {"page.html": {"a.png": {"type": "image", "weight": 1}}}


def test_file_options_are_relative_to_the_root_path(
    make_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    (tmp_path / "build").mkdir()
    result = invoke(
        page_app(make_app), "manifest", "-o", "build/m.json", "--early-hints", "build/h.json"
    )
    assert result.exit_code == 0, result.output
    assert read_json(tmp_path / "build" / "m.json") == PAGE_GROUP
    assert read_json(tmp_path / "build" / "h.json") == {
        "about": ["page.html"],
        "page": ["page.html"],
    }
    assert list(elsewhere.iterdir()) == []
    # What the note proposes is what the app then reads.
    assert "set PUSH_MANIFEST = 'build/m.json' to use it" in result.stderr
    checked = invoke(page_app(make_app), "manifest", "--check", "-o", "build/m.json")
    assert checked.exit_code == 0, checked.output


def test_early_hints_without_a_file_writes_the_configured_one(
    make_app: AppFactory, tmp_path: Path
) -> None:
    config = {"PUSH_MANIFEST": "m.json", "PUSH_EARLY_HINTS_TEMPLATES": "hints/map.json"}
    app = page_app(make_app, **config)
    missing = invoke(app, "manifest", "/", "--early-hints")
    assert missing.exit_code == 1
    assert f"Error: cannot write {tmp_path / 'hints' / 'map.json'}: the folder " in (missing.stderr)
    (tmp_path / "hints").mkdir()
    result = invoke(page_app(make_app, **config), "manifest", "/", "--early-hints")
    assert result.exit_code == 0, result.output
    assert read_json(tmp_path / "m.json") == PAGE_GROUP  # -o defaults to PUSH_MANIFEST
    assert read_json(tmp_path / "hints" / "map.json") == {"page": ["page.html"]}
    fresh = invoke(page_app(make_app, **config), "manifest", "--check", "/", "--early-hints")
    assert fresh.exit_code == 0, fresh.output
    assert f"{tmp_path / 'hints' / 'map.json'} is up to date" in fresh.stdout

    unconfigured = invoke(page_app(make_app), "manifest", "--early-hints")
    assert unconfigured.exit_code == 2
    assert "--early-hints without FILE writes the file PUSH_EARLY_HINTS_TEMPLATES names" in (
        unconfigured.stderr
    )
    # The option would take the URL as its file: refused, not written to /about.
    took_url = invoke(page_app(make_app, **config), "manifest", "--early-hints", "/about")
    assert took_url.exit_code == 2
    assert "--early-hints took '/about', a page of the app, as its file" in took_url.stderr


def test_dry_run_requests_nothing(tmp_path: Path) -> None:
    result = invoke(
        members(tmp_path), "manifest", "--dry-run", "--exclude", "api.*", "--client-setup", "x:y"
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "GET /",
        "GET /admin/clear-cache",
        "GET /api/latest",
        "GET /api/me",
        "GET /login",
        "GET /members",
        "GET /streamed",
    ]
    assert "GET /auth/sign-out ... not requested: its name says it logs out" in result.stderr
    assert "warning: the exclusion 'api.*' matches no route" in result.stderr
    assert ran(tmp_path) == []  # and the client setup (which does not exist) never ran


def test_help_says_pages_are_really_requested() -> None:
    for command in ("manifest", "show"):
        result = invoke(site(), command, "--help")
        text = " ".join(result.stdout.split())
        assert "Pages are requested through the app itself, with its real configuration, " in (
            text
        ), command
    manifest_help = " ".join(invoke(site(), "manifest", "--help").stdout.split())
    assert "--exclude RULE" in manifest_help
    assert "says log out or sign out are never requested unless their URL is given" in (
        manifest_help
    )


# --- the crawl's options as real processes --------------------------------------------------


def test_process_crawls_logged_in_and_leaves_excluded_routes_alone(tmp_path: Path) -> None:
    output = tmp_path / "m.json"
    env = {"FLASK_MEMBERS_SITE_LOG": str(tmp_path / "ran.log")}
    args = ("manifest", "-o", str(output), "--client-setup", LOG_IN)
    result = run_flask(MEMBERS_APP, *args, "--exclude", "/admin/*", **env)
    assert result.returncode == 0, result.stderr
    assert "GET /admin/clear-cache ... not requested: excluded by /admin/*" in result.stderr
    assert "GET /api/me ... skipped: application/json (not in PUSH_MIMETYPES)" in result.stderr
    assert sorted(read_json(output)) == ["index.html", "members.html"]
    assert ran(tmp_path) == []  # neither clear-cache nor sign-out ran
    # Without the exclusion, the route runs: the counter is what proves the one above.
    unexcluded = run_flask(MEMBERS_APP, *args, **env)
    assert unexcluded.returncode == 0, unexcluded.stderr
    assert ran(tmp_path) == ["clear_cache"]


def test_process_json_401_does_not_fail_manifest_or_check(tmp_path: Path) -> None:
    output = tmp_path / "m.json"
    written = run_flask(MEMBERS_APP, "manifest", "-o", str(output))
    assert written.returncode == 0, written.stderr
    assert "GET /api/me ... skipped: 401 UNAUTHORIZED, application/json" in written.stderr
    checked = run_flask(MEMBERS_APP, "manifest", "--check", "-o", str(output))
    assert checked.returncode == 0, checked.stderr
    assert f"{output} is up to date" in checked.stdout
