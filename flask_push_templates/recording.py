"""What one request pushed, kept on ``flask.g`` so that no request sees another's pushes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request

from .errors import PushError
from .links import build_link
from .linkset import LinkSet
from .settings import Settings
from .state import PushState, get_state
from .urls import asset_url

# A private, namespaced attribute of g, like flask-babel's g._flask_babel.
_G_ATTRIBUTE = "_push_templates"


class RequestPushes:
    """The pushes, view manifests and rendered templates of the current request."""

    __slots__ = ("links", "script_root", "state", "templates", "view_manifests")

    def __init__(self, state: PushState, script_root: str) -> None:
        self.links = LinkSet()
        self.view_manifests: list[str] = []
        self.templates: list[str] = []
        #: The app's state and the request's script root, looked up once per request
        #: rather than once per push.
        self.state = state
        self.script_root = script_root


def request_pushes() -> RequestPushes | None:
    """This request's record, created on first use; ``None`` outside a request."""
    if not has_request_context():
        return None
    pushes: RequestPushes | None = g.get(_G_ATTRIBUTE)
    if pushes is None:
        pushes = RequestPushes(get_state(current_app), request.script_root)
        setattr(g, _G_ATTRIBUTE, pushes)
    return pushes


def recorded_pushes() -> RequestPushes | None:
    """This request's record if anything was recorded, without creating one."""
    if not has_request_context():
        return None
    return g.get(_G_ATTRIBUTE)  # type: ignore[no-any-return]


def record_push(
    asset: Any, destination: Any = None, attributes: Mapping[str, Any] | None = None
) -> str:
    """Record a push of ``asset`` (a static file name, a path or a URL); return its URL."""
    if not isinstance(asset, str) or not asset:
        raise PushError(f"push: the asset must be a file name, path or URL, not {asset!r}")
    if destination is not None and not isinstance(destination, str):
        raise PushError(f"push of {asset!r}: the destination must be a string, not {destination!r}")
    pushes = request_pushes()
    if pushes is not None:
        url = pushes.state.static_urls.url(asset, pushes.script_root)
    else:
        settings = get_state(current_app).settings if has_app_context() else Settings()
        url = asset_url(asset, settings.static_endpoint)
    record_link(url, destination, attributes or {}, pushes)
    return url


def record_link(
    url: str,
    destination: str | None,
    attributes: Mapping[str, Any],
    pushes: RequestPushes | None = None,
) -> None:
    """Validate a push of ``url`` and record it for this request (if there is one)."""
    link = build_link(url, destination, attributes.items())
    if pushes is None:
        pushes = request_pushes()
    if pushes is not None:
        pushes.links.add(link, explicit=destination is not None or bool(attributes))
