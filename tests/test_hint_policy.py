"""Which requests get a 103 (:mod:`flask_push_templates.hint_policy`), where the rest of
the policy's tests in tests/test_early_hints.py leave a case open."""

from __future__ import annotations

from flask_push_templates.hint_policy import request_protocol
from tests.conftest import AppFactory
from tests.test_early_hints import get, learned_app


def test_an_http_1_request_without_a_minor_version_is_http_1_0_and_gets_no_103(
    make_app: AppFactory,
) -> None:
    # A server must not send a 1xx to an HTTP/1.0 client (RFC 9110, 15.2): a version that
    # names no minor one is read as the one that cannot take a 103, never as 1.1.
    assert request_protocol({"SERVER_PROTOCOL": "HTTP/1"}) == "HTTP/1.0"
    app = learned_app(make_app, PUSH_EARLY_HINTS_PROTOCOLS=["HTTP/1.1", "HTTP/2"])
    _, sent = get(app, protocol="HTTP/1.1")
    assert sent != []
    response, sent = get(app, protocol="HTTP/1")
    assert response.status_code == 200
    assert sent == []
