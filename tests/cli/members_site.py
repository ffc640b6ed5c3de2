"""A site with a login (the real Flask-Login), a JSON API and GET routes that change state,
for the crawl's tests: what a real app has and tests/cli_site has not.

``flask --app tests.cli.members_site:create_app push ...`` from the repository root.
Every call of a state-changing route appends its name to the file ``MEMBERS_SITE_LOG``
names (``FLASK_MEMBERS_SITE_LOG`` in the environment), so that a test, in this process or
another, can count what ran.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, redirect, render_template, stream_template, url_for
from flask.testing import FlaskClient
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_required, logout_user
from jinja2 import DictLoader

from flask_push_templates import PushTemplates

TEMPLATES = {
    "base.html": "{% push 'css/members.css' %}<title>Members</title>{% block body %}{% endblock %}",
    "index.html": "{% extends 'base.html' %}{% block body %}<img src=/static/img/home.png>"
    "{% endblock %}",
    "login.html": "{% extends 'base.html' %}{% block body %}<form method=post>"
    "<input name=user></form>{% endblock %}",
    "members.html": "{% extends 'base.html' %}{% block body %}<p>Hello {{ user }}</p>"
    "<img src=/static/img/members-only.png>{% endblock %}",
    "stream.html": "{% extends 'base.html' %}{% block body %}{% for part in parts %}"
    "{% push part ~ '.js' %}{% endfor %}{% endblock %}",
}


class Member(UserMixin):
    def __init__(self, user_id: str) -> None:
        self.id = user_id


#: The one account: its id is what the session holds (Flask-Login's ``_user_id``).
CRAWLER_ID = "crawler"


def log_in(client: FlaskClient) -> None:
    """The crawl's client setup (``--client-setup tests.cli.members_site:log_in``): a
    session logged in as Flask-Login's own ``FlaskLoginClient`` makes one."""
    with client.session_transaction() as session:
        session["_user_id"] = CRAWLER_ID
        session["_fresh"] = True


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.jinja_loader = DictLoader(TEMPLATES)
    app.config.update(SECRET_KEY="test only", MEMBERS_SITE_LOG=None)
    app.config.from_prefixed_env()
    app.config.update(config or {})
    logins = LoginManager(app)
    logins.login_view = "login"
    logins.user_loader(lambda user_id: Member(user_id) if user_id == CRAWLER_ID else None)
    _register_views(app)
    PushTemplates(app)
    return app


def _ran(name: str) -> None:
    log = current_app.config["MEMBERS_SITE_LOG"]
    if log is not None:
        with open(log, "a", encoding="utf-8") as file:
            file.write(name + "\n")


def _register_views(app: Flask) -> None:
    @app.get("/")
    def index() -> str:
        return render_template("index.html")

    @app.route("/login", methods=["GET", "POST"])
    def login() -> str:
        return render_template("login.html")

    @app.get("/members")
    @login_required
    def members() -> str:
        return render_template("members.html", user=current_user.id)

    @app.get("/streamed")
    def streamed() -> ResponseReturnValue:
        # The pushes inside the loop run while the body streams, after the header left.
        return stream_template("stream.html", parts=["late-a", "late-b"])

    @app.get("/auth/sign-out")
    def sign_out() -> ResponseReturnValue:
        _ran("sign_out")
        logout_user()
        return redirect(url_for("index"))

    @app.get("/admin/clear-cache")
    def clear_cache() -> str:
        _ran("clear_cache")
        return render_template("index.html")

    @app.get("/api/me")
    def me() -> ResponseReturnValue:
        if not current_user.is_authenticated:
            return {"error": "log in first"}, 401
        return {"user": current_user.id}

    @app.get("/api/latest")
    def latest() -> ResponseReturnValue:
        return {"error": "no item yet"}, 404
