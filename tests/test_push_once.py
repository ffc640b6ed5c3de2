"""Push once: a cookie digest of what was pushed to this client, and the ``nopush`` it gives.

The digest is decoded here independently (base64url, 4-byte SHA-256 prefixes), and every
header is read back by the strict parser. tests/e2e/test_push_once.py runs it behind a
real pushing proxy.
"""

from __future__ import annotations

import base64
import hashlib
import re
import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, render_template, request
from hypothesis import example, given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, PushTemplates, push_url
from flask_push_templates.links import Link
from flask_push_templates.push_once import MAX_COOKIE_LENGTH, PushedDigest
from flask_push_templates.settings import MAX_ENTRIES_LIMIT
from tests.fuzzing import FUZZ, TEXT, sound_links
from tests.linkheader import parse_link_fields

ONCE_PAGE = (
    "{% push 'site.css' %}{% push 'app.js' %}{% push 'fonts/a.woff2' %}"
    "{% push 'mod.mjs' %}{% push 'next.html', 'document' %}"
    "{% push 'held.js', nopush=True %}{% for asset in extra %}{% push asset %}{% endfor %}<p>"
)
#: What a pushing proxy pushes from ONCE_PAGE: rel=preload without nopush.
ONCE_PUSHABLE = ["/static/site.css", "/static/app.js", "/static/fonts/a.woff2"]


