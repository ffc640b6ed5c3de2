"""URI encoding of link targets: nothing breaks out of ``<...>``, and encoding is idempotent."""

from __future__ import annotations

import re

import pytest

from flask_push_templates.attributes import build_link
from flask_push_templates.errors import PushError
from flask_push_templates.uri import (
    asset_problem,
    encode_target,
    is_full_url,
    script_root_problem,
    split_reference,
)
from tests.linkheader import parse_link_header, uri_reference_error


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
        # A first segment with ":" and no scheme would read as a scheme (RFC 3986 4.2).
        ("0:", "./0:"),
        ("1:2/a.css", "./1:2/a.css"),
        ("a b:c", "./a%20b:c"),
        ("css/0:", "css/0:"),
        ("?a:b", "?a:b"),
        ("app:x.css", "app:x.css"),  # a scheme, as the asset rule reads it too
    ],
)
def test_targets_are_percent_encoded_so_nothing_breaks_out(url: str, encoded: str) -> None:
    assert encode_target(url) == encoded
    assert encode_target(encoded) == encoded
    assert uri_reference_error(encoded) is None


@pytest.mark.parametrize(
    ("url", "encoded"),
    [
        # A reg-name with a port, and an empty host with a port (RFC 3986 allows both).
        ("http://cdn.example:8080/a.css", "http://cdn.example:8080/a.css"),
        ("http://:80/a.css", "http://:80/a.css"),
        # IP literals stay raw: IPv6 (also IPv4-mapped) and IPvFuture.
        ("http://[::ffff:1.2.3.4]/a.css", "http://[::ffff:1.2.3.4]/a.css"),
        ("http://[v1.x]/a.css", "http://[v1.x]/a.css"),
        # Brackets around anything else, or unbalanced, are not URI syntax: encoded.
        ("//[not-an-ip]/a.css", "//%5Bnot-an-ip%5D/a.css"),
        ("//[v1.ab/x.css", "//%5Bv1.ab/x.css"),
        ("//v1.ab]/x.css", "//v1.ab%5D/x.css"),
        ("//[]x/a.css", "//%5B%5Dx/a.css"),
        # "[]" ends the host: what follows is encoded as a port ("!" is not a port's).
        ("//[]!:80/a.css", "//%5B%5D%21:80/a.css"),
        # RFC 3986 has no zone identifiers (RFC 6874 is not supported by browsers).
        ("http://[fe80::1%25eth0]/a.css", "http://%5Bfe80%3A%3A1%25eth0%5D/a.css"),
        # Escapes in userinfo and host are kept; each part encodes what it may not hold.
        ("http://us%20er@h%41/a.css", "http://us%20er@h%41/a.css"),
        ("http://u ser:p,w@h;x:8080/a.css", "http://u%20ser:p%2Cw@h%3Bx:8080/a.css"),
    ],
)
def test_authorities_are_encoded_part_by_part(url: str, encoded: str) -> None:
    assert encode_target(url) == encoded
    assert encode_target(encoded) == encoded
    assert uri_reference_error(encoded) is None
    assert build_link(url).url == encoded


@pytest.mark.parametrize(
    ("url", "port"),
    [
        ("//h:1:2/a.css", "'1:2'"),  # a reg-name cannot hold ":", so the port is "1:2"
        ("//h:x/a.css", "'x'"),
        ("//[::1]x/a.css", "'x'"),
        ("//[::1]]:80/a.css", "'%5D:80'"),  # what follows the literal, as encoded
    ],
)
def test_an_authority_whose_port_is_not_a_number_is_refused(url: str, port: str) -> None:
    with pytest.raises(PushError, match=f"the port {re.escape(port)} is not a number"):
        build_link(url)


