"""``flask push manifest / check / show``: through Flask's CLI runner and as real processes.

Most tests use tests/cli_site, a multi-page site whose templates extend a base and whose
stylesheets and module scripts reference further assets; edge cases use ``make_app``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Blueprint, Flask, render_template, render_template_string

from flask_push_templates import http2push, push_url_for
from flask_push_templates.cli.asset_scan import (
    ImportMap,
    Reference,
    module_imports,
    scan_css,
    scan_html,
)
from flask_push_templates.cli.provenance import split_link_values
from flask_push_templates.manifest import load_manifest
from flask_push_templates.settings import template_map
from tests.cli_site import create_app
from tests.conftest import AppFactory, targets_of
from tests.linkheader import parse_link_fields

REPOSITORY = Path(__file__).resolve().parent.parent
SITE = REPOSITORY / "tests" / "cli_site"
PAGE = "http://localhost/page/"

Invoke = Callable[..., Result]


def invoke(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["push", *args])
    # A ClickException or usage error exits; anything else is a bug in the command.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def site(**config: Any) -> Flask:
    return create_app({"TESTING": True, **config})


def generate(tmp_path: Path, *urls: str, **config: Any) -> dict[str, Any]:
    output = tmp_path / "push_manifest.json"
    result = invoke(site(**config), "manifest", "-o", str(output), *urls)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return document


# --- scanning HTML, CSS and modules ---------------------------------------------------------


def test_html_references_what_the_browser_fetches_while_rendering() -> None:
    html = """<!doctype html><head>
    <link rel="stylesheet" href="a.css"><link rel="alternate stylesheet" href="alt.css">
    <link rel="stylesheet" href="off.css" disabled><link rel="icon" href="favicon.ico">
    <link rel="preload" as="font" href="f.woff2" crossorigin><link rel="modulepreload" href="m.js">
    <link rel="prefetch" href="next.html">
    <script src="classic.js"></script><script type="module" src="mod.js"></script>
    <script nomodule src="old.js"></script><script type="text/template" src="t.js"></script>
    <style>body { background: url(bg.png) }</style></head>
    <body style="background-image: url('inline.png')">
    <img src="eager.png"><img src="lazy.png" loading="lazy"><img src="x.png" srcset="x2.png 2x">
    <img src="data:image/png;base64,AAAA"><template><img src="tpl.png"></template>
    <noscript><img src="noscript.png"></noscript></body>"""
    scan = scan_html(html, PAGE)
    assert scan.references == (
        Reference(PAGE + "a.css", "style"),
        Reference(PAGE + "f.woff2", "font", ""),
        Reference(PAGE + "m.js", "module"),
        Reference(PAGE + "classic.js", "script"),
        Reference(PAGE + "mod.js", "module"),
        Reference(PAGE + "bg.png", None),
        Reference(PAGE + "inline.png", None),
        Reference(PAGE + "eager.png", "image"),
    )


def test_html_base_href_and_inline_modules_with_an_import_map() -> None:
    html = """<base href="/app/"><base href="/ignored/">
    <script type="importmap">{"imports": {"lib": "/vendor/lib.js", "ui/": "/vendor/ui/"}}</script>
    <script type="module">
      import "lib"; import { button } from "ui/button.js"; import "./own.js"; import "lodash";
    </script>
    <link rel=stylesheet href=site.css>"""
    scan = scan_html(html, PAGE)
    assert [reference.url for reference in scan.references] == [
        "http://localhost/vendor/lib.js",
        "http://localhost/vendor/ui/button.js",
        "http://localhost/app/own.js",
        "http://localhost/app/site.css",
    ]
    assert scan.import_map.resolve("lib", PAGE) == "http://localhost/vendor/lib.js"


def test_css_imports_fonts_and_urls_resolve_against_the_stylesheet() -> None:
    css = """@import url("reset.css"); @import 'print.css' print;
    /* url(commented.png) @import "commented.css"; */
    @font-face { font-family: A; src: local(A), url("../fonts/a.woff2") format("woff2"),
                 url(../fonts/a.woff) format("woff"); }
    @font-face { font-family: B; src: url(b.ttf); src: url(b.woff2); }
    .x { background: url(../img/x.svg?v=2#frag); clip-path: url(#clip) }"""
    references = scan_css(css, "http://localhost/static/css/site.css").references
    assert references == (
        Reference("http://localhost/static/css/reset.css", "style"),
        Reference("http://localhost/static/css/print.css", "style"),
        Reference("http://localhost/static/fonts/a.woff2", "font"),
        # The last src declaration is the one that applies.
        Reference("http://localhost/static/css/b.woff2", "font"),
        Reference("http://localhost/static/img/x.svg?v=2", None),
    )


def test_module_imports_are_the_static_ones() -> None:
    source = """// import "commented.js"
    import a from './a.js';
    import {
      b,
      c,
    } from "../b.mjs";
    export * from "./c.js"; export { d } from './d.js'
    import data from "./data.json" with { type: "json" };
    const url = "https://example.com/x"; import "./e.js"
    /* import "f.js" */
    button.onclick = () => import("./on-demand.js");
    import "bare-package";"""
    assert module_imports(source, "http://localhost/js/m/main.js", ImportMap()) == [
        "http://localhost/js/m/a.js",
        "http://localhost/js/b.mjs",
        "http://localhost/js/m/c.js",
        "http://localhost/js/m/d.js",
        "http://localhost/js/m/e.js",
    ]


# --- flask push manifest --------------------------------------------------------------------


def test_manifest_lists_each_templates_assets(tmp_path: Path) -> None:
    document = generate(tmp_path)
    # Every GET page without arguments, keyed by the template it rendered; /post/<n> needs
    # its URL, /api/status is JSON and /old-home redirects.
    assert sorted(document) == ["about.html", "index.html", "legacy.html"]
    index = {url: spec["type"] for url, spec in document["index.html"].items()}
    assert index == {
        "/static/css/site.css": "style",
        "/static/css/base.css": "style",  # @import of site.css
        "/static/fonts/body.woff2": "font",  # only site.css's @font-face names it
        "/static/img/background.svg": "image",  # url() in site.css
        "/static/img/rule.png": "image",  # url() in base.css
        "/static/img/logo.png": "image",  # base.html
        "/static/img/hero.webp": "image",  # index.html
        "/static/js/main.js": "module",
        "/static/js/util.js": "module",  # imported by main.js
        "/static/js/lib/dom.mjs": "module",
        "/static/js/legacy.js": "script",
    }
    about = document["about.html"]
    assert about["/static/css/about.css"] == {"type": "style", "weight": 1}
    assert about["/static/fonts/heading.woff2"] == {"type": "font", "weight": 1}
    assert "/static/fonts/heading.woff2" not in document["index.html"]


def test_manifest_takes_explicit_urls(tmp_path: Path) -> None:
    document = generate(tmp_path, "/post/7", "http://localhost/about")
    assert sorted(document) == ["about.html", "post.html"]
    assert document["post.html"]["/static/img/post.png"] == {"type": "image", "weight": 1}


def test_manifest_loads_and_is_deterministic(tmp_path: Path) -> None:
    output = tmp_path / "push_manifest.json"
    app = site()
    assert invoke(app, "manifest", "-o", str(output)).exit_code == 0
    first = output.read_bytes()
    assert invoke(app, "manifest", "-o", str(output)).exit_code == 0
    assert output.read_bytes() == first
    text = first.decode("utf-8")
    assert text.endswith("}\n")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True) + "\n"
    manifest = load_manifest(str(output))
    fonts = [entry for entry in manifest.groups["index.html"] if entry.asset.endswith("woff2")]
    assert [(entry.asset, entry.destination) for entry in fonts] == [
        ("/static/fonts/body.woff2", "font")
    ]


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


def test_failing_page_that_propagates_is_reported_too(tmp_path: Path) -> None:
    # TESTING=True: the exception leaves the test client instead of becoming a 500.
    result = invoke(site(CLI_SITE_BROKEN=True), "manifest", "-o", str(tmp_path / "m.json"))
    assert result.exit_code == 1
    assert "GET /broken ... FAILED: raised RuntimeError: the database is down" in result.stderr


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
        "page.html": {"/static/a.css": {"type": "style", "weight": 1}}
    }


