"""The link pipeline: one order of sources, and every consumer agreeing with what is served."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template, stream_template
from flask.testing import FlaskCliRunner

from example_app import create_app
from flask_push_templates import http2push, pipeline, push_url
from flask_push_templates.early_hints import hint_links
from flask_push_templates.links import Link
from flask_push_templates.linkset import LinkSet
from flask_push_templates.pipeline import (
    CONSTANT_PUSHES,
    MANIFEST,
    MANIFEST_GROUP,
    RECORDED,
    VIEW_MANIFEST,
    LinkStream,
    collect_links,
    header_size,
    link_sources,
    preconnects,
)
from flask_push_templates.recording import PageRecord, recorded_page
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, link, links_of


@pytest.fixture(autouse=True, params=["eager", "lazy"])
def merge_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test here twice: small manifests merged link by link, and lazily as a large
    one is (pipeline.LAZY_MERGE), so that both give what is served, shown and checked."""
    if request.param == "lazy":
        monkeypatch.setattr(pipeline, "LAZY_MERGE", 0)


TEMPLATES = {
    "base.html": "{% push 'base.css' %}{% block body %}{% endblock %}",
    "page.html": "{% extends 'base.html' %}{% block body %}{% push 'page.js' %}{% endblock %}",
}
MANIFEST_JSON = '{"page.html": {"group.css": {"type": "style"}}, "every.css": {"type": "style"}}'


def _site(make_app: AppFactory) -> Flask:
    app = make_app(
        templates=TEMPLATES,
        files={"push_manifest.json": MANIFEST_JSON, "view.json": '{"/view.css": {}}'},
        PUSH_MANIFEST="push_manifest.json",
    )

    @app.get("/")
    @http2push("view.json")
    def page() -> str:
        push_url("dynamic.png")
        return render_template("page.html")

    return app


def test_sources_come_in_merge_order_and_name_their_links(make_app: AppFactory) -> None:
    app = _site(make_app)
    client = app.test_client()
    with client:
        response = client.get("/")
        page = recorded_page()
        assert page is not None
        state = get_state(app)
        sources = [
            (source.kind, [link.url for link in source.links], source.templates)
            for source in link_sources(app, state, page, body_rendered=False)
        ]
    assert sources == [
        (RECORDED, ["/static/dynamic.png", "/static/base.css", "/static/page.js"], ()),
        (VIEW_MANIFEST, ["/view.css"], ()),
        (CONSTANT_PUSHES, ["/static/base.css", "/static/page.js"], ("page.html",)),
        (MANIFEST_GROUP, ["/static/group.css"], ("page.html",)),
        (MANIFEST, ["/static/every.css"], ()),
    ]
    # The served header is these sources merged, in this order.
    assert response.headers["Link"].split(", ")[0].startswith("</static/dynamic.png>")
    assert [value.split(">")[0][1:] for value in response.headers["Link"].split(", ")] == [
        "/static/dynamic.png",
        "/static/base.css",
        "/static/page.js",
        "/view.css",
        "/static/group.css",
        "/static/every.css",
    ]


