"""A page whose stylesheet and script URLs come from an asset tool, for the browser test
of resolver.py's URL builders (test_asset_tools_browser.py).

``create_app()`` reads its set-up from the environment, as gunicorn starts it:
``ASSET_ROOT`` (a folder with ``static/``, digested or not), ``ASSET_TOOL``
(``digest``: Flask-Static-Digest; ``cdn``: Flask-CDN with ``CDN_DOMAIN``; ``plain``:
Flask alone, the CDN's own server), and ``ASSET_EARLY_HINTS=1`` for 103 Early Hints. No
other ``PUSH_*`` setting: the extension must find the tool by itself.
"""

from __future__ import annotations

import os

from flask import Flask, render_template
from flask_cdn import CDN
from flask_static_digest import FlaskStaticDigest
from jinja2 import DictLoader

from flask_push_templates import PushTemplates

#: ``{{ asset_url(...) }}`` is the tool's own template function: what the page uses.
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>asset tools</title>
<link rel="icon" href="data:,">
{% push 'css/site.css' %}{% push 'js/site.js' %}
<link rel="stylesheet" href="{{ asset_url('static', filename='css/site.css') }}">
<script src="{{ asset_url('static', filename='js/site.js') }}" defer></script>
</head><body><p id="ran">no</p></body></html>
"""
#: The template function each tool gives templates.
TEMPLATE_FUNCTION = {"digest": "static_url_for", "cdn": "url_for", "plain": "url_for"}


def create_app() -> Flask:
    tool = os.environ["ASSET_TOOL"]
    app = Flask(__name__, root_path=os.environ["ASSET_ROOT"])
    # A cache lifetime, so that the page does not revalidate what was just preloaded.
    app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600
    app.config["PUSH_EARLY_HINTS"] = os.environ.get("ASSET_EARLY_HINTS") == "1"
    PushTemplates(app)
    if tool == "digest":
        FlaskStaticDigest(app)
    elif tool == "cdn":
        app.config.update(CDN_DOMAIN=os.environ["CDN_DOMAIN"], CDN_HTTPS=False)
        CDN(app)
    # A named template: the 103 learns which templates the page renders.
    page = "{% set asset_url = " + TEMPLATE_FUNCTION[tool] + " %}" + PAGE
    app.jinja_loader = DictLoader({"page.html": page})  # type: ignore[method-assign]
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    return app
