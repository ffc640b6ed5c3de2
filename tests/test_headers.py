"""The header a response gets: which responses, the merge with the view's own ``Link``
fields, and the budget that covers every header the extension adds (issue 14)."""

from __future__ import annotations

import json
import logging

import pytest
from flask import Response, render_template_string

from flask_push_templates import push_url
from tests.conftest import AppFactory, targets_of
from tests.linkheader import parse_link_fields

#: nginx's default proxy_buffer_size is 4 KiB; README promises the extension's headers
#: stay within half of it (PUSH_MAX_HEADER_BYTES' default).
SHARE = 2048


def added_size(response: Response, own: int = 0) -> int:
    """What the extension's fields cost, counted as the budget counts (value + 2 each)."""
    values = response.headers.getlist("Link") + response.headers.getlist("Set-Cookie")
    return sum(len(value) + 2 for value in values) - own


def test_a_link_that_does_not_fit_is_skipped_and_the_next_ones_kept(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    signed = "https://cdn.example/big.js?sig=" + "x" * 2100

    @app.route("/")
    def index() -> str:
        push_url(signed, weight=9)  # first in priority order, and alone over the budget
        for n in range(10):
            push_url(f"small{n}.css")
        return "<p>"

    with caplog.at_level(logging.WARNING):
        response = app.test_client().get("/")
    # The CDN's preconnect stays: the page still fetches the signed URL from there.
    assert targets_of(response) == [
        "https://cdn.example",
        *[f"/static/small{n}.css" for n in range(10)],
    ]
    [warning] = [r.getMessage() for r in caplog.records if "left out" in r.getMessage()]
    assert "1 of 12 links" in warning
    assert signed[:60] in warning and "lowest weights" not in warning


@pytest.mark.parametrize("status", [204, 205, 206])
def test_bodiless_and_partial_responses_get_no_links_and_no_cookie(
    make_app: AppFactory, status: int
) -> None:
    app = make_app(PUSH_ONCE=True)

    @app.route("/")
    def index() -> Response:
        push_url("a.css")
        return Response("", status=status, mimetype="text/html")

    response = app.test_client().get("/")
    assert response.headers.get("Link") is None
    assert response.headers.get("Set-Cookie") is None


def test_push_once_at_its_maximum_stays_within_the_budget_page_after_page(
    make_app: AppFactory,
) -> None:
    app = make_app(PUSH_ONCE=True, PUSH_ONCE_MAX_ENTRIES=512)

    @app.route("/<int:n>")
    def page(n: int) -> str:
        return render_template_string(
            "{% for i in range(12) %}{% push 'assets/p' ~ n ~ '-' ~ i ~ '.css' %}{% endfor %}<p>",
            n=n,
        )

    client = app.test_client()
    cookies = 0
    for n in range(60):
        response = client.get(f"/{n}")
        assert response.status_code == 200
        assert len(targets_of(response)) == 12
        assert added_size(response) <= SHARE
        cookies += bool(response.headers.getlist("Set-Cookie"))
    assert cookies == 60  # every page pushed something new: the cookie kept up
    # The cookie kept the newest entries: this page's links are nopush on a second visit.
    again = parse_link_fields(client.get("/59").headers.getlist("Link"))
    assert all(("nopush", None) in link.params for link in again)


def test_the_budget_counts_the_views_own_fields_before_the_cookie(make_app: AppFactory) -> None:
    app = make_app(PUSH_ONCE=True, PUSH_ONCE_MAX_ENTRIES=512, PUSH_MAX_HEADER_BYTES=400)
    own = "</own.js>; rel=preload; as=script"

    @app.route("/")
    def index() -> Response:
        for n in range(30):
            push_url(f"a{n}.css")
        response = Response("<p>")
        response.headers["Link"] = own
        return response

    response = app.test_client().get("/")
    assert added_size(response) <= 400
    assert response.headers.getlist("Set-Cookie")  # room was left for some entries


def test_merge_compares_normalised_targets(make_app: AppFactory) -> None:
    app = make_app()

    @app.route("/")
    def index() -> Response:
        push_url("/c,d.css")
        push_url("/x.css")
        push_url("/%7Euser.css")
        response = Response("<p>")
        response.headers.add("Link", "</c%2cd.css>; rel=preload; as=style")
        response.headers.add("Link", '</y.css>; rel=preload; as=style; title="see </x.css>, ok"')
        response.headers.add("Link", "</~user.css>; rel=preload; as=style")
        return response

    targets = targets_of(app.test_client().get("/"))
    assert sorted(targets) == ["/c%2cd.css", "/x.css", "/y.css", "/~user.css"]


def test_link_targets_reads_quoted_strings_as_strings() -> None:
    from flask_push_templates.headers import link_targets, normalized_target

    value = '<a.css>; title="x, <b.css>; \\"q\\"", <c.css>;rel=preload,,  <d.css>'
    assert list(link_targets(value)) == ["a.css", "c.css", "d.css"]
    assert normalized_target("/c%2cd.css") == normalized_target("/c,d.css") == "/c%2Cd.css"
    assert normalized_target("/%7e.css") == "/~.css"


# --- edges a broken implementation would get wrong ------------------------------------------


@pytest.mark.parametrize(
    ("value", "targets"),
    [
        ("<>; rel=x, </b.css>", ["", "/b.css"]),  # an empty target is still one
        ("  ,\t,</a.css>", ["/a.css"]),  # separators of empty elements, one at a time
        ("</a>,</b>", ["/a", "/b"]),  # no space after the comma
        ('title="a\\"b, </x.css>", </y.css>', ["/y.css"]),  # an escaped quote stays inside
        ("</a.css", []),  # never closed: no target
        ("x=1, </c.css>", ["/c.css"]),  # not a link-value: skipped to the next comma
        ("X</b.css>, </a.css>", ["/a.css"]),  # even when it looks like one further on
        ("</a.css>, \t", ["/a.css"]),  # separators to the very end
        ('</a">, </b.css>', ['/a"', "/b.css"]),  # a quote inside <...> opens no string
    ],
)
def test_link_targets_at_the_edges(value: str, targets: list[str]) -> None:
    from flask_push_templates.headers import link_targets

    assert list(link_targets(value)) == targets


@pytest.mark.parametrize(
    ("status", "content_type", "gets_links"),
    [
        (200, "text/html; charset=utf-8", True),
        (299, "text/html", True),
        (300, "text/html", False),
        (199, "text/html", False),
        # Only the parameters go: the first ';' ends the mimetype, not the last.
        (200, "text/html; a=b; charset=utf-8", True),
        (200, "TEXT/HTML", True),
        (200, None, False),  # no Content-Type at all: not a page
    ],
)
def test_which_responses_get_links(
    make_app: AppFactory, status: int, content_type: str | None, gets_links: bool
) -> None:
    app = make_app()

    @app.route("/")
    def index() -> Response:
        push_url("a.css")
        response = Response("<p>", status=status)
        del response.headers["Content-Type"]
        if content_type is not None:
            response.headers["Content-Type"] = content_type
        return response

    response = app.test_client().get("/")
    assert (response.headers.get("Link") == "</static/a.css>; rel=preload; as=style") is gets_links


def test_the_budget_warning_names_each_endpoint_once_and_the_first_five_left_out(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_MAX_LINKS=1)

    def pushes(count: int) -> str:
        for n in range(count):
            push_url(f"c{n}.css")
        return "<p>"

    app.add_url_rule("/six", "six", lambda: pushes(7))
    app.add_url_rule("/five", "five", lambda: pushes(6))
    with caplog.at_level(logging.WARNING):
        for path in ("/six", "/six", "/five"):
            app.test_client().get(path)
    assert [record.getMessage() for record in caplog.records] == [
        "six: 6 of 7 links left out of the Link header (PUSH_MAX_LINKS=1, "
        "PUSH_MAX_HEADER_BYTES=2048, 0 bytes of it taken by the view's own Link fields); "
        "left out, as they did not fit: /static/c1.css, /static/c2.css, /static/c3.css, "
        "/static/c4.css, /static/c5.css, ...",
        "five: 5 of 6 links left out of the Link header (PUSH_MAX_LINKS=1, "
        "PUSH_MAX_HEADER_BYTES=2048, 0 bytes of it taken by the view's own Link fields); "
        "left out, as they did not fit: /static/c1.css, /static/c2.css, /static/c3.css, "
        "/static/c4.css, /static/c5.css",
    ]


# --- the push-once cookie's share of the budget, to the byte ---------------------------------

ONCE_PAGE = "".join(f"{{% push 'assets/a-long-name-for-file-{n}.css' %}}" for n in range(4))


def once_response(
    make_app: AppFactory, max_bytes: int, cookie: str | None = None
) -> tuple[list[str], list[str]]:
    """The Link and Set-Cookie fields of the page, on an app with that budget."""
    app = make_app(PUSH_ONCE=True, PUSH_MAX_HEADER_BYTES=max_bytes)
    app.add_url_rule("/", "page", lambda: render_template_string(ONCE_PAGE))
    client = app.test_client()
    if cookie is not None:
        client.set_cookie("push_once", cookie)
    response = client.get("/")
    return response.headers.getlist("Link"), response.headers.getlist("Set-Cookie")


def test_the_cookie_is_reserved_exactly_the_room_it_takes(make_app: AppFactory) -> None:
    links, cookies = once_response(make_app, 100_000)
    [link_field], [cookie_field] = links, cookies
    exact = len(link_field) + 2 + len(cookie_field) + 2
    assert once_response(make_app, exact) == (links, cookies)
    # A byte less: the cookie keeps its room, the last link goes.
    fewer, _ = once_response(make_app, exact - 1)
    assert len(parse_link_fields(fewer)) == 3


def test_nothing_is_reserved_when_nothing_new_is_pushed(make_app: AppFactory) -> None:
    _, [cookie_field] = once_response(make_app, 100_000)
    cookie = cookie_field.partition(";")[0].partition("=")[2]
    links, cookies = once_response(make_app, 100_000, cookie)
    [link_field] = links
    assert cookies == []  # every link was pushed before: no cookie to set
    assert once_response(make_app, len(link_field) + 2, cookie) == (links, [])
    fewer, _ = once_response(make_app, len(link_field) + 1, cookie)
    assert len(parse_link_fields(fewer)) == 3


def test_the_link_field_fits_the_budget_with_its_own_two_bytes(make_app: AppFactory) -> None:
    def link_fields(max_bytes: int) -> list[str]:
        app = make_app(PUSH_MAX_HEADER_BYTES=max_bytes)
        app.add_url_rule("/", "page", lambda: render_template_string(ONCE_PAGE))
        return app.test_client().get("/").headers.getlist("Link")

    [field] = link_fields(100_000)
    assert link_fields(len(field) + 2) == [field]
    [shorter] = link_fields(len(field) + 1)  # the value alone would fit: the field does not
    assert len(parse_link_fields([shorter])) == 3 and len(shorter) + 2 <= len(field) + 1


def test_the_cookie_is_reserved_at_most_half_of_the_budget(make_app: AppFactory) -> None:
    # Forty new links: their cookie would need more than half of 400 bytes.
    app = make_app(PUSH_ONCE=True, PUSH_MAX_HEADER_BYTES=400)
    page = "".join(f"{{% push 'p/{n:02}.css' %}}" for n in range(40))
    app.add_url_rule("/", "page", lambda: render_template_string(page))
    response = app.test_client().get("/")
    [field] = response.headers.getlist("Link")
    longest = max(len(f"</static/p/{n:02}.css>; rel=preload; as=style") for n in range(40))
    # The links get the other half, filled to within one link.
    assert 200 - (longest + 2) < len(field) + 2 <= 200
    assert response.headers.getlist("Set-Cookie")
    assert added_size(response) <= 400  # type: ignore[arg-type]


def test_a_large_manifest_does_not_repeat_what_the_views_own_field_names(
    make_app: AppFactory,
) -> None:
    # 300 entries: merged lazily (a LinkStream), where the view's targets are filtered too.
    entries = {f"/static/{n}.css": {"weight": 2 if n == 7 else 1} for n in range(300)}
    app = make_app(files={"m.json": json.dumps(entries)}, PUSH_MANIFEST="m.json")

    @app.route("/")
    def index() -> Response:
        response = Response("<p>")
        response.headers["Link"] = "</static/7.css>; rel=preload; as=style"
        return response

    targets = targets_of(app.test_client().get("/"))
    assert targets[:3] == ["/static/7.css", "/static/0.css", "/static/1.css"]
    assert targets.count("/static/7.css") == 1  # the view's field, not repeated after it
