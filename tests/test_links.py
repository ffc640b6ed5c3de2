"""Links: serialization to a header value and to HTML, read back by an independent parser."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates import PushError
from flask_push_templates.links import serialize_links
from flask_push_templates.uri import encode_target
from tests.conftest import link, parsed
from tests.linkheader import parse_link_header


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


def test_evolvers_change_one_thing_and_keep_the_rest() -> None:
    base = link("/a.js", title="t", weight=0)
    fields = (base.url, base.rel, base.as_value, base.params)
    assert fields == ("/a.js", "preload", "script", (("title", "t"),))

    marked = base.with_nopush()  # PUSH_NOPUSH and push-once, also on a weight-0 push
    assert (marked.url, marked.rel, marked.as_value, marked.params) == fields
    assert marked.nopush is True and marked.weight == 0.0
    assert marked.header_value == "</a.js>; rel=preload; as=script; title=t; nopush"
    assert marked.with_nopush() is marked and base.nopush is False

    assert base.param("title") == "t" and base.param("nopush") is None
    # Nothing to change: the same link, whose header value is already written.
    assert base.with_weight(0) is base

    heavier = base.with_weight(5)
    assert (heavier.url, heavier.rel, heavier.as_value, heavier.params) == fields
    assert heavier.weight == 5.0 and heavier.nopush is False and base.weight == 0.0

    nonced = marked.with_param("nonce", "n0")
    assert nonced.params == (("title", "t"), ("nonce", "n0")) and nonced.nopush is True
    assert nonced.weight == 0.0 and nonced.header_value.endswith("; nonce=n0; nopush")
    assert nonced.with_param("nonce", "other") is nonced  # a parameter given is kept
    assert base.with_param("title", "other") is base
    bare = base.with_param("async", None)
    assert bare.header_value.endswith("; title=t; async") and bare.param("async") == ""
    assert bare.with_param("async", "x") is bare and base.param("async") is None


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
