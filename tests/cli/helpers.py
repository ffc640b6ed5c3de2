"""Helpers of the ``flask push`` tests: Flask's CLI runner, the test site (tests/cli_site),
real ``python -m flask`` processes, and reading back what the commands wrote.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask

from tests.cli import members_site
from tests.cli_site import create_app

REPOSITORY = Path(__file__).resolve().parents[2]
SITE = REPOSITORY / "tests" / "cli_site"


def invoke(app: Flask, *args: str) -> Result:
    result = app.test_cli_runner().invoke(args=["push", *args])
    # A ClickException or usage error exits; anything else is a bug in the command.
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def site(**config: Any) -> Flask:
    return create_app({"TESTING": True, **config})


def members(tmp_path: Path, **config: Any) -> Flask:
    """tests/cli/members_site, counting its state-changing calls in ``tmp_path/ran.log``."""
    return members_site.create_app(
        {"TESTING": True, "MEMBERS_SITE_LOG": str(tmp_path / "ran.log"), **config}
    )


def ran(tmp_path: Path) -> list[str]:
    """The state-changing routes of a :func:`members` site that ran, in order."""
    log = tmp_path / "ran.log"
    return log.read_text(encoding="utf-8").split() if log.exists() else []


#: The members site's client setup: logs the crawl in.
LOG_IN = "tests.cli.members_site:log_in"
MEMBERS_APP = "tests.cli.members_site:create_app"


def generate(tmp_path: Path, *urls: str, **config: Any) -> dict[str, Any]:
    output = tmp_path / "push_manifest.json"
    result = invoke(site(**config), "manifest", "-o", str(output), *urls)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(output.read_text(encoding="utf-8"))
    return document


def generate_both(tmp_path: Path, app: Flask, *urls: str) -> tuple[Path, Path, Result]:
    manifest, hints = tmp_path / "push_manifest.json", tmp_path / "early_hints.json"
    result = invoke(app, "manifest", "-o", str(manifest), "--early-hints", str(hints), *urls)
    assert result.exit_code == 0, result.output
    return manifest, hints, result


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def first_hint(app: Flask, path: str) -> list[str]:
    """The Link values of the 103s one request gets from a fake HTTP/2 server (gunicorn
    offers ``wsgi.early_hints`` as this recording callable does)."""
    sent: list[list[tuple[str, str]]] = []
    environ = {"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": sent.append}
    with app.test_client().get(path, environ_overrides=environ) as response:
        response.get_data()  # a streamed page runs to its end
        assert response.status_code == 200, response.status
    return [value for fields in sent for name, value in fields if name == "Link"]


def write_manifest(path: Path, document: dict[str, Any]) -> str:
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return str(path)


def run_flask(app: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, **env}
    environment["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPOSITORY), environment.get("PYTHONPATH")])
    )
    environment.pop("FLASK_APP", None)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", app, "push", *args],
        cwd=REPOSITORY,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


SITE_APP = "tests.cli_site:create_app"


EXAMPLE = REPOSITORY / "example_app"
needs_example = pytest.mark.skipif(
    not (EXAMPLE / "__init__.py").exists(), reason="example_app is not there yet"
)
