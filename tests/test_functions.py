"""``push_url()`` through whole responses: any push reads back exactly, or fails clearly."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, current_app
from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates import PushError, PushTemplates, push_link_tags, push_url
from tests.conftest import AppFactory, links_of
from tests.fuzzing import (
    DESTINATIONS,
    FUZZ,
    NAMES,
    SCALARS,
    TEXT,
    Case,
    FuzzApp,
    asset_strategy,
    check_link,
    may_refuse,
    refused_clearly,
    sound_links,
)


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    attributes=st.dictionaries(NAMES, SCALARS, max_size=4),
)
def test_push_url_gives_a_header_that_reads_back_exactly_or_a_clear_error(
    fuzz: FuzzApp, asset: str, destination: Any, attributes: dict[str, Any]
) -> None:
    try:
        response = fuzz.get("/url", [(asset, destination, attributes)])
    except PushError as error:
        assert may_refuse(asset, destination, attributes, fuzz.url_of(asset)), error
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    assert response.status_code == 200
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@FUZZ
@given(
    pushes=st.lists(
        st.tuples(TEXT, st.sampled_from(["style", "script", "image", "font"]), PRINTABLE),
        max_size=12,
    )
)
def test_many_pushes_come_back_in_order_each_once(
    fuzz: FuzzApp, pushes: list[tuple[str, str, str]]
) -> None:
    # Distinct paths by construction, so that none merges with another.
    case: Case = [
        (f"/p{index}/{text}", destination, {"title": title})
        for index, (text, destination, title) in enumerate(pushes)
    ]
    response = fuzz.get("/url", case)
    links = sound_links(response)
    assert len(links) == len(case)
    for parsed, (asset, destination, attributes) in zip(links, case, strict=True):
        check_link(parsed, asset, destination, attributes)


@pytest.fixture(scope="module")
def make_user_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """An app whose view pushes what the test puts in ``CASE``, guarded as README says."""
    app = Flask("user_values", root_path=str(tmp_path_factory.mktemp("user-values")))
    app.config.update(TESTING=True)
    PushTemplates(app)

    @app.route("/")
    def index() -> str:
        asset, weight, title = current_app.config["CASE"]
        attributes = {"weight": weight, "title": title}
        with contextlib.suppress(PushError):  # README: user values, guarded by PushError
            push_url(asset, **{k: v for k, v in attributes.items() if v is not None})
        return "<p>"

    yield app


#: What a user can hand a view (a query string, a form, JSON), lone surrogates included:
#: JSON's "\ud800" decodes to one, and so does a path that Python's file system encoding
#: could not decode.
USER_TEXT = st.text(st.characters(codec=None), max_size=12)
USER_NUMBERS = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)


@FUZZ
@given(
    asset=st.one_of(
        USER_TEXT, st.builds("{}{}".format, st.sampled_from(["/", "x.css?q="]), USER_TEXT)
    ),
    weight=st.one_of(st.none(), USER_NUMBERS),
    title=st.one_of(st.none(), USER_TEXT),
)
def test_push_url_of_user_values_guarded_by_push_error_never_fails_the_response(
    make_user_app: Any, asset: str, weight: Any, title: Any
) -> None:
    client = make_user_app.test_client()
    make_user_app.config["CASE"] = (asset, weight, title)
    response = client.get("/")
    assert response.status_code == 200
    sound_links(response)


def test_push_link_tags_writes_only_attributes_html_knows(make_app: AppFactory) -> None:
    app = make_app()

    @app.route("/")
    def index() -> str:
        push_url("a.css", onload="alert(1)", onerror="x", media="print", x_proxy_hint="1")
        return str(push_link_tags())

    response = app.test_client().get("/")
    tag = response.get_data(as_text=True)
    assert tag == '<link rel="preload" href="/static/a.css" as="style" media="print">'
    # The header still carries every parameter: only HTML is limited.
    assert "onload" in response.headers["Link"]


def test_push_url_returns_the_url_the_header_names_query_and_fragment_included(
    make_app: AppFactory,
) -> None:
    app = make_app()
    assets = ("css/app.css?v=2#x", "/media/a.png?w=1", "https://cdn.example/a.js?v=1")
    app.add_url_rule("/", "page", lambda: "|".join(push_url(asset) for asset in assets))
    response = app.test_client().get(
        "/", environ_overrides={"SCRIPT_NAME": "/shop"}, headers={"Accept": "text/html"}
    )
    assert response.status_code == 200
    returned = response.text.split("|")
    assert returned == [
        "/shop/static/css/app.css?v=2#x",
        "/shop/media/a.png?w=1",
        "https://cdn.example/a.js?v=1",
    ]
    fetched = [link.target for link in links_of(response) if link.get("rel") != "preconnect"]
    assert fetched == returned


@pytest.mark.parametrize("asset", ["", "?v=2", "#x"])
def test_push_url_of_an_asset_naming_no_file_is_a_push_error(
    make_app: AppFactory, asset: str
) -> None:
    app = make_app()
    with app.test_request_context("/"), pytest.raises(PushError, match=r"^push(:| of )"):
        push_url(asset, "style")
