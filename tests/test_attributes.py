"""Validation (``build_link``): destinations, crossorigin, relations and refusals.

Link values are read back by the independent parser in :mod:`tests.linkheader`; the special
attributes are also fuzzed through ``push_url()`` and whole responses.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates import PushError
from flask_push_templates.attributes import attribute_typos, build_link, misspelled_attribute
from tests.conftest import link, parsed
from tests.fuzzing import (
    DESTINATIONS,
    FUZZ,
    SCALARS,
    SPECIAL,
    FuzzApp,
    asset_strategy,
    refused_clearly,
    same_target,
    sound_links,
)
from tests.linkheader import parse_link_header


@pytest.mark.parametrize(
    ("url", "rel", "as_value"),
    [
        ("/static/app.css", "preload", "style"),
        ("/static/app.js", "preload", "script"),
        ("/static/app.mjs", "modulepreload", None),
        ("/static/hero.webp", "preload", "image"),
        ("/static/logo.svg?v=3", "preload", "image"),
        ("/static/captions.vtt", "preload", "track"),
        ("/static/data.json", "preload", "fetch"),
        ("/static/FONT.WOFF2", "preload", "font"),
    ],
)
def test_destination_is_inferred_from_the_extension(
    url: str, rel: str, as_value: str | None
) -> None:
    params = parsed(link(url))
    assert params["rel"] == rel
    assert params.get("as") == as_value


def test_fonts_get_crossorigin_and_a_quoted_type() -> None:
    font = link("/static/inter.woff2")
    assert (
        font.header_value
        == '</static/inter.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"'
    )
    assert parsed(font) == {
        "rel": "preload",
        "as": "font",
        "crossorigin": None,
        "type": "font/woff2",
    }


@pytest.mark.parametrize("destination", ["fetch", "module"])
def test_cors_destinations_get_crossorigin(destination: str) -> None:
    assert "crossorigin" in parsed(link("/api/data", destination))


def test_crossorigin_can_be_chosen_or_removed() -> None:
    assert (
        parsed(link("/f.woff", crossorigin="use-credentials"))["crossorigin"] == "use-credentials"
    )
    assert "crossorigin" not in parsed(link("/f.woff", crossorigin=False))
    assert "crossorigin" in parsed(link("/a.css", crossorigin=True))


@pytest.mark.parametrize("value", [True, ""])
def test_crossorigin_true_or_empty_is_bare_as_html_spells_it(value: object) -> None:
    # An image is fetched without CORS: only the explicit value asks for crossorigin.
    assert link("/a.png", crossorigin=value).header_value == (
        "</a.png>; rel=preload; as=image; crossorigin"
    )


def test_a_bad_crossorigin_is_refused_with_every_choice() -> None:
    with pytest.raises(PushError) as error:
        link("/x.css", crossorigin="yes")
    assert str(error.value) == (
        "push of '/x.css': crossorigin='yes' is not valid; use True (bare), "
        "'anonymous' or 'use-credentials', or False to omit it"
    )


def test_document_becomes_prefetch_because_browsers_reject_as_document() -> None:
    assert link("/next.html", "document").header_value == "</next.html>; rel=prefetch"


def test_other_relations() -> None:
    assert link("https://cdn.example", rel="preconnect").header_value == (
        "<https://cdn.example>; rel=preconnect"
    )
    assert link("https://cdn.example", rel="dns-prefetch").rel == "dns-prefetch"
    assert link("/next", rel="prefetch").header_value == "</next>; rel=prefetch"
    assert link("/b.css", rel="prefetch").as_value == "style"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: link("/x.unknown"), "cannot infer a destination"),
        (
            lambda: link("/x.css", "stylesheet"),
            "unknown destination 'stylesheet'; accepted: document, fetch",
        ),
        (lambda: link("/x.css", rel="icon"), "unknown rel 'icon'; accepted: preload"),
        (lambda: link("/x.css", weight="high"), "weight must be a number"),
        (lambda: link("/x.css", crossorigin="yes"), "crossorigin='yes' is not valid"),
        (lambda: link("/x.css", nonce="a\r\nSet-Cookie: x=1"), "control or non-ASCII"),
        (lambda: link("/x.css", **{"bad name": "1"}), "is not an RFC 9110 token"),
        (lambda: link("/x.css", href="/y"), "'href' cannot be given"),
        (lambda: link("/x.html", "document", rel="preload"), "use rel=prefetch"),
        (lambda: link("https://x", "style", rel="preconnect"), "takes no destination"),
    ],
)
def test_bad_pushes_are_clear_errors(call: object, message: str) -> None:
    with pytest.raises(PushError, match=None) as error:
        call()  # type: ignore[operator]
    assert message in str(error.value)


def test_cached_links_tell_false_from_zero_and_true_from_one() -> None:
    assert "title" not in parsed(link("/a.css", title=False))
    assert parsed(link("/a.css", title=0))["title"] == "0"
    assert parsed(link("/a.css", title=True))["title"] is None
    assert parsed(link("/a.css", title=1))["title"] == "1"


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    special=st.dictionaries(SPECIAL, SCALARS, min_size=1, max_size=3),
)
def test_special_attributes_in_any_case_are_applied_once_or_refused(
    fuzz: FuzzApp, asset: str, destination: Any, special: dict[str, Any]
) -> None:
    try:
        response = fuzz.get("/url", [(asset, destination, special)])
    except PushError as error:
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    [parsed] = sound_links(response)  # the strict parser refuses a second rel or type
    assert same_target(parsed, fuzz.url_of(asset))
    assert [name for name, _ in parsed.params].count("nopush") <= 1


# Issue 14: what a fuzzer produces, surrogates, huge integers and non-finite floats
# included, ends in a PushError or a link the strict parser reads back.
WILD_TEXT = st.text(st.characters(codec=None), max_size=12)
WILD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    WILD_TEXT,
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
)


@given(
    url=st.one_of(WILD_TEXT, WILD_TEXT.map("/{}.css".format)),
    destination=st.one_of(st.none(), st.sampled_from(["style", "script"]), WILD_TEXT),
    attributes=st.lists(
        st.tuples(
            st.one_of(st.sampled_from(["weight", "rel", "title", "type"]), WILD_TEXT), WILD_VALUES
        ),
        max_size=3,
    ),
)
def test_any_value_is_a_push_error_or_a_valid_link(
    url: str, destination: str | None, attributes: list[tuple[str, Any]]
) -> None:
    try:
        result = build_link(url, destination, attributes)
    except PushError:
        return
    assert math.isfinite(result.weight)
    [parsed_back] = parse_link_header(result.header_value)
    assert parsed_back.target == result.url


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ({"weight": 10**400}, "401 digits"),
        ({"weight": float("nan")}, "finite"),
        ({"weight": float("inf")}, "finite"),
        ({"weight": -float("inf")}, "finite"),
        ({"title": "\ud800"}, "lone surrogate"),
        ({"x\udfff": True}, "lone surrogate"),
        ({"media": ["print"]}, "string, number or boolean"),
    ],
)
def test_unwritable_attributes_are_push_errors(attributes: dict[str, Any], message: str) -> None:
    with pytest.raises(PushError, match=message):
        link("/a.css", **attributes)


def test_a_surrogate_in_the_url_or_destination_is_a_push_error() -> None:
    with pytest.raises(PushError, match="lone surrogate"):
        link("/a\ud800.css")
    with pytest.raises(PushError, match="lone surrogate"):
        link("/a.css", "\ud800")


# --- misspelled attribute names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("crosorigin", "crossorigin"),
        ("fetchpriorty", "fetchpriority"),
        ("integrty", "integrity"),
        ("weigth", "weight"),
        ("no_push", "nopush"),
        ("refererpolicy", "referrerpolicy"),
        ("Crosorigin", "crossorigin"),  # names ignore case, as in the header
    ],
)
def test_a_misspelled_attribute_names_the_close_match(name: str, meant: str) -> None:
    assert misspelled_attribute(name) == meant
    assert attribute_typos([name]) == [
        f"attribute {name!r} is not a link attribute (it would go into the header as it is); "
        f"did you mean {meant!r}?"
    ]


@pytest.mark.parametrize(
    "name",
    ["crossorigin", "CrossOrigin", "fetchpriority", "title*", "anchor", "x-cdn-tag", "nonce"],
)
def test_known_and_custom_attributes_are_not_typos(name: str) -> None:
    # Known names, and parameters that resemble none (a CDN's own): RFC 8288 allows them.
    assert misspelled_attribute(name) is None
    assert attribute_typos([name]) == []


# --- every refusal and every attribute, exactly ---------------------------------------------

_SURROGATE = "which no URL or header can carry"


@pytest.mark.parametrize(
    ("url", "destination", "attributes", "message"),
    [
        (
            "/x.unknown",
            None,
            {},
            "cannot infer a destination from the file extension; give one "
            "of: document, fetch, font, image, module, script, style, track",
        ),
        (
            "/x.css",
            "stylesheet",
            {},
            "unknown destination 'stylesheet'; accepted: document, "
            "fetch, font, image, module, script, style, track",
        ),
        (
            "/x.css",
            None,
            {"rel": "icon"},
            "unknown rel 'icon'; accepted: preload, "
            "modulepreload, prefetch, preconnect, dns-prefetch",
        ),
        ("/x.css", None, {"weight": "high"}, "weight must be a number, not 'high'"),
        ("/x.css", None, {"weight": True}, "weight must be a number, not True"),
        ("/x.css", None, {"weight": 10**400}, "weight has 401 digits: too large for a number"),
        ("/x.css", None, {"weight": math.nan}, "weight must be a finite number, not nan"),
        (
            "/x.css",
            None,
            {"crossorigin": "yes"},
            "crossorigin='yes' is not valid; use True "
            "(bare), 'anonymous' or 'use-credentials', or False to omit it",
        ),
        (
            "/x.css",
            None,
            {"nonce": "a\r\nSet-Cookie: x=1"},
            "nonce='a\\r\\nSet-Cookie: x=1' "
            "contains a control or non-ASCII character; attribute values must be printable ASCII",
        ),
        ("/x.css", None, {"bad name": "1"}, "attribute name 'bad name' is not an RFC 9110 token"),
        ("/x.css", None, {"href": "/y"}, "'href' cannot be given as an attribute"),
        ("/x.css", None, {"as": 5}, "as must be a string, not 5"),
        ("/x.css", "style", {"as": "script"}, "destination given twice ('style' and as=)"),
        (
            "/x.css",
            None,
            {"rel": "preload", "REL": "preload"},
            "attribute 'REL' is given twice (names ignore case)",
        ),
        (
            "/x.html",
            "document",
            {"rel": "preload"},
            "browsers reject rel=preload for a document; use rel=prefetch",
        ),
        (
            "https://x",
            "style",
            {"rel": "preconnect"},
            "rel=preconnect names an origin and takes no destination",
        ),
        (
            "/x.css",
            None,
            {"media": ["print"]},
            "attribute 'media' must be a string, number or boolean, not list",
        ),
        (
            "/x.css",
            None,
            {"title": "\ud800"},
            f"attribute 'title' '\\ud800' holds a lone surrogate, {_SURROGATE}",
        ),
        (
            "/x.css",
            None,
            {"x\udfff": True},
            f"an attribute name 'x\\udfff' holds a lone surrogate, {_SURROGATE}",
        ),
        ("/x.css", None, {5: "x"}, "an attribute name must be a string, not int"),
        ("/x.css", 5, {}, "the destination must be a string, not int"),
        ("/x.css", "\ud800", {}, f"the destination '\\ud800' holds a lone surrogate, {_SURROGATE}"),
    ],
)
def test_each_refusal_names_the_push_the_value_and_the_choices(
    url: str, destination: Any, attributes: dict[Any, Any], message: str
) -> None:
    with pytest.raises(PushError) as error:
        build_link(url, destination, attributes.items())
    assert str(error.value) == f"push of {url!r}: {message}"


def test_a_url_that_is_no_string_or_holds_a_surrogate_is_named() -> None:
    with pytest.raises(PushError) as error:
        build_link(5)  # type: ignore[arg-type]
    assert str(error.value) == "push of 5: the URL must be a string, not int"
    with pytest.raises(PushError) as error:
        build_link("/a\ud800.css")
    assert str(error.value) == (
        f"push of '/a\\ud800.css': the URL '/a\\ud800.css' holds a lone surrogate, {_SURROGATE}"
    )


@pytest.mark.parametrize(
    ("url", "destination", "attributes", "header_value"),
    [
        ("x.js", None, {"as": "style"}, "<x.js>; rel=preload; as=style"),
        (
            "f.woff2",
            None,
            {"type": "font/ttf"},
            '<f.woff2>; rel=preload; as=font; crossorigin; type="font/ttf"',
        ),
        (
            "f.woff2",
            None,
            {"type": None},
            '<f.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"',
        ),
        (
            "f.woff2",
            None,
            {"crossorigin": None},
            '<f.woff2>; rel=preload; as=font; type="font/woff2"',
        ),
        ("m.js", "script", {"rel": "modulepreload"}, "<m.js>; rel=modulepreload; crossorigin"),
        ("m.mjs", None, {"rel": "prefetch"}, "<m.mjs>; rel=prefetch; as=script; crossorigin"),
        ("a.css", None, {"REL": "prefetch"}, "<a.css>; rel=prefetch; as=style"),
        ("a.css", None, {"nopush": True}, "<a.css>; rel=preload; as=style; nopush"),
        (
            "a.css",
            None,
            {"crossorigin": "use-credentials"},
            "<a.css>; rel=preload; as=style; crossorigin=use-credentials",
        ),
        ("a.css", None, {"crossorigin": ""}, "<a.css>; rel=preload; as=style; crossorigin"),
        (
            "a.css",
            None,
            {"media": "print", "title": True, "x": False, "y": None},
            "<a.css>; rel=preload; as=style; media=print; title",
        ),
    ],
)
def test_each_attribute_lands_in_the_link_as_html_and_rfc_8288_spell_it(
    url: str, destination: str | None, attributes: dict[str, Any], header_value: str
) -> None:
    built = build_link(url, destination, attributes.items())
    assert built.header_value == header_value
    assert parse_link_header(built.header_value)[0].target == url
    assert built.nopush is bool(attributes.get("nopush"))


def test_a_weight_is_kept_as_a_float_and_not_written() -> None:
    built = build_link("a.css", None, [("weight", 2)])
    assert (built.weight, built.header_value) == (2.0, "<a.css>; rel=preload; as=style")
    assert build_link("a.css").weight == 1.0