def test_manifest_without_push_manifest_writes_into_the_root_path(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(templates={"page.html": '<img src="/static/a.png">'})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "manifest")
    assert result.exit_code == 0
    assert json.loads((tmp_path / "push_manifest.json").read_text()) == {
        "page.html": {"/static/a.png": {"type": "image", "weight": 1}}
    }
    assert "set PUSH_MANIFEST = 'push_manifest.json' to use it" in result.stderr


def test_manifest_updates_an_existing_file(make_app: AppFactory, tmp_path: Path) -> None:
    templates = {
        "page.html": '<script src="/static/app.js"></script><img src="/static/new.png">',
        "unvisited.html": "",
    }
    existing = {
        "/static/everywhere.css": {"type": "style", "weight": 3},
        "page.html": {
            "/static/app.js": {"type": "style", "weight": 5, "nopush": True},
            "/static/gone.png": {"type": "image"},
        },
        "unvisited.html": {"/static/kept.css": {"type": "style"}},
        "deleted.html": {"/static/x.css": {"type": "style"}},
    }
    (tmp_path / "m.json").write_text(json.dumps(existing))
    app = make_app(templates=templates)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "manifest", "-o", str(tmp_path / "m.json"))
    assert result.exit_code == 0
    assert json.loads((tmp_path / "m.json").read_text()) == {
        "/static/everywhere.css": {"type": "style", "weight": 3},
        "page.html": {
            # Hand-made attributes survive; the type follows the page.
            "/static/app.js": {"type": "script", "weight": 5, "nopush": True},
            "/static/new.png": {"type": "image", "weight": 1},
        },
        "unvisited.html": {"/static/kept.css": {"type": "style"}},
    }
    assert "kept from" in result.stderr and "unvisited.html" in result.stderr
    assert "no longer exist: deleted.html" in result.stderr


