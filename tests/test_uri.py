"""URI encoding of link targets: nothing breaks out of ``<...>``, and encoding is idempotent."""

from __future__ import annotations

import re

import pytest

from flask_push_templates.attributes import build_link
from flask_push_templates.errors import PushError
from flask_push_templates.uri import encode_target
from tests.linkheader import uri_reference_error


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
