"""CSP nonces: preloads of scripts and styles carry the request's nonce (Flask-Talisman's
``request.csp_nonce`` or ``PUSH_NONCE_GETTER``), and only a valid one.
"""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, render_template, request
from hypothesis import given
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, PushTemplates
from tests.e2e.parts import require
from tests.fuzzing import FUZZ, TEXT, sound_links
from tests.linkheader import ParsedLink

NONCE_PAGE = (
    "{% push 'site.css' %}{% push 'app.js' %}{% push 'mod.mjs' %}{% push 'logo.png' %}"
    "{% push 'fonts/a.woff2' %}{% push 'own.js', nonce='given' %}"
    "{% push 'held.js', nopush=True, weight=0 %}<p>{{ push_link_tags() }}"
)
NONCED = {
    "/static/site.css",
    "/static/app.js",
    "/static/mod.mjs",
    "/static/own.js",
    "/static/held.js",
}

#: NONCE_PAGE's links without their nonces, in header order (held.js, weight 0, last).
NO_NONCE_LINKS = [
    ("/static/site.css", (("rel", "preload"), ("as", "style"))),
    ("/static/app.js", (("rel", "preload"), ("as", "script"))),
    ("/static/mod.mjs", (("rel", "modulepreload"), ("crossorigin", None))),
    ("/static/logo.png", (("rel", "preload"), ("as", "image"))),
    (
        "/static/fonts/a.woff2",
        (("rel", "preload"), ("as", "font"), ("crossorigin", None), ("type", "font/woff2")),
    ),
    ("/static/own.js", (("rel", "preload"), ("as", "script"))),
    ("/static/held.js", (("rel", "preload"), ("as", "script"), ("nopush", None))),
]


