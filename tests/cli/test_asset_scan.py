"""The scanners of HTML, CSS and module scripts (cli/asset_scan.py): only what the browser
fetches while it renders the page.
"""

from __future__ import annotations

from flask_push_templates.cli.asset_scan import (
    ImportMap,
    Reference,
    module_imports,
    scan_css,
    scan_html,
)

PAGE = "http://localhost/page/"


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
        Reference(PAGE + "f.woff2", "font", "", preload=True),
        Reference(PAGE + "m.js", "module", preload=True),
        Reference(PAGE + "classic.js", "script"),
        Reference(PAGE + "mod.js", "module"),
        Reference(PAGE + "bg.png", None),
        Reference(PAGE + "inline.png", None),
        Reference(PAGE + "eager.png", "image"),
    )


def test_html_references_keep_the_attributes_that_decide_reuse_of_a_preload() -> None:
    html = """<link rel="stylesheet" href="a.css" integrity="sha384-A" crossorigin>
    <script src="b.js" integrity="sha256-B" crossorigin="use-credentials"></script>
    <link rel="preload" as="style" href="a.css" integrity="sha384-A">"""
    assert scan_html(html, PAGE).references == (
        Reference(PAGE + "a.css", "style", "", "sha384-A"),
        Reference(PAGE + "b.js", "script", "use-credentials", "sha256-B"),
        Reference(PAGE + "a.css", "style", None, "sha384-A", preload=True),
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
