"""Many clients at once on a real gunicorn threaded worker: each response has its own pushes.

gunicorn 27 with one ``gthread`` worker of 8 threads serves a Flask app whose views push
exactly the assets a request names (``/page?assets=a17-0.js,b17-1.js``), half through
``push_url()`` and half through the ``{% push %}`` tag, yielding between pushes so that
requests interleave. 32 client threads, each on its own HTTP/1.1 keep-alive connection
(``http.client``), send thousands of requests, each asking for a set of assets no other
request asks for, so that any push leaking from one request into another shows. Some
requests must get no header at all: an empty set, a JSON view that pushes anyway, and a
plain-text response.

The same runs against ``async def`` views (Flask runs each in its own event loop through
asgiref, on the worker's thread).
"""

from __future__ import annotations

import concurrent.futures
import http.client
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.linkheader import parse_link_fields

from . import servers
from .servers import RunningServer, require

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
THREADS = 8  # gunicorn's worker threads
CLIENTS = 32  # concurrent keep-alive connections, four per server thread
REQUESTS = 4000
#: The whole load must finish within this (it takes about 5 s here); a hang fails.
TIME_LIMIT = 45.0

APP = """
import asyncio, time
from flask import Flask, Response, render_template_string, request
from flask_push_templates import PushTemplates, push_url

app = Flask(__name__)
app.config.update(PUSH_MAX_LINKS=100)
PushTemplates(app)
PAGE = "{% for asset in assets %}{% push asset %}{% endfor %}<p>page</p>"


def split():
    assets = [name for name in request.args.get("assets", "").split(",") if name]
    return assets[: len(assets) // 2], assets[len(assets) // 2 :]


@app.route("/page")
def page():
    by_function, by_tag = split()
    for asset in by_function:
        push_url(asset)
        time.sleep(0)  # let another thread run between two pushes
    return render_template_string(PAGE, assets=by_tag)


@app.route("/apage")
async def async_page():
    by_function, by_tag = split()
    for asset in by_function:
        push_url(asset)
        await asyncio.sleep(0)
        time.sleep(0)
    return render_template_string(PAGE, assets=by_tag)


@app.route("/json")
def json_view():
    for asset in split()[0] + split()[1]:
        push_url(asset)
    return {"ok": True}  # JSON is not a page: no header


@app.route("/plain")
def plain():
    for asset in split()[0]:
        push_url(asset)
    return Response("plain", mimetype="text/plain")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    require("gunicorn")
    directory = tmp_path_factory.mktemp("concurrency_app")
    (directory / "concurrency_app.py").write_text(APP)
    with servers.gunicorn_server(
        "concurrency_app:app",
        cwd=directory,
        pythonpath=[REPO],
        worker_class="gthread",
        threads=THREADS,
        # Quiet: thousands of access-log lines would only slow the worker down.
        extra_args=["--access-logfile", "/dev/null", "--keep-alive", "30"],
    ) as running:
        yield running


@dataclass
class Tally:
    requests: int = 0
    with_header: int = 0
    without_header: int = 0
    reconnects: int = 0
    wrong: list[str] = field(default_factory=list)


def plan(rng: random.Random, serial: int, views: list[str]) -> tuple[str, list[str]]:
    """A request for a set of assets only it asks for, and the targets its header must name."""
    count = rng.choice([0, 1, 2, 3, 5, 8])
    assets = [f"{rng.choice('abc')}{serial}-{index}.js" for index in range(count)]
    view = rng.choice(views)
    expected = [] if view in ("json", "plain") else [f"/static/{asset}" for asset in assets]
    return f"/{view}?assets={','.join(assets)}", expected


def load(server: RunningServer, requests: list[tuple[str, list[str]]]) -> Tally:
    """Send ``requests`` from CLIENTS threads, each over one keep-alive connection."""
    tallies = [Tally() for _ in range(CLIENTS)]

    def client(index: int) -> None:
        tally = tallies[index]
        connection = http.client.HTTPConnection(servers.LOOPBACK, server.port, timeout=20)
        try:
            for path, expected in requests[index::CLIENTS]:
                for attempt in (1, 2):
                    try:
                        connection.request("GET", path)
                        response = connection.getresponse()
                        response.read()
                        break
                    except (http.client.RemoteDisconnected, ConnectionResetError):
                        # The server may close an idle keep-alive connection; reconnect once.
                        if attempt == 2:
                            raise
                        tally.reconnects += 1
                        connection.close()
                fields = response.msg.get_all("Link") or []
                tally.requests += 1
                if fields:
                    tally.with_header += 1
                else:
                    tally.without_header += 1
                if response.status != 200 or len(fields) > 1:
                    tally.wrong.append(f"{path}: status {response.status}, fields {fields}")
                    continue
                targets = [link.target for link in parse_link_fields(fields)]
                if targets != expected:
                    tally.wrong.append(f"{path}: expected {expected}, got {targets}")
        finally:
            connection.close()

    with concurrent.futures.ThreadPoolExecutor(CLIENTS) as pool:
        for result in pool.map(client, range(CLIENTS)):
            assert result is None
    total = Tally()
    for tally in tallies:
        total.requests += tally.requests
        total.with_header += tally.with_header
        total.without_header += tally.without_header
        total.reconnects += tally.reconnects
        total.wrong += tally.wrong
    return total


@pytest.mark.parametrize(
    ("views", "requests"),
    [
        pytest.param(["page", "page", "page", "json", "plain"], REQUESTS, id="sync-views"),
        pytest.param(["apage", "apage", "apage", "json"], REQUESTS // 2, id="async-views"),
    ],
)
def test_every_response_carries_exactly_its_own_pushes(
    server: RunningServer, views: list[str], requests: int
) -> None:
    rng = random.Random(f"{views}{requests}")
    planned = [plan(rng, serial, views) for serial in range(requests)]
    started = time.monotonic()
    tally = load(server, planned)
    elapsed = time.monotonic() - started
    print(
        f"{tally.requests} requests from {CLIENTS} connections to {THREADS} threads in "
        f"{elapsed:.1f} s ({tally.requests / elapsed:.0f}/s): {tally.with_header} with a "
        f"Link header, {tally.without_header} without, {len(tally.wrong)} wrong, "
        f"{tally.reconnects} reconnects"
    )
    assert tally.wrong[:5] == [] and len(tally.wrong) == 0
    assert tally.requests == requests
    # Both kinds were exercised: many headers, and many responses that must have none.
    assert tally.with_header > requests // 3
    assert tally.without_header > requests // 10
    assert elapsed < TIME_LIMIT