def nonce_app(tmp_path: Path, nonce: Any = "r4nd0m+/Nonce==", **config: Any) -> Flask:
    """An app whose before_request sets request.csp_nonce, as Flask-Talisman's does."""
    app = Flask("push_nonce_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, **config)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "page.html").write_text(NONCE_PAGE)

    @app.before_request
    def make_nonce() -> None:
        request.csp_nonce = nonce  # type: ignore[attr-defined]

    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    app.add_url_rule("/other", "other", lambda: render_template("page.html"))
    return app


def nonces(response: TestResponse) -> dict[str, str | None]:
    return {link.target: link.get("nonce") for link in sound_links(response)}


def without_nonce(link: ParsedLink) -> tuple[str, tuple[tuple[str, str | None], ...]]:
    return link.target, tuple(param for param in link.params if param[0] != "nonce")


def check_nonces(response: TestResponse, expected: str | None) -> None:
    """Links that take a nonce carry exactly one, ``expected`` (a push's own is kept);
    nothing else about any link differs from the same page without a nonce."""
    links = sound_links(response)
    assert [without_nonce(link) for link in links] == NO_NONCE_LINKS
    for link in links:
        found = [value for name, value in link.params if name == "nonce"]
        if link.target == "/static/own.js":
            assert found == ["given"]
        elif link.target in NONCED and expected is not None:
            assert found == [expected], link
        else:
            assert found == [], link


def test_scripts_and_styles_carry_a_talisman_style_request_nonce(tmp_path: Path) -> None:
    response = nonce_app(tmp_path).test_client().get("/")
    check_nonces(response, "r4nd0m+/Nonce==")  # nopush and the rest are kept as they were
    found = nonces(response)
    assert {target for target, nonce in found.items() if nonce} == NONCED
    assert found["/static/app.js"] == "r4nd0m+/Nonce=="  # quoted in the header: / and =
    assert found["/static/own.js"] == "given"  # a push's own nonce is kept
    # push_link_tags() carries it too.
    assert 'href="/static/app.js" as="script" nonce="r4nd0m+/Nonce=="' in response.text
    assert 'href="/static/logo.png" as="image">' in response.text


def test_no_nonce_no_nonce_parameter(make_app: Any) -> None:
    app = make_app(templates={"page.html": NONCE_PAGE})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    found = nonces(app.test_client().get("/"))
    assert {target for target, nonce in found.items() if nonce} == {"/static/own.js"}


def get_nonce_from_g() -> str:
    """A getter for PUSH_NONCE_GETTER given as a dotted path."""
    return str(g.my_nonce)


@pytest.mark.parametrize(
    "getter",
    [
        get_nonce_from_g,
        "tests.test_csp:get_nonce_from_g",
        "tests.test_csp.get_nonce_from_g",
    ],
)
def test_nonce_getter_callable_or_dotted_path(tmp_path: Path, getter: Any) -> None:
    app = nonce_app(tmp_path, nonce=None, PUSH_NONCE_GETTER=getter)
    app.before_request(lambda: setattr(g, "my_nonce", "from-g"))
    assert nonces(app.test_client().get("/"))["/static/site.css"] == "from-g"


@pytest.mark.parametrize(
    ("getter", "message"),
    [
        (
            "tests.no_such_module:nonce",
            "PUSH_NONCE_GETTER 'tests.no_such_module:nonce' cannot be imported",
        ),
        ("tests.test_csp:NONCED", "names {"),
        (42, "PUSH_NONCE_GETTER must be None (Flask-Talisman's request.csp_nonce), a callable"),
    ],
)
def test_nonce_getter_errors_at_startup(make_app: Any, getter: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_app(PUSH_NONCE_GETTER=getter)


@FUZZ
@given(nonce=st.one_of(TEXT, st.text("AZaz09+/-_=", min_size=1, max_size=30), st.integers()))
def test_any_nonce_is_written_only_when_it_is_a_csp_base64_value(nonce: Any) -> None:
    with tempfile.TemporaryDirectory() as root:
        response = nonce_app(Path(root), nonce).test_client().get("/")
        assert response.status_code == 200
        valid = isinstance(nonce, str) and re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", nonce)
        check_nonces(response, nonce if valid else None)


def test_a_bad_nonce_is_logged_once_per_endpoint_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bad = 'x"\r\nSet-Cookie: a=b'
    client = nonce_app(tmp_path, nonce=bad).test_client()
    for path in ("/", "/", "/other", "/other"):
        response = client.get(path)
        assert response.status_code == 200 and "a=b" not in str(response.headers)
        check_nonces(response, None)
    advice = (
        "is not a CSP base64-value (letters, digits, '+', '/', '-', '_', up to two '='); "
        "links go without it"
    )
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("ERROR", f"page: the CSP nonce {bad!r} {advice}"),
        ("ERROR", f"other: the CSP nonce {bad!r} {advice}"),
    ]


def test_a_failing_nonce_getter_is_logged_once_per_endpoint_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def broken() -> str:
        raise RuntimeError("no nonce today")

    client = nonce_app(tmp_path, PUSH_NONCE_GETTER=broken).test_client()
    for path in ("/", "/other", "/", "/other"):
        check_nonces(client.get(path), None)
    assert [(record.levelname, record.getMessage()) for record in caplog.records] == [
        ("ERROR", "page: PUSH_NONCE_GETTER failed; links go without a nonce"),
        ("ERROR", "other: PUSH_NONCE_GETTER failed; links go without a nonce"),
    ]
    assert all("RuntimeError: no nonce today" in record.exc_text for record in caplog.records)


def test_an_empty_nonce_is_no_nonce_and_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    check_nonces(nonce_app(tmp_path, nonce="").test_client().get("/"), None)
    assert caplog.records == []


def test_real_flask_talisman_nonce_reaches_the_links(tmp_path: Path) -> None:
    require("flask_talisman")
    import flask_talisman as talisman

    app = Flask("push_talisman_app", root_path=str(tmp_path))
    app.config.update(TESTING=True)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(NONCE_PAGE)
    talisman.Talisman(
        app,
        force_https=False,
        content_security_policy={"default-src": "'self'", "script-src": "'self'"},
        content_security_policy_nonce_in=["script-src"],
    )
    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    client = app.test_client()
    first, second = client.get("/"), client.get("/")
    policy = first.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert nonces(first)["/static/app.js"] == nonce
    assert nonces(second)["/static/app.js"] not in (None, nonce)  # a new one per request
