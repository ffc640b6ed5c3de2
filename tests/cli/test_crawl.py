"""What ``flask push manifest`` finds (cli/crawl.py): the pages it requests, the assets their
HTML, stylesheets and module scripts make the browser fetch, grouped by template.

Most tests use tests/cli_site, a multi-page site whose templates extend a base and whose
stylesheets and module scripts reference further assets; edge cases use ``make_app``.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import render_template

from flask_push_templates.manifest import load_manifest
from tests.cli.helpers import generate, invoke, needs_example, run_flask, site
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
