"""What ``flask push manifest`` writes (cli/manifest_writer.py): JSON that diffs well, merged
with the manifest and the Early Hints template map already there.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template, render_template_string
from werkzeug.test import TestResponse

from flask_push_templates.cli.manifest_writer import PortableKeys
from flask_push_templates.manifest import load_manifest
from flask_push_templates.settings import template_map
from tests.cli.helpers import (
    first_hint,
    generate_both,
    invoke,
    needs_example,
    read_json,
    run_flask,
    site,
)
from tests.conftest import AppFactory, targets_of
from tests.linkheader import parse_link_fields


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
    assert [(entry.asset, entry.destination) for entry in fonts] == [("fonts/body.woff2", "font")]


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
            "new.png": {"type": "image", "weight": 1},  # new: its static name
        },
        "unvisited.html": {"/static/kept.css": {"type": "style"}},
    }
    assert "kept from" in result.stderr and "unvisited.html" in result.stderr
    assert "no longer exist: deleted.html" in result.stderr


# --- flask push manifest --early-hints ------------------------------------------------------

#: Every page of tests/cli_site, whatever it answers.
SITE_URLS = ("/", "/about", "/post/1", "/post/2", "/legacy", "/api/status", "/old-home")
SITE_MAP = {
    "about": ["about.html"],
    "index": ["index.html"],
    "legacy": ["legacy.html"],
    "post": ["post.html"],
}


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


# --- portable: right under any prefix and any version ---------------------------------------

VERSIONED_PAGE = (
    "<link rel=stylesheet href=\"{{ url_for('static', filename='css/site.css') }}\">"
    "<script type=module src=\"{{ url_for('static', filename='js/app.mjs') }}\"></script>"
    "<link rel=preload as=fetch crossorigin href=\"{{ url_for('data') }}\">"
    # A query of the page's own, after the version (as the core joins an asset's query).
    "<img src=\"{{ url_for('static', filename='img/logo.png') }}&w=2\">"
)
VERSIONED_FILES: dict[str, str | bytes] = {
    # What a stylesheet and a module name themselves carries no version.
    "static/css/site.css": "@font-face { font-family: x; src: url(../fonts/a.woff2) }",
    "static/js/app.mjs": "import './lib.mjs';",
    "static/js/lib.mjs": "",
    "static/img/logo.png": b"",
    "static/fonts/a.woff2": b"",
}


def versioned_app(make_app: AppFactory, version: str, **config: Any) -> Flask:
    """A page whose static URLs carry a cache-busting ``?v=`` from ``url_defaults``."""
    app = make_app(templates={"page.html": VERSIONED_PAGE}, files=VERSIONED_FILES, **config)

    @app.url_defaults
    def cache_bust(endpoint: str, values: dict[str, str]) -> None:
        if endpoint == "static":
            values.setdefault("v", version)

    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    app.add_url_rule("/page-data.json", "data", lambda: {"rows": []})
    return app


def page_urls(response: TestResponse) -> list[str]:
    """What the page itself fetches: the URLs of its HTML, and the font and module that
    its stylesheet and module name (relative to themselves, with no version)."""
    html = re.findall(r'(?:href|src)="([^"]+)"', response.text)
    root = html[0].split("/static/")[0]
    return sorted([*html, f"{root}/static/fonts/a.woff2", f"{root}/static/js/lib.mjs"])


def test_a_manifest_generated_at_the_root_stays_right_under_a_prefix_and_a_new_version(
    make_app: AppFactory, tmp_path: Path
) -> None:
    output = tmp_path / "generated.json"
    result = invoke(versioned_app(make_app, "1"), "manifest", "-o", str(output))
    assert result.exit_code == 0, result.output
    assert read_json(output) == {
        "page.html": {
            # Static names, without the ?v= that url_defaults add again on each request.
            "css/site.css": {"type": "style", "weight": 1},
            "js/app.mjs": {"type": "module", "weight": 1},
            "img/logo.png?w=2": {"type": "image", "weight": 1},  # the page's own query
            # Found without a version: as app paths, under whatever script root.
            "/static/fonts/a.woff2": {"type": "font", "weight": 1},
            "/static/js/lib.mjs": {"type": "module", "weight": 1},
            "/page-data.json": {"type": "fetch", "weight": 1},
        }
    }
    for root, version in (("", "1"), ("/shop", "1"), ("/shop", "2"), ("/a/b", "3")):
        app = versioned_app(make_app, version, PUSH_MANIFEST=str(output))
        response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": root})
        assert response.status_code == 200
        # Exactly what the page fetches: its current version, under its script root.
        assert sorted(targets_of(response)) == page_urls(response), (root, version)
        assert f"{root}/static/css/site.css?v={version}" in targets_of(response)
        # And the file needs no regenerating: --check finds it up to date.
        app = versioned_app(make_app, version, APPLICATION_ROOT=root or "/")
        check = invoke(app, "manifest", "-o", str(output), "--check")
        assert check.exit_code == 0, (root, version, check.output)


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("/app/static/css/a.css", "css/a.css"),
        ("http://example.test/app/static/css/a.css", "css/a.css"),  # resolved with SERVER_NAME
        ("/app/static/a%20b.css?v=2", "a b.css?v=2"),
        ("/app/page-data.json?limit=5", "/page-data.json?limit=5"),
        ("/app/not-a-route.css", "/not-a-route.css"),
        # Another origin's is taken as given; a path of this origin outside the app has none.
        ("https://cdn.example/app/static/css/a.css", "https://cdn.example/app/static/css/a.css"),
        ("/elsewhere/x.css", None),
    ],
)
def test_portable_keys(make_app: AppFactory, url: str, key: str | None) -> None:
    app = make_app(SERVER_NAME="example.test", APPLICATION_ROOT="/app")
    app.add_url_rule("/page-data.json", "data", lambda: {})
    with app.app_context():
        assert PortableKeys(app, "/app").key(url) == key
