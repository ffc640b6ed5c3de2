"""What ``flask push manifest`` finds (cli/crawl.py): the pages it requests, the assets their
HTML, stylesheets and module scripts make the browser fetch, grouped by template.

Most tests use tests/cli_site, a multi-page site whose templates extend a base and whose
stylesheets and module scripts reference further assets; edge cases use ``make_app``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template, request
from flask.testing import FlaskClient

from flask_push_templates import ConfigError
from flask_push_templates.cli.crawl import (
    LOGS_OUT,
    SiteCrawler,
    crawl_options,
    default_paths,
    plan_pages,
)
from flask_push_templates.manifest import load_manifest
from tests.cli import members_site
from tests.cli.helpers import LOG_IN, generate, invoke, members, needs_example, ran, run_flask, site
from tests.conftest import AppFactory, targets_of
from tests.linkheader import parse_link_fields


def test_manifest_lists_each_templates_assets(tmp_path: Path) -> None:
    document = generate(tmp_path)
    # Every GET page without arguments, keyed by the template it rendered; /post/<n> needs
    # its URL, /api/status is JSON and /old-home redirects.
    assert sorted(document) == ["about.html", "index.html", "legacy.html"]
    index = {url: spec["type"] for url, spec in document["index.html"].items()}
    assert index == {
        "css/site.css": "style",
        "css/base.css": "style",  # @import of site.css
        "fonts/body.woff2": "font",  # only site.css's @font-face names it
        "img/background.svg": "image",  # url() in site.css
        "img/rule.png": "image",  # url() in base.css
        "img/logo.png": "image",  # base.html
        "img/hero.webp": "image",  # index.html
        "js/main.js": "module",
        "js/util.js": "module",  # imported by main.js
        "js/lib/dom.mjs": "module",
        "js/legacy.js": "script",
    }
    about = document["about.html"]
    assert about["css/about.css"] == {"type": "style", "weight": 1}
    assert about["fonts/heading.woff2"] == {"type": "font", "weight": 1}
    assert "fonts/heading.woff2" not in document["index.html"]


def test_manifest_takes_explicit_urls(tmp_path: Path) -> None:
    document = generate(tmp_path, "/post/7", "http://localhost/about")
    assert sorted(document) == ["about.html", "post.html"]
    assert document["post.html"]["img/post.png"] == {"type": "image", "weight": 1}


def test_generated_manifest_gives_pages_their_links(tmp_path: Path) -> None:
    document = generate(tmp_path)
    assert document
    app = site(PUSH_MANIFEST=str(tmp_path / "push_manifest.json"))
    targets = targets_of(app.test_client().get("/about"))
    assert "/static/fonts/heading.woff2" in targets
    assert "/static/js/util.js" in targets
    [font] = [
        link
        for link in parse_link_fields(app.test_client().get("/about").headers.getlist("Link"))
        if link.target == "/static/fonts/heading.woff2"
    ]
    assert (font.get("as"), font.has("crossorigin")) == ("font", True)


def test_manifest_leaves_out_other_origins_and_what_is_not_fetched(tmp_path: Path) -> None:
    document = generate(tmp_path)
    everything = json.dumps(document)
    for left_out in (
        "cdn.example.com",  # another origin's stylesheet
        "fonts.example.com",  # another origin's font in site.css
        'body.woff"',  # the fallback format after woff2
        "on-click.js",  # dynamic import()
        "old-browsers.js",  # nomodule
        "below-the-fold.png",  # loading=lazy
        "in-template.png",  # inside <template>
        "commented-out.png",
        "favicon.ico",
    ):
        assert left_out not in everything


def test_failing_page_that_propagates_is_reported_too(tmp_path: Path) -> None:
    # TESTING=True: the exception leaves the test client instead of becoming a 500.
    result = invoke(site(CLI_SITE_BROKEN=True), "manifest", "-o", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert "GET /broken ... FAILED: raised RuntimeError: the database is down" in result.stderr


def test_manifest_warns_about_unreadable_stylesheets(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(templates={"page.html": '<link rel="stylesheet" href="/static/gone.css">'})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "manifest", "-o", str(tmp_path / "m.json"))
    assert result.exit_code == 0
    assert "warning: /static/gone.css answers 404 NOT FOUND: not followed" in result.stderr


def test_manifest_keeps_crossorigin_where_the_element_has_it(
    make_app: AppFactory, tmp_path: Path
) -> None:
    html = (
        '<script src="/static/a.js" crossorigin></script>'
        '<script type="module" src="/static/m.js" crossorigin="use-credentials"></script>'
        '<link rel="stylesheet" href="/static/s.css" crossorigin="anonymous">'
    )
    app = make_app(templates={"page.html": html}, files={"static/s.css": ""})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "manifest", "-o", "-")
    assert json.loads(result.stdout)["page.html"] == {
        "a.js": {"type": "script", "weight": 1, "crossorigin": True},
        "m.js": {"type": "module", "weight": 1, "crossorigin": "use-credentials"},
        "s.css": {"type": "style", "weight": 1, "crossorigin": True},
    }


def test_manifest_honours_application_root(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "page.html": "<link rel=stylesheet href=\"{{ url_for('static', filename='s.css') }}\">"
        },
        files={"static/s.css": "p { background: url(p.png) }"},
        APPLICATION_ROOT="/shop",
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    # Static names: neither APPLICATION_ROOT nor any other prefix is written.
    expected = {
        "page.html": {
            "p.png": {"type": "image", "weight": 1},
            "s.css": {"type": "style", "weight": 1},
        }
    }
    for urls in ((), ("/",), ("/shop/",), ("http://localhost/shop/",)):
        result = invoke(app, "manifest", "-o", "-", *urls)
        assert json.loads(result.stdout) == expected, urls
    show = invoke(app, "show", "/shop/")
    assert show.stdout.startswith("GET / -> 200 OK (view 'page', templates: page.html)")


@needs_example
def test_example_app_manifest_finds_every_kind_of_asset(tmp_path: Path) -> None:
    output = tmp_path / "push_manifest.json"
    result = run_flask("example_app", "manifest", "-o", str(output))
    assert result.returncode == 0, result.stderr
    document = json.loads(output.read_text())
    types = {
        (template, url): spec["type"]
        for template, group in document.items()
        for url, spec in group.items()
    }
    # Fonts named only by site.css's @font-face, on every page that links it.
    assert types[("index.html", "fonts/dejavu-serif-bold-subset.woff2")] == "font"
    assert types[("index.html", "css/site.css")] == "style"
    assert types[("index.html", "js/app.mjs")] == "module"
    assert types[("legacy.html", "js/legacy.js")] == "script"
    assert types[("gallery.html", "img/hero.png")] == "image"
    load_manifest(str(output))


# --- the crawl's options: logged in, excluded routes, non-page answers ----------------------


def test_a_login_protected_page_is_listed_when_the_crawl_logs_in(tmp_path: Path) -> None:
    anonymous = invoke(members(tmp_path), "manifest", "-o", "-")
    assert anonymous.exit_code == 0, anonymous.output
    assert "members.html" not in json.loads(anonymous.stdout)
    assert "GET /members ... skipped: 302 FOUND, redirects to /login?next=%2Fmembers" in (
        anonymous.stderr
    )

    logged_in = invoke(members(tmp_path), "manifest", "-o", "-", "--client-setup", LOG_IN)
    assert logged_in.exit_code == 0, logged_in.output
    assert json.loads(logged_in.stdout)["members.html"] == {
        "img/members-only.png": {"type": "image", "weight": 1}
    }
    assert "GET /members ... 200 OK, members.html: 1 asset" in logged_in.stderr
    # The JSON API answers the logged-in crawl too: Flask-Login saw the session.
    assert "GET /api/me ... skipped: application/json (not in PUSH_MIMETYPES)" in (logged_in.stderr)


def test_the_client_setup_can_come_from_the_config(tmp_path: Path) -> None:
    by_path = members(tmp_path, PUSH_CRAWL_CLIENT=LOG_IN)
    assert "members.html" in json.loads(invoke(by_path, "manifest", "-o", "-").stdout)
    called: list[FlaskClient] = []

    def setup(client: FlaskClient) -> None:
        called.append(client)
        members_site.log_in(client)

    by_callable = members(tmp_path, PUSH_CRAWL_CLIENT=setup)
    result = invoke(by_callable, "manifest", "-o", "-", "/members", "/")
    assert sorted(json.loads(result.stdout)) == ["index.html", "members.html"]
    assert len(called) == 1  # once per crawl, not once per page


def test_a_session_cookie_logs_the_crawl_in(tmp_path: Path) -> None:
    app = members(tmp_path)
    client = app.test_client()
    members_site.log_in(client)
    cookie = client.get_cookie("session")
    assert cookie is not None
    for option in (
        ("--cookie", f"session={cookie.value}"),
        ("--header", f"Cookie: theme=dark; session={cookie.value}"),
    ):
        result = invoke(members(tmp_path), "manifest", "-o", "-", "/members", *option)
        assert result.exit_code == 0, result.output
        assert "GET /members ... 200 OK, members.html: 1 asset" in result.stderr, option


def test_headers_reach_every_request(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": '<img src="/static/a.png">'})

    @app.get("/")
    def page() -> Any:
        if request.headers.get("Authorization") != "Bearer t0ken":
            return {"error": "unauthorized"}, 401
        return render_template("page.html")

    denied = invoke(app, "manifest", "-o", "-")
    assert "GET / ... skipped: 401 UNAUTHORIZED, application/json" in denied.stderr
    allowed = invoke(app, "manifest", "-o", "-", "--header", "Authorization: Bearer t0ken")
    assert json.loads(allowed.stdout) == {
        "page.html": {"a.png": {"type": "image", "weight": 1}}
    }


def test_crawl_options_are_checked(tmp_path: Path) -> None:
    app = members(tmp_path)
    for args, message in (
        (("--header", "Authorization"), "'Authorization' is not 'Name: value'"),
        (("--header", "Host: other.example"), "'flask push show' takes --host"),
        (("--cookie", "session"), "'session' is not 'name=value'"),
    ):
        result = invoke(app, "manifest", "-o", "-", *args)
        assert result.exit_code == 2, args
        assert message in result.stderr, args
    missing = invoke(app, "manifest", "-o", "-", "--client-setup", "tests.cli.members_site:nope")
    assert missing.exit_code == 1
    assert "the crawl's client setup 'tests.cli.members_site:nope' cannot be imported" in (
        missing.stderr
    )
    with pytest.raises(ConfigError, match="PUSH_CRAWL_CLIENT must be None, a callable"):
        members(tmp_path, PUSH_CRAWL_CLIENT=1)
    with pytest.raises(ConfigError, match="PUSH_CRAWL_EXCLUDE must be a list"):
        members(tmp_path, PUSH_CRAWL_EXCLUDE="/admin/*")


def test_a_failing_client_setup_stops_the_crawl_with_one_line(tmp_path: Path) -> None:
    def setup(client: FlaskClient) -> None:
        raise LookupError("no such account")

    result = invoke(members(tmp_path, PUSH_CRAWL_CLIENT=setup), "manifest", "-o", "-")
    assert result.exit_code == 1
    assert result.stderr.splitlines()[-1] == (
        "Error: the crawl's client setup "
        "test_a_failing_client_setup_stops_the_crawl_with_one_line.<locals>.setup "
        "raised LookupError: no such account"
    )


def test_exclude_keeps_a_state_changing_route_from_running(tmp_path: Path) -> None:
    unexcluded = invoke(members(tmp_path), "manifest", "-o", "-")
    assert unexcluded.exit_code == 0
    assert ran(tmp_path) == ["clear_cache"]  # the crawl ran it: what --exclude is for
    (tmp_path / "ran.log").unlink()

    for excluded in (
        members(tmp_path, PUSH_CRAWL_EXCLUDE=["/admin/*"]),
        members(tmp_path, PUSH_CRAWL_EXCLUDE=["clear_*"]),
    ):
        result = invoke(excluded, "manifest", "-o", "-")
        assert result.exit_code == 0, result.output
        assert "GET /admin/clear-cache ... not requested: excluded by " in result.stderr
    by_option = invoke(members(tmp_path), "manifest", "-o", "-", "--exclude", "clear_cache")
    assert "GET /admin/clear-cache ... not requested: excluded by clear_cache" in by_option.stderr
    assert "GET /members ... skipped" in by_option.stderr  # the others still are
    assert ran(tmp_path) == []


def test_routes_that_log_out_are_requested_only_when_given(tmp_path: Path) -> None:
    result = invoke(members(tmp_path), "manifest", "-o", "-", "--client-setup", LOG_IN)
    assert (
        "GET /auth/sign-out ... not requested: its name says it logs out "
        "(give its URL to request it)" in result.stderr
    )
    # Requested before /members (in path order), it would have logged the crawl out.
    assert "GET /members ... 200 OK" in result.stderr
    assert "sign_out" not in ran(tmp_path)
    given = invoke(members(tmp_path), "manifest", "-o", "-", "/auth/sign-out")
    assert "GET /auth/sign-out ... skipped: 302 FOUND, redirects to /" in given.stderr
    assert ran(tmp_path).count("sign_out") == 1


def test_plan_pages_says_what_it_leaves_out_and_which_patterns_match_nothing(
    tmp_path: Path,
) -> None:
    app = members(tmp_path)
    options = crawl_options(app, exclude=["admin.*", "/admin/*", "/api/*", "api_*", "/post/*"])
    plan = plan_pages(app, options)
    assert plan.paths == ["/", "/login", "/members", "/streamed"]
    assert plan.excluded == [
        ("/admin/clear-cache", "excluded by /admin/*"),
        ("/api/latest", "excluded by /api/*"),
        ("/api/me", "excluded by /api/*"),
        ("/auth/sign-out", LOGS_OUT),
    ]
    assert plan.unmatched == ["admin.*", "api_*", "/post/*"]
    # A rule with arguments matches a path pattern by its rule.
    assert plan_pages(site(), crawl_options(site(), exclude=["/post/*"])).unmatched == []
    assert default_paths(app) == [
        "/",
        "/admin/clear-cache",
        "/api/latest",
        "/api/me",
        "/login",
        "/members",
        "/streamed",
    ]
    warned = invoke(app, "manifest", "-o", "-", "--exclude", "/admn/*")
    assert "warning: the exclusion '/admn/*' matches no route" in warned.stderr


def answering_app(make_app: AppFactory, broken: bool) -> Flask:
    app = make_app(templates={"page.html": "<img src=/static/a.png>"})
    app.testing = False  # exceptions become 500s, as in production
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    app.add_url_rule("/api/me", "me", lambda: ({"error": "log in"}, 401))
    app.add_url_rule("/api/down", "down", lambda: ({"error": "maintenance"}, 503))
    app.add_url_rule("/gone", "gone", lambda: ("<p>gone</p>", 410))
    if broken:
        app.add_url_rule("/error", "error", lambda: ("<p>sorry</p>", 500))

        def broken_api() -> Any:
            raise RuntimeError("the API is down")

        app.add_url_rule("/api/broken", "broken", broken_api)
    return app


def test_non_page_answers_are_skipped_and_broken_pages_fail(make_app: AppFactory) -> None:
    result = invoke(answering_app(make_app, broken=False), "manifest", "-o", "-")
    assert result.exit_code == 0, result.output
    assert "GET /api/me ... skipped: 401 UNAUTHORIZED, application/json" in result.stderr
    assert "GET /api/down ... skipped: 503 SERVICE UNAVAILABLE, application/json" in (result.stderr)
    assert "GET /gone ... skipped: 410 GONE: not a page to list assets of" in result.stderr
    assert json.loads(result.stdout) == {
        "page.html": {"a.png": {"type": "image", "weight": 1}}
    }

    failed = invoke(answering_app(make_app, broken=True), "manifest", "-o", "-")
    assert failed.exit_code == 1
    assert "GET /error ... FAILED: 500 INTERNAL SERVER ERROR" in failed.stderr
    # A JSON endpoint that raises is broken too: the exception, not the type, says so.
    assert "GET /api/broken ... FAILED: 500 INTERNAL SERVER ERROR: RuntimeError" in failed.stderr
    assert "Error: 2 pages failed (/api/broken, /error)" in failed.stderr


def test_the_crawl_api_gives_each_pages_header_and_html(tmp_path: Path) -> None:
    app = members(tmp_path)
    options = crawl_options(app, client_setup=LOG_IN, host="club.example")
    with app.app_context():
        crawler = SiteCrawler(app, options, keep_html=True)
        page = crawler.scan("/members")
        assert page.is_page, page
        assert page.link_fields == ("</static/css/members.css>; rel=preload; as=style",)
        assert page.html is not None and "<p>Hello crawler</p>" in page.html
        assert crawler.origin == "http://club.example"
        unkept = SiteCrawler(app).scan("/")
        assert unkept.is_page and unkept.html is None  # kept only when asked