def test_manifest_check_detects_a_stale_file(tmp_path: Path) -> None:
    output = tmp_path / "push_manifest.json"
    app = site()
    assert invoke(app, "manifest", "-o", str(output)).exit_code == 0
    fresh = invoke(app, "manifest", "--check", "-o", str(output))
    assert fresh.exit_code == 0
    assert f"{output} is up to date" in fresh.stdout

    stale = json.loads(output.read_text())
    del stale["about.html"]["/static/fonts/heading.woff2"]
    output.write_text(json.dumps(stale, indent=2, sort_keys=True) + "\n")
    before = output.read_text()
    result = invoke(app, "manifest", "--check", "-o", str(output))
    assert result.exit_code == 1
    assert '+    "/static/fonts/heading.woff2": {' in result.stdout
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
        "/static/a.js": {"type": "script", "weight": 1, "crossorigin": True},
        "/static/m.js": {"type": "module", "weight": 1, "crossorigin": "use-credentials"},
        "/static/s.css": {"type": "style", "weight": 1, "crossorigin": True},
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
    expected = {
        "page.html": {
            "/shop/static/p.png": {"type": "image", "weight": 1},
            "/shop/static/s.css": {"type": "style", "weight": 1},
        }
    }
    for urls in ((), ("/",), ("/shop/",), ("http://localhost/shop/",)):
        result = invoke(app, "manifest", "-o", "-", *urls)
        assert json.loads(result.stdout) == expected, urls
    show = invoke(app, "show", "/shop/")
    assert show.stdout.startswith("GET / -> 200 OK (view 'page', templates: page.html)")


def test_page_rendering_no_named_template_is_reported(make_app: AppFactory) -> None:
    app = make_app()
    app.add_url_rule("/", "page", lambda: render_template_string("<img src=/static/a.png>"))
    result = invoke(app, "manifest", "-o", "-")
    assert "GET / ... 200 OK, no named template rendered: its assets are not listed" in (
        result.stderr
    )
    assert result.stdout == "{}\n"


# --- flask push manifest --early-hints ------------------------------------------------------

#: Every page of tests/cli_site, whatever it answers.
SITE_URLS = ("/", "/about", "/post/1", "/post/2", "/legacy", "/api/status", "/old-home")
SITE_MAP = {
    "about": ["about.html"],
    "index": ["index.html"],
    "legacy": ["legacy.html"],
    "post": ["post.html"],
}


