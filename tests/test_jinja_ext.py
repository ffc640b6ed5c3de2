"""The push tag: both spellings, arguments, compile-time validation with line numbers, and
run-time and constant pushes fuzzed through whole responses (:mod:`tests.fuzzing`)."""

from __future__ import annotations

import contextlib
import re
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from flask import render_template
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader, TemplateSyntaxError

from flask_push_templates import PushError, PushExtension, PushWarning
from flask_push_templates.jinja_ext import static_pushes
from flask_push_templates.pushes import AssetPush
from tests.conftest import AppFactory, links_of, targets_of
from tests.fuzzing import (
    DESTINATIONS,
    FUZZ,
    SCALARS,
    TEXT,
    FuzzApp,
    asset_strategy,
    check_link,
    may_refuse,
    refused_clearly,
    sound_links,
)


def render(make_app: AppFactory, source: str, **context: object) -> list[str]:
    app = make_app(templates={"page.html": source})

    @app.route("/")
    def page() -> str:
        from flask import render_template

        return render_template("page.html", **context)

    return targets_of(app.test_client().get("/"))


def test_block_spelling(make_app: AppFactory) -> None:
    assert render(make_app, "{% push 'app.css' %}<p>hi</p>") == ["/static/app.css"]


def test_angle_spelling(make_app: AppFactory) -> None:
    assert render(make_app, "<% push 'app.css', 'style' %><p>hi</p>") == ["/static/app.css"]


def test_angle_spelling_over_several_lines_keeps_line_numbers(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "<% push 'a.css',\n 'style' %>\n\n{% push 'x.nope' %}"})
    with pytest.raises(TemplateSyntaxError) as error:
        app.jinja_env.get_template("page.html")
    assert error.value.lineno == 4


def test_underscore_templates_keep_their_own_angle_tags(make_app: AppFactory) -> None:
    source = (
        "<script type='text/template'><% _.each(items, function(i) { %><%= i %><% }); %>"
        "<% pushState() %><% push(x) %></script>{% push 'app.js' %}"
    )
    app = make_app(templates={"page.html": source})
    with app.test_request_context():
        html = app.jinja_env.get_template("page.html").render()
    assert html == (
        "<script type='text/template'><% _.each(items, function(i) { %><%= i %><% }); %>"
        "<% pushState() %><% push(x) %></script>"
    )


def test_raw_blocks_are_left_alone(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "{% raw %}<% push 'a.css' %>{% endraw %}"})
    with app.test_request_context():
        assert app.jinja_env.get_template("page.html").render() == "<% push 'a.css' %>"


def test_arguments_may_be_expressions(make_app: AppFactory) -> None:
    assert render(make_app, "{% push 'tpl' ~ n ~ '.css' %}", n=7) == ["/static/tpl7.css"]


def test_keyword_attributes(make_app: AppFactory) -> None:
    app = make_app(
        templates={
            "page.html": "{% push 'fonts/inter.woff2', 'font', crossorigin='use-credentials' %}"
        }
    )
    app.add_url_rule("/", "page", lambda: __import__("flask").render_template("page.html"))
    [link] = links_of(app.test_client().get("/"))
    assert link.target == "/static/fonts/inter.woff2"
    assert link.get("as") == "font"
    assert link.get("crossorigin") == "use-credentials"
    assert link.get("type") == "font/woff2"


def test_paths_and_urls_are_taken_as_given(make_app: AppFactory) -> None:
    assert render(make_app, "{% push '/assets/a.css' %}{% push 'https://cdn.example/b.js' %}") == [
        "https://cdn.example",  # the preconnect other origins get (pipeline.preconnects)
        "/assets/a.css",
        "https://cdn.example/b.js",
    ]


def test_a_query_and_a_fragment_follow_the_static_url_of_the_name(make_app: AppFactory) -> None:
    app = make_app(
        templates={"page.html": "{% push 'css/app.css?v=2' %}{% push 'fonts/a.woff2#x' %}"}
    )
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/shop"})
    assert response.status_code == 200
    [style, font] = links_of(response)  # read back by the strict parser
    assert (style.target, style.get("as")) == ("/shop/static/css/app.css?v=2", "style")
    assert (font.target, font.get("as"), font.get("type")) == (
        "/shop/static/fonts/a.woff2#x",
        "font",
        "font/woff2",
    )


