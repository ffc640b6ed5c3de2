"""What one page pushed is its own: under threads and async views, interleaved as much as
they can be, each response carries exactly its own pushes (the record lives on ``flask.g``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import random
import time
from pathlib import Path
from typing import Any

from flask import (
    Flask,
    Response,
    render_template,
    render_template_string,
    request,
    stream_template,
)
from flask.templating import Environment

from flask_push_templates import PushTemplates, push_url
from flask_push_templates.recording import recorded_page
from tests.fuzzing import sound_links
from tests.linkheader import parse_link_header


def concurrent_app(tmp_path: Path) -> Flask:
    """Views that push exactly the assets the request names: half with push_url(), half
    with the tag, yielding between pushes so that requests interleave as much as possible."""
    app = Flask("push_concurrency", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_MAX_LINKS=100)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "{% for asset in assets %}{% push asset %}{% endfor %}<p>page</p>"
    )
    PushTemplates(app)

    def split() -> tuple[list[str], list[str]]:
        assets = [name for name in request.args.get("assets", "").split(",") if name]
        return assets[: len(assets) // 2], assets[len(assets) // 2 :]

    @app.route("/page")
    def page() -> str:
        by_function, by_tag = split()
        for asset in by_function:
            push_url(asset)
            time.sleep(0)  # let another thread run between two pushes
        return render_template("page.html", assets=by_tag)

    @app.route("/apage")
    async def async_page() -> str:
        by_function, by_tag = split()
        for asset in by_function:
            push_url(asset)
            await asyncio.sleep(0)
            time.sleep(0)
        return render_template("page.html", assets=by_tag)

    @app.route("/json")
    def json_view() -> Any:
        # Pushes, but JSON is not a page: no header, whatever other threads do.
        for asset in split()[0] + split()[1]:
            push_url(asset)
        return {"ok": True}

    return app


def random_request(rng: random.Random, serial: int) -> tuple[str, list[str]]:
    """A path asking for a set of assets no other request asks for, and the expected
    header targets (none for JSON and for an empty set)."""
    count = rng.choice([0, 1, 2, 3, 5, 8])
    assets = [f"{rng.choice('abc')}{serial}-{index}.js" for index in range(count)]
    view = rng.choice(["page", "page", "apage", "json"])
    expected = [] if view == "json" else [f"/static/{asset}" for asset in assets]
    return f"/{view}?assets={','.join(assets)}", expected


def test_threads_and_async_views_each_get_exactly_their_own_pushes(tmp_path: Path) -> None:
    app = concurrent_app(tmp_path)
    rng = random.Random(8)
    requests = [random_request(rng, serial) for serial in range(1600)]
    wrong: list[tuple[str, list[str], list[str]]] = []

    def run(chunk: list[tuple[str, list[str]]]) -> None:
        client = app.test_client()
        for path, expected in chunk:
            response = client.get(path)
            assert response.status_code == 200
            targets = [link.target for link in sound_links(response)]
            if targets != expected:
                wrong.append((path, expected, targets))

    chunks = [requests[index::16] for index in range(16)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for result in pool.map(run, chunks):
            assert result is None
    assert wrong == []


def template_app(tmp_path: Path, app_class: type[Flask] = Flask) -> Flask:
    """Groups for a page, the part it includes by a variable, and a streamed page."""
    app = app_class("push_rendered", root_path=str(tmp_path))
    (tmp_path / "templates").mkdir(exist_ok=True)
    for name, source in {
        "page.html": "<p>{% include part %}</p>",
        "part.html": "part",
        "stream.html": "<p>streamed</p>",
    }.items():
        (tmp_path / "templates" / name).write_text(source)
    (tmp_path / "push.json").write_text(
        json.dumps(
            {
                name: {f"/static/{name}.css": {}}
                for name in ("page.html", "part.html", "stream.html")
            }
        )
    )
    app.config.update(PUSH_MANIFEST="push.json")
    PushTemplates(app)
    rendered: dict[str, list[str]] = {}

    @app.after_request
    def note(response: Response) -> Response:
        page = recorded_page()
        rendered[request.path] = [] if page is None else list(page.templates)
        return response

    @app.route("/page")
    def page() -> str:
        return render_template(["missing.html", "page.html"], part="part.html")

    @app.route("/stream")
    def stream() -> Response:
        return Response(stream_template("stream.html"), mimetype="text/html")

    @app.route("/string")
    def string() -> str:
        return render_template_string("{% include 'part.html' %}")

    app.config["rendered"] = rendered
    return app


def test_a_page_records_the_templates_its_view_renders_and_not_what_they_include(
    tmp_path: Path,
) -> None:
    # What Flask's before_render_template announces: the template selected from a list,
    # a streamed one, and no template for a string; never one a {% include %} of a
    # variable selects (Jinja asks the environment for it, with the page as parent).
    app = template_app(tmp_path)
    client = app.test_client()
    targets = {
        path: [link.target for link in parse_link_header(client.get(path).headers.get("Link", ""))]
        for path in ("/page", "/stream", "/string")
    }
    assert app.config["rendered"] == {
        "/page": ["page.html"],
        "/stream": ["stream.html"],
        "/string": [],
    }
    assert targets == {
        "/page": ["/static/page.html.css"],
        "/stream": ["/static/stream.html.css"],
        "/string": [],
    }


def test_the_app_keeps_its_own_environment_class(tmp_path: Path) -> None:
    class ShopEnvironment(Environment):
        def currency(self) -> str:
            return "EUR"

    class ShopFlask(Flask):
        jinja_environment = ShopEnvironment

    first, second = template_app(tmp_path, ShopFlask), template_app(tmp_path, ShopFlask)
    env = first.jinja_env
    assert isinstance(env, ShopEnvironment) and env.currency() == "EUR"
    assert type(env) is type(second.jinja_env)  # one recording class, not one per app
    assert type(env).__name__ == "RecordingShopEnvironment"
    # An overlay is a copy of its class: it renders, and records for the page it serves.
    assert env.overlay(autoescape=False).from_string("<{{ 1 }}>").render() == "<1>"
    first.test_client().get("/page")
    assert first.config["rendered"]["/page"] == ["page.html"]