def generate_both(tmp_path: Path, app: Flask, *urls: str) -> tuple[Path, Path, Result]:
    manifest, hints = tmp_path / "push_manifest.json", tmp_path / "early_hints.json"
    result = invoke(app, "manifest", "-o", str(manifest), "--early-hints", str(hints), *urls)
    assert result.exit_code == 0, result.output
    return manifest, hints, result


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def first_hint(app: Flask, path: str) -> list[str]:
    """The Link values of the 103s one request gets from a fake HTTP/2 server (gunicorn
    offers ``wsgi.early_hints`` as this recording callable does)."""
    sent: list[list[tuple[str, str]]] = []
    environ = {"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": sent.append}
    with app.test_client().get(path, environ_overrides=environ) as response:
        response.get_data()  # a streamed page runs to its end
        assert response.status_code == 200, response.status
    return [value for fields in sent for name, value in fields if name == "Link"]


def test_early_hints_map_lists_each_endpoints_templates(tmp_path: Path) -> None:
    _, hints, result = generate_both(tmp_path, site(), *SITE_URLS)
    # The JSON endpoint and the redirect serve no page: nothing to hint. Each page lists
    # only its own template, not those of the pages requested before it in the same run.
    assert read_json(hints) == SITE_MAP
    text = hints.read_text(encoding="utf-8")
    assert text == json.dumps(SITE_MAP, indent=2, sort_keys=True) + "\n"
    assert dict(template_map(json.loads(text))) == {
        endpoint: tuple(names) for endpoint, names in SITE_MAP.items()
    }
    assert f"Wrote {hints}: 4 endpoints, 4 templates" in result.stdout
    assert (
        f"note: PUSH_EARLY_HINTS_TEMPLATES does not name {hints}, so each worker's first "
        "request to an endpoint hints only what the manifests list; set PUSH_EARLY_HINTS = "
        f"True and PUSH_EARLY_HINTS_TEMPLATES = {str(hints)!r} to use it"
    ) in result.stderr
    # Regenerating gives the same bytes.
    generate_both(tmp_path, site(), *SITE_URLS)
    assert hints.read_text(encoding="utf-8") == text


def test_early_hints_map_gives_the_first_request_a_full_hint(tmp_path: Path) -> None:
    manifest, hints, _ = generate_both(tmp_path, site(), *SITE_URLS)
    config = {"PUSH_MANIFEST": str(manifest), "PUSH_EARLY_HINTS": True}
    deployed = site(PUSH_EARLY_HINTS_TEMPLATES=str(hints), **config)
    learning = site(**config)
    for path in ("/", "/about", "/post/1", "/legacy"):
        cold = first_hint(learning, path)
        # The first request to each endpoint gets what a process that saw it sends; without
        # the map it gets less (the manifests' entries, not its templates' groups).
        first = first_hint(deployed, path)
        assert len(first) == 1, path
        assert first == first_hint(learning, path), path
        assert first != cold, path
    # The very first request of a fresh process, too.
    fresh = site(PUSH_EARLY_HINTS_TEMPLATES=str(hints), **config)
    [about] = first_hint(fresh, "/about")
    targets = [link.target for link in parse_link_fields([about])]
    assert "/static/css/about.css" in targets  # the about.html group of the manifest
    assert "/static/css/site.css" in targets  # {% push %} in base.html, which it extends


