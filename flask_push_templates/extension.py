"""``PushTemplates``: the Flask extension object, and what ``init_app`` wires up."""

from __future__ import annotations

import logging
import os
from typing import Any

from flask import Flask, Response, current_app, request
from flask.signals import before_render_template
from jinja2 import Template

from .cli import push_cli
from .decorator import view_manifest_path
from .early_hints import install_early_hints
from .functions import push_link_tags, push_url, push_url_for
from .headers import add_link_header
from .jinja_ext import PushExtension
from .recording import recorded_pushes, request_pushes
from .settings import DEFAULTS, Settings
from .state import EXTENSION_KEY, PushState

log = logging.getLogger(__name__)


class PushTemplates:
    """Turns the assets a page pushes into its ``Link: <...>; rel=preload`` header.

    ``PushTemplates(app)``, or ``push = PushTemplates()`` then ``push.init_app(app)`` in an
    app factory. The object keeps no app and no request data: several apps may share it.
    """

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Validate the ``PUSH_*`` config and manifests, and register the tag, the template
        functions and the response hook on ``app``.

        :raises ~flask_push_templates.ConfigError: a ``PUSH_*`` value is invalid.
        :raises ~flask_push_templates.ManifestError: a manifest is invalid, or a decorated
            view's manifest is missing.
        """
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        state = PushState(Settings.from_config(app.config), app.root_path, hooks_installed=True)
        path = state.manifest_path
        if path is not None and _is_absent(path):
            # Not an error: `flask push manifest` must be able to load the app to write it.
            log.warning(
                "PUSH_MANIFEST %s does not exist yet: no links from it until it does "
                "('flask push manifest' writes it)",
                path,
            )
        elif path is not None:
            state.manifests.load(path)
        for view in app.view_functions.values():
            view_manifest = view_manifest_path(app, view)
            if view_manifest is not None:
                state.manifests.load(view_manifest)
        app.extensions[EXTENSION_KEY] = state
        install_early_hints(app, state)

        app.jinja_env.add_extension(PushExtension)
        app.add_template_global(push_url, "push_url")
        app.add_template_global(push_url_for, "push_url_for")
        app.add_template_global(push_link_tags, "push_link_tags")
        app.after_request(_add_link_header)
        # weak=False: the receiver is a module function, but blinker would otherwise hold it
        # weakly; connecting with the app as sender keeps other apps' renders out.
        before_render_template.connect(_record_template, app, weak=False)
        app.cli.add_command(push_cli)  # flask push manifest / check / show


def _is_absent(path: str) -> bool:
    """Whether nothing is at ``path``. Not ``not os.path.exists``: that is also true of a
    symlink loop or an unreadable folder, which loading reports as the errors they are."""
    try:
        os.stat(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return False


def _record_template(sender: Flask, template: Template, **extra: Any) -> None:
    pushes = request_pushes()
    if pushes is not None and template.name is not None:
        pushes.templates.append(template.name)


def _add_link_header(response: Response) -> Response:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state: PushState = app.extensions[EXTENSION_KEY]
    return add_link_header(response, app, state, recorded_pushes(), request.endpoint)
