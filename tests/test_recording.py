"""What one page pushed is its own: under threads and async views, interleaved as much as
they can be, each response carries exactly its own pushes (the record lives on ``flask.g``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import random
import time
from pathlib import Path
from typing import Any

from flask import Flask, render_template, request

from flask_push_templates import PushTemplates, push_url
from tests.fuzzing import sound_links


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
