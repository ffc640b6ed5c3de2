"""103 Early Hints without a server: the policy, what a hint says, learning, configuration.

The server is faked with ``environ["wsgi.early_hints"]`` set to a recording callable, as
gunicorn sets its own (tests/e2e/test_early_hints_gunicorn.py proves the real thing).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask, Response, redirect, render_template, request, stream_template
from flask.testing import FlaskClient
from flask_login import LoginManager, UserMixin, current_user, login_required, login_user
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, PushTemplates, http2push, push_url
from flask_push_templates.early_hints import HINT_RELATIONS, learned_templates
from flask_push_templates.hint_policy import (
    carries_credentials,
    may_be_navigation,
    request_protocol,
)
from flask_push_templates.learning import EarlyHintsState, TemplateLearner, common_templates
from flask_push_templates.settings import DEFAULTS, Settings
from flask_push_templates.state import get_state
from tests.conftest import AppFactory, links_of, run_in_threads, targets_of, write
from tests.linkheader import ParsedLink, parse_link_header

Hints = list[list[tuple[str, str]]]

TEMPLATES = {
    "base.html": (
        "{% push 'base.css' %}{% push 'fonts/body.woff2', 'font' %}"
        "<html>{% block body %}{% endblock %}</html>"
    ),
    "page.html": (
        "{% extends 'base.html' %}{% block body %}{% push 'page.js' %}"
        "{% push user_asset %}{% include 'part.html' %}{% endblock %}"
    ),
    "part.html": "{% push 'part.png', weight=3 %}",
}
MANIFEST = {
    "/static/global.css": {"type": "style"},
    "page.html": {"/static/group.js": {"type": "script"}},
    "base.html": {"/static/layout.png": {"type": "image"}},
}
VIEW_MANIFEST = {"/static/view.js": {"type": "script"}}

#: What the manifests say: known before any view ran.
KNOWABLE = ["/static/view.js", "/static/global.css"]
#: What the page's templates and their manifest groups add once the endpoint is learned.
LEARNED = [
    "/static/part.png",
    "/static/page.js",
    "/static/base.css",
    "/static/fonts/body.woff2",
    "/static/group.js",
    "/static/layout.png",
]


def page_app(make_app: AppFactory, **config: Any) -> Flask:
    """The standard page: extends, includes, a dynamic push, an app and a view manifest."""
    config.setdefault("PUSH_EARLY_HINTS", True)
    app = make_app(
        templates=TEMPLATES,
        files={"push.json": json.dumps(MANIFEST), "view.json": json.dumps(VIEW_MANIFEST)},
        PUSH_MANIFEST="push.json",
        **config,
    )

    @app.route("/", methods=["GET", "POST"])
    @http2push("view.json")
    def page() -> str:
        return render_template("page.html", user_asset="/media/avatar.png")

    return app


def get(
    app: Flask,
    path: str = "/",
    *,
    protocol: str = "HTTP/2.0",
    headers: dict[str, str] | None = None,
    method: str = "GET",
    hints: Callable[[list[tuple[str, str]]], Any] | None = None,
    script_root: str | None = None,
    client: FlaskClient | None = None,
) -> tuple[TestResponse, Hints]:
    """One request as gunicorn would pass it: ``protocol`` and a ``wsgi.early_hints``; from
    a new client (no cookies) unless ``client`` is given."""
    sent: Hints = []
    environ = {"SERVER_PROTOCOL": protocol, "wsgi.early_hints": hints or sent.append}
    if script_root is not None:
        environ["SCRIPT_NAME"] = script_root
    response = (client or app.test_client()).open(
        path, method=method, headers=headers, environ_overrides=environ
    )
    response.get_data()  # runs a streamed body to its end, inside its request context
    response.close()  # and closes a static file's
    return response, sent


def hinted_links(sent: Hints) -> list[ParsedLink]:
    """The links of the one 103 sent, read back by the independent strict parser."""
    assert len(sent) == 1, sent
    (fields,) = sent
    assert [name for name, _ in fields] == ["Link"]
    return parse_link_header(fields[0][1])


def hinted_targets(sent: Hints) -> list[str]:
    return [link.target for link in hinted_links(sent)]


# --- configuration -------------------------------------------------------------------------


def test_defaults_are_off_http2_and_navigations() -> None:
    settings = Settings.from_config(DEFAULTS)
    assert settings.early_hints is False
    assert settings.early_hints_protocols == {"HTTP/2", "HTTP/3"}
    assert settings.early_hints_navigations_only is True
    assert settings.early_hints_templates is None


def test_off_by_default_registers_no_hooks(make_app: AppFactory) -> None:
    app = page_app(make_app, PUSH_EARLY_HINTS=False)
    assert get_state(app).early_hints is None
    assert app.before_request_funcs == {}
    for _ in range(2):
        response, sent = get(app)
        assert response.status_code == 200
        assert sent == []


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("PUSH_EARLY_HINTS", "yes", "must be True or False, not 'yes'"),
        ("PUSH_EARLY_HINTS_NAVIGATIONS_ONLY", 1, "must be True or False, not 1"),
        (
            "PUSH_EARLY_HINTS_PROTOCOLS",
            ["HTTP/1.0"],
            "a list of HTTP/1.1, HTTP/2, HTTP/3 (HTTP/1.0 clients cannot receive a 103), "
            "not ['HTTP/1.0']",
        ),
        ("PUSH_EARLY_HINTS_PROTOCOLS", "HTTP/2", "not 'HTTP/2'"),
        ("PUSH_EARLY_HINTS_PROTOCOLS", ["h2"], "not ['h2']"),
        (
            "PUSH_EARLY_HINTS_TEMPLATES",
            {"index": "index.html"},
            "'index' must map to a list of template names, not 'index.html'",
        ),
        ("PUSH_EARLY_HINTS_TEMPLATES", {"": ["a.html"]}, "must be non-empty strings, not ''"),
        ("PUSH_EARLY_HINTS_MAX_BYTES", 0, "whole number of bytes of at least 1, not 0"),
        ("PUSH_EARLY_HINTS_MAX_BYTES", "200kB", "must be None (no limit) or a whole number"),
        ("PUSH_EARLY_HINTS_MAX_BYTES", True, "of at least 1, not True"),
        ("PUSH_EARLY_HINTS_TEMPLATES", ["a.html"], 'such as {"index": ["index.html"]}, not'),
    ],
)
def test_invalid_config_names_key_value_and_choices(
    make_app: AppFactory, key: str, value: Any, expected: str
) -> None:
    with pytest.raises(ConfigError) as error:
        make_app(**{key: value})
    message = str(error.value)
    assert message.startswith(key)
    assert expected in message


def test_templates_file_errors_name_the_file(make_app: AppFactory, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"PUSH_EARLY_HINTS_TEMPLATES: .*dir\.json cannot"):
        make_app(
            files={"dir.json/x": ""}, PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES="dir.json"
        )
    with pytest.raises(ConfigError, match=r"bad\.json, line 1, column 12: invalid JSON"):
        make_app(
            files={"bad.json": '{"index": [}'},
            PUSH_EARLY_HINTS=True,
            PUSH_EARLY_HINTS_TEMPLATES="bad.json",
        )
    with pytest.raises(ConfigError, match=r"shape\.json: 'index' must map to a list"):
        make_app(
            files={"shape.json": '{"index": "index.html"}'},
            PUSH_EARLY_HINTS=True,
            PUSH_EARLY_HINTS_TEMPLATES="shape.json",
        )


# --- which requests get a 103 ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("server_protocol", "expected"),
    [
        ("HTTP/1.0", "HTTP/1.0"),
        ("HTTP/1.1", "HTTP/1.1"),
        ("HTTP/2.0", "HTTP/2"),  # what gunicorn says
        ("HTTP/2", "HTTP/2"),
        ("HTTP/3", "HTTP/3"),
        ("http/2.0", "HTTP/2"),
        ("", None),
        ("SPDY/3", None),
    ],
)
def test_request_protocol(server_protocol: str, expected: str | None) -> None:
    assert request_protocol({"SERVER_PROTOCOL": server_protocol}) == expected


def test_request_protocol_missing() -> None:
    assert request_protocol({}) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, True),  # curl, browsers without Fetch Metadata
        ({"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "document"}, True),
        ({"Sec-Fetch-Mode": "navigate"}, True),
        ({"Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}, False),
        ({"Sec-Fetch-Mode": "no-cors"}, False),
        ({"Sec-Fetch-Mode": "navigate", "Sec-Fetch-Dest": "iframe"}, False),
    ],
)
def test_may_be_navigation(headers: dict[str, str], expected: bool) -> None:
    assert may_be_navigation(Headers(headers)) is expected


def learned_app(make_app: AppFactory, **config: Any) -> Flask:
    """The standard page, already requested once (so its templates are learned)."""
    app = page_app(make_app, **config)
    get(app, protocol="HTTP/1.1")
    return app


@pytest.mark.parametrize(
    ("protocol", "headers", "config", "hinted"),
    [
        ("HTTP/2.0", {}, {}, True),
        ("HTTP/3", {"Sec-Fetch-Mode": "navigate"}, {}, True),
        ("HTTP/1.1", {}, {}, False),
        ("HTTP/1.0", {}, {}, False),
        ("HTTP/1.1", {}, {"PUSH_EARLY_HINTS_PROTOCOLS": ["HTTP/1.1", "HTTP/2"]}, True),
        ("HTTP/2.0", {}, {"PUSH_EARLY_HINTS_PROTOCOLS": ["HTTP/1.1"]}, False),
        ("HTTP/2.0", {"Sec-Fetch-Mode": "cors"}, {}, False),
        ("HTTP/2.0", {"Sec-Fetch-Dest": "iframe"}, {}, False),
        (
            "HTTP/2.0",
            {"Sec-Fetch-Mode": "cors"},
            {"PUSH_EARLY_HINTS_NAVIGATIONS_ONLY": False},
            True,
        ),
        ("HTTP/2.0", {}, {"PUSH_ENABLED": False}, False),
    ],
)
def test_policy(
    make_app: AppFactory,
    protocol: str,
    headers: dict[str, str],
    config: dict[str, Any],
    hinted: bool,
) -> None:
    app = learned_app(make_app, **config)
    response, sent = get(app, protocol=protocol, headers=headers)
    assert response.status_code == 200
    assert bool(sent) is hinted


def test_only_get_is_hinted(make_app: AppFactory) -> None:
    app = learned_app(make_app)
    response, sent = get(app, method="POST")
    assert response.status_code == 200
    assert sent == []


def test_no_hint_without_server_support_or_endpoint(make_app: AppFactory) -> None:
    app = learned_app(make_app)
    response = app.test_client().get("/", environ_overrides={"SERVER_PROTOCOL": "HTTP/2.0"})
    assert response.status_code == 200
    response, sent = get(app, "/nowhere")
    assert response.status_code == 404
    assert sent == []


def test_hint_is_sent_before_the_apps_own_hooks(make_app: AppFactory) -> None:
    events: list[str] = []
    app = make_app(templates={"a.html": "{% push 'a.css' %}"}, init=False, PUSH_EARLY_HINTS=True)
    app.add_url_rule("/", "a", lambda: render_template("a.html"))

    @app.before_request
    def slow_setup() -> None:
        events.append("app hook")

    # init_app after the app's own hook, as an app factory often does.
    PushTemplates(app)
    get(app)
    get(app, hints=lambda fields: events.append("hint"))
    assert events == ["app hook", "hint", "app hook"]


# --- what a 103 says -----------------------------------------------------------------------


def test_first_request_hints_the_manifests_later_ones_the_learned_set(
    make_app: AppFactory,
) -> None:
    app = page_app(make_app)
    _, sent = get(app)
    assert hinted_targets(sent) == KNOWABLE
    second, sent = get(app)
    assert sorted(hinted_targets(sent)) == sorted(KNOWABLE + LEARNED)
    # The dynamic push is not knowable before the view runs: only the final header has it.
    assert "/media/avatar.png" in targets_of(second)
    assert "/media/avatar.png" not in hinted_targets(sent)


def test_hint_is_the_final_header_minus_what_is_not_knowable(make_app: AppFactory) -> None:
    app = learned_app(make_app)
    response, sent = get(app)
    final = {link.target: link for link in links_of(response)}
    hinted = hinted_links(sent)
    # Same links with the same attributes (crossorigin, type); the heaviest first.
    assert all(final[link.target] == link for link in hinted)
    assert hinted[0].target == "/static/part.png"
    assert set(final) - {link.target for link in hinted} == {"/media/avatar.png"}
    font = next(link for link in hinted if link.target.endswith(".woff2"))
    assert font.has("crossorigin")
    assert font.get("type") == "font/woff2"


def test_a_hint_under_a_script_root_leaves_the_urls_of_other_roots_alone(
    make_app: AppFactory,
) -> None:
    # One app mounted twice (at /shop behind a proxy, at / directly): static URLs are
    # remembered per script root, and a hint must file the ones it builds under its own.
    app = page_app(make_app, PUSH_EARLY_HINTS_TEMPLATES={"page": ["page.html"]})
    _, sent = get(app, script_root="/shop")
    assert "/shop/static/base.css" in hinted_targets(sent)
    response, sent = get(app)
    assert sorted(hinted_targets(sent)) == sorted(KNOWABLE + LEARNED)
    assert sorted(targets_of(response)) == sorted([*KNOWABLE, *LEARNED, "/media/avatar.png"])


def test_only_preload_modulepreload_and_preconnect_go_in_a_103(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "rels.html": (
                "{% push 'app.css' %}{% push 'app.mjs' %}{% push 'next.html', 'document' %}"
                "{% push 'https://cdn.example', rel='preconnect' %}"
                "{% push 'https://img.example', rel='dns-prefetch' %}"
            )
        },
        PUSH_EARLY_HINTS=True,
    )
    app.add_url_rule("/", "rels", lambda: render_template("rels.html"))
    get(app)
    response, sent = get(app)
    assert {link.rel for link in links_of(response)} == {
        "preload",
        "modulepreload",
        "prefetch",
        "preconnect",
        "dns-prefetch",
    }
    assert {link.rel for link in hinted_links(sent)} == HINT_RELATIONS
    assert hinted_targets(sent) == ["/static/app.css", "/static/app.mjs", "https://cdn.example"]


def test_hint_respects_nopush_and_the_header_budget(make_app: AppFactory) -> None:
    app = learned_app(make_app, PUSH_NOPUSH=True, PUSH_MAX_HEADER_BYTES=100)
    _, sent = get(app)
    value = sent[0][0][1]
    assert len(value) <= 100
    links = hinted_links(sent)
    # The heaviest push (part.png, weight 3) is kept first.
    assert links[0].target == "/static/part.png"
    assert all(link.has("nopush") for link in links)


#: Sizes of the standard page's static files for the byte budget; page.js is the big one.
STATIC_SIZES = {
    "part.png": 300,
    "page.js": 5000,
    "base.css": 200,
    "fonts/body.woff2": 400,
    "group.js": 100,
    "view.js": 50,
}


def budget_app(make_app: AppFactory, budget: int | None) -> Flask:
    """The learned standard page with STATIC_SIZES on disk (global.css, layout.png absent)."""
    app = learned_app(make_app, PUSH_EARLY_HINTS_MAX_BYTES=budget)
    assert app.static_folder is not None
    for name, size in STATIC_SIZES.items():
        write(Path(app.static_folder) / name, b"x" * size)
    return app


@pytest.mark.parametrize("script_root", [None, "/shop"])
def test_the_byte_budget_leaves_out_what_does_not_fit(
    make_app: AppFactory, script_root: str | None
) -> None:
    prefix = script_root or ""
    _, unlimited = get(budget_app(make_app, None), script_root=script_root)
    # Everything but page.js: 300 + 200 + 400 + 100 + 50 bytes.
    response, sent = get(budget_app(make_app, 1050), script_root=script_root)
    everything = hinted_targets(unlimited)
    assert prefix + "/static/page.js" in everything
    # page.js (5000 bytes) does not fit; the smaller files after it still do, and the
    # files that are not on disk (global.css, layout.png) cost nothing.
    assert hinted_targets(sent) == [t for t in everything if t != prefix + "/static/page.js"]
    sizes = {prefix + "/static/" + name: size for name, size in STATIC_SIZES.items()}
    # Under /shop too the manifests' /static/view.js and /static/group.js are app paths,
    # under the script root: the app's static files, whose sizes count.
    assert sum(sizes.get(t, 0) for t in hinted_targets(sent)) == 1050
    # The final header still names it: the browser fetches it once the page arrives.
    assert prefix + "/static/page.js" in targets_of(response)


def test_a_budget_smaller_than_every_file_hints_only_what_costs_nothing(
    make_app: AppFactory,
) -> None:
    _, sent = get(budget_app(make_app, 10))
    assert sorted(hinted_targets(sent)) == ["/static/global.css", "/static/layout.png"]


def test_no_103_when_nothing_is_predicted(make_app: AppFactory) -> None:
    app = make_app(templates={"plain.html": "<p>no pushes</p>"}, PUSH_EARLY_HINTS=True)
    app.add_url_rule("/", "plain", lambda: render_template("plain.html"))
    for _ in range(2):
        response, sent = get(app)
        assert response.status_code == 200
        assert sent == []


# --- learning --------------------------------------------------------------------------------


def test_learns_only_from_get_responses_that_get_links(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES, PUSH_EARLY_HINTS=True)

    @app.route("/missing")
    def missing() -> tuple[str, int]:
        return render_template("page.html", user_asset="x.png"), 404

    @app.route("/json")
    def as_json() -> Response:
        render_template("page.html", user_asset="x.png")
        return Response("{}", mimetype="application/json")

    @app.route("/form", methods=["POST"])
    def form() -> str:
        return render_template("page.html", user_asset="x.png")

    get(app, "/missing")
    get(app, "/json")
    get(app, "/form", method="POST")
    assert learned_templates(app) == {}


def test_variants_share_their_layout(make_app: AppFactory) -> None:
    page = "{% extends 'layout.html' %}{% block body %}{% push 'NAME.js' %}{% endblock %}"
    templates = {
        "layout.html": "{% push 'layout.css' %}{% block body %}{% endblock %}",
        "pages/a.html": page.replace("NAME", "a"),
        "pages/b.html": page.replace("NAME", "b"),
    }
    app = make_app(templates=templates, PUSH_EARLY_HINTS=True)
    app.add_url_rule("/pages/<slug>", "page", lambda slug: render_template(f"pages/{slug}.html"))
    get(app, "/pages/a")
    _, sent = get(app, "/pages/b")
    # Only one variant seen yet: it is taken as the prediction (a's script is a guess).
    assert hinted_targets(sent) == ["/static/layout.css", "/static/a.js"]
    _, sent = get(app, "/pages/a")
    assert hinted_targets(sent) == ["/static/layout.css"]
    assert learned_templates(app) == {"page": ["layout.html"]}


def test_learner_keeps_order_and_ignores_repeats() -> None:
    learner = TemplateLearner()
    learner.learn("index", ["a.html", "b.html", "a.html"])
    learner.learn("index", ["b.html", "a.html"])
    assert learner.variants("index") == [("b.html", "a.html")]
    assert learner.variants("unknown") == []


def test_learner_is_bounded() -> None:
    learner = TemplateLearner(max_endpoints=2, max_variants=2, max_templates=3)
    learner.learn("one", ["x.html"])
    learner.learn("two", ["x.html"])
    learner.learn("one", ["y.html"])  # "one" is now the most recent endpoint
    learner.learn("three", ["x.html"])
    assert learner.endpoints() == ["one", "three"]
    learner.learn("one", ["z.html"])
    assert learner.variants("one") == [("y.html",), ("z.html",)]
    learner.learn("one", [f"{n}.html" for n in range(10)])
    assert learner.variants("one")[-1] == ("0.html", "1.html", "2.html")


def test_learner_is_thread_safe() -> None:
    learner = TemplateLearner(max_endpoints=5, max_variants=3, max_templates=4)
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for n in range(2000):
                endpoint = f"e{(worker + n) % 9}"
                learner.learn(endpoint, [f"t{n % 7}.html", f"t{worker}.html"])
                learner.variants(endpoint)
        except BaseException as error:  # pragma: no cover - the assertion reports it
            errors.append(error)

    run_in_threads(work, 8)
    assert errors == []
    assert len(learner.endpoints()) == 5
    for endpoint in learner.endpoints():
        variants = learner.variants(endpoint)
        assert 1 <= len(variants) <= 3
        assert all(len(names) <= 4 for names in variants)


def test_learner_loses_no_variant_when_threads_learn_the_same_endpoint_at_once() -> None:
    # Without the lock two threads that both find an endpoint new each make its variants
    # and one overwrites the other (about one endpoint in a hundred here): a lost update.
    learner = TemplateLearner(max_endpoints=1000, max_variants=8)
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        for number in range(1000):
            start.wait()  # all eight learn e<number> at the same moment
            learner.learn(f"e{number}", [f"t{worker}.html"])

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter can
    try:
        run_in_threads(work, 8)
    finally:
        sys.setswitchinterval(interval)
    assert len(learner.endpoints()) == 1000
    lost = [name for name in learner.endpoints() if len(learner.variants(name)) != 8]
    assert lost == []


def test_common_templates_of_no_variant_is_empty(make_app: AppFactory) -> None:
    app = make_app()
    assert common_templates(app.jinja_env, get_state(app).templates, []) == []


def test_learning_picks_up_changed_templates_in_debug(make_app: AppFactory, tmp_path: Path) -> None:
    app = page_app(make_app, TEMPLATES_AUTO_RELOAD=True)
    get(app)
    _, sent = get(app)
    assert "/static/part.png" in hinted_targets(sent)
    part = tmp_path / "templates" / "part.html"
    write(part, "{% push 'changed.png' %}")
    # Loaders compare modification times; make the change visible whatever the clock.
    stat = part.stat()
    os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    _, sent = get(app)
    targets = hinted_targets(sent)
    assert "/static/changed.png" in targets
    assert "/static/part.png" not in targets


# --- the deployable form ---------------------------------------------------------------------


def test_deployed_templates_hint_fully_on_the_first_request(
    make_app: AppFactory, tmp_path: Path
) -> None:
    warm = page_app(make_app)
    get(warm)
    exported = learned_templates(warm)
    assert exported == {"page": ["page.html", "base.html", "part.html"]}
    write(tmp_path / "early_hints.json", json.dumps(exported))

    fresh = page_app(make_app, PUSH_EARLY_HINTS_TEMPLATES="early_hints.json")
    _, sent = get(fresh)
    assert sorted(hinted_targets(sent)) == sorted(KNOWABLE + LEARNED)


def test_deployed_endpoints_are_not_learned(make_app: AppFactory) -> None:
    app = page_app(make_app, PUSH_EARLY_HINTS_TEMPLATES={"page": ["part.html"]})
    for _ in range(2):
        _, sent = get(app)
        assert hinted_targets(sent) == ["/static/part.png", *KNOWABLE]
    hints = get_state(app).early_hints
    assert isinstance(hints, EarlyHintsState)
    assert hints.learner.endpoints() == []


# --- failures --------------------------------------------------------------------------------


def test_a_failing_server_callable_costs_nothing_but_a_log(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = learned_app(make_app)

    def broken(fields: list[tuple[str, str]]) -> None:
        raise BrokenPipeError("client went away")

    caplog.set_level(logging.DEBUG, logger="flask_push_templates.early_hints")
    for _ in range(2):
        response, _ = get(app, hints=broken)
        assert response.status_code == 200
        assert "/static/page.js" in targets_of(response)
    levels = [record.levelno for record in caplog.records]
    assert levels == [logging.WARNING, logging.DEBUG]
    assert "page: 103 Early Hints not sent" in caplog.records[0].getMessage()
    assert caplog.records[0].exc_info is not None


def test_a_non_callable_early_hints_is_ignored(make_app: AppFactory) -> None:
    app = learned_app(make_app)
    response = app.test_client().get(
        "/", environ_overrides={"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": "nope"}
    )
    assert response.status_code == 200


# --- streamed pages --------------------------------------------------------------------------


def test_streamed_page_carries_its_static_pushes(make_app: AppFactory) -> None:
    app = make_app(templates=TEMPLATES, PUSH_EARLY_HINTS=True)

    @app.route("/stream")
    def streamed() -> Response:
        push_url("view.css")
        return Response(stream_template("page.html", user_asset="/media/late.png"))

    response, _ = get(app, "/stream")
    assert response.text == "<html></html>"
    # Proof that the headers left before the body rendered: its dynamic push is missing.
    assert "/media/late.png" not in targets_of(response)
    # Headers left before the body rendered: the view's push and every constant push of
    # the page, its layout and its include are there; the push computed while rendering
    # is not (it cannot be).
    assert targets_of(response) == [
        "/static/part.png",  # weight 3
        "/static/view.css",
        "/static/base.css",
        "/static/fonts/body.woff2",
        "/static/page.js",
    ]
    _, sent = get(app, "/stream")
    # The view's own push is the one thing the 103 cannot know.
    assert hinted_targets(sent) == [t for t in targets_of(response) if t != "/static/view.css"]


# --- endpoints that are not pages ------------------------------------------------------------


def test_static_files_never_get_a_103(make_app: AppFactory) -> None:
    app = page_app(make_app)
    (Path(app.root_path) / "static" / "app.css").write_text("p {}")
    blueprint = Blueprint("admin", __name__, static_folder=str(Path(app.root_path) / "static"))
    app.register_blueprint(blueprint, url_prefix="/admin")
    for path in ("/static/app.css", "/admin/static/app.css"):
        response, sent = get(app, path)
        assert response.status_code == 200
        assert sent == []  # not even the app manifest, on the first request


def test_an_endpoint_serving_json_is_not_hinted_while_json_answers_outnumber_its_pages(
    make_app: AppFactory,
) -> None:
    app = page_app(make_app)
    wants_json = {"on": True}

    @app.route("/api")
    def api() -> Response | str:
        if wants_json["on"]:
            return Response("{}", mimetype="application/json")
        return render_template("part.html")

    _, sent = get(app, "/api")
    assert hinted_targets(sent) == ["/static/global.css"]  # unknown yet: the manifest
    _, sent = get(app, "/api")
    assert sent == []  # one JSON answer, no page: off
    wants_json["on"] = False
    get(app, "/api")  # one page, two JSON answers: still off
    get(app, "/api")
    _, sent = get(app, "/api")  # as many pages as JSON answers now
    assert hinted_targets(sent) == ["/static/part.png", "/static/global.css"]


def test_one_json_answer_does_not_switch_hints_off_for_everyone(make_app: AppFactory) -> None:
    app = page_app(make_app)
    get(app)
    get(app, headers={"Accept": "application/json"})  # a navigation-like GET
    wants = app.view_functions["page"]

    def json_once() -> Response:
        return Response("{}", mimetype="application/json")

    app.view_functions["page"] = json_once
    get(app)
    app.view_functions["page"] = wants
    _, sent = get(app)
    assert "/static/part.png" in hinted_targets(sent)


def test_fetches_do_not_teach(make_app: AppFactory) -> None:
    app = page_app(make_app)
    get(app, headers={"Sec-Fetch-Mode": "cors"})
    get(app, method="POST")
    assert learned_templates(app) == {}
    _, sent = get(app)
    assert hinted_targets(sent) == KNOWABLE


def test_learner_not_a_page_then_a_page() -> None:
    learner = TemplateLearner()
    learner.learn("api", ["a.html"])
    learner.learn_not_page("api")
    assert learner.serves_pages("api")  # as many pages as not
    learner.learn_not_page("api")
    assert not learner.serves_pages("api")
    assert learner.endpoints() == []
    learner.learn("api", ["a.html"])
    assert learner.serves_pages("api")
    assert learner.variants("api") == [("a.html",)]
    assert learner.serves_pages("never seen")


def test_constant_pushes_are_read_not_run(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "macros.html": "{% macro icon() %}{% push 'icon.svg' %}{% endmacro %}",
            "page.html": (
                "{% import 'macros.html' as m %}{% if false %}{% push 'never.js' %}{% endif %}"
                "{% push 'always.css' %}"
            ),
        },
        PUSH_EARLY_HINTS=True,
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    response, _ = get(app)
    assert targets_of(response) == ["/static/always.css"]
    # A push in a branch or a macro may not run: only the certain one is hinted.
    _, sent = get(app)
    assert hinted_targets(sent) == ["/static/always.css"]


def test_missing_templates_file_is_a_warning_so_that_it_can_be_generated(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES="later.json")
    assert "later.json does not exist yet" in caplog.text
    assert learned_templates(app) == {}


def test_templates_file_that_is_not_utf8_is_a_config_error(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match=r"th\.json is not UTF-8 \(byte 2\)"):
        make_app(
            files={"th.json": b'{"\xe9": ["a.html"]}'},
            PUSH_EARLY_HINTS=True,
            PUSH_EARLY_HINTS_TEMPLATES="th.json",
        )


# --- issue 14: hints other visitors cannot use or steer -----------------------------------

ADMIN_TEMPLATES = {
    "admin.html": "{% push 'js/admin/user-management.js' %}{% push 'admin.css' %}<p>admin",
    "login.html": "<p>login",
}


def admin_app(make_app: AppFactory, **config: Any) -> Flask:
    app = make_app(templates=ADMIN_TEMPLATES, PUSH_EARLY_HINTS=True, **config)

    @app.route("/admin")
    def admin() -> Any:
        # Authentication runs in the view (or a before_request hook): after the 103.
        if request_is_admin():
            return render_template("admin.html")
        return redirect("/login")

    return app


def request_is_admin() -> bool:
    return request.headers.get("Authorization") == "Bearer admin"


def test_after_a_redirect_an_endpoint_gets_no_103_naming_what_the_last_page_needed(
    make_app: AppFactory,
) -> None:
    app = admin_app(make_app)
    get(app, "/admin", headers={"Authorization": "Bearer admin"})
    response, _ = get(app, "/admin")  # anonymous: redirected to the login page
    assert response.status_code == 302
    for _ in range(3):
        response, sent = get(app, "/admin")
        assert response.status_code == 302
        assert sent == []  # nothing naming the admin's assets


def test_an_endpoint_that_redirected_recently_is_not_hinted_after_an_admin_page(
    make_app: AppFactory,
) -> None:
    app = admin_app(make_app)
    get(app, "/admin")  # an anonymous visit, redirected: the endpoint refuses some requests
    admin, sent = get(app, "/admin", headers={"Authorization": "Bearer admin"})
    assert admin.status_code == 200 and sent == []
    response, sent = get(app, "/admin")  # the next anonymous navigation after the admin page
    assert response.status_code == 302
    assert sent == []


def test_excluded_endpoints_never_get_a_103(make_app: AppFactory) -> None:
    app = admin_app(make_app, PUSH_EARLY_HINTS_EXCLUDE=["adm*"])
    for _ in range(2):
        get(app, "/admin", headers={"Authorization": "Bearer admin"})
    response, sent = get(app, "/admin")  # the first anonymous request after admin renders
    assert response.status_code == 302
    assert sent == []


def test_exclude_is_validated(make_app: AppFactory) -> None:
    with pytest.raises(ConfigError, match="PUSH_EARLY_HINTS_EXCLUDE must be a list"):
        make_app(PUSH_EARLY_HINTS_EXCLUDE="admin")


def test_many_requests_for_one_kind_of_page_cannot_make_its_assets_everyones(
    make_app: AppFactory,
) -> None:
    page = "{% extends 'layout.html' %}{% block body %}BODY{% endblock %}"
    templates = {
        "layout.html": "{% push 'layout.css' %}{% block body %}{% endblock %}",
        "gallery.html": "{% push 'big-image.jpg' %}",
        **{f"p/{n}.html": page.replace("BODY", "") for n in "ab"},
        **{f"p/g{n}.html": page.replace("BODY", "{% include 'gallery.html' %}") for n in range(10)},
    }
    app = make_app(templates=templates, PUSH_EARLY_HINTS=True)
    app.add_url_rule("/p/<slug>", "page", lambda slug: render_template(f"p/{slug}.html"))
    get(app, "/p/a")
    get(app, "/p/b")
    for n in range(10):  # more than the learner keeps variants of, all with the gallery
        get(app, f"/p/g{n}")
    _, sent = get(app, "/p/a")
    assert hinted_targets(sent) == ["/static/layout.css"]


def test_a_cached_view_hit_does_not_erase_what_was_learned(make_app: AppFactory) -> None:
    from flask_caching import Cache

    app = page_app(make_app, CACHE_TYPE="SimpleCache")
    cache = Cache(app)

    @app.route("/cached")
    @cache.cached(timeout=60)
    def cached() -> str:
        return render_template("page.html", user_asset="/media/avatar.png")

    get(app, "/cached")  # renders: learned
    for _ in range(3):
        response, _ = get(app, "/cached")  # hits: no template runs
        assert response.status_code == 200
    _, sent = get(app, "/cached")
    assert "/static/part.png" in hinted_targets(sent)


class Timeout(BaseException):
    """What gevent.Timeout is: a BaseException, so that ``except Exception`` misses it."""


def test_a_base_exception_from_the_server_callable_costs_only_the_hint(
    make_app: AppFactory,
) -> None:
    app = page_app(make_app)

    def times_out(headers: list[tuple[str, str]]) -> None:
        raise Timeout

    response, _ = get(app, hints=times_out)
    assert response.status_code == 200


@pytest.mark.parametrize("stop", [KeyboardInterrupt, SystemExit])
def test_a_request_to_stop_the_process_still_propagates(
    make_app: AppFactory, stop: type[BaseException]
) -> None:
    app = page_app(make_app)

    def stops(headers: list[tuple[str, str]]) -> None:
        raise stop

    with pytest.raises(stop):
        get(app, hints=stops)


# --- requests with credentials and without ------------------------------------------------

LOGIN_TEMPLATES = {
    "base.html": "{% push 'site.css' %}<html>{% block body %}{% endblock %}</html>",
    "admin.html": (
        "{% extends 'base.html' %}{% block body %}{% push 'js/admin/user-management.js' %}"
        "{% push '/api/admin/users-export.json', 'fetch' %}{% endblock %}"
    ),
    "landing.html": (
        "{% extends 'base.html' %}{% block body %}{% push 'img/hero.jpg' %}{% endblock %}"
    ),
    "dashboard.html": (
        "{% extends 'base.html' %}{% block body %}{% push 'js/dashboard.js' %}{% endblock %}"
    ),
    "login.html": "{% extends 'base.html' %}{% block body %}<form method=post>{% endblock %}",
}
ADMIN_ASSETS = {"/static/js/admin/user-management.js", "/api/admin/users-export.json"}
LANDING = ["/static/img/hero.jpg", "/static/site.css"]
DASHBOARD = ["/static/js/dashboard.js", "/static/site.css"]


class Member(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def login_app(make_app: AppFactory, **config: Any) -> Flask:
    """A site with the real Flask-Login: ``/admin`` is ``@login_required``, ``/`` is the
    landing page for anonymous visitors and the dashboard for a logged-in one."""
    app = make_app(
        templates=LOGIN_TEMPLATES, PUSH_EARLY_HINTS=True, SECRET_KEY="not secret", **config
    )
    logins = LoginManager(app)
    logins.login_view = "login"
    logins.user_loader(lambda user_id: Member(user_id) if user_id == "admin" else None)

    @app.route("/login", methods=["GET", "POST"])
    def login() -> Any:
        if request.method == "POST":
            login_user(Member("admin"))
            return redirect("/admin")
        return render_template("login.html")

    @app.route("/admin")
    @login_required
    def admin() -> str:
        return render_template("admin.html")

    @app.route("/")
    def index() -> str:
        return render_template(
            "dashboard.html" if current_user.is_authenticated else "landing.html"
        )

    return app


def logged_in(app: Flask) -> FlaskClient:
    """A client that logged in through the app's form: it carries Flask's session cookie."""
    client = app.test_client()
    assert client.post("/login").status_code == 302
    assert client.get_cookie("session") is not None
    return client


def test_the_first_anonymous_visitor_after_an_admin_page_is_not_hinted_its_assets(
    make_app: AppFactory,
) -> None:
    app = login_app(make_app)
    admin = logged_in(app)
    get(app, "/admin", client=admin)
    response, sent = get(app, "/admin", client=admin)
    assert response.status_code == 200
    # Requests with credentials are still hinted what their pages rendered.
    assert set(hinted_targets(sent)) >= ADMIN_ASSETS
    # The first anonymous navigation in this worker, before any redirect was seen: the 103
    # leaves before @login_required runs, and must name nothing the admin's page needed.
    response, sent = get(app, "/admin")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert sent == []


def test_each_kind_of_request_is_hinted_what_its_own_pages_rendered(
    make_app: AppFactory,
) -> None:
    app = login_app(make_app)
    admin = logged_in(app)
    get(app, "/", client=admin)  # the dashboard
    _, sent = get(app, "/")  # anonymous: nothing learned from anonymous visitors yet
    assert sent == []
    _, sent = get(app, "/")  # anonymous after anonymous: the landing page's assets
    assert sorted(hinted_targets(sent)) == LANDING
    _, sent = get(app, "/", client=admin)  # with credentials: the dashboard's, not the
    assert sorted(hinted_targets(sent)) == DASHBOARD  # layout they share
    _, sent = get(app, "/")
    assert sorted(hinted_targets(sent)) == LANDING


def test_learned_templates_exports_only_what_pages_without_credentials_taught(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = login_app(make_app)
    admin = logged_in(app)
    get(app, "/admin", client=admin)
    get(app, "/", client=admin)
    get(app, "/")
    get(app, "/login")
    exported = learned_templates(app)
    # The deployed map is hinted to every request: nothing only a logged-in page rendered.
    assert exported == {
        "index": ["landing.html", "base.html"],
        "login": ["login.html", "base.html"],
    }
    write(tmp_path / "early_hints.json", json.dumps(exported))
    fresh = login_app(make_app, PUSH_EARLY_HINTS_TEMPLATES="early_hints.json")
    _, sent = get(fresh, "/")
    assert sorted(hinted_targets(sent)) == LANDING
    response, sent = get(fresh, "/admin")
    assert response.status_code == 302
    assert sent == []


def test_the_push_once_cookie_is_not_a_credential(make_app: AppFactory) -> None:
    app = login_app(make_app, PUSH_ONCE=True)
    visitor = app.test_client()
    get(app, "/", client=visitor)
    assert visitor.get_cookie("push_once") is not None
    assert visitor.get_cookie("session") is None
    # Hinted from the anonymous pages (its own first one), as before it had the cookie.
    _, sent = get(app, "/", client=visitor)
    assert sorted(hinted_targets(sent)) == LANDING
    admin = logged_in(app)
    get(app, "/admin", client=admin)
    # The cookie the extension set does not make the visitor one of the logged-in kind.
    response, sent = get(app, "/admin", client=visitor)
    assert response.status_code == 302
    assert sent == []


@pytest.mark.parametrize(
    ("environ", "push_once", "expected"),
    [
        ({}, True, False),
        ({"HTTP_COOKIE": ""}, True, False),
        ({"HTTP_COOKIE": " ; "}, False, False),
        ({"HTTP_COOKIE": "session=abc"}, True, True),  # Flask's, an anonymous one's too
        ({"HTTP_COOKIE": "_ga=GA1.2.3"}, True, True),  # analytics: the app alone knows
        ({"HTTP_COOKIE": "push_once=1.AAAA-_x"}, True, False),
        ({"HTTP_COOKIE": " push_once=1.AAAA ; push_once=1."}, True, False),
        ({"HTTP_COOKIE": "push_once=1.AAAA"}, False, True),  # not the extension's then
        ({"HTTP_COOKIE": "push_once=1.AAAA; _ga=GA1.2.3"}, True, True),
        # gunicorn joins HTTP/2's cookie crumbs with commas: the session is still seen.
        ({"HTTP_COOKIE": "push_once=1.AAAA,session=abc"}, True, True),
        ({"HTTP_COOKIE": 'push_once="1.AAAA"'}, True, True),
        ({"HTTP_COOKIE": "push_once2=1.AAAA"}, True, True),
        ({"HTTP_AUTHORIZATION": "Bearer x"}, True, True),
        ({"HTTP_AUTHORIZATION": ""}, True, True),
        ({"REMOTE_USER": "alice"}, True, True),
        ({"REMOTE_USER": ""}, True, False),
    ],
)
def test_carries_credentials(environ: dict[str, str], push_once: bool, expected: bool) -> None:
    settings = Settings.from_config({**DEFAULTS, "PUSH_ONCE": push_once})
    assert carries_credentials(environ, settings) is expected


def test_a_custom_push_once_cookie_name_is_the_one_ignored() -> None:
    settings = Settings.from_config({**DEFAULTS, "PUSH_ONCE": True, "PUSH_ONCE_COOKIE": "p.1"})
    assert not carries_credentials({"HTTP_COOKIE": "p.1=1.AAAA"}, settings)
    assert carries_credentials({"HTTP_COOKIE": "pX1=1.AAAA"}, settings)  # "." is literal
    assert carries_credentials({"HTTP_COOKIE": "push_once=1.AAAA"}, settings)


def test_a_refusal_of_either_kind_stops_both_kinds_hints(make_app: AppFactory) -> None:
    app = login_app(make_app)
    admin = logged_in(app)
    get(app, "/admin", client=admin)
    get(app, "/admin")  # anonymous, redirected
    _, sent = get(app, "/admin", client=admin)
    assert sent == []


#: A request of the property below: (path, with credentials).
Visit = tuple[str, bool]


@given(
    st.lists(
        st.tuples(st.sampled_from(["/", "/admin", "/p/a", "/p/b", "/p/g"]), st.booleans()),
        max_size=20,
    )
)
@hypothesis_settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_no_request_without_credentials_is_hinted_what_only_credentialed_pages_named(
    make_app: AppFactory, visits: list[Visit]
) -> None:
    """Whatever the order of visits: a 103 to a request without credentials names only
    URLs that the final headers of earlier responses to such requests named."""
    app = make_app(templates=MIXED_TEMPLATES, PUSH_EARLY_HINTS=True)

    @app.route("/")
    @app.route("/p/<slug>")
    def page(slug: str = "a") -> Any:
        admin = request_is_admin()
        return render_template(f"p/{slug}.html", admin=admin)

    @app.route("/admin")
    def admin() -> Any:
        return render_template("admin.html") if request_is_admin() else redirect("/login")

    seen_without_credentials: set[str] = set()
    for path, credentialed in visits:
        headers = {"Authorization": "Bearer admin"} if credentialed else {}
        response, sent = get(app, path, headers=headers)
        if not credentialed:
            hinted = set(hinted_targets(sent)) if sent else set()
            assert hinted <= seen_without_credentials
            seen_without_credentials.update(targets_of(response))


MIXED_TEMPLATES = {
    **ADMIN_TEMPLATES,
    "layout.html": (
        "{% push 'layout.css' %}{% if admin %}{% include 'admin_bar.html' %}{% endif %}"
        "{% block body %}{% endblock %}"
    ),
    "admin_bar.html": "{% push 'js/admin/bar.js' %}",
    "p/a.html": "{% extends 'layout.html' %}{% block body %}{% push 'a.js' %}{% endblock %}",
    "p/b.html": "{% extends 'layout.html' %}",
    "p/g.html": (
        "{% extends 'layout.html' %}{% block body %}{% if admin %}{% include 'admin.html' %}"
        "{% endif %}{% endblock %}"
    ),
}