def test_tag_renders_nothing(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "a{% push 'app.css' %}b"})
    with app.test_request_context():
        assert app.jinja_env.get_template("page.html").render() == "ab"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("line1\n{% push %}", "push needs an asset"),
        ("\n\n{% push 'a.css', 'style', 'x' %}", "not 3 positional arguments"),
        ("{% push 'a.css', crossorigin=True, 'style' %}", "positional argument cannot follow"),
        ("\n{% push 'a.css', 'stylesheet' %}", "unknown destination 'stylesheet'; accepted:"),
        ("{% push 'a.nope' %}", "cannot infer a destination"),
        ("{% push 'a.css', rel='icon' %}", "unknown rel 'icon'"),
        # What could never resolve is refused here, not at every request that renders it.
        ("\n{% push '', 'style' %}", "push of '': the asset is empty; give a static file"),
        ("{% push '?v=2', 'style' %}", "push of '?v=2': a query or fragment needs a file name"),
        ("\n\n<% push '#top', 'image' %>", "push of '#top': a query or fragment needs"),
        ("\n{% push 'a.css', endpoint=3 %}", "endpoint must be an endpoint name such as"),
        ("{% push 'a.css', endpoint='' %}", "endpoint must be an endpoint name such as"),
        ("{% push '/static/a.css', endpoint='admin.static' %}", "a path or URL is pushed as"),
        ("{% push 'a.nope', endpoint='admin.static' %}", "cannot infer a destination"),
    ],
)
def test_syntax_errors_name_the_template_and_line(source: str, message: str) -> None:
    env = Environment(extensions=[PushExtension])
    with pytest.raises(TemplateSyntaxError) as error:
        env.from_string(source)
    assert message in error.value.message  # type: ignore[operator]
    assert error.value.lineno == source.count("\n") + 1


def test_bad_dynamic_push_is_an_error_at_render(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "{% push name %}"})
    with app.test_request_context(), pytest.raises(PushError, match=r"x\.nope"):
        app.jinja_env.get_template("page.html").render(name="x.nope")


def test_rendering_without_a_request_records_nothing_and_still_returns_urls(
    make_app: AppFactory,
) -> None:
    app = make_app(templates={"page.html": "{% push 'a.css' %}{{ push_url('b.js') }}"})
    with app.app_context():
        assert app.jinja_env.get_template("page.html").render() == "/static/b.js"


def test_custom_delimiters(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "<% push 'a.css' %>[% push 'b.js' %]"})
    app.jinja_env.block_start_string = "[%"
    app.jinja_env.block_end_string = "%]"
    with app.test_request_context():
        app.jinja_env.get_template("page.html").render()
        from flask_push_templates.recording import recorded_page

        pushes = recorded_page()
        assert pushes is not None
        assert [link.url for link in pushes.links] == ["/static/a.css", "/static/b.js"]


# --- fuzzed through whole responses ------------------------------------------------------