def test_early_hints_map_keeps_what_every_page_of_an_endpoint_rendered(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(
        templates={
            "layout.html": "{% include 'nav.html' %}{% block body %}{% endblock %}",
            "nav.html": "",
            "pages/a.html": "{% extends 'layout.html' %}",
            "pages/b.html": "{% extends 'layout.html' %}",
            "card.html": "",
            "list.html": "{{ cards }}",
        }
    )

    @app.get("/page/<name>")
    def page(name: str) -> str:
        return render_template(f"pages/{name}.html")

    @app.get("/list/<int:count>")
    def listing(count: int) -> str:
        cards = "".join(render_template("card.html") for _ in range(count))
        extra = render_template("pages/a.html") if count == 2 else ""
        return render_template("list.html", cards=cards + extra)

    @app.get("/raw/<int:number>")
    def raw(number: int) -> str:
        return render_template("card.html") if number else render_template_string("raw")

    _, hints, result = generate_both(
        tmp_path, app, "/page/a", "/page/b", "/list/1", "/list/2", "/raw/0", "/raw/1"
    )
    assert read_json(hints) == {
        # The pages share no rendered name but their layout, and what it includes.
        "page": ["layout.html", "nav.html"],
        # Every page rendered these, in this order (each once); pages/a.html only one did.
        "listing": ["card.html", "list.html"],
    }
    # /raw/0 rendered no named template: listing 'raw' would stop workers learning it.
    assert (
        "left out of the Early Hints map the endpoints whose pages rendered no template in "
        "common (workers learn them): raw" in result.stderr
    )


def test_early_hints_map_updates_an_existing_file(tmp_path: Path) -> None:
    hints = tmp_path / "early_hints.json"
    hints.write_text(
        json.dumps(
            {
                "about": ["hand-made.html"],  # not requested this time: kept
                "index": ["old.html"],  # requested: rebuilt
                "status": ["status.html"],  # answers JSON now: removed
                "gone": ["gone.html"],  # no such endpoint: dropped
            }
        )
    )
    _, _, result = generate_both(tmp_path, site(), "/", "/api/status")
    assert read_json(hints) == {"about": ["hand-made.html"], "index": ["index.html"]}
    assert f"kept from {hints} the endpoints no page answered for this time: about" in (
        result.stderr
    )
    assert f"dropped from {hints} the endpoints that no longer exist: gone" in result.stderr

    hints.write_text('{"index": "index.html"}')
    broken = invoke(site(), "manifest", "-o", "-", "--early-hints", str(hints))
    assert broken.exit_code == 1
    assert f"Error: cannot update {hints}: 'index' must map to a list of template names" in (
        broken.stderr
    )


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


# --- flask push check -----------------------------------------------------------------------


def write_manifest(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return str(path)


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
        "PUSH_MAX_HEADER_BYTES=2048: the 1 of lowest weight would be left out (/static/c.css)"
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


# --- flask push show ------------------------------------------------------------------------


def test_show_names_the_source_of_each_link(tmp_path: Path) -> None:
    generate(tmp_path)
    app = site(PUSH_MANIFEST=str(tmp_path / "push_manifest.json"))
    result = invoke(app, "show", "/legacy")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "GET /legacy -> 200 OK (view 'legacy', templates: legacy.html)"
    assert lines[1].startswith("Link: </static/css/site.css>; rel=preload; as=style, ")
    manifest = str(tmp_path / "push_manifest.json")
    assert lines[2:4] == [
        "  </static/css/site.css>; rel=preload; as=style",
        f"      from {{% push %}} in base.html, line 6; manifest {manifest} [legacy.html]",
    ]
    legacy = lines.index("  </static/js/legacy.js>; rel=preload; as=script")
    assert lines[legacy + 1] == (
        f"      from @http2push manifest {os.path.relpath(SITE / 'legacy_manifest.json')}; "
        f"manifest {manifest} [legacy.html]"
    )
    assert lines[-1] == "103 Early Hints: off (PUSH_EARLY_HINTS is False)"


def test_show_tells_views_templates_and_own_headers_apart(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "base.html": "{% push 'base.css' %}{% block body %}{% endblock %}",
            "page.html": "{% extends 'base.html' %}{% block body %}"
            "<img src=\"{{ push_url('dynamic.png') }}\">{% endblock %}",
        },
        PUSH_MAX_LINKS=3,
    )

    @app.get("/")
    def page() -> Any:
        push_url_for("static", filename="data.json")
        push_url_for("static", filename="late.png", _weight=0.5)
        return render_template("page.html"), {"Link": "</own.css>; rel=preload; as=style"}

    result = invoke(app, "show", "/")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1:] == [
        "Link: </own.css>; rel=preload; as=style",
        "Link: </static/data.json>; rel=preload; as=fetch; crossorigin, "
        "</static/base.css>; rel=preload; as=style, </static/dynamic.png>; rel=preload; as=image",
        "  </own.css>; rel=preload; as=style",
        "      from the view's own Link header",
        "  </static/data.json>; rel=preload; as=fetch; crossorigin",
        "      from view 'page' (push_url or push_url_for)",
        "  </static/base.css>; rel=preload; as=style",
        "      from {% push %} in base.html, line 1",
        "  </static/dynamic.png>; rel=preload; as=image",
        "      from push_url in template page.html",
        "Left out (over PUSH_MAX_LINKS=3 or PUSH_MAX_HEADER_BYTES=2048, lowest weight first):",
        "  </static/late.png>; rel=preload; as=image",
        "      from view 'page' (push_url or push_url_for)",
        "103 Early Hints: off (PUSH_EARLY_HINTS is False)",
    ]


