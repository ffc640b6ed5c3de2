"""What one page pushed, kept on ``flask.g`` so that no request sees another's pushes.

A :class:`PageRecord` is what the link pipeline (:mod:`.pipeline`) reads: the links pushed
while the page ran, the ``@http2push`` manifests of its view, and the templates it
rendered. The 103 Early Hints make one for a page that has not run yet
(:meth:`PageRecord.predicted`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any

from flask import current_app, g, has_app_context, has_request_context, request
from jinja2 import Environment, Template

from .attributes import build_link
from .errors import PushError
from .links import Link
from .linkset import LinkSet
from .page_memory import PushMade, RememberedPage
from .pushes import UnresolvableAsset, check_endpoint
from .resolver import RequestUrls
from .state import PushState, get_state
from .uri import is_url

# A private, namespaced attribute of g, like flask-babel's g._flask_babel.
_G_ATTRIBUTE = "_push_templates"


class Provenance:
    """Where each recorded link came from: kept only while ``flask push show`` explains a
    page, so that serving a page pays nothing for it."""

    __slots__ = ("by_url", "endpoint", "header", "rendering")

    def __init__(self, endpoint: str | None) -> None:
        self.endpoint = endpoint
        self.by_url: dict[str, list[str]] = {}
        #: The templates being rendered, innermost last (maintained by the explainer).
        self.rendering: list[str] = []
        #: The links the extension added to the response's ``Link`` header (headers.py).
        self.header: list[Link] = []

    def add(self, url: str, origin: str | None) -> None:
        if origin is None:
            origin = (
                f"push_url in template {self.rendering[-1]}"
                if self.rendering
                else f"view {self.endpoint!r} (push_url or push_url_for)"
            )
        origins = self.by_url.setdefault(url, [])
        if origin not in origins:
            origins.append(origin)


class PageRecord:
    """The pushes, view manifests and rendered templates of one page."""

    __slots__ = (
        "_urls",
        "cached",
        "links",
        "provenance",
        "pushes",
        "state",
        "templates",
        "view_manifests",
    )

    def __init__(self, state: PushState, urls: RequestUrls | None = None) -> None:
        self.links = LinkSet()
        #: The pushes made, before their URLs were built, for a page that may be
        #: remembered (page_memory.py; :func:`page_record` decides); ``None``: not kept,
        #: so that a push on any other page costs nothing more.
        self.pushes: list[PushMade] | None = None
        self.view_manifests: list[str] = []
        self.templates: list[str] = []
        #: The app's state, looked up once per page rather than once per push.
        self.state = state
        self._urls = urls
        self.provenance: Provenance | None = None
        #: For a cached copy of a remembered page (page_memory.py): that page's record,
        #: its pushes made again in this request.
        self.cached: PageRecord | None = None

    @property
    def urls(self) -> RequestUrls:
        """The request's resolver, made at the page's first push: a page that pushes
        nothing (it only rendered templates) never needs one."""
        urls = self._urls
        if urls is None:
            urls = self._urls = self.state.resolver.for_request()
        return urls

    @classmethod
    def predicted(
        cls, state: PushState, templates: list[str], view_manifests: list[str]
    ) -> PageRecord:
        """The record of a page before it runs: the templates it is predicted to render
        and its view's manifests, nothing pushed yet."""
        record = cls(state)  # its resolver is the request's, made when first needed
        record.templates = templates
        record.view_manifests = view_manifests
        return record

    def remembered(self) -> RememberedPage:
        """What this page recorded, before any URL was built: what a cached copy needs."""
        pushes = tuple(self.pushes or ())
        return RememberedPage(pushes, tuple(self.templates), tuple(self.view_manifests))

    def copy_of(self, page: RememberedPage) -> None:
        """Make this the record of a cached copy of ``page``: its pushes made again for
        this request (:attr:`cached`)."""
        record = PageRecord(self.state, self.urls)
        replay(page.pushes, record)
        record.templates = list(page.templates)
        record.view_manifests = list(page.view_manifests)
        self.cached = record


def page_record() -> PageRecord | None:
    """This request's record, created on first use; ``None`` outside a request."""
    if not has_request_context():
        return None
    # The objects behind the proxies, fetched once: each method call through a proxy costs
    # as much as a push, and this runs for every push and every render.
    real_g = g._get_current_object()
    record: PageRecord | None = real_g.get(_G_ATTRIBUTE)
    if record is None:
        state = get_state(current_app._get_current_object())  # type: ignore[attr-defined]
        record = PageRecord(state)
        memory = state.page_memory
        if memory.active:
            endpoint = request.endpoint
            if endpoint is not None and memory.caches(endpoint):
                record.pushes = []
        setattr(real_g, _G_ATTRIBUTE, record)
    return record


class _TemplateRecorder(Environment):
    """Records each template a view renders by name on the request's page.

    Flask's ``render_template`` and ``stream_template`` select their template with
    ``get_or_select_template(name)``; Jinja calls it too, for a ``{% include %}`` of a
    variable, but then with the including template as ``parent``. So a page records the
    templates Flask's ``before_render_template`` signal announces, for less: a receiver of
    that signal cost each response about 19,000 CPU instructions (blinker's receiver
    lookup and coroutine check), 2 % of a minimal Flask page (issue 11's benchmark).
    """

    def get_or_select_template(
        self,
        template_name_or_list: str | Template | list[str | Template],
        parent: str | None = None,
        globals: MutableMapping[str, Any] | None = None,
    ) -> Template:
        template = super().get_or_select_template(template_name_or_list, parent, globals)
        if parent is None and template.name is not None:
            page = page_record()
            if page is not None:
                page.templates.append(template.name)
        return template


