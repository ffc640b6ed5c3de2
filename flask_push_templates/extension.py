"""``PushTemplates``: the Flask extension object, and what ``init_app`` wires up."""

from __future__ import annotations

import difflib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response

from .cli import push_cli
from .decorator import view_manifest_path
from .early_hints import install_early_hints
from .errors import ConfigError, ManifestError, PushWarning
from .functions import push_link_tags, push_url, push_url_for, vite_html, vite_tags
from .headers import add_link_header
from .jinja_ext import (
    ENDPOINTS_ATTRIBUTE,
    RECORDER_ATTRIBUTE,
    VITE_ATTRIBUTE,
    VITE_HTML_ATTRIBUTE,
    PushExtension,
)
from .manifest import Manifest
from .recording import record_push, record_rendered_templates, recorded_page
from .resolver import endpoint_problem
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

        The endpoints static URLs are built on (``PUSH_STATIC_ENDPOINT``, a manifest
        entry's ``endpoint``) are checked as soon as their absence is certain: now for an
        app endpoint and for a blueprint registered already; for a blueprint registered
        later, when it registers (:class:`_EndpointWatch`).

        :raises ~flask_push_templates.ConfigError: a ``PUSH_*`` value is invalid, or
            ``PUSH_STATIC_ENDPOINT`` names no endpoint.
        :raises ~flask_push_templates.ManifestError: a manifest is invalid, names an
            endpoint that does not exist, or a decorated view's manifest is missing.
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
        watch = _EndpointWatch(app)
        if path is not None and _is_absent(path):
            # Not an error: `flask push manifest` must be able to load the app to write it.
            log.warning(
                "PUSH_MANIFEST %s does not exist yet: no links from it until it does "
                "('flask push manifest' writes it)",
                path,
            )
        elif path is not None:
            watch.require_manifest(state.manifests.load(path))
        if state.settings.static_endpoint != DEFAULTS["PUSH_STATIC_ENDPOINT"] or (
            app.static_folder is not None
        ):
            # The default on an app without static files is no mistake: such an app pushes
            # no static file names (a push of one says so).
            watch.require(state.settings.static_endpoint, "PUSH_STATIC_ENDPOINT", ConfigError)
        if state.vite is not None:
            _load_vite_manifest(state.vite)
        app.view_functions = _ManifestCheckingViews(app, state, app.view_functions, watch)
        app.extensions[EXTENSION_KEY] = state
        install_early_hints(app, state)

        app.jinja_env.add_extension(PushExtension)
        setattr(app.jinja_env, RECORDER_ATTRIBUTE, record_push)
        setattr(app.jinja_env, VITE_ATTRIBUTE, state.vite)
        setattr(app.jinja_env, VITE_HTML_ATTRIBUTE, vite_html)
        setattr(app.jinja_env, ENDPOINTS_ATTRIBUTE, functools.partial(endpoint_problem, app))
        app.add_template_global(push_url, "push_url")
        app.add_template_global(vite_tags, "vite_tags")
        app.add_template_global(push_url_for, "push_url_for")
        app.add_template_global(push_link_tags, "push_link_tags")
        app.after_request(_link_header_hook(app, state))
        record_rendered_templates(app.jinja_env)
        app.cli.add_command(push_cli)  # flask push manifest / check / show


class _ManifestCheckingViews(dict[str, Any]):
    """``app.view_functions`` that loads the ``@http2push`` manifest of each view as it is
    registered, so that a broken one is an error at start-up whatever the order of
    ``init_app``, routes and blueprints (Flask registers every view through this dict), and
    tells the page memory which views are cached (page_memory.py)."""

    def __init__(
        self, app: Flask, state: PushState, views: dict[str, Any], watch: _EndpointWatch
    ) -> None:
        super().__init__()
        self._app = app
        self._manifests = state.manifests
        self._memory = state.page_memory
        self._watch = watch
        for endpoint, view in views.items():
            self[endpoint] = view

    def __setitem__(self, endpoint: str, view: Any) -> None:
        manifest = view_manifest_path(self._app, view)
        if manifest is not None:
            self._watch.require_manifest(self._manifests.load(manifest))
        super().__setitem__(endpoint, view)
        self._memory.view_registered(endpoint, view)
        self._watch.registered(endpoint)


class _EndpointWatch:
    """The endpoints static URLs are built on, refused as soon as it is certain that one
    does not exist.

    Flask has no "the app is ready" hook, and blueprints and routes usually register
    after ``init_app``, so an endpoint that does not exist yet is refused at once only if
    it cannot appear later or is a misspelling of one that exists (``statics``). An
    endpoint of a blueprint not registered yet is decided when the blueprint registers: a
    blueprint's ``static`` route is the first it registers (Flask's
    ``Blueprint.register``), so an endpoint registered after ``admin`` joined the app that
    is not ``admin.static`` means ``admin`` has no static folder. What is left (a route
    added later under another name that never comes, a blueprint never registered) is
    listed by ``flask push check``, and each push that needs it is left out of the page's
    links and logged (:class:`~.pushes.UnresolvableAsset`).
    """

    def __init__(self, app: Flask) -> None:
        self._app = app
        #: Endpoints waiting for their blueprint: who names each, and what it raises.
        self._pending: dict[str, tuple[str, type[Exception]]] = {}

    def require(self, endpoint: str, who: str, error: type[Exception]) -> None:
        problem = endpoint_problem(self._app, endpoint)
        if problem is None:
            return
        blueprint = endpoint.rpartition(".")[0]
        if blueprint in self._app.blueprints:
            raise error(f"{who}: {problem}")
        close = difflib.get_close_matches(endpoint, list(self._app.view_functions), 1, 0.8)
        if close:
            raise error(f"{who}: {problem}; did you mean {close[0]!r}?")
        self._pending[endpoint] = (who, error)

    def require_manifest(self, manifest: Manifest) -> None:
        for push in _all_pushes(manifest):
            if push.endpoint is not None:
                who = f"push manifest {manifest.path}: entry {push.asset!r}"
                self.require(push.endpoint, who, ManifestError)

    def registered(self, endpoint: str) -> None:
        """``endpoint`` was just added to the app."""
        if not self._pending:
            return
        self._pending.pop(endpoint, None)
        for wanted in list(self._pending):
            blueprint, _, name = wanted.rpartition(".")
            # The first endpoint registered after a blueprint joined app.blueprints is its
            # static route, if it has one: any other means it has none.
            if name == "static" and blueprint in self._app.blueprints:
                who, error = self._pending.pop(wanted)
                problem = endpoint_problem(self._app, wanted)
                raise error(f"{who}: {problem} (blueprint {blueprint!r} has no static_folder)")


def _all_pushes(manifest: Manifest) -> Iterator[Any]:
    yield from manifest.entries
    for group in manifest.groups.values():
        yield from group


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


def _link_header_hook(app: Flask, state: PushState) -> Callable[[Response], Response]:
    """``app``'s ``after_request`` hook, bound to its app and state rather than looking
    them up through ``current_app`` for every response (a function, not a
    ``functools.partial``, which Flask's coroutine check unwraps each time)."""

    def add_links(response: Response) -> Response:
        return add_link_header(response, app, state, recorded_page())

    return add_links
