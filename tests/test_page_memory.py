"""Cached views keep their links (page_memory.py): a Flask-Caching hit renders nothing, yet
its ``Link`` header is its render's, built for its own request (issue 14, finding 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask, render_template
from flask.signals import before_render_template
from flask_caching import Cache
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, PushTemplates, http2push, push_url, push_url_for
from flask_push_templates.state import get_state
from tests.cli.helpers import invoke
from tests.conftest import AppFactory, links_of, run_in_threads, targets_of

TEMPLATES = {
    "layout.html": "{% push 'layout.css' %}{% block body %}{% endblock %}",
    "page.html": "{% extends 'layout.html' %}{% block body %}"
    "{% push 'font.woff2' %}<img src=\"{{ push_url(image, weight=2) }}\">"
    "{% include 'part.html' %}{% endblock %}",
    "part.html": "{% push 'part.js', 'module' %}<p>part",
    "slug.html": "{% push slug + '.png' %}<h1>{{ slug }}</h1>",
}


def cached_app(make_app: AppFactory, **config: Any) -> tuple[Flask, list[str]]:
    """An app with Flask-Caching (SimpleCache) and its views; the templates each response
    rendered are appended to the list returned."""
    app = make_app(
        templates=TEMPLATES,
        files={
            "inner.json": '{"/static/inner.js": {}}',
            "outer.json": '{"/static/outer.js": {}}',
            # An entry for a template's inferred push: the manifest's attributes win.
            "push.json": '{"/static/x.js": {}, "/static/layout.css": {"weight": 3, '
            '"media": "screen"}, "part.html": {"/static/group.css": {}}}',
        },
        CACHE_TYPE="SimpleCache",
        PUSH_MANIFEST="push.json",
        **config,
    )
    cache = Cache(app)
    rendered: list[str] = []

    def record(sender: Flask, template: Any, **extra: Any) -> None:
        rendered.append(template.name)

    before_render_template.connect(record, app, weak=False)

    @app.route("/")
    @http2push("outer.json")  # outside the cache: runs on hits too
    @cache.cached(timeout=60)
    @http2push("inner.json")  # inside: runs on misses only
    def index() -> str:
        push_url_for("static", filename="data.json", _weight=0.5)
        return render_template("page.html", image="hero.jpg")

    @app.route("/p/<slug>")
    @cache.cached(timeout=60)
    def page(slug: str) -> str:
        return render_template("slug.html", slug=slug)

    return app, rendered


def slug_targets(slug: str | None) -> list[str]:
    """The links of /p/<slug>: PUSH_MANIFEST's (its weighted entry first) and, unless
    forgotten (``None``), the page's own."""
    own = [] if slug is None else [f"/static/{slug}.png"]
    return ["/static/layout.css", *own, "/static/x.js"]


def params(response: TestResponse) -> list[tuple[str, tuple[tuple[str, str | None], ...]]]:
    return [(link.target, link.params) for link in links_of(response)]


def test_a_hit_gets_the_link_header_of_the_render_it_is_a_copy_of(make_app: AppFactory) -> None:
    app, rendered = cached_app(make_app)
    client = app.test_client()
    miss = client.get("/")
    assert rendered and "/static/inner.js" in targets_of(miss)
    # Weighted first; the manifest's explicit attributes win over the tag's inferred ones.
    assert params(miss)[0] == (
        "/static/layout.css",
        (("rel", "preload"), ("as", "style"), ("media", "screen")),
    )
    for _ in range(3):
        rendered.clear()
        hit = client.get("/")
        assert rendered == []  # served from the cache: no template ran
        assert hit.data == miss.data
        assert params(hit) == params(miss)
        assert hit.headers.getlist("Link") == miss.headers.getlist("Link")


