"""Fixtures shared by the unit tests: an app factory, its client, and header reading."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from flask_push_templates import PushTemplates
from tests.linkheader import ParsedLink, parse_link_fields

AppFactory = Callable[..., Flask]


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
