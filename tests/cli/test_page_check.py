"""``flask push check --pages`` (cli/page_check.py): each page's preloads against what its
HTML and stylesheets fetch, on apps that use the real Flask-Static-Digest and Flask-CDN;
through Flask's CLI runner and as real processes.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Response, render_template, render_template_string

from flask_push_templates.cli.page_check import parse_link_value, url_differences
from tests.cli.helpers import (
    compile_digest,
    digested_name,
    generate,
    invoke,
    needs_example,
    run_flask,
    site,
    site_app,
)
from tests.conftest import AppFactory


@pytest.fixture(scope="module")
def digested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_digest(tmp_path_factory.mktemp("digested"))


def test_a_preload_of_site_css_on_a_page_that_links_its_digested_file(digested: Path) -> None:
    result = invoke(site_app(str(digested), "digest"), "check", "--pages")
    assert result.exit_code == 1
    name = digested_name(digested)
    assert result.stdout.splitlines() == [
        f"/: Link header </static/css/site.css>: not used: the page loads /static/css/{name} "
        "instead (another digest): preload the URL the page uses"
    ]
    assert "GET / ... 1 preload checked, 1 problem" in result.stderr
    assert "Error: 1 problem found" in result.stderr


def test_pushing_the_digested_url_passes(digested: Path) -> None:
    result = invoke(site_app(str(digested), "digest-fixed"), "check", "--pages")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("; 1 page checked against 1 preload\n")


def test_a_preload_of_site_css_on_a_page_that_links_it_from_a_cdn(tmp_path: Path) -> None:
    result = invoke(site_app(str(tmp_path), "cdn"), "check", "--pages")
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith(
        "/: Link header </static/css/site.css>: not used: the page loads "
        "http://cdn.example.com/static/css/site.css?t="
    ), line
    assert line.endswith(" instead (another host and version query): preload the URL the page uses")
    assert invoke(site_app(str(tmp_path), "cdn-fixed"), "check", "--pages").exit_code == 0


def test_a_font_preload_without_crossorigin_that_the_css_loads(tmp_path: Path) -> None:
    result = invoke(site_app(str(tmp_path), "font"), "check", "--pages")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "/: Link header </static/fonts/display.woff2>: preloaded without crossorigin, but "
        "/static/css/site.css loads it as a font, always in CORS mode: the browser fetches it "
        "twice; add crossorigin"
    ]
    fixed = invoke(site_app(str(tmp_path), "font-fixed"), "check", "--pages")
    assert fixed.exit_code == 0, fixed.output


def test_a_path_written_by_hand_misses_the_version_query_of_url_defaults(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={
            "page.html": "{% push '/static/app.css' %}{% push 'app.css' %}"
            "<link rel=\"stylesheet\" href=\"{{ url_for('static', filename='app.css') }}\">"
        },
        files={"static/app.css": ""},
    )

    @app.url_defaults
    def version(endpoint: str, values: dict[str, object]) -> None:
        if endpoint == "static":
            values.setdefault("v", "2")

    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "check", "--pages")
    # The asset name goes through url_for and gets ?v=2: only the hand-written path misses it.
    assert result.stdout.splitlines() == [
        "/: Link header </static/app.css>: not used: the page loads /static/app.css?v=2 instead "
        "(another version query): preload the URL the page uses"
    ]


# Early Hints are learned per kind of request (with credentials or without): the 103
# checked is the one for a request like the crawl's, logged in or not.
@pytest.mark.parametrize("login", [(), ("--cookie", "session=logged-in")])
def test_the_103_is_checked_too(make_app: AppFactory, login: tuple[str, ...]) -> None:
    app = make_app(
        templates={
            "page.html": "{% push 'fonts/x.woff2', crossorigin=False %}<style>"
            "@font-face { src: url(/static/fonts/x.woff2) }</style>"
        },
        files={"static/fonts/x.woff2": ""},
        PUSH_EARLY_HINTS=True,
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "check", "--pages", *login)
    assert result.exit_code == 1
    [line] = result.stdout.splitlines()
    assert line.startswith("/: Link header and 103 Early Hints </static/fonts/x.woff2>: ")


def test_unused_preloads_and_as_and_integrity_mismatches(make_app: AppFactory) -> None:
    page = """{% push 'img/unused.png' %}{% push 'js/app.js', 'fetch' %}
    {% push 'js/signed.js' %}{% push 'js/mod.mjs', 'script' %}{% push 'js/later.mjs' %}
    <script src="/static/js/app.js"></script>
    <script src="/static/js/signed.js" integrity="sha384-abc"></script>
    <script type="module" src="/static/js/mod.mjs"></script>"""
    app = make_app(
        templates={"page.html": page},
        files={f"static/{name}": "" for name in ("img/unused.png", "js/app.js", "js/signed.js")}
        | {"static/js/mod.mjs": "", "static/js/later.mjs": ""},
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "check", "--pages")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        "/: Link header </static/img/unused.png>: not used: nothing in the page or its "
        "stylesheets fetches it (Chrome: 'preloaded but not used'): remove the push, or push "
        "the URL the page uses",
        "/: Link header </static/js/app.js>: preloaded as=fetch, but the page loads it as a "
        "classic script: the browser fetches it twice; push it as 'script'",
        "/: Link header </static/js/signed.js>: no integrity, but the page loads it with "
        "integrity='sha384-abc': the browser fetches it twice (a preload is reused only with "
        "the same integrity); push it with integrity='sha384-abc'",
        "/: Link header </static/js/mod.mjs>: preloaded without crossorigin, but the page "
        "loads it as a module script, in CORS mode: the browser fetches it twice; push it as "
        "'module' (rel=modulepreload)",
    ]  # later.mjs: a module the page may import() at run time, not reported


def test_request_modes_that_differ_from_the_elements(make_app: AppFactory) -> None:
    page = """{% push 'img/a.png', crossorigin=True %}{% push 'js/b.js', 'module' %}
    {% push 'js/c.mjs' %}
    <img src="/static/img/a.png"><script src="/static/js/b.js"></script>
    <script type="module" src="/static/js/c.mjs" crossorigin="use-credentials"></script>"""
    app = make_app(
        templates={"page.html": page},
        files={"static/img/a.png": "", "static/js/b.js": "", "static/js/c.mjs": ""},
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    assert invoke(app, "check", "--pages").stdout.splitlines() == [
        "/: Link header </static/img/a.png>: preloaded with crossorigin=anonymous, but the page "
        "loads it as an image, without crossorigin: the browser fetches it twice; remove "
        "crossorigin (crossorigin=False)",
        "/: Link header </static/js/b.js>: modulepreload is for module scripts, but the page "
        "runs it as a classic script: the browser fetches it twice; push it as 'script'",
        "/: Link header </static/js/c.mjs>: preloaded with crossorigin=anonymous, but the page "
        "loads it as a module script, with crossorigin=use-credentials: the browser fetches it "
        "twice; push it with crossorigin='use-credentials'",
    ]


def test_fonts_a_stylesheet_of_another_origin_may_load_are_not_reported(
    make_app: AppFactory,
) -> None:
    page = """{% push 'fonts/x.woff2' %}{% push 'img/unused.png' %}
    <link rel="stylesheet" href="https://fonts.example.com/css?family=X">"""
    app = make_app(
        templates={"page.html": page},
        files={"static/fonts/x.woff2": "", "static/img/unused.png": ""},
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "check", "--pages")
    assert result.exit_code == 0, result.output
    assert (
        "GET / ... 2 preloads checked (https://fonts.example.com/css?family=X not read: another "
        "origin, so preloads of fonts and images count as used)"
    ) in result.stderr


def test_a_view_link_header_with_an_invalid_as_and_a_fetch_without_crossorigin(
    make_app: AppFactory,
) -> None:
    app = make_app()

    @app.get("/")
    def page() -> Response:
        response = Response(render_template_string("<p>hi</p>"))
        response.headers["Link"] = (
            "</data.json>; rel=preload; as=fetch, </v.mp4>; rel=preload; as=video, "
            '</next>; rel=prefetch, </a.png>; rel=preload; as=image; imagesrcset="/a2.png 2x"'
        )
        return response

    result = invoke(app, "check", "--pages")
    assert result.stdout.splitlines() == [
        "/: Link header </data.json>: no crossorigin, but fetch() requests are made in CORS "
        "mode: the browser fetches it twice; add crossorigin (a 'fetch' push has it unless "
        "crossorigin=False)",
        "/: Link header </v.mp4>: as=video: browsers ignore a preload without one of "
        "as=fetch, font, image, script, style, track; push it with its destination",
    ]


def test_pages_that_are_not_html_are_skipped_and_failures_reported(make_app: AppFactory) -> None:
    app = make_app()
    app.testing = False  # a 500 page, rather than the exception raised through the client
    app.add_url_rule("/api", "api", lambda: {"ok": True})

    @app.get("/broken")
    def broken() -> str:
        raise RuntimeError("the database is down")

    result = invoke(app, "check", "--pages")
    assert result.exit_code == 1
    assert "GET /api ... skipped: application/json (not in PUSH_MIMETYPES)" in result.stderr
    assert result.stdout.splitlines() == [
        "GET /broken: the page failed: 500 INTERNAL SERVER ERROR: RuntimeError: the database "
        "is down"
    ]


def test_urls_need_pages(make_app: AppFactory) -> None:
    result = invoke(make_app(), "check", "/")
    assert result.exit_code == 2
    assert "URLs name the pages to check: add --pages" in result.stderr


def test_url_differences() -> None:
    local = "http://localhost/static/css/site.css"
    assert url_differences(local, "http://localhost/static/css/site-3f2a9b1c.css") == ["digest"]
    assert url_differences(local, local + "?v=2") == ["version query"]
    assert url_differences(local, "https://cdn.example.com/static/css/site.css") == ["host"]
    assert url_differences(local, "https://cdn.example.com/app/static/css/site.css") == ["host"]
    assert url_differences(
        "http://localhost/assets/main-BXpIoncC.js", "http://localhost/assets/main-C7yW6rDT.js"
    ) == ["digest"]
    assert url_differences(local, local) == []
    assert url_differences(local, "http://localhost/static/css/other.css") == []
    assert url_differences(local, "http://localhost/static/site.css") == []  # another folder
    # Words are not digests.
    assert (
        url_differences("http://localhost/f/bold-subset.woff2", "http://localhost/f/bold.woff2")
        == []
    )
    assert (
        url_differences("http://localhost/img/how-it-works.svg", "http://localhost/img/how.svg")
        == []
    )


def test_parse_link_value() -> None:
    assert parse_link_value('</a;b.css>; REL=preload; as=style; crossorigin; title="x; \\"y"') == (
        "/a;b.css",
        {"rel": "preload", "as": "style", "crossorigin": "", "title": 'x; "y'},
    )


def test_the_manifest_flask_push_manifest_writes_passes(tmp_path: Path) -> None:
    # The crawler that writes the manifest and the check agree on what each page uses.
    generate(tmp_path)
    result = invoke(site(PUSH_MANIFEST=str(tmp_path / "push_manifest.json")), "check", "--pages")
    assert result.exit_code == 0, result.output
    assert "GET /about ... 12 preloads checked" in result.stderr


@needs_example
def test_example_app_uses_every_preload() -> None:
    from example_app import create_app

    result = invoke(create_app({"TESTING": True}), "check", "--pages")
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("; 4 pages checked against 28 preloads\n")


# --- as real processes: python -m flask --app ... push check --pages -----------------------


def test_process_check_pages_fails_on_a_digested_url(digested: Path) -> None:
    check = run_flask(f'tests.cli.helpers:site_app("{digested}", "digest")', "check", "--pages")
    assert check.returncode == 1
    assert check.stdout.startswith(
        "/: Link header </static/css/site.css>: not used: the page "
        f"loads /static/css/{digested_name(digested)} instead"
    )
    assert "Traceback" not in check.stderr


def test_process_check_pages_fails_on_a_cdn_url_and_a_font(tmp_path: Path) -> None:
    cdn = run_flask(f'tests.cli.helpers:site_app("{tmp_path}", "cdn")', "check", "--pages")
    assert cdn.returncode == 1
    assert "the page loads http://cdn.example.com/static/css/site.css?t=" in cdn.stdout
    font = run_flask(f'tests.cli.helpers:site_app("{tmp_path}", "font")', "check", "--pages")
    assert font.returncode == 1
    assert "loads it as a font, always in CORS mode" in font.stdout


@needs_example
def test_process_check_pages_passes_on_the_example_app() -> None:
    check = run_flask("example_app", "check", "--pages")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "GET /gallery ... 11 preloads checked\n" in check.stderr
    assert check.stdout.endswith("; 4 pages checked against 28 preloads\n")
