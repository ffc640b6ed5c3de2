"""``flask push show`` (cli/provenance.py): the page's Link header, the source of each link,
what the budget left out, the 103 Early Hints, and why a page has no links.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import render_template

from flask_push_templates import push_url_for
from flask_push_templates.cli.provenance import split_link_values
from tests.cli.helpers import LOG_IN, SITE, generate, invoke, members, site
from tests.conftest import AppFactory


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
        "Left out (over PUSH_MAX_LINKS=3 or PUSH_MAX_HEADER_BYTES=2048; those that did not fit):",
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


def test_show_simulates_a_host_and_a_script_root(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "page.html": "{% push 'site.css' %}<p>{{ request.host }} {{ request.script_root }}"
        }
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    plain = invoke(app, "show", "/")
    assert plain.stdout.splitlines()[:2] == [
        "GET / -> 200 OK (view 'page', templates: page.html)",
        "Link: </static/site.css>; rel=preload; as=style",
    ]
    moved = invoke(app, "show", "/", "--host", "shop.example:8443", "--script-root", "/shop")
    assert moved.exit_code == 0, moved.output
    assert moved.stdout.splitlines()[:2] == [
        "GET http://shop.example:8443/shop/ -> 200 OK (view 'page', templates: page.html)",
        "Link: </shop/static/site.css>; rel=preload; as=style",
    ]
    https = invoke(app, "show", "/shop/about", "--host", "https://shop.example")
    assert https.stdout.startswith("GET https://shop.example/shop/about -> 404 NOT FOUND")
    refused = invoke(app, "show", "/", "--script-root", "shop")
    assert refused.exit_code == 2
    assert "Invalid value for --script-root: a path such as /shop" in refused.stderr


def test_show_logs_in_at_the_simulated_host(tmp_path: Path) -> None:
    redirected = invoke(members(tmp_path), "show", "/members")
    assert redirected.exit_code == 1
    assert "Error: GET /members answered 302 FOUND" in redirected.stderr
    args = ("show", "/members", "--client-setup", LOG_IN)
    for place in ((), ("--host", "members.example", "--script-root", "/club")):
        result = invoke(members(tmp_path), *args, *place)
        assert result.exit_code == 0, (place, result.output)
        assert "200 OK (view 'members', templates: members.html)" in result.stdout


def test_show_lists_what_a_streamed_header_cannot_carry(tmp_path: Path) -> None:
    result = invoke(members(tmp_path), "show", "/streamed")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "GET /streamed -> 200 OK (view 'streamed', templates: stream.html)",
        "Link: </static/css/members.css>; rel=preload; as=style",
        "  </static/css/members.css>; rel=preload; as=style",
        "      from {% push %} in stream.html (read before streaming)",
        "Not in the header (pushed while the streamed body rendered, after the header had left):",
        "  </static/late-a.js>; rel=preload; as=script",
        "      from {% push %} in stream.html, line 1",
        "  </static/late-b.js>; rel=preload; as=script",
        "      from {% push %} in stream.html, line 1",
        "103 Early Hints: off (PUSH_EARLY_HINTS is False)",
    ]


def test_show_of_an_unstreamed_page_lists_nothing_after_the_header(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "{% for n in 'ab' %}{% push n ~ '.js' %}{% endfor %}"})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    result = invoke(app, "show", "/")
    assert "Not in the header" not in result.stdout
    assert "Link: </static/a.js>; rel=preload; as=script, </static/b.js>" in result.stdout
