"""``PushTemplates``: the Flask extension object, and what ``init_app`` wires up."""

from __future__ import annotations

import logging
import os
import sys
import warnings
from typing import Any

from flask import Flask, Response, current_app
from flask.signals import before_render_template
from jinja2 import Template

from .cli import push_cli
from .decorator import view_manifest_path
from .early_hints import install_early_hints
from .errors import PushWarning
from .functions import push_link_tags, push_url, push_url_for, vite_html, vite_tags
from .headers import add_link_header
from .jinja_ext import RECORDER_ATTRIBUTE, VITE_ATTRIBUTE, VITE_HTML_ATTRIBUTE, PushExtension
from .manifest import ManifestStore
from .recording import page_record, record_push, recorded_page
from .settings import DEFAULTS, Settings, unknown_keys
from .state import EXTENSION_KEY, PushState
from .vite import ViteBuild

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

        Reads every ``PUSH_*`` key of ``app.config`` (README.rst lists them); any other
        ``PUSH_*`` key gets a :class:`~flask_push_templates.PushWarning` naming the setting it
        is probably a misspelling of. The
        ``@http2push`` manifests of views registered later (blueprints registered after
        this call included) are validated when they are registered, with the same errors.

        :raises ~flask_push_templates.ConfigError: a ``PUSH_*`` value is invalid.
        :raises ~flask_push_templates.ManifestError: a manifest is invalid, or a decorated
            view's manifest is missing.
        :raises RuntimeError: the extension is already registered on ``app``.
        """
        registered = app.extensions.get(EXTENSION_KEY)
        if isinstance(registered, PushState) and registered.hooks_installed:
            raise RuntimeError(
                "PushTemplates is already registered on this Flask app: call init_app once "
                "per app (a second call would add every hook and 103 twice)"
            )
        for typo in unknown_keys(app.config):
            warnings.warn(typo, PushWarning, stacklevel=_app_frame())
        for key, value in DEFAULTS.items():
            app.config.setdefault(key, value)
        state = PushState(
            Settings.from_config(app.config),
            app.root_path,
            hooks_installed=True,
            static_folder=app.static_folder,
        )
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
        if state.vite is not None:
            _load_vite_manifest(state.vite)
        app.view_functions = _ManifestCheckingViews(app, state.manifests, app.view_functions)
        app.extensions[EXTENSION_KEY] = state
        install_early_hints(app, state)

        app.jinja_env.add_extension(PushExtension)
        setattr(app.jinja_env, RECORDER_ATTRIBUTE, record_push)
        setattr(app.jinja_env, VITE_ATTRIBUTE, state.vite)
        setattr(app.jinja_env, VITE_HTML_ATTRIBUTE, vite_html)
        app.add_template_global(push_url, "push_url")
        app.add_template_global(vite_tags, "vite_tags")
        app.add_template_global(push_url_for, "push_url_for")
        app.add_template_global(push_link_tags, "push_link_tags")
        app.after_request(_add_link_header)
        # weak=False: the receiver is a module function, but blinker would otherwise hold it
        # weakly; connecting with the app as sender keeps other apps' renders out.
        before_render_template.connect(_record_template, app, weak=False)
        app.cli.add_command(push_cli)  # flask push manifest / check / show


class _ManifestCheckingViews(dict[str, Any]):
    """``app.view_functions`` that loads the ``@http2push`` manifest of each view as it is
    registered, so that a broken one is an error at start-up whatever the order of
    ``init_app``, routes and blueprints (Flask registers every view through this dict)."""

    def __init__(self, app: Flask, manifests: ManifestStore, views: dict[str, Any]) -> None:
        super().__init__()
        self._app = app
        self._manifests = manifests
        for endpoint, view in views.items():
            self[endpoint] = view

    def __setitem__(self, endpoint: str, view: Any) -> None:
        manifest = view_manifest_path(self._app, view)
        if manifest is not None:
            self._manifests.load(manifest)
        super().__setitem__(endpoint, view)


def _app_frame() -> int:
    """The ``stacklevel`` of the app's call into this module (``PushTemplates(app)`` or
    ``init_app(app)``), so that a warning shows the app's line, not ours."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
        level += 1
    return level


def _load_vite_manifest(build: ViteBuild) -> None:
    """Validate the Vite manifest at start-up; one not built yet is only a warning."""
    if _is_absent(build.manifest_path):
        log.warning(
            "PUSH_VITE_MANIFEST %s does not exist yet: Vite entries are pushed once "
            "'vite build' writes it (build.manifest = true)",
            build.manifest_path,
        )
    else:
        build.load()


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
    page = page_record()
    if page is not None and template.name is not None:
        page.templates.append(template.name)


def _add_link_header(response: Response) -> Response:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state: PushState = app.extensions[EXTENSION_KEY]
    return add_link_header(response, app, state, recorded_page())
