"""URI encoding of link targets: nothing breaks out of ``<...>``, and encoding is idempotent."""

from __future__ import annotations

import pytest

from flask_push_templates.uri import encode_target


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
