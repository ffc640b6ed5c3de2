"""Several apps in one process: each keeps its own config, manifest and pushes."""

from __future__ import annotations

from flask import render_template_string

from flask_push_templates import PushTemplates
from tests.conftest import AppFactory, targets_of


def test_two_apps_share_one_extension_object_but_nothing_else(make_app: AppFactory) -> None:
    extension = PushTemplates()
    first = make_app(init=False, files={"m.json": '{"/first.css": {}}'}, PUSH_MANIFEST="m.json")
    second = make_app(init=False, PUSH_STATIC_ENDPOINT="static", PUSH_NOPUSH=True)
    extension.init_app(first)
    extension.init_app(second)
    for app in (first, second):
        app.add_url_rule("/", "i", lambda: render_template_string("{% push 'own.js' %}"))
    first_response = first.test_client().get("/")
    second_response = second.test_client().get("/")
    assert targets_of(first_response) == ["/static/own.js", "/first.css"]
    assert targets_of(second_response) == ["/static/own.js"]
    assert "nopush" in second_response.headers["Link"]
    assert "nopush" not in first_response.headers["Link"]


def test_rendering_in_one_app_is_not_recorded_by_another(make_app: AppFactory) -> None:
    first, second = make_app(), make_app()

    @first.route("/")
    def index() -> str:
        # Work done in another app's context (a nested app context has its own g) belongs
        # to that app, not to this response.
        with second.app_context():
            render_template_string("{% push 'other.css' %}")
        return render_template_string("{% push 'mine.css' %}")

    assert targets_of(first.test_client().get("/")) == ["/static/mine.css"]