def test_a_hit_under_another_script_root_gets_its_own_urls(make_app: AppFactory) -> None:
    app, rendered = cached_app(make_app)
    client = app.test_client()
    miss = client.get("/")
    rendered.clear()
    hit = client.get("/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert rendered == []
    # Flask-Caching's key is the path: the cached body still names /static/... The header
    # is built for this request.
    assert hit.data == miss.data
    assert targets_of(hit) == ["/shop" + target for target in targets_of(miss)]
    hit = client.get("/", base_url="https://other.example")
    assert targets_of(hit) == targets_of(miss)


def test_pages_never_get_each_others_links(make_app: AppFactory) -> None:
    app, rendered = cached_app(make_app)
    client = app.test_client()
    for slug in ("a", "b"):
        assert f"/static/{slug}.png" in targets_of(client.get(f"/p/{slug}"))
    rendered.clear()
    for slug, other in (("b", "a"), ("a", "b"), ("b", "a")):
        targets = targets_of(client.get(f"/p/{slug}"))
        assert f"/static/{slug}.png" in targets
        assert f"/static/{other}.png" not in targets
    assert rendered == []


def test_the_memory_is_bounded_and_forgets_the_least_recently_used(make_app: AppFactory) -> None:
    app, _ = cached_app(make_app, PUSH_CACHED_PAGES=2)
    client = app.test_client()
    for slug in "abc":
        client.get(f"/p/{slug}")  # a is forgotten
    client.get("/p/b")  # b is now the most recently used: c goes next
    client.get("/p/d")
    memory = get_state(app).page_memory
    assert len(memory) == 2
    hits = {slug: targets_of(client.get(f"/p/{slug}")) for slug in "abcd"}
    # Cached by Flask-Caching, forgotten here: only the links that need no rendering.
    assert hits["a"] == hits["c"] == slug_targets(None)
    assert hits["b"] == slug_targets("b")
    assert hits["d"] == slug_targets("d")


def test_no_memory_leaves_hits_their_manifest_links_only(make_app: AppFactory) -> None:
    app, _ = cached_app(make_app, PUSH_CACHED_PAGES=0)
    client = app.test_client()
    client.get("/")
    assert targets_of(client.get("/")) == ["/static/layout.css", "/static/outer.js", "/static/x.js"]
    assert len(get_state(app).page_memory) == 0


def test_only_cached_views_are_remembered_unless_listed(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES, PUSH_CACHED_ENDPOINTS=["hand.*"])
    pages: dict[str, str] = {}

    @app.route("/plain")
    def plain() -> str:
        return render_template("slug.html", slug="plain")

    @app.route("/hand", endpoint="hand.made")
    def hand_made() -> str:
        # A cache of the app's own: the body of the first render, later served as is.
        if "body" not in pages:
            pages["body"] = render_template("slug.html", slug="hand")
        return pages["body"]

    client = app.test_client()
    client.get("/plain")
    memory = get_state(app).page_memory
    assert len(memory) == 0  # not a cached view: its body is not even hashed
    assert targets_of(client.get("/hand")) == ["/static/hand.png"]
    assert targets_of(client.get("/hand")) == ["/static/hand.png"]
    assert len(memory) == 1


def test_a_view_that_pushes_without_a_named_template_is_remembered(
    make_app: AppFactory,
) -> None:
    app = make_app(CACHE_TYPE="SimpleCache")
    cache = Cache(app)

    @app.route("/")
    @cache.cached(timeout=60)
    def index() -> str:
        return f'<script src="{push_url("app.js")}"></script>'

    client = app.test_client()
    miss = client.get("/")
    assert targets_of(miss) == targets_of(client.get("/")) == ["/static/app.js"]


def test_concurrent_hits_get_their_own_pages_links(make_app: AppFactory) -> None:
    app, _ = cached_app(make_app, PUSH_CACHED_PAGES=8)
    slugs = [f"s{n}" for n in range(6)]
    wrong: list[str] = []

    def browse(offset: int) -> None:
        client = app.test_client()
        for n in range(60):
            slug = slugs[(n + offset) % len(slugs)]
            targets = targets_of(client.get(f"/p/{slug}"))
            if targets != slug_targets(slug):
                wrong.append(f"{slug}: {targets}")

    run_in_threads(browse, 6)
    assert wrong == []


def test_flask_push_show_names_the_cached_page(make_app: AppFactory) -> None:
    app, _ = cached_app(make_app)
    app.test_client().get("/p/a")  # the render; show's request is a hit
    result = invoke(app, "show", "/p/a")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    index = lines.index("  </static/a.png>; rel=preload; as=image")
    assert lines[index + 1] == (
        "      from the cached page's pushes (remembered from its render of slug.html)"
    )


@pytest.mark.parametrize("value", [-1, True, "8", None])
def test_cached_pages_must_be_a_whole_number(make_app: AppFactory, value: object) -> None:
    with pytest.raises(ConfigError, match="PUSH_CACHED_PAGES must be a whole number"):
        make_app(PUSH_CACHED_PAGES=value)


def test_cached_views_are_found_whenever_they_are_registered(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES, init=False, CACHE_TYPE="SimpleCache")
    cache = Cache(app)

    @app.route("/early")
    @cache.cached(timeout=60)
    def early() -> str:
        return render_template("slug.html", slug="early")

    PushTemplates(app)  # after the route, as in an app factory that registers views first
    memory = get_state(app).page_memory
    assert memory.caches("early") and not memory.caches("late")
    client = app.test_client()
    assert targets_of(client.get("/early")) == targets_of(client.get("/early"))
    assert targets_of(client.get("/early")) == ["/static/early.png"]


def test_an_app_without_cached_views_never_looks_at_bodies(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES)
    app.add_url_rule("/", "index", lambda: render_template("slug.html", slug="x"))
    assert not get_state(app).page_memory.active
    assert targets_of(app.test_client().get("/")) == ["/static/x.png"]


def test_a_hit_with_a_large_manifest_gets_its_renders_header(make_app: AppFactory) -> None:
    # Enough manifest links for the lazy merge (pipeline.LAZY_MERGE): the cached page's
    # record is merged as the page's own there too, the template's inferred push of
    # layout.css still yielding to the manifest's entry for it.
    entries = {f"/static/m{n}.js": {} for n in range(400)}
    entries["/static/layout.css"] = {"weight": 3, "media": "screen"}
    app = make_app(
        templates=TEMPLATES,
        files={"push.json": json.dumps(entries)},
        CACHE_TYPE="SimpleCache",
        PUSH_MANIFEST="push.json",
        PUSH_MAX_HEADER_BYTES=8000,
    )
    cache = Cache(app)

    @app.route("/")
    @cache.cached(timeout=60)
    def index() -> str:
        return render_template("page.html", image="hero.jpg")

    client = app.test_client()
    miss = client.get("/")
    hit = client.get("/")
    assert hit.headers["Link"] == miss.headers["Link"]
    target, link_params = params(hit)[0]
    assert (target, ("media", "screen") in link_params) == ("/static/layout.css", True)
    assert {"/static/hero.jpg", "/static/font.woff2", "/static/part.js"} <= set(targets_of(hit))


def test_two_cached_views_with_the_same_body_keep_their_own_links(make_app: AppFactory) -> None:
    # The memory is keyed by endpoint and body: a body is the same page only at one endpoint.
    app = make_app(
        templates={
            "a.html": "{% push 'a.css' %}<p>same</p>",
            "b.html": "{% push 'b.css' %}<p>same</p>",
        },
        CACHE_TYPE="SimpleCache",
    )
    cache = Cache(app)
    app.add_url_rule("/a", "a", cache.cached(timeout=60)(lambda: render_template("a.html")))
    app.add_url_rule("/b", "b", cache.cached(timeout=60)(lambda: render_template("b.html")))
    client = app.test_client()
    for _ in range(2):  # misses, then hits
        assert targets_of(client.get("/a")) == ["/static/a.css"]
        assert targets_of(client.get("/b")) == ["/static/b.css"]


def test_a_cached_view_replaced_by_an_uncached_one_is_no_longer_remembered(
    make_app: AppFactory,
) -> None:
    app, _ = cached_app(make_app)
    memory = get_state(app).page_memory
    assert memory.caches("page")

    def fresh(slug: str) -> str:
        return render_template("slug.html", slug=slug)

    app.view_functions["page"] = fresh  # Flask's way to replace a view
    assert targets_of(app.test_client().get("/p/new")) == slug_targets("new")
    assert not memory.caches("page")
    assert len(memory) == 0  # its body is no longer hashed


def test_a_view_with_one_of_flask_cachings_attributes_only_is_not_taken_for_a_cached_one(
    make_app: AppFactory,
) -> None:
    app = make_app(templates=TEMPLATES)

    def own() -> str:
        return render_template("slug.html", slug="own")

    own.uncached = own  # type: ignore[attr-defined]  # as another decorator may name it
    app.add_url_rule("/", "own", own)
    memory = get_state(app).page_memory
    assert not memory.active
    assert targets_of(app.test_client().get("/")) == ["/static/own.png"]
    assert len(memory) == 0