def once_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask("push_once_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_ONCE=True, **config)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "page.html").write_text(ONCE_PAGE)
    PushTemplates(app)

    @app.route("/")
    def page() -> str:
        extra = [name for name in request.args.get("extra", "").split(",") if name]
        return render_template("page.html", extra=extra)

    @app.route("/data")
    def data() -> Any:
        push_url("data.css")
        return {"json": True}

    return app


def pushed(response: TestResponse) -> list[str]:
    """What a pushing proxy would push for ``response``."""
    return [
        link.target
        for link in sound_links(response)
        if link.rel == "preload" and not link.has("nopush")
    ]


def set_cookies(response: TestResponse) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def digest_of(response: TestResponse, name: str = "push_once") -> list[bytes]:
    """The entries of the push-once cookie ``response`` sets, decoded here independently."""
    [cookie] = [value for value in set_cookies(response) if value.startswith(name + "=")]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert value.startswith("1.") and re.fullmatch(r"[A-Za-z0-9_-]*", value[2:]), value
    raw = base64.urlsafe_b64decode(value[2:] + "=" * (-len(value[2:]) % 4))
    return [raw[index : index + 4] for index in range(0, len(raw), 4)]


def sha4(url: str) -> bytes:
    return hashlib.sha256(url.encode()).digest()[:4]


def test_push_once_is_off_by_default(make_app: Any) -> None:
    app = make_app(templates={"page.html": ONCE_PAGE})
    app.add_url_rule("/", "page", lambda: render_template("page.html", extra=[]))
    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert pushed(response) == ONCE_PUSHABLE
        assert set_cookies(response) == []


def test_push_once_pushes_on_the_first_visit_and_keeps_the_preloads_after(
    tmp_path: Path,
) -> None:
    client = once_app(tmp_path).test_client()
    first = client.get("/")
    assert pushed(first) == ONCE_PUSHABLE
    # Only what a proxy pushes is recorded: not modulepreload, prefetch or nopush links.
    assert digest_of(first) == [sha4(url) for url in ONCE_PUSHABLE]
    [cookie] = set_cookies(first)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert attributes == {"expires", "max-age", "httponly", "path", "samesite"}
    assert "Max-Age=604800" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http: a Secure cookie would never come back

    second = client.get("/")  # the test client sends the cookie back
    assert pushed(second) == []
    # Every link is still there, the same but for nopush on those pushed before.
    first_links, second_links = sound_links(first), sound_links(second)
    assert [link.target for link in second_links] == [link.target for link in first_links]
    for before, after in zip(first_links, second_links, strict=True):
        was_pushed = before.target in ONCE_PUSHABLE
        assert after.has("nopush") == (was_pushed or before.has("nopush"))
        assert [p for p in after.params if p[0] != "nopush"] == [
            p for p in before.params if p[0] != "nopush"
        ]
    assert set_cookies(second) == []  # nothing new was pushed: the cookie stands


def test_push_once_pushes_a_new_version_of_an_asset_again(tmp_path: Path) -> None:
    client = once_app(tmp_path).test_client()
    client.get("/?extra=/static/theme.css%3Fv%3D1")
    again = client.get("/?extra=/static/theme.css%3Fv%3D2")  # the digest covers the query
    assert pushed(again) == ["/static/theme.css?v=2"]
    assert digest_of(again)[-1] == sha4("/static/theme.css?v=2")
    assert pushed(client.get("/?extra=/static/theme.css%3Fv%3D1")) == []


def test_push_once_cookie_is_bounded_and_forgets_the_oldest_first(tmp_path: Path) -> None:
    client = once_app(tmp_path, PUSH_ONCE_MAX_ENTRIES=8).test_client()
    client.get("/")  # the three of the page
    many = [f"n{index}.js" for index in range(10)]
    response = client.get("/?extra=" + ",".join(many))
    entries = digest_of(response)
    assert entries == [sha4(f"/static/{name}") for name in many[-8:]]
    [cookie] = set_cookies(response)
    assert len(cookie.split(";")[0]) == len("push_once=1.") + 43  # 32 bytes, base64url
    # The page's own assets were forgotten, so they are pushed again; the rest are not.
    assert pushed(client.get("/?extra=" + ",".join(many[-8:]))) == ONCE_PUSHABLE


def test_push_once_records_only_the_links_that_made_it_into_the_header(
    tmp_path: Path,
) -> None:
    client = once_app(tmp_path, PUSH_MAX_LINKS=2).test_client()
    first = client.get("/")
    assert pushed(first) == ONCE_PUSHABLE[:2]
    assert digest_of(first) == [sha4(url) for url in ONCE_PUSHABLE[:2]]


def test_push_once_sets_no_cookie_where_there_is_no_header(tmp_path: Path) -> None:
    client = once_app(tmp_path).test_client()
    response = client.get("/data")
    assert response.headers.getlist("Link") == [] and set_cookies(response) == []
    assert set_cookies(client.get("/", headers={"Accept": "text/html"})) != []
    client.delete_cookie("push_once")
    assert set_cookies(once_app(tmp_path, PUSH_NOPUSH=True).test_client().get("/")) == []


def test_push_once_cookie_attributes_are_configurable(tmp_path: Path) -> None:
    app = once_app(
        tmp_path,
        PUSH_ONCE_COOKIE="pushed",
        PUSH_ONCE_MAX_AGE=None,
        PUSH_ONCE_COOKIE_SECURE=True,
        PUSH_ONCE_COOKIE_SAMESITE="strict",
        PUSH_ONCE_COOKIE_PATH="/shop",
    )
    [cookie] = set_cookies(app.test_client().get("/"))
    assert cookie.startswith("pushed=1.")
    assert "Max-Age" not in cookie and "Expires" not in cookie  # a session cookie
    assert "Secure" in cookie and "SameSite=Strict" in cookie and "Path=/shop" in cookie
    # None (the default) follows the request: Secure over https.
    [cookie] = set_cookies(once_app(tmp_path).test_client().get("/", base_url="https://x"))
    assert "Secure" in cookie


@FUZZ
@given(
    value=st.one_of(
        TEXT,
        st.text(string.ascii_letters + string.digits + "-_.=", max_size=60),
        # Values this package writes, holding some of the page's assets.
        st.lists(st.sampled_from([*ONCE_PUSHABLE, "/static/x.js"]), unique=True).map(
            lambda urls: encode_digest(urls)
        ),
    )
)
def test_push_once_any_cookie_value_counts_as_empty_or_as_itself_and_never_breaks(
    value: str,
) -> None:
    with tempfile.TemporaryDirectory() as root:
        client = once_app(Path(root)).test_client()
        client.set_cookie("push_once", value)
        response = client.get("/")
        assert response.status_code == 200
        links = sound_links(response)
        assert len(links) == 6
        for cookie in set_cookies(response):  # one header line, nothing echoed from the client
            assert re.fullmatch(r"push_once=1\.[A-Za-z0-9_-]*; [ -~]*", cookie), cookie
        # What the value says, read here independently: a well-formed value is itself
        # (its last 64 entries), anything else is empty.
        entries = readable_entries(value)[-64:]
        expected = [url for url in ONCE_PUSHABLE if sha4(url) not in entries]
        assert pushed(response) == expected
        if expected:
            assert digest_of(response) == (entries + [sha4(url) for url in expected])[-64:]
        else:
            assert set_cookies(response) == []


def readable_entries(value: str) -> list[bytes]:
    if len(value) > 2 + 2731 or not re.fullmatch(r"1\.[A-Za-z0-9_-]*", value):
        return []
    try:
        raw = base64.urlsafe_b64decode(value[2:] + "=" * (-len(value[2:]) % 4))
    except ValueError:  # binascii.Error: a length no base64 text has
        return []
    if len(raw) % 4:
        return []
    return [raw[index : index + 4] for index in range(0, len(raw), 4)]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"PUSH_ONCE": "yes"}, "PUSH_ONCE must be True or False, not 'yes'"),
        ({"PUSH_ONCE_COOKIE": "a b"}, "PUSH_ONCE_COOKIE must be a cookie name"),
        ({"PUSH_ONCE_COOKIE": ""}, "PUSH_ONCE_COOKIE must be a cookie name"),
        ({"PUSH_ONCE_MAX_AGE": 0}, "PUSH_ONCE_MAX_AGE must be None (a session cookie) or"),
        (
            {"PUSH_ONCE_MAX_ENTRIES": 513},
            "PUSH_ONCE_MAX_ENTRIES must be a whole number from 1 to 512",
        ),
        (
            {"PUSH_ONCE_COOKIE_SECURE": "auto"},
            "PUSH_ONCE_COOKIE_SECURE must be None (as the request)",
        ),
        (
            {"PUSH_ONCE_COOKIE_SAMESITE": "lenient"},
            "must be one of 'Lax', 'Strict', 'None', not 'lenient'",
        ),
        (
            {"PUSH_ONCE_COOKIE_SAMESITE": "None"},
            "'None' needs PUSH_ONCE_COOKIE_SECURE=True, not None",
        ),
        (
            {"PUSH_ONCE_COOKIE_PATH": "shop"},
            "PUSH_ONCE_COOKIE_PATH must be a path starting with '/'",
        ),
        (
            {"PUSH_ONCE_COOKIE_PATH": "/a;b"},
            "PUSH_ONCE_COOKIE_PATH must be a path starting with '/'",
        ),
    ],
)
def test_push_once_config_errors_name_the_key_value_and_choices(
    make_app: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_app(**config)


def test_push_once_marks_the_103_too(tmp_path: Path) -> None:
    """Apache (H2EarlyHints) pushes from a 103: what was pushed before is nopush there too."""
    app = once_app(
        tmp_path, PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES={"page": ["page.html"]}
    )
    client = app.test_client()
    hints: list[list[tuple[str, str]]] = []
    environ = {"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": hints.append}
    client.get("/", environ_overrides=environ)
    client.get("/", environ_overrides=environ)
    first, second = (parse_link_fields([value for _, value in hint]) for hint in hints)
    hinted = [link.target for link in first if not link.has("nopush")]
    assert hinted == [*ONCE_PUSHABLE, "/static/mod.mjs"]
    assert [link.target for link in second if not link.has("nopush")] == ["/static/mod.mjs"]


def encode_digest(urls: list[str]) -> str:
    """A cookie value holding the digests of ``urls``, encoded here independently."""
    raw = b"".join(sha4(url) for url in urls)
    return "1." + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def links_to(urls: list[str]) -> list[Link]:
    return [Link(url, as_value="script") for url in urls]


@FUZZ
@given(count=st.integers(1, 600), max_entries=st.integers(1, 512), name=st.text(max_size=5))
# Three entries whose base64url ends in "X" (which a sloppy rstrip("=") would eat).
@example(count=3, max_entries=64, name="").via("an encoding that ends in X")
def test_push_once_digest_round_trips_through_its_cookie(
    count: int, max_entries: int, name: str
) -> None:
    urls = [f"/static/{name}{index}.js" for index in range(count)]
    if count == 3 and not name:
        urls = ["/static/site.css", "/static/app.js", "/static/x102.js"]
        assert encode_digest(urls).endswith("X")
    digest = PushedDigest([], max_entries)
    digest.remember(links_to(urls))
    kept = urls[-max_entries:]
    assert digest.changed and digest.cookie_value() == encode_digest(kept)
    again = PushedDigest.from_cookie(digest.cookie_value(), max_entries)
    assert [url in again for url in urls] == [url in kept for url in urls]
    assert again.cookie_value() == digest.cookie_value()


def test_push_once_reads_a_cookie_of_the_longest_length_it_writes_and_nothing_longer() -> None:
    urls = [f"/static/n{index}.js" for index in range(MAX_ENTRIES_LIMIT + 1)]
    longest = encode_digest(urls[:MAX_ENTRIES_LIMIT])
    assert len(longest) == MAX_COOKIE_LENGTH
    read = PushedDigest.from_cookie(longest, MAX_ENTRIES_LIMIT)
    assert all(url in read for url in urls[:MAX_ENTRIES_LIMIT])
    # Longer is not ours: one character more, or one entry more, counts as empty.
    for value in (longest + "A", encode_digest(urls)):
        assert len(value) > MAX_COOKIE_LENGTH
        assert not any(url in PushedDigest.from_cookie(value, MAX_ENTRIES_LIMIT) for url in urls)


def test_push_once_a_full_cookie_of_the_default_size_is_read_back(tmp_path: Path) -> None:
    client = once_app(tmp_path, PUSH_MAX_LINKS=100, PUSH_MAX_HEADER_BYTES=8192).test_client()
    extra = "/?extra=" + ",".join(f"n{index}.js" for index in range(61))  # 3 + 61 = 64
    [cookie] = set_cookies(client.get(extra))
    assert len(cookie.split(";")[0]) == len("push_once=") + 344  # the docstring's 64 entries
    assert pushed(client.get(extra)) == []


def test_push_once_remembers_new_links_after_known_ones_in_one_response(tmp_path: Path) -> None:
    client = once_app(tmp_path).test_client()
    client.get("/")
    response = client.get("/?extra=new.js,other.js")  # the page's three first, then two new
    assert pushed(response) == ["/static/new.js", "/static/other.js"]
    assert digest_of(response) == [sha4(url) for url in ONCE_PUSHABLE] + [
        sha4("/static/new.js"),
        sha4("/static/other.js"),
    ]
