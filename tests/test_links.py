"""Links: validation, destinations, and serialization read back by an independent parser."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates import Link, PushError
from flask_push_templates.attributes import build_link
from flask_push_templates.links import serialize_links
from flask_push_templates.uri import encode_target
from tests.linkheader import parse_link_header


def link(url: str, destination: str | None = None, **attributes: Any) -> Link:
    return build_link(url, destination, attributes.items())


def parsed(link: Link) -> dict[str, str | None]:
    [result] = parse_link_header(link.header_value)
    return dict(result.params)


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


def test_document_becomes_prefetch_because_browsers_reject_as_document() -> None:
    assert link("/next.html", "document").header_value == "</next.html>; rel=prefetch"


def test_other_relations() -> None:
    assert link("https://cdn.example", rel="preconnect").header_value == (
        "<https://cdn.example>; rel=preconnect"
    )
    assert link("https://cdn.example", rel="dns-prefetch").rel == "dns-prefetch"
    assert link("/next", rel="prefetch").header_value == "</next>; rel=prefetch"
    assert link("/b.css", rel="prefetch").as_value == "style"


def test_extra_attributes_pass_through_and_are_quoted_when_not_tokens() -> None:
    script = link(
        "/app.js",
        nonce="abc123",
        integrity="sha384-a+b/c==",
        fetchpriority="high",
        media="(min-width: 600px)",
    )
    params = parsed(script)
    assert params["nonce"] == "abc123"
    assert params["integrity"] == "sha384-a+b/c=="
    assert params["media"] == "(min-width: 600px)"
    assert 'media="(min-width: 600px)"' in script.header_value
    assert 'integrity="sha384-a+b/c=="' in script.header_value


def test_nopush_is_a_bare_parameter() -> None:
    assert link("/a.css", nopush=True).header_value.endswith("; nopush")
    assert link("/a.css").with_nopush().nopush


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


def build_link_kw(url: str, **attributes: object) -> Link:
    return link(url, None, attributes.items())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("url", "encoded"),
    [
        ("/static/a b.css", "/static/a%20b.css"),
        ("/static/a>b.css", "/static/a%3Eb.css"),
        ("/static/a,b;c.css", "/static/a%2Cb%3Bc.css"),
        ("/static/é.css", "/static/%C3%A9.css"),
        ("/static/a\r\nSet-Cookie: x.css", "/static/a%0D%0ASet-Cookie:%20x.css"),
        ("/static/100%.css", "/static/100%25.css"),
        ("/static/a%20b.css", "/static/a%20b.css"),
        ('/static/"quoted".css', "/static/%22quoted%22.css"),
        ("/a#b#c", "/a#b%23c"),
        ("http://[::1]:8080/a[1].css", "http://[::1]:8080/a%5B1%5D.css"),
    ],
)
def test_targets_are_percent_encoded_so_nothing_breaks_out(url: str, encoded: str) -> None:
    assert encode_target(url) == encoded
    assert encode_target(encoded) == encoded


def test_several_links_serialize_to_one_field_value() -> None:
    value = serialize_links([link("/a.css"), link("/b,c.js")])
    assert [link.target for link in parse_link_header(value)] == ["/a.css", "/b%2Cc.js"]


def test_html_tag_escapes_attribute_values() -> None:
    tag = link("/a.css", media='"><script>').html_tag()
    assert tag == '<link rel="preload" href="/a.css" as="style" media="&#34;&gt;&lt;script&gt;">'


# Asset strings as hostile as text gets.
hostile_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40)
attribute_values = st.one_of(st.booleans(), st.integers(), st.text(max_size=30))


@given(prefix=hostile_text, value=attribute_values)
def test_any_push_serializes_to_a_header_that_parses_back_exactly(
    prefix: str, value: object
) -> None:
    url = "/" + prefix + ".css"
    try:
        header = link(url, "style", title=value).header_value
    except PushError:
        # Refusing is right only for a value no header can carry; the URL is always encoded.
        assert not all(" " <= char <= "~" for char in str(value))
        return
    assert "\r" not in header and "\n" not in header
    [result] = parse_link_header(header)
    assert result.target == encode_target(url)
    expected_title = None if value is True else str(value)
    if value is not False and value is not None:
        assert result.get("title") == expected_title
    assert result.rel == "preload" and result.get("as") == "style"


def test_cached_links_tell_false_from_zero_and_true_from_one() -> None:
    assert "title" not in parsed(link("/a.css", title=False))
    assert parsed(link("/a.css", title=0))["title"] == "0"
    assert parsed(link("/a.css", title=True))["title"] is None
    assert parsed(link("/a.css", title=1))["title"] == "1"