def record_rendered_templates(env: Environment) -> None:
    """Make ``env`` (an app's ``jinja_env``) record the templates its views render.

    Jinja has no hook for it and the app made ``env`` already: its class becomes a
    subclass of its own class (Flask's, or the app's ``jinja_environment``) that records,
    so everything else about it is unchanged, overlays included.
    """
    if isinstance(env, _TemplateRecorder):
        return
    base = type(env)
    recording = _RECORDING_CLASSES.get(base)
    if recording is None:
        recording = type(f"Recording{base.__name__}", (_TemplateRecorder, base), {})
        _RECORDING_CLASSES[base] = recording
    env.__class__ = recording


#: One recording class per environment class, so that every app's is the same class.
_RECORDING_CLASSES: dict[type[Environment], type[Environment]] = {}


def recorded_page() -> PageRecord | None:
    """This request's record if anything was recorded, without creating one."""
    if not has_request_context():
        return None
    return g._get_current_object().get(_G_ATTRIBUTE)  # type: ignore[no-any-return]


def record_push(
    asset: Any,
    destination: Any = None,
    attributes: Mapping[str, Any] | None = None,
    origin: str | None = None,
    endpoint: Any = None,
) -> str:
    """Record a push of ``asset`` (a static file name, a path or a URL); return its URL.

    This is the tag's recorder (``app.jinja_env.push_templates_recorder``) and
    ``push_url()``'s body. Outside a request the URL is returned and nothing recorded.
    ``endpoint`` names the endpoint that serves a static file name (``'admin.static'``).
    """
    if not isinstance(asset, str) or not asset:
        raise PushError(f"push: the asset must be a file name, path or URL, not {asset!r}")
    if destination is not None and not isinstance(destination, str):
        raise PushError(f"push of {asset!r}: the destination must be a string, not {destination!r}")
    endpoint = check_endpoint(asset, endpoint)
    attributes = attributes or {}
    record = page_record()
    if record is not None:
        urls: RequestUrls | None = record.urls
    elif has_app_context():
        urls = get_state(current_app).resolver.for_request()
    elif is_url(asset):
        urls = None
    else:
        raise PushError(
            f"push of {asset!r}: a static file name becomes a URL only in a Flask app context"
        )
    if record is not None and record.pushes is not None:
        record.pushes.append((_push_again, asset, destination, attributes, origin, endpoint))
    try:
        return _record(urls, asset, destination, attributes, record, origin, endpoint)
    except UnresolvableAsset as error:
        if origin is None:
            raise  # push_url() must return a URL
        # A tag renders nothing: a layout's push of an unknown endpoint must not break
        # every page.
        get_state(current_app).resolver.left_out(error)
        return ""


def _push_again(
    record: PageRecord,
    asset: str,
    destination: str | None,
    attributes: Mapping[str, Any],
    origin: str | None,
    endpoint: str | None,
) -> None:
    _record(record.urls, asset, destination, attributes, record, origin, endpoint)


def record_endpoint_push(
    endpoint: str, values: dict[str, Any], destination: Any, attributes: Mapping[str, Any]
) -> str:
    """Record a push of ``url_for(endpoint, **values)``; return its URL (``push_url_for()``'s
    body)."""
    record = page_record()
    if record is None:
        url = get_state(current_app).resolver.for_request().endpoint_url(endpoint, values)
        record_link(url, destination, attributes)
        return url
    if record.pushes is not None:
        record.pushes.append((_push_endpoint, endpoint, values, destination, attributes))
    return _push_endpoint(record, endpoint, values, destination, attributes)


def _push_endpoint(
    record: PageRecord,
    endpoint: str,
    values: dict[str, Any],
    destination: Any,
    attributes: Mapping[str, Any],
) -> str:
    url = record.urls.endpoint_url(endpoint, values)
    record_link(url, destination, attributes, record)
    return url


def replay(pushes: Iterable[PushMade], record: PageRecord) -> None:
    """Make ``pushes`` again in ``record``, for its request; a push that fails is left out,
    as it was from the page (a tag's) or as it broke it (the page was served all the same)."""
    for make, *arguments in pushes:
        try:
            make(record, *arguments)
        except UnresolvableAsset as error:
            record.state.resolver.left_out(error)
        except PushError:
            continue


def _record(
    urls: RequestUrls | None,
    asset: str,
    destination: str | None,
    attributes: Mapping[str, Any],
    record: PageRecord | None,
    origin: str | None,
    endpoint: str | None,
) -> str:
    if urls is None:
        url = asset
    elif endpoint is not None:
        url = urls.static_url(asset, endpoint)
    else:
        entry = urls.entry(asset, attributes) if destination is None and urls.vite else None
        if entry is not None:
            # A Vite entry stands for its files; its URL is its own file's.
            pushes, url = entry
            for push in pushes:
                link_attributes = dict(push.attributes)
                record_link(urls.url(push.asset), push.destination, link_attributes, record, origin)
            return url
        url = urls.url(asset)
    record_link(url, destination, attributes, record, origin)
    return url


def record_link(
    url: str,
    destination: str | None,
    attributes: Mapping[str, Any],
    record: PageRecord | None = None,
    origin: str | None = None,
) -> None:
    """Validate a push of ``url`` and record it for this request (if there is one)."""
    if record is None:
        record = page_record()
    if record is not None and record.urls.refused:
        return  # the request's script root is not a path: its URLs cannot be links
    link = build_link(url, destination, attributes.items())
    if record is not None:
        record.links.add(link, explicit=destination is not None or bool(attributes))
        if record.provenance is not None:
            record.provenance.add(link.url, origin)
