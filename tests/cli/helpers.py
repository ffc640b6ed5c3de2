"""Helpers of the ``flask push`` tests: Flask's CLI runner, the test site (tests/cli_site),
real ``python -m flask`` processes, and reading back what the commands wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask, render_template
from flask_cdn import CDN
from flask_static_digest import FlaskStaticDigest
from flask_static_digest.cli import digest

from flask_push_templates import PushTemplates
from tests.cli import members_site
from tests.cli_site import create_app
from tests.conftest import write

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


# --- the page check's sites: a stylesheet with a web font, linked and pushed -----------

FONT = EXAMPLE / "static" / "fonts" / "dejavu-serif-bold-subset.woff2"

SITE_CSS = """@font-face {
  font-family: "Display";
  src: local("Display"), url("../fonts/display.woff2") format("woff2");
}
h1 { font-family: "Display", serif; }
"""

SITE_CSS_SRI = "sha384-" + base64.b64encode(hashlib.sha384(SITE_CSS.encode()).digest()).decode()

#: What each kind of page pushes, and its stylesheet's href (with any attribute after it).
PAGES = {
    # Flask-Static-Digest: the page links site-<md5>.css, the tag pushes url_for's URL,
    # site.css (a bare name would resolve as the digest does).
    "digest": (
        "{% push url_for('static', filename='css/site.css') %}",
        "{{ static_url_for('static', filename='css/site.css') }}",
    ),
    "digest-fixed": (
        "{% push static_url_for('static', filename='css/site.css') %}",
        "{{ static_url_for('static', filename='css/site.css') }}",
    ),
    # Flask-CDN: url_for in templates gives the CDN's URL (with ?t=mtime); the tag pushes
    # the app's own path (a bare name would resolve as the CDN's url_for does).
    "cdn": (
        "{% push '/static/css/site.css' %}",
        "{{ url_for('static', filename='css/site.css') }}",
    ),
    "cdn-fixed": (
        "{% push url_for('static', filename='css/site.css') %}",
        "{{ url_for('static', filename='css/site.css') }}",
    ),
    # The font site.css loads, preloaded in no-cors mode.
    "font": (
        "{% push 'css/site.css' %}{% push 'fonts/display.woff2', crossorigin=False %}",
        "{{ url_for('static', filename='css/site.css') }}",
    ),
    "font-fixed": (
        "{% push 'css/site.css' %}{% push 'fonts/display.woff2' %}",
        "{{ url_for('static', filename='css/site.css') }}",
    ),
    # The stylesheet linked with Subresource Integrity, preloaded without it.
    "integrity": (
        "{% push 'css/site.css' %}",
        f"{{{{ url_for('static', filename='css/site.css') }}}}\" integrity=\"{SITE_CSS_SRI}",
    ),
    "integrity-fixed": (
        f"{{% push 'css/site.css', integrity='{SITE_CSS_SRI}' %}}",
        f"{{{{ url_for('static', filename='css/site.css') }}}}\" integrity=\"{SITE_CSS_SRI}",
    ),
}


def site_app(root: str, kind: str) -> Flask:
    """A one-page app in ``root`` whose page is ``kind`` of :data:`PAGES`, with the real
    Flask-CDN and Flask-Static-Digest; also the app of the processes
    (``--app 'tests.cli.helpers:site_app("...", "cdn")'``) and of gunicorn."""
    folder = Path(root)
    push, href = PAGES[kind]
    page = f'{push}<link rel="stylesheet" href="{href}"><h1>Display</h1>'
    write(folder / "templates" / "page.html", page)
    write(folder / "static" / "css" / "site.css", SITE_CSS)
    # A real font, so that a browser loading the page decodes it without complaint.
    write(folder / "static" / "fonts" / "display.woff2", FONT.read_bytes())
    app = Flask("page_site", root_path=root)
    app.config.update(TESTING=True, CDN_DOMAIN="cdn.example.com")
    # Only the package the page uses: with Flask-Static-Digest initialised, bare names
    # resolve as its static_url_for does (the digested file, once compiled).
    if kind.startswith("cdn"):
        CDN(app)
    if kind.startswith("digest"):
        FlaskStaticDigest(app)
    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    return app


def compile_digest(root: Path) -> Path:
    """``root`` with a static folder compiled by Flask-Static-Digest's own command (``flask
    digest compile``): site-<md5>.css beside site.css, and cache_manifest.json. The digest
    is read at init_app: build the apps to check after this."""
    app = site_app(str(root), "digest")
    # Its group, as the "flask" command finds it (an entry point, not on app.cli).
    result = app.test_cli_runner().invoke(digest, ["compile"])
    assert result.exit_code == 0, result.output
    assert (root / "static" / "cache_manifest.json").is_file()
    return root


def digested_name(root: Path) -> str:
    [name] = [path.name for path in (root / "static" / "css").glob("site-*.css")]
    return name
