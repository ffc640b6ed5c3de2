"""A small multi-page site for the ``flask push`` tests: templates that extend a base,
stylesheets with @import and @font-face, classic and module scripts with static imports.

``flask --app tests.cli_site:create_app push ...`` from the repository root. Configuration
comes from ``create_app(config)`` or from ``FLASK_*`` environment variables (for instance
``FLASK_PUSH_MANIFEST=/tmp/m.json``, ``FLASK_CLI_SITE_BROKEN=true``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, redirect, render_template
from flask.typing import ResponseReturnValue

from flask_push_templates import PushTemplates, http2push


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(CLI_SITE_BROKEN=False)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    _register_views(app)
    PushTemplates(app)
    return app


def _register_views(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.get("/about")
    def about() -> str:
        return render_template("about.html")

    @app.get("/post/<int:number>")
    def post(number: int) -> str:
        return render_template("post.html", number=number)

    @app.get("/legacy")
    @http2push("legacy_manifest.json")
    def legacy() -> str:
        return render_template("legacy.html")

    @app.get("/api/status")
    def status() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/old-home")
    def old_home() -> ResponseReturnValue:
        return redirect("/")

    @app.post("/contact")
    def contact() -> str:
        return "thanks"

    if app.config["CLI_SITE_BROKEN"]:

        @app.get("/broken")
        def broken() -> str:
            raise RuntimeError("the database is down")
