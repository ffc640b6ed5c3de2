"""``@http2push``: flask-http2-push's view decorator, as a drop-in replacement."""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, current_app
from flask.helpers import get_root_path
from flask.typing import ResponseReturnValue

from .headers import add_link_header
from .manifest import load_manifest
from .recording import page_record, recorded_page
from .state import PushState, get_state

ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])

#: The attribute a decorated view carries, naming its manifest (as flask-http2-push's did).
MANIFEST_ATTRIBUTE = "push_manifest"


def http2push(manifest: str = "push_manifest.json") -> Callable[[ViewFunction], ViewFunction]:
    """Add the assets of a flask-http2-push manifest to the view's ``Link`` header.

    Works as flask-http2-push's decorator did, in an app that never set up
    :class:`~flask_push_templates.PushTemplates`; with it, the manifest's links merge with the
    page's other pushes. A relative ``manifest`` path is looked up under ``app.root_path``,
    then in the working directory.

    A manifest that can already be found, under the folder of the view's module (which is
    ``app.root_path`` for an app made with ``Flask(__name__)`` in that module) or in the
    working directory, is validated here, as the module is imported.

    :raises ~flask_push_templates.ManifestError: that manifest is not valid.
    """

    def decorator(view: ViewFunction) -> ViewFunction:
        _validate_if_found(view, manifest)
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def async_wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
                app, state = _begin(manifest)
                return _finish(app, state, await view(*args, **kwargs))

            wrapper: Callable[..., Any] = async_wrapper
        else:

            @functools.wraps(view)
            def sync_wrapper(*args: Any, **kwargs: Any) -> ResponseReturnValue:
                app, state = _begin(manifest)
                return _finish(app, state, view(*args, **kwargs))

            wrapper = sync_wrapper
        setattr(wrapper, MANIFEST_ATTRIBUTE, manifest)
        return cast(ViewFunction, wrapper)

    return decorator


def view_manifest_path(app: Flask, view: object) -> str | None:
    """Where the manifest of a view decorated with ``@http2push`` is; ``None`` for other views."""
    manifest = getattr(view, MANIFEST_ATTRIBUTE, None)
    return resolve_manifest_path(app, manifest) if isinstance(manifest, str) else None


def resolve_manifest_path(app: Flask, manifest: str) -> str:
    """Where a view's manifest is: absolute as given, else under the app, else in the cwd."""
    return _resolve(app.root_path, manifest)


def _validate_if_found(view: object, manifest: str) -> None:
    """Load the manifest now if it is where the app will most likely look for it.

    Without this, an app that only changed flask-http2-push's import (no ``init_app`` to
    validate manifests) would start with a broken manifest and only log it at the first
    request. The app is not known yet, so the view's module stands in for its root path;
    a manifest not found from there is left to ``init_app`` or the first request.
    """
    module = getattr(view, "__module__", None)
    try:
        root = get_root_path(module) if isinstance(module, str) else os.getcwd()
    except RuntimeError:  # a namespace package or an import hook without file names
        root = os.getcwd()
    path = _resolve(root, manifest)
    if os.path.isfile(path):
        load_manifest(path)


def _resolve(root_path: str, manifest: str) -> str:
    if os.path.isabs(manifest):
        return manifest
    in_app = os.path.join(root_path, manifest)
    if os.path.exists(in_app):
        return in_app
    in_cwd = os.path.abspath(manifest)
    # flask-http2-push opened the path relative to the working directory; keep that working.
    return in_cwd if os.path.exists(in_cwd) else in_app


def _begin(manifest: str) -> tuple[Flask, PushState]:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    page = page_record()
    if page is not None:
        page.view_manifests.append(resolve_manifest_path(app, manifest))
    return app, state


def _finish(app: Flask, state: PushState, rv: ResponseReturnValue) -> ResponseReturnValue:
    if state.hooks_installed:
        return rv  # the app's response hook adds the links
    response = app.make_response(rv)
    return add_link_header(response, app, state, recorded_page())
