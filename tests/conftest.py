"""Fixtures shared by the unit tests: an app factory, its client, header reading, links
built as every push builds them, and the fuzzing app (:mod:`tests.fuzzing`)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Blueprint, Flask
from hypothesis import settings
from werkzeug.test import TestResponse

from flask_push_templates import Link, PushTemplates
from flask_push_templates.attributes import build_link
from tests.fuzzing import FuzzApp
from tests.linkheader import ParsedLink, parse_link_fields, parse_link_header

AppFactory = Callable[..., Flask]

# An example's run time on a shared 2-core machine says nothing about correctness: no
# per-example deadline, so that a loaded CI machine cannot fail a property test.
settings.register_profile("push_templates", deadline=None)
settings.load_profile("push_templates")


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    """Build an app whose root (templates/, static/, manifests) is a fresh temp folder.

    ``templates`` maps template names to sources; ``files`` maps paths under the app root
    to contents; ``config`` is applied before ``init_app`` (as an app factory would).
    """

    def factory(
        templates: dict[str, str] | None = None,
        files: dict[str, str | bytes] | None = None,
        init: bool = True,
        **config: Any,
    ) -> Flask:
        for name, source in (templates or {}).items():
            write(tmp_path / "templates" / name, source)
        for name, content in (files or {}).items():
            write(tmp_path / name, content)
        (tmp_path / "static").mkdir(exist_ok=True)
        app = Flask("push_test_app", root_path=str(tmp_path))
        app.config.update(TESTING=True, **config)
        if init:
            PushTemplates(app)
        return app

    yield factory


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzApp]:
    # One app per module, in a folder of pytest's: a run leaves nothing in the temp directory.
    yield FuzzApp(tmp_path_factory.mktemp("push-fuzz"))


def write(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


def links_of(response: TestResponse) -> list[ParsedLink]:
    """The response's Link fields, read back by the independent strict parser."""
    return parse_link_fields(response.headers.getlist("Link"))


def targets_of(response: TestResponse) -> list[str]:
    return [link.target for link in links_of(response)]


def link(url: str, destination: str | None = None, **attributes: Any) -> Link:
    return build_link(url, destination, attributes.items())


def parsed(link: Link) -> dict[str, str | None]:
    [result] = parse_link_header(link.header_value)
    return dict(result.params)


def static_blueprint(name: str, folder: Path) -> Blueprint:
    """A blueprint mounted at ``/<name>`` that serves ``folder`` at ``/<name>/static``."""
    return Blueprint(
        name, __name__, static_folder=str(folder), static_url_path="/static", url_prefix=f"/{name}"
    )


def run_in_threads(work: Callable[[int], None], count: int) -> None:
    """Run ``work(0)`` to ``work(count - 1)`` each in its own thread, all at once, and wait
    for every one to end."""
    threads = [threading.Thread(target=work, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