@pytest.mark.parametrize(
    ("url", "encoded"),
    [
        # A query and a fragment keep what RFC 3986 allows there: "/", "?", ":", "@", "=",
        # "&" (and "?" in a fragment), so that the server sees the query it was given.
        ("/static/app.css?v=2&media=a:b/c@d", "/static/app.css?v=2&media=a:b/c@d"),
        ("/static/app.css#top?x=/y", "/static/app.css#top?x=/y"),
        ("/static/app.css?v=2#top", "/static/app.css?v=2#top"),
        # What a parser could split on, or what a query cannot hold raw, is encoded.
        ("/static/app.css?a=1,2;b=3", "/static/app.css?a=1%2C2%3Bb=3"),
        ("/static/app.css?q=a b>c", "/static/app.css?q=a%20b%3Ec"),
        ("/static/app.css?a[0]=1&b={x}|y", "/static/app.css?a%5B0%5D=1&b=%7Bx%7D%7Cy"),
        ('/static/app.css?q="x"', "/static/app.css?q=%22x%22"),
        ("/static/app.css?v=é", "/static/app.css?v=%C3%A9"),
        # One fragment: a second "#" is data. A stray "%" is escaped, an escape kept.
        ("/static/app.css?v=1#a#b", "/static/app.css?v=1#a%23b"),
        ("/static/app.css?v=100%&w=%20", "/static/app.css?v=100%25&w=%20"),
        ("https://cdn.example/app.css?v=2,3", "https://cdn.example/app.css?v=2%2C3"),
    ],
)
def test_queries_and_fragments_stay_legal_and_unsplittable(url: str, encoded: str) -> None:
    assert encode_target(url) == encoded
    assert encode_target(encoded) == encoded
    assert uri_reference_error(encoded) is None
    [parsed] = parse_link_header(build_link(url, "style").header_value)
    assert parsed.target == encoded


@pytest.mark.parametrize(
    ("asset", "parts"),
    [
        ("css/app.css", ("css/app.css", "")),
        ("css/app.css?v=2", ("css/app.css", "?v=2")),
        ("css/app.css#x?y", ("css/app.css", "#x?y")),
        ("css/app.css?v=2#x", ("css/app.css", "?v=2#x")),
        ("?v=2", ("", "?v=2")),
        ("css/app.css#x#y", ("css/app.css", "#x#y")),  # at the first "#"
    ],
)
def test_a_reference_splits_at_its_query_or_fragment(asset: str, parts: tuple[str, str]) -> None:
    assert split_reference(asset) == parts


@pytest.mark.parametrize(
    ("asset", "problem"),
    [
        ("", "the asset is empty; give a static file name, a path or a URL"),
        ("?v=2", "a query or fragment needs a file name before it"),
        ("#x", "a query or fragment needs a file name before it"),
        ("css/app.css?v=2", None),
        ("/?v=2", None),  # an app path: the app's root
        ("https://cdn.example?v=2", None),
    ],
)
def test_what_can_name_no_file(asset: str, problem: str | None) -> None:
    found = asset_problem(asset)
    if problem is None:
        assert found is None
    else:
        assert found is not None and found.startswith(problem)


@pytest.mark.parametrize(
    ("root", "problem"),
    [
        ("", None),
        ("/shop", None),
        ("/a b/é;x", None),  # odd, but a path: encoded like any other
        ("?", "does not start with '/'"),
        ("shop", "does not start with '/'"),
        ("//evil.example", "starts with '//', which names another host"),
        ("/a?b", "holds '?', which would start a query"),
        ("/a#b", "holds '#', which would start a fragment"),
        ("/\\evil.example", "holds '\\', which browsers read as '/'"),
        ("/a\tb", "holds a control character"),
        ("/a\x7f", "holds a control character"),
    ],
)
def test_a_script_root_is_a_path_or_refused_with_its_cause(root: str, problem: str | None) -> None:
    assert script_root_problem(root) == problem


def test_full_urls_name_their_own_origin_and_app_paths_do_not() -> None:
    assert is_full_url("https://cdn.example/a.css")
    assert is_full_url("//cdn.example/a.css")
    assert not is_full_url("/static/a.css")
    assert not is_full_url("css/a.css")