def test_a_page_with_nothing_to_merge_is_its_record(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    with app.test_client() as client:
        client.get("/")
        page = recorded_page()
        assert page is not None
        assert collect_links(app, get_state(app), page) is page.links


def test_a_streamed_page_and_its_103_name_the_same_constant_pushes(
    make_app: AppFactory,
) -> None:
    app = make_app(templates=TEMPLATES, PUSH_EARLY_HINTS=True)
    app.add_url_rule("/", "page", lambda: stream_template("page.html"))
    client = app.test_client()
    streamed = client.get("/").headers["Link"]
    with app.test_request_context("/"):
        state = get_state(app)
        assert state.early_hints is not None
        state.early_hints.learn("page", ["page.html"])
        hinted = ", ".join(link.header_value for link in hint_links(app, state, "page"))
    assert (
        hinted
        == streamed
        == ("</static/base.css>; rel=preload; as=style, </static/page.js>; rel=preload; as=script")
    )


#: Every page of example_app (the test below keeps this complete), and a 404.
EXAMPLE_PAGES = ["/", "/gallery", "/legacy", "/report", "/api/stats", "/nowhere"]


@pytest.mark.parametrize("path", EXAMPLE_PAGES)
def test_show_prints_exactly_the_served_header_of_every_example_app_page(path: str) -> None:
    served_app = create_app()
    # Closed: an unread streamed page (/report) holds its request context until the garbage
    # collector pops it, in whatever later test is running then.
    with served_app.test_client().get(path) as served:
        served.get_data()
    shown_app = create_app()
    result = FlaskCliRunner(shown_app).invoke(args=["push", "show", path])
    lines = result.stdout.splitlines()
    fields = [line.removeprefix("Link: ") for line in lines if line.startswith("Link: ")]
    assert fields == served.headers.getlist("Link")
    shown_values = [line.strip() for line in lines if line.startswith("  <")]
    served_values = [value for field in fields for value in field.split(", ")]
    assert shown_values == served_values
    # Every link is explained.
    assert all(
        lines[lines.index(line) + 1].startswith("      from ")
        for line in lines
        if line.startswith("  <")
    )


def test_example_app_pages_are_what_the_show_test_covers() -> None:
    app = create_app()
    rules = {rule.rule for rule in app.url_map.iter_rules() if not rule.arguments}
    assert rules - set(EXAMPLE_PAGES) == set()


def test_check_counts_the_served_header_of_a_page_with_only_constant_pushes(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates=TEMPLATES,
        files={"push_manifest.json": MANIFEST_JSON, "static/base.css": "", "static/page.js": ""},
        PUSH_MANIFEST="push_manifest.json",
    )
    for name in ("group.css", "every.css"):
        (Path(app.root_path) / "static" / name).write_text("")
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    served = app.test_client().get("/").headers["Link"]
    result = FlaskCliRunner(app).invoke(args=["push", "check"])
    assert result.exit_code == 0, result.output
    assert (
        f"the largest known Link header is {len(served)} bytes, 4 links (template 'page.html'), "
        "counting constant pushes and manifests only" in result.stdout
    )


def test_header_size_is_the_serialized_length(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    with app.test_client() as client:
        served = client.get("/").headers["Link"]
        page = recorded_page()
        assert isinstance(page, PageRecord)
        assert header_size(list(page.links)) == len(served)
        assert header_size([]) == 0


# --- preconnects to other origins ------------------------------------------------------------

CDN_PAGE = (
    "{% push 'https://cdn.example.com/app.css' %}"
    "{% push 'https://fonts.example.net/a.woff2' %}"
    "{% push 'https://cdn.example.com/b.css' %}"
    "{% push 'http://localhost/same-origin.css' %}"
    "{% push 'local.css' %}"
)


def test_other_origins_get_one_preconnect_each_before_the_links(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": CDN_PAGE})
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    links = links_of(app.test_client().get("/"))
    assert [(link.target, link.get("rel"), link.has("crossorigin")) for link in links][:2] == [
        ("https://cdn.example.com", "preconnect", False),
        # Fonts are fetched in CORS mode, on a connection of their own.
        ("https://fonts.example.net", "preconnect", True),
    ]
    assert [link.target for link in links[2:]] == [
        "https://cdn.example.com/app.css",
        "https://fonts.example.net/a.woff2",
        "https://cdn.example.com/b.css",
        "http://localhost/same-origin.css",
        "/static/local.css",
    ]


def test_a_preconnect_the_page_names_is_not_repeated(make_app: AppFactory) -> None:
    app = make_app(
        templates={"p.html": "{% push 'https://cdn.example.com', rel='preconnect' %}" + CDN_PAGE}
    )
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    targets = [link.target for link in links_of(app.test_client().get("/"))]
    assert targets.count("https://cdn.example.com") == 1
    assert targets[0] == "https://fonts.example.net"  # the one not named is still added


def test_preconnects_can_be_turned_off(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": CDN_PAGE}, PUSH_PRECONNECT=False)
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    assert all(link.get("rel") != "preconnect" for link in links_of(app.test_client().get("/")))


def test_the_103_carries_the_preconnects_within_its_budget(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": CDN_PAGE}, PUSH_EARLY_HINTS=True, PUSH_MAX_LINKS=2)
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    with app.test_request_context("/"):
        state = get_state(app)
        assert state.early_hints is not None
        state.early_hints.learn("p", ["p.html"])
        hinted = [link.header_value for link in hint_links(app, state, "p")]
    assert hinted == [
        "<https://cdn.example.com>; rel=preconnect",
        "<https://fonts.example.net>; rel=preconnect; crossorigin",
    ]


def test_show_names_the_preconnects_source(make_app: AppFactory) -> None:
    app = make_app(templates={"p.html": CDN_PAGE})
    app.add_url_rule("/", "p", lambda: render_template("p.html"))
    lines = FlaskCliRunner(app).invoke(args=["push", "show", "/"]).stdout.splitlines()
    index = lines.index("  <https://cdn.example.com>; rel=preconnect")
    assert lines[index + 1] == "      from PUSH_PRECONNECT: an origin the other links fetch from"


def _large_manifest_site(make_app: AppFactory, entries: int) -> Flask:
    """A page whose flat entries and whose template's group each list ``entries`` assets,
    one of them also pushed by the page, with a lower weight than the manifest gives it."""
    document: dict[str, object] = {
        f"/static/e{index}.js": {"type": "script", "weight": index % 5} for index in range(entries)
    }
    document["page.html"] = {f"/static/g{index}.css": {"type": "style"} for index in range(entries)}
    app = make_app(
        templates=TEMPLATES,
        files={"push_manifest.json": json.dumps(document)},
        PUSH_MANIFEST="push_manifest.json",
        PUSH_EARLY_HINTS=True,
    )

    @app.get("/")
    def page() -> str:
        push_url("/static/e9.js", title="page")
        return render_template("page.html")

    return app


def test_a_response_merges_only_what_a_large_manifest_shares_with_the_page(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _large_manifest_site(make_app, 20_000)
    client = app.test_client()
    first = client.get("/").headers["Link"]  # resolves and orders the manifest, once
    added = 0
    add = LinkSet.add

    def counted(self: LinkSet, link: Link, explicit: bool = True) -> None:
        nonlocal added
        added += 1
        add(self, link, explicit)

    monkeypatch.setattr(LinkSet, "add", counted)
    assert client.get("/").headers["Link"] == first
    # The page's 4 links (3 recorded, the 4th from the manifest entry it shares), not 40,004.
    assert added <= 10
    # The page's own push keeps its title and takes the manifest's weight, 4: mentioned
    # first, it leads the manifest's other weight-4 entries.
    assert first.startswith(
        "</static/e9.js>; rel=preload; as=script; title=page, "
        "</static/e4.js>; rel=preload; as=script, </static/e14.js>; rel=preload; as=script, "
    )


# --- LinkStream: a sequence made as it is read -----------------------------------------------


def counted_stream(count: int) -> tuple[LinkStream, list[int]]:
    """A stream of ``count`` links, and how many its source has given so far."""
    given = [0]

    def source() -> Iterator[Link]:
        for index in range(count):
            given[0] += 1
            yield link(f"/{index}.css")

    return LinkStream(source(), 10), given


def test_a_link_stream_makes_only_the_links_read() -> None:
    stream, given = counted_stream(5)
    assert stream[0].url == "/0.css" and given == [1]
    assert stream[1].url == "/1.css" and given == [2]
    assert not stream.longer_than(5) and stream.longer_than(4) and given == [5]
    stream, given = counted_stream(5)
    assert stream.longer_than(2) and given == [3]  # at most one more than asked
    assert [each.url for each in itertools.islice(stream, 3)] == ["/0.css", "/1.css", "/2.css"]
    assert given == [3]


def test_a_link_stream_is_a_sequence() -> None:
    stream, given = counted_stream(4)
    assert stream[-1].url == "/3.css" and given == [4]  # from the end: all are made
    stream, _ = counted_stream(4)
    assert [each.url for each in stream[1:3]] == ["/1.css", "/2.css"]
    stream, _ = counted_stream(3)
    assert len(stream) == 3
    assert [each.url for each in stream] == ["/0.css", "/1.css", "/2.css"]  # read again
    assert len(stream) == 3


def test_a_scheme_relative_link_takes_the_scheme_of_a_page_origin_with_a_port() -> None:
    links = [link("//cdn.example/x.js"), link("//fonts.example/f.woff2")]
    assert [each.url for each in preconnects(links, "https://shop.example:8443")] == [
        "https://cdn.example",
        "https://fonts.example",
    ]
