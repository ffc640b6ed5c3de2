"""What is known of templates before rendering: the pushes that certainly run."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from flask import render_template, stream_template

from flask_push_templates.state import get_state
from tests.conftest import AppFactory, targets_of

LAYOUT = {
    "base.html": (
        "<head>{% block head %}{% push 'default.css' %}{% endblock %}</head>"
        "<body>{% block body %}{% endblock %}{% include 'foot.html' %}</body>"
    ),
    "foot.html": "{% push 'foot.js' %}{% if x %}{% push 'maybe.js' %}{% endif %}",
}


def pushes_of(make_app: AppFactory, templates: dict[str, str], page: str) -> list[str]:
    app = make_app(templates={**LAYOUT, **templates})
    facts = app.extensions["push_templates"].templates
    return [push.asset for push in facts.certain_pushes(app.jinja_env, [page])]


def test_layout_blocks_and_unconditional_includes(make_app: AppFactory) -> None:
    child = "{% extends 'base.html' %}{% block body %}{% push 'page.css' %}{% endblock %}"
    assert pushes_of(make_app, {"page.html": child}, "page.html") == [
        "default.css",
        "page.css",
        "foot.js",
    ]


def test_overridden_block_without_super_does_not_run(make_app: AppFactory) -> None:
    child = "{% extends 'base.html' %}{% block head %}{% push 'child.css' %}{% endblock %}"
    assert pushes_of(make_app, {"page.html": child}, "page.html") == ["child.css", "foot.js"]


def test_super_runs_the_parent_block(make_app: AppFactory) -> None:
    child = "{% extends 'base.html' %}{% block head %}{{ super() }}{% push 'c.css' %}{% endblock %}"
    assert pushes_of(make_app, {"page.html": child}, "page.html") == [
        "default.css",
        "c.css",
        "foot.js",
    ]


@pytest.mark.parametrize(
    "body",
    [
        "{% if flag %}{% push 'x.js' %}{% endif %}",
        "{% for i in items %}{% push 'x.js' %}{% endfor %}",
        "{% macro m() %}{% push 'x.js' %}{% endmacro %}",
        "{% call m() %}{% push 'x.js' %}{% endcall %}",
        "{% push name %}",
    ],
)
def test_pushes_that_may_not_run_are_not_certain(make_app: AppFactory, body: str) -> None:
    child = "{% extends 'base.html' %}{% block body %}" + body + "{% endblock %}"
    assert "x.js" not in pushes_of(make_app, {"page.html": child}, "page.html")


def test_child_top_level_pushes_run(make_app: AppFactory) -> None:
    child = "{% extends 'base.html' %}{% push 'top.css' %}"
    assert pushes_of(make_app, {"page.html": child}, "page.html")[0] == "top.css"


def test_include_cycles_end(make_app: AppFactory) -> None:
    templates = {
        "a.html": "{% push 'a.css' %}{% include 'b.html' %}",
        "b.html": "{% include 'a.html' %}",
    }
    assert pushes_of(make_app, templates, "a.html") == ["a.css"]


def test_a_layout_named_with_its_page_is_taken_as_part_of_the_page(make_app: AppFactory) -> None:
    app = make_app(
        templates={**LAYOUT, "page.html": "{% extends 'base.html' %}{% block head %}{% endblock %}"}
    )
    facts = app.extensions["push_templates"].templates
    assert [p.asset for p in facts.certain_pushes(app.jinja_env, ["page.html", "base.html"])] == [
        "foot.js"
    ]


def test_streamed_page_announces_what_the_rendered_page_pushes(make_app: AppFactory) -> None:
    child = (
        "{% extends 'base.html' %}{% block head %}{% push 'child.css' %}{% endblock %}"
        "{% block body %}{% if false %}{% push 'never.js' %}{% endif %}{% endblock %}"
    )
    app = make_app(templates={**LAYOUT, "page.html": child})
    app.add_url_rule("/rendered", "r", lambda: render_template("page.html"))
    app.add_url_rule("/streamed", "s", lambda: stream_template("page.html"))
    client = app.test_client()
    assert (
        targets_of(client.get("/streamed"))
        == targets_of(client.get("/rendered"))
        == [
            "/static/child.css",
            "/static/foot.js",
        ]
    )


def test_changed_templates_are_reread_when_auto_reloading(
    make_app: AppFactory, tmp_path: Path
) -> None:
    import os

    app = make_app(templates={"p.html": "{% push 'one.css' %}"}, TEMPLATES_AUTO_RELOAD=True)
    facts = app.extensions["push_templates"].templates
    assert [p.asset for p in facts.certain_pushes(app.jinja_env, ["p.html"])] == ["one.css"]
    (tmp_path / "templates" / "p.html").write_text("{% push 'two.css' %}")
    os.utime(tmp_path / "templates" / "p.html", (1, 1))
    assert [p.asset for p in facts.certain_pushes(app.jinja_env, ["p.html"])] == ["two.css"]


def test_closures_are_remembered_and_bounded(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(templates=LAYOUT)
    facts = app.extensions["push_templates"].templates
    monkeypatch.setattr(facts, "MAX_CLOSURES", 3)
    for _ in range(2):  # the second time from memory
        assert facts.closure(app.jinja_env, ["base.html"]) == ["base.html", "foot.html"]
    assert facts._closures == {frozenset({"base.html"}): ("base.html", "foot.html")}
    # A template read for the first time starts the closures over (its tree is new): read
    # them all first, so that only the bound can empty the memory below.
    for number in range(10):
        facts.info(app.jinja_env, f"other{number}.html")
    for number in range(10):
        assert facts.closure(app.jinja_env, [f"other{number}.html"]) == [f"other{number}.html"]
        # Never more than the bound, and the latest closure is always remembered.
        assert len(facts._closures) <= 3
        assert facts._closures[frozenset({f"other{number}.html"})] == (f"other{number}.html",)
    assert facts.closure(app.jinja_env, ["base.html"]) == ["base.html", "foot.html"]


def test_the_closure_cache_is_keyed_by_the_set_of_names(make_app: AppFactory) -> None:
    # Issue 14: 1,000 partial renders a page, in an order that changes from page to page,
    # must make one cached closure, not one per order.
    partials = {f"p/{n}.html": "{% push 'x.css' %}" for n in range(40)}
    app = make_app(
        templates={**partials, "page.html": "{{ parts|join }}"},
        files={"m.json": '{"page.html": {"/g.css": {}}}'},
        PUSH_MANIFEST="m.json",
    )
    names = sorted(partials) * 25  # 1,000 renders

    @app.route("/<int:seed>")
    def page(seed: int) -> str:
        random.Random(seed).shuffle(names)
        parts = [render_template(name) for name in names]  # partials rendered by the view
        return render_template("page.html", parts=parts)

    client = app.test_client()
    for seed in range(30):
        assert client.get(f"/{seed}").status_code == 200
    assert len(get_state(app).templates._closures) == 1
