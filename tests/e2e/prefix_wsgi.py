"""example_app deployed under a mount prefix, as tests/e2e/test_prefix.py serves it.

gunicorn takes the prefix from its ``SCRIPT_NAME`` environment variable (and answers 404
outside it); this module adds only what that test needs beside example_app: 103 Early
Hints, and a page whose ``@http2push`` manifest is flask-http2-push's README example
(written by the test to the file ``PREFIX_README_MANIFEST`` names), as its users wrote it.
"""

from __future__ import annotations

import os

from example_app import create_app
from flask_push_templates import http2push

app = create_app({"PUSH_EARLY_HINTS": True})


@app.get("/http2push-readme")
@http2push(os.environ["PREFIX_README_MANIFEST"])
def http2push_readme() -> str:
    return "<!doctype html><title>flask-http2-push's README manifest</title>"