def test_show_predicts_early_hints_when_they_are_on() -> None:
    result = invoke(site(PUSH_EARLY_HINTS=True), "show", "/about")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-2:] == [
        "103 Early Hints, first request to a worker: (none)",
        "103 Early Hints, once the worker has seen this page: "
        "</static/css/site.css>; rel=preload; as=style",
    ]


def test_show_explains_pages_without_links() -> None:
    app = site()
    json_page = invoke(app, "show", "/api/status")
    assert json_page.exit_code == 0
    assert "No Link header: application/json is not in PUSH_MIMETYPES (text/html)" in (
        json_page.stdout
    )
    missing = invoke(app, "show", "/nowhere")
    assert missing.exit_code == 1
    assert missing.stdout.startswith("GET /nowhere -> 404 NOT FOUND (no view, templates: none)\n")
    assert "No Link header: only 2xx responses get links, this one is 404" in missing.stdout
    assert "Error: GET /nowhere answered 404 NOT FOUND" in missing.stderr


def test_show_reports_a_view_that_raises() -> None:
    result = invoke(site(CLI_SITE_BROKEN=True), "show", "/broken")
    assert result.exit_code == 1
    assert "Error: GET /broken raised RuntimeError: the database is down" in result.stderr


def test_split_link_values_respects_quotes_and_targets() -> None:
    value = '</a,b.css>; rel=preload; as=style, </c.js>; rel=preload; title="x, <y>", </d>'
    assert split_link_values(value) == [
        "</a,b.css>; rel=preload; as=style",
        '</c.js>; rel=preload; title="x, <y>"',
        "</d>",
    ]


# --- as real processes: python -m flask --app ... push ... ----------------------------------


def run_flask(app: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")])
    )
    environment.pop("FLASK_APP", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, "push", *args],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SITE_APP = "tests.cli_site:create_app"


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


# --- on example_app -------------------------------------------------------------------------

EXAMPLE = REPOSITORY / "example_app"
needs_example = pytest.mark.skipif(
    not (EXAMPLE / "__init__.py").exists(), reason="example_app is not there yet"
)


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
    assert types[("index.html", "/static/fonts/dejavu-serif-bold-subset.woff2")] == "font"
    assert types[("index.html", "/static/css/site.css")] == "style"
    assert types[("index.html", "/static/js/app.mjs")] == "module"
    assert types[("legacy.html", "/static/js/legacy.js")] == "script"
    assert types[("gallery.html", "/static/img/hero.png")] == "image"
    load_manifest(str(output))


@needs_example
def test_example_app_check_and_show() -> None:
    check = run_flask("example_app", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert check.stdout.startswith("OK: ")
    show = run_flask("example_app", "show", "/")
    assert show.returncode == 0, show.stderr
    assert show.stdout.startswith("GET / -> 200 OK (view 'index', templates: index.html)\nLink: ")
    assert "      from {% push %} in base.html" in show.stdout


EXAMPLE_MAP = {
    "gallery": ["gallery.html"],
    "index": ["index.html"],
    "legacy": ["legacy.html"],
    "report": ["report.html"],
}


@needs_example
def test_example_app_early_hints_map_gives_first_requests_a_full_hint(tmp_path: Path) -> None:
    from example_app import create_app as create_example_app

    manifest, hints = tmp_path / "push_manifest.json", tmp_path / "early_hints.json"
    result = run_flask("example_app", "manifest", "-o", str(manifest), "--early-hints", str(hints))
    assert result.returncode == 0, result.stderr
    assert read_json(hints) == EXAMPLE_MAP
    assert f"Wrote {hints}: 4 endpoints, 4 templates\n" in result.stdout
    template_map(read_json(hints))
    config = {"TESTING": True, "PUSH_MANIFEST": str(manifest), "PUSH_EARLY_HINTS": True}
    deployed = create_example_app({**config, "PUSH_EARLY_HINTS_TEMPLATES": str(hints)})
    learning = create_example_app(config)
    for path in ("/", "/gallery", "/legacy", "/report"):
        cold = first_hint(learning, path)
        first = first_hint(deployed, path)  # the first request to the endpoint
        assert len(first) == 1, path
        assert first == first_hint(learning, path), path
        assert first != cold, path
