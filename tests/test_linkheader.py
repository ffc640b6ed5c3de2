"""Tests for the strict Link header parser the rest of the suite uses as its oracle."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.linkheader import (
    TCHAR,
    LinkHeaderError,
    ParsedLink,
    parse_link_fields,
    parse_link_header,
)

# --- valid input -------------------------------------------------------------------------------

# The ASCII examples of RFC 8288 section 3.5, each as one field value.
RFC_EXAMPLES = [
    (
        '<http://example.com/TheBook/chapter2>; rel="previous"; title="previous chapter"',
        [
            ParsedLink(
                "http://example.com/TheBook/chapter2",
                (("rel", "previous"), ("title", "previous chapter")),
            )
        ],
    ),
    ('</>; rel="http://example.net/foo"', [ParsedLink("/", (("rel", "http://example.net/foo"),))]),
    (
        '</terms>; rel="copyright"; anchor="#foo"',
        [ParsedLink("/terms", (("rel", "copyright"), ("anchor", "#foo")))],
    ),
    (
        "</TheBook/chapter2>; rel=\"previous\"; title*=UTF-8'de'letztes%20Kapitel, "
        "</TheBook/chapter4>; rel=\"next\"; title*=UTF-8'de'n%c3%a4chstes%20Kapitel",
        [
            ParsedLink(
                "/TheBook/chapter2", (("rel", "previous"), ("title*", "UTF-8'de'letztes%20Kapitel"))
            ),
            ParsedLink(
                "/TheBook/chapter4",
                (("rel", "next"), ("title*", "UTF-8'de'n%c3%a4chstes%20Kapitel")),
            ),
        ],
    ),
    (
        '<http://example.org/>; rel="start http://example.net/relation/other"',
        [ParsedLink("http://example.org/", (("rel", "start http://example.net/relation/other"),))],
    ),
    (
        '<https://example.org/>; rel="start", <https://example.org/index>; rel="index"',
        [
            ParsedLink("https://example.org/", (("rel", "start"),)),
            ParsedLink("https://example.org/index", (("rel", "index"),)),
        ],
    ),
]


@pytest.mark.parametrize(("value", "expected"), RFC_EXAMPLES)
def test_rfc_8288_examples(value: str, expected: list[ParsedLink]) -> None:
    assert parse_link_header(value) == expected


def test_the_kind_of_header_the_library_emits() -> None:
    links = parse_link_header(
        "</static/app.css>; rel=preload; as=style, "
        '</static/f.woff2>; rel=preload; as=font; crossorigin; type="font/woff2"'
    )
    assert [link.target for link in links] == ["/static/app.css", "/static/f.woff2"]
    font = links[1]
    assert font.params == (
        ("rel", "preload"),
        ("as", "font"),
        ("crossorigin", None),
        ("type", "font/woff2"),
    )
    assert font.rel == "preload"
    assert font.get("AS") == "font"  # parameter names are case-insensitive
    assert font.has("crossorigin")
    assert font.get("crossorigin") is None  # bare: present but without a value
    assert not font.has("nopush")
    assert font.get("nopush") is None


def test_names_are_lower_cased_and_values_kept_verbatim() -> None:
    [link] = parse_link_header("</a>; REL=preload; As=Style; NoPush")
    assert link.params == (("rel", "preload"), ("as", "Style"), ("nopush", None))


def test_quoted_values_are_unescaped() -> None:
    [link] = parse_link_header(r'</a>; rel=preload; title="say \"hi\" \\ \o/"; x=""; y="a,b;c=d"')
    assert link.get("title") == 'say "hi" \\ o/'
    assert link.get("x") == ""
    assert link.get("y") == "a,b;c=d"  # delimiters inside quotes are data


def test_commas_and_semicolons_inside_the_target() -> None:
    links = parse_link_header("</a,b;c=d>; rel=preload, <http://[::1]:8080/x;y?q=1,2#f>; rel=next")
    assert [link.target for link in links] == ["/a,b;c=d", "http://[::1]:8080/x;y?q=1,2#f"]


@pytest.mark.parametrize(
    "value",
    [
        "</a>;rel=preload;nopush,</b>;rel=preload",
        "</a> ; rel=preload ;nopush , </b>;\trel=preload",
        "</a>\t;\t rel=preload; nopush  ,\t</b>  ;  rel=preload",
    ],
)
def test_optional_whitespace_around_separators(value: str) -> None:
    assert parse_link_header(value) == [
        ParsedLink("/a", (("rel", "preload"), ("nopush", None))),
        ParsedLink("/b", (("rel", "preload"),)),
    ]


@pytest.mark.parametrize(
    "value", ["", ",", ", ,", "</a>; rel=x,", ",</a>; rel=x", "</a>; rel=x, ,,"]
)
def test_empty_list_elements_are_skipped(value: str) -> None:
    expected = [ParsedLink("/a", (("rel", "x"),))] if "<" in value else []
    assert parse_link_header(value) == expected


@pytest.mark.parametrize(
    "target",
    [
        "",
        "#frag",
        "?q",
        "//cdn.example.com/a.js",
        "https://user:pw@example.com:8443/p/a%2Fb?x=1&y=%7E#top",
        "http://[v1.fe]/",
        "http://127.0.0.1/",
        "mailto:a@example.com",
        "urn:isbn:0451450523",
        "./a:b",
        "a/b:c",
        "/!$&'()*+,;=:@-._~",
    ],
)
def test_valid_uri_references(target: str) -> None:
    assert parse_link_header(f"<{target}>; rel=preload")[0].target == target


def test_several_fields_are_concatenated() -> None:
    links = parse_link_fields(["</a>; rel=preload", "", "</b>; rel=preload, </c>; rel=preload"])
    assert [link.target for link in links] == ["/a", "/b", "/c"]


def test_field_errors_name_the_field() -> None:
    with pytest.raises(LinkHeaderError) as info:
        parse_link_fields(["</a>; rel=preload", '</b>; rel="preload'])
    assert info.value.field == 1
    assert "field #1" in str(info.value)


def test_lenient_mode_accepts_what_a_recipient_must() -> None:
    value = ' </a> ; REL = "x" ; rel=y; title=a; Title=b; nopush, </b>; title="caf\xe9" '
    assert parse_link_header(value, strict=False) == [
        ParsedLink("/a", (("rel", "x"), ("title", "a"), ("nopush", None))),
        ParsedLink("/b", (("title", "caf\xe9"),)),
    ]
    with pytest.raises(LinkHeaderError):
        parse_link_header(value)


# --- invalid input -----------------------------------------------------------------------------

INVALID = [
    # control characters, wherever they are
    "</a>; rel=preload\r\nSet-Cookie: x=y",
    "</a>; rel=preload\n",
    "</a\x00>; rel=preload",
    '</a>; rel="pre\x00load"',
    '</a>; title="\x1b[31m"; rel=preload',
    "</a>; rel=preload\x7f",
    '</a>; rel=preload; title="\x85"',
    "</a>; rel=preload; title=\u2603",
    # the target: RFC 3986 characters only, well-formed structure
    "</a b>; rel=preload",
    '</a"b>; rel=preload',
    "</a{b}>; rel=preload",
    "</a|b>; rel=preload",
    "</a\\b>; rel=preload",
    "</a^b>; rel=preload",
    "</a`b>; rel=preload",
    "</caf\xe9>; rel=preload",
    "</\u00e9>; rel=preload",
    "</a%zz>; rel=preload",
    "</a%2>; rel=preload",
    "</a%>; rel=preload",
    "</a#b#c>; rel=preload",
    "</a[1]>; rel=preload",
    "<1a:b>; rel=preload",
    "<http://[::1/>; rel=preload",
    "<http://[::g]/>; rel=preload",
    "<http://[fe80::1%eth0]/>; rel=preload",
    "<http://a@b@c/>; rel=preload",
    "<http://host:80a/>; rel=preload",
    # angle brackets
    "</a; rel=preload",
    "/a>; rel=preload",
    "</a>>; rel=preload",
    "<</a>>; rel=preload",
    "</a<b>; rel=preload",
    "rel=preload",
    # quotes
    '</a>; rel="preload',
    '</a>; rel=preload"',
    '</a>; rel=pre"load"',
    '</a>; rel=preload; title="x\\',
    '</a>; rel=preload; title="a"b"',
    # parameter names and values that are not tokens
    "</a>; r@l=preload",
    "</a>; =preload",
    "</a>; rel=",
    "</a>; rel=preload; type=text/css",
    "</a>; rel=preload; title=a b",
    "</a>; rel=preload; title=(x)",
    "</a>; rel={preload}",
    # separators in the wrong places
    "</a>;",
    "</a>; rel=preload;",
    "</a>;; rel=preload",
    "</a> rel=preload",
    "</a>; rel=preload </b>; rel=preload",
    "</a>; rel=preload garbage",
    "</a>; rel=preload; as=style x",
    "</a>, rel=preload",
    "</a>; rel=preload;, </b>; rel=preload",
    # sender-side rules enforced by strict mode
    "</a>; rel=preload; rel=next",
    "</a>; rel=preload; REL=preload",
    "</a>; rel=preload; type=a; type=a",
    '</a>; rel=preload; title=a; title="b"',
    "</a>; rel=preload; media=a; media=b",
    "</a>; rel=preload; title*=a; title*=b",
    "</a>; as=style",
    "</a>; rel; as=style",
    "</a>; rel=Preload",
    '</a>; rel=" preload"',
    '</a>; rel="preload "',
    '</a>; rel="/relative/uri"',
    "</a>; rel =preload",
    "</a>; rel= preload",
    " </a>; rel=preload",
    "</a>; rel=preload\t",
]


@pytest.mark.parametrize("value", INVALID)
def test_invalid_values_raise(value: str) -> None:
    with pytest.raises(LinkHeaderError) as info:
        parse_link_header(value)
    err = info.value
    assert 0 <= err.position <= len(value)
    assert f"position {err.position}" in str(err) and err.expected in str(err)


@pytest.mark.parametrize(
    ("value", "position"),
    [
        ("</a>; rel=preload\r\n", 17),
        ("</a b>; rel=preload", 3),
        ("</a>; rel=preload; rel=x", 19),
        ('</a>; rel="preload', 18),
        ("</a>; rel=preload x", 18),
        ("</a>; rel =preload", 9),
        ("<http://host:80a/>; rel=preload", 12),
    ],
)
def test_errors_point_at_the_problem(value: str, position: int) -> None:
    with pytest.raises(LinkHeaderError) as info:
        parse_link_header(value)
    assert info.value.position == position


def test_error_is_a_value_error() -> None:
    assert issubclass(LinkHeaderError, ValueError)


# --- round trip --------------------------------------------------------------------------------

_PCT = st.tuples(st.sampled_from(string.hexdigits), st.sampled_from(string.hexdigits)).map(
    lambda pair: "%" + "".join(pair)
)
_PCHAR = st.one_of(
    st.sampled_from(string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"), _PCT
)
_SEGMENT = st.lists(_PCHAR, max_size=6).map("".join)
# An absolute path with a non-empty first segment: "//x" would be read as an authority.
_PATH = st.lists(_SEGMENT, min_size=1, max_size=4).map(lambda segments: "/" + "/".join(segments))
_PATH = _PATH.filter(lambda path: not path.startswith("//"))
_QUERY = st.lists(st.one_of(_PCHAR, st.sampled_from("/?")), max_size=8).map("".join)
URIS = st.builds(
    lambda prefix, path, query, fragment: prefix + path + query + fragment,
    st.sampled_from(
        ["", "https://example.com", "http://[::1]:8080", "//cdn.example.org", "x-y+z.1:"]
    ),
    _PATH,
    st.one_of(st.just(""), _QUERY.map(lambda query: "?" + query)),
    st.one_of(st.just(""), _QUERY.map(lambda fragment: "#" + fragment)),
)

TOKENS = st.text(alphabet=sorted(TCHAR), min_size=1, max_size=10)
# Names the strict rules care about, in mixed case, so that duplicates and a missing rel occur.
NAMES = st.one_of(
    st.sampled_from(["rel", "REL", "Type", "title", "as", "crossorigin", "nopush", "title*"]),
    TOKENS,
)
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["preload", "next", "preload next", "Preload"]),
    TOKENS,
    st.text(alphabet=[chr(c) for c in range(0x20, 0x7F)] + ["\t"], max_size=12),
)
Params = list[tuple[str, "str | None"]]
# Most links get exactly one rel, inserted at a random place, so strict mode's accepting path
# is exercised as much as its rejecting one; NAMES adds the occasional duplicate.
_GOOD_RELS = st.sampled_from(["preload", "preload next", "http://example.net/r"])
RELS = st.one_of(_GOOD_RELS, _GOOD_RELS, st.none(), VALUES)


def with_rel(uri: str, params: Params, rel: str | None, at: int) -> tuple[str, Params]:
    if rel is not None:
        params = [*params]  # do not mutate what hypothesis drew
        params.insert(at % (len(params) + 1), ("rel", rel))
    return uri, params


LINKS = st.lists(
    st.builds(
        with_rel, URIS, st.lists(st.tuples(NAMES, VALUES), max_size=4), RELS, st.integers(0, 4)
    ),
    max_size=4,
)
SINGLE_VALUED = {"rel", "type", "media", "title", "title*"}
KNOWN_URIS = {"http://example.net/r"}


def quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize(links: list[tuple[str, Params]], ows: str) -> str:
    """A straightforward Link serializer: values that are not tokens are quoted."""

    def param(name: str, value: str | None) -> str:
        if value is None:
            return f"{ows};{ows}{name}"
        is_token = value != "" and all(ch in TCHAR for ch in value)
        return f"{ows};{ows}{name}={value if is_token else quote(value)}"

    return f"{ows},{ows}".join(
        f"<{uri}>" + "".join(param(name, value) for name, value in params) for uri, params in links
    )


def as_received(links: list[tuple[str, Params]]) -> list[ParsedLink]:
    """What a recipient must see: names lower-cased, later single-valued duplicates dropped."""
    result = []
    for uri, params in links:
        kept: Params = []
        for name, value in params:
            lowered = name.lower()
            if lowered in SINGLE_VALUED and any(key == lowered for key, _ in kept):
                continue
            kept.append((lowered, value))
        result.append(ParsedLink(uri, tuple(kept)))
    return result


def strictly_valid(links: list[ParsedLink]) -> bool | None:
    """Whether strict mode must accept these links; None when this test cannot tell simply."""
    verdict: bool | None = True
    for link in links:
        names = [name for name, _ in link.params]
        if any(names.count(name) > 1 for name in SINGLE_VALUED):
            return False
        rel = link.get("rel")
        if rel is None:
            return False
        if rel != rel.strip(" "):  # relation-type *( 1*SP relation-type ): no outer spaces
            return False
        for relation_type in re.split(" +", rel):
            if re.fullmatch(r"[a-z][a-z0-9.-]*", relation_type) or relation_type in KNOWN_URIS:
                continue
            if ":" not in relation_type:  # then it cannot be an absolute-URI relation type
                return False
            verdict = None
    return verdict


@settings(max_examples=300)
@given(LINKS, st.sampled_from(["", " ", "\t", "  "]))
def test_serialized_links_round_trip(links: list[tuple[str, Params]], ows: str) -> None:
    value = serialize(links, ows)
    # Every test input here is syntactically valid, so lenient mode must read it all back.
    assert parse_link_header(value, strict=False) == as_received(links)
    # Strict mode additionally enforces the single-rel and relation-type rules.
    original = [ParsedLink(uri, tuple((n.lower(), v) for n, v in params)) for uri, params in links]
    verdict = strictly_valid(original)
    if verdict:
        assert parse_link_header(value) == original
    elif verdict is False:
        with pytest.raises(LinkHeaderError):
            parse_link_header(value)