@FUZZ
@given(asset=asset_strategy(), destination=DESTINATIONS, title=SCALARS)
def test_push_tag_with_run_time_values(
    fuzz: FuzzApp, asset: str, destination: Any, title: Any
) -> None:
    attributes = {"title": title}
    try:
        response = fuzz.get("/tag", [(asset, destination, attributes)])
    except PushError as error:
        assert may_refuse(asset, destination, attributes, fuzz.url_of(asset)), error
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal: every character escaped, so none is special."""
    return "'" + "".join(f"\\U{ord(char):08x}" for char in text) + "'"


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    # Non-negative: Jinja reads -1 as an expression, which is no longer a constant push.
    title=st.one_of(TEXT, st.booleans(), st.integers(min_value=0)),
    streamed=st.booleans(),
)
def test_constant_push_tag_is_checked_at_compile_time_or_reads_back(
    fuzz: FuzzApp, asset: str, destination: Any, title: Any, streamed: bool
) -> None:
    arguments = jinja_literal(asset)
    if destination is not None:
        arguments += ", " + jinja_literal(destination)
    value = jinja_literal(title) if isinstance(title, str) else repr(title).lower()
    template = f"{{% push {arguments}, title={value} %}}<p>"
    attributes = {"title": title}
    try:
        response = fuzz.get("/stream" if streamed else "/constant", source=template)
        response.get_data()  # a streamed body renders only now
    except TemplateSyntaxError as error:
        assert may_refuse(asset, destination, attributes, fuzz.url_of(asset)), error
        assert "push of" in str(error), error
        return
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


def test_unclosed_angle_pushes_compile_in_linear_time(make_app: AppFactory) -> None:
    # Issue 14: a regex retried from every "<% push" scanned to the end each time: 2.5 s
    # for 40 KB (4.5 s on the shared CI machine). Linear: about 10 ms.
    app = make_app()
    for source in ["<% push 'a.css' " * 2500, "<% push " * 5000, "{% raw %}<% push " * 2400]:
        start = time.perf_counter()
        with contextlib.suppress(TemplateSyntaxError):
            app.jinja_env.from_string(source)
        assert time.perf_counter() - start < 0.5


def _reference_rewrite(source: str) -> str:
    # The regular expression the scan replaced, kept as the specification of its output.
    raw = r"(?P<raw>\{%-?\s*raw\s*-?%\}.*?\{%-?\s*endraw\s*-?%\})"
    angle = r"<%[ \t]*push(?P<body>[ \t\r\n](?:(?!%>).)*?)%>"
    return re.compile(f"{raw}|{angle}", re.DOTALL).sub(
        lambda m: m.group("raw") or f"{{% push{m.group('body')}%}}", source
    )


@given(
    st.lists(
        st.sampled_from(
            [
                "<%",
                "%>",
                "<% push",
                " push",
                "push ",
                "<%push\n",
                "{% raw %}",
                "{%- endraw %}",
                "{% endraw -%}",
                "'a.css'",
                " ",
                "\t",
                "x",
                "%",
                "<",
                ">",
                "{%",
                "%}",
            ]
        ),
        max_size=25,
    ).map("".join)
)
def test_the_angle_scan_rewrites_as_the_regex_did(source: str) -> None:
    from flask_push_templates.jinja_ext import _AnglePushes

    assert _AnglePushes("{%", "%}").rewrite(source) == _reference_rewrite(source)


def test_the_endpoint_keyword_is_read_as_a_constant_and_is_no_attribute() -> None:
    env = Environment(extensions=[PushExtension])
    tree = env.parse("\n{% push 'css/admin.css', 'style', endpoint='admin.static', weight=2 %}")
    assert list(static_pushes(tree)) == [
        (2, AssetPush("css/admin.css", "style", (("weight", 2),), "admin.static"))
    ]
    # A dynamic endpoint is no constant push (nothing known before rendering).
    assert list(static_pushes(env.parse("{% push 'a.css', endpoint=where %}"))) == []


def test_an_endpoint_the_app_does_not_have_is_refused_at_compile_time(
    make_app: AppFactory,
) -> None:
    app = make_app(
        templates={"page.html": "\n\n{% push 'css/admin.css', endpoint='admn.static' %}"}
    )
    with app.test_request_context(), pytest.raises(TemplateSyntaxError) as error:
        app.jinja_env.get_template("page.html")
    assert error.value.message == (
        "push of 'css/admin.css': 'admn.static' names no endpoint that serves static files "
        "(the app's static endpoints are 'static')"
    )
    assert error.value.lineno == 3


def test_a_dynamic_endpoint_is_checked_at_render(make_app: AppFactory) -> None:
    app = make_app(templates={"page.html": "{% push 'a.css', endpoint=where %}"})
    with app.test_request_context(), pytest.raises(PushError, match="endpoint must be"):
        app.jinja_env.get_template("page.html").render(where=42)


def test_misspelled_attributes_warn_at_compile_time_with_the_template_line(
    tmp_path: Path,
) -> None:
    (tmp_path / "page.html").write_text(
        "<html>\n{% push 'app.css', crosorigin=True %}\n{% push asset, fetchpriorty='high' %}",
        encoding="utf-8",
    )
    env = Environment(loader=FileSystemLoader(str(tmp_path)), extensions=[PushExtension])
    with pytest.warns(PushWarning) as caught:
        env.get_template("page.html")
    assert [(str(w.message), w.filename, w.lineno) for w in caught] == [
        (
            "push of 'app.css': attribute 'crosorigin' is not a link attribute (it would go "
            "into the header as it is); did you mean 'crossorigin'?",
            str(tmp_path / "page.html"),
            2,
        ),
        (
            # The names are known at compile time even when the values are not.
            "push: attribute 'fetchpriorty' is not a link attribute (it would go into the "
            "header as it is); did you mean 'fetchpriority'?",
            str(tmp_path / "page.html"),
            3,
        ),
    ]


def test_known_attributes_compile_without_a_warning() -> None:
    env = Environment(extensions=[PushExtension])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.from_string("{% push 'app.css', crossorigin=True, fetchpriority='high', x_cdn=1 %}")
