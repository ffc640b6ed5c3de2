"""``flask push show``'s engine: the ``Link`` header a page gets, and where each link came from.

The core merges links without remembering their sources (a ``LinkSet`` keeps one link per
URL). Rather than make every request pay for bookkeeping, the sources are recomputed here
for one request: the request's own record says what views and templates pushed, and the
manifests it used are read again to see which of them name each URL. Which template
pushed what is told by watching the render signals during the request.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, request
from flask.signals import before_render_template, request_finished, template_rendered
from jinja2 import Template

from .checks import display_path
from .early_hints import hint_header
from .headers import collect_links, manifest_links
from .links import Link, build_link
from .linkset import LinkSet
from .recording import RequestPushes, recorded_pushes, request_pushes
from .state import PushState, get_state
from .urls import asset_url

#: The source of a link that only the view's own ``Link`` header names.
OWN_HEADER = "the view's own Link header"


@dataclass
class ShownLink:
    """One link-value of the response's ``Link`` header, with where it came from."""

    value: str
    url: str
    sources: list[str]


@dataclass
class PageLinks:
    """What ``flask push show`` prints about one page."""

    path: str
    status: str = ""
    endpoint: str | None = None
    templates: list[str] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    links: list[ShownLink] = field(default_factory=list)
    #: Links the page pushed that the header does not name: over the budget.
    left_out: list[ShownLink] = field(default_factory=list)
    #: Why the response has no links at all (a 404, a JSON response...).
    no_links: str | None = None
    error: str | None = None
    #: The predicted 103's Link value: on a fresh worker, and once this request was seen.
    early_hints: tuple[str | None, str | None] | None = None


@dataclass
class _RenderWindow:
    """The links a template's render recorded: pushes.links[start:end]."""

    name: str
    start: int
    end: int | None = None


def explain(app: Flask, path: str) -> PageLinks:
    """Request ``path`` through the test client and explain its ``Link`` header."""
    state = get_state(app)
    page = PageLinks(path)
    cold_hint = _early_hint(app, state, path)
    windows: list[_RenderWindow] = []
    streamed: list[bool] = []
    client = app.test_client()
    with _watch_renders(app, windows), _watch_streaming(app, streamed), client:
        try:
            response = client.get(path)
        except Exception as error:
            page.error = f"raised {type(error).__name__}: {error}"
            return page
        with response:
            page.status = response.status
            page.endpoint = request.endpoint
            pushes = recorded_pushes()
            page.templates = list(pushes.templates) if pushes is not None else []
            page.fields = response.headers.getlist("Link")
            page.no_links = _why_no_links(response.status_code, response.mimetype, state)
            # The test client's response always looks streamed; the app's may not have been.
            was_streamed = bool(streamed and streamed[0])
            collected = collect_links(app, state, pushes, streamed=was_streamed)
            sources = _Sources(app, state, pushes, windows, was_streamed, page.endpoint)
            _attribute(page, collected, sources)
            if state.early_hints is not None and page.endpoint is not None:
                page.early_hints = (cold_hint, hint_header(app, state, page.endpoint))
    return page


def _early_hint(app: Flask, state: PushState, path: str) -> str | None:
    """The 103 a worker that has seen no request yet would send for ``path``."""
    if state.early_hints is None:
        return None
    with app.test_request_context(path):
        endpoint = request.endpoint
        return hint_header(app, state, endpoint) if endpoint is not None else None


@contextmanager
def _watch_renders(app: Flask, windows: list[_RenderWindow]) -> Iterator[None]:
    open_windows: list[_RenderWindow] = []

    def started(sender: Flask, template: Template, **extra: Any) -> None:
        pushes = request_pushes()
        window = _RenderWindow(template.name or "<string>", len(pushes.links) if pushes else 0)
        windows.append(window)
        open_windows.append(window)

    def finished(sender: Flask, template: Template, **extra: Any) -> None:
        if open_windows:
            pushes = recorded_pushes()
            open_windows.pop().end = len(pushes.links) if pushes is not None else 0

    with ExitStack() as stack:
        stack.enter_context(before_render_template.connected_to(started, app))
        stack.enter_context(template_rendered.connected_to(finished, app))
        yield


@contextmanager
def _watch_streaming(app: Flask, streamed: list[bool]) -> Iterator[None]:
    def finished(sender: Flask, response: Response, **extra: Any) -> None:
        streamed.append(response.is_streamed)

    with request_finished.connected_to(finished, app):
        yield


def _why_no_links(status: int, mimetype: str | None, state: PushState) -> str | None:
    """Why a response gets no links (headers.wants_links' conditions, spelled out), or
    ``None`` if it gets them."""
    settings = state.settings
    if not settings.enabled:
        return "PUSH_ENABLED is False"
    if not 200 <= status < 300:
        return f"only 2xx responses get links, this one is {status}"
    if mimetype not in settings.mimetypes:
        accepted = ", ".join(sorted(settings.mimetypes))
        return f"{mimetype or 'no content type'} is not in PUSH_MIMETYPES ({accepted})"
    return None


class _Sources:
    """Every place that names a URL for this request, in the core's order of merging."""

    def __init__(
        self,
        app: Flask,
        state: PushState,
        pushes: RequestPushes | None,
        windows: list[_RenderWindow],
        streamed: bool,
        endpoint: str | None,
    ) -> None:
        self.by_url: dict[str, list[str]] = {}
        self.endpoint = endpoint
        if pushes is None:
            templates: list[str] = []
        else:
            templates = state.templates.closure(app.jinja_env, pushes.templates)
            self._recorded(app, state, pushes, windows, templates)
            for path in pushes.view_manifests:
                manifest = state.manifests.get(path, app.jinja_env.auto_reload)
                if manifest is not None:
                    self._add_all(
                        manifest_links(state, manifest.entries),
                        _manifest_name(path, "@http2push manifest"),
                    )
            if streamed:
                for name in templates:
                    for url in self._static_push_urls(app, state, name):
                        self._add(url, f"{{% push %}} in {name} (read before streaming)")
        self._app_manifest(app, state, templates)

    def _recorded(
        self,
        app: Flask,
        state: PushState,
        pushes: RequestPushes,
        windows: list[_RenderWindow],
        templates: list[str],
    ) -> None:
        static_pushers: dict[str, str] = {}
        for name in reversed(templates):  # the page's own push wins over its base's
            for url in self._static_push_urls(app, state, name):
                static_pushers[url] = name
        for index, link in enumerate(pushes.links):
            if link.url in static_pushers:
                self._add(link.url, f"{{% push %}} in {static_pushers[link.url]}")
                continue
            window = _innermost(windows, index)
            if window is not None:
                self._add(link.url, f"push in template {window.name} (push_url or dynamic push)")
            else:
                self._add(link.url, f"view {self.endpoint!r} (push_url or push_url_for)")

    @staticmethod
    def _static_push_urls(app: Flask, state: PushState, name: str) -> Iterator[str]:
        for push in state.templates.info(app.jinja_env, name).static_pushes:
            url = asset_url(push.asset, state.settings.static_endpoint)
            yield build_link(url, push.destination, push.attributes).url

    def _app_manifest(self, app: Flask, state: PushState, templates: list[str]) -> None:
        path = state.manifest_path
        manifest = state.manifests.get(path, app.jinja_env.auto_reload) if path else None
        if path is None or manifest is None:
            return
        name = _manifest_name(path, "manifest")
        for template in templates:
            group = manifest.groups.get(template, ())
            self._add_all(manifest_links(state, group), f"{name} [{template}]")
        self._add_all(manifest_links(state, manifest.entries), f"{name} (every page)")

    def _add_all(self, links: Iterable[Link], source: str) -> None:
        for link in links:
            self._add(link.url, source)

    def _add(self, url: str, source: str) -> None:
        sources = self.by_url.setdefault(url, [])
        if source not in sources:
            sources.append(source)


def _manifest_name(path: str, kind: str) -> str:
    return f"{kind} {display_path(path)}"


def _innermost(windows: list[_RenderWindow], index: int) -> _RenderWindow | None:
    inside = [
        window
        for window in windows
        if window.start <= index and (window.end is None or index < window.end)
    ]
    return inside[-1] if inside else None


def _attribute(page: PageLinks, collected: LinkSet, sources: _Sources) -> None:
    collected_values = {link.url: link for link in collected}
    core_values = {link.header_value for link in collected} | {
        link.with_nopush().header_value for link in collected
    }
    named: set[str] = set()
    for index, field_value in enumerate(page.fields):
        values = split_link_values(field_value)
        # The core adds its field last, made only of links it collected.
        from_core = index == len(page.fields) - 1 and all(v in core_values for v in values)
        for value in values:
            url = _target(value)
            found = (
                list(sources.by_url.get(url, [])) if from_core or url in collected_values else []
            )
            if not from_core:
                found.insert(0, OWN_HEADER)
            page.links.append(ShownLink(value, url, found))
            named.add(url)
    for link in collected.by_priority():
        if link.url not in named:
            page.left_out.append(
                ShownLink(link.header_value, link.url, sources.by_url.get(link.url, []))
            )


def _target(link_value: str) -> str:
    start, end = link_value.find("<"), link_value.find(">")
    return link_value[start + 1 : end] if 0 <= start < end else link_value


def split_link_values(field_value: str) -> list[str]:
    """The link-values of one ``Link`` field, split at the commas between them (not at
    those inside ``<...>`` or a quoted string)."""
    values: list[str] = []
    current: list[str] = []
    in_target = in_quotes = escaped = False
    for char in field_value:
        if escaped:
            escaped = False
        elif in_quotes and char == "\\":
            escaped = True
        elif char == '"' and not in_target:
            in_quotes = not in_quotes
        elif char == "<" and not in_quotes:
            in_target = True
        elif char == ">" and not in_quotes:
            in_target = False
        elif char == "," and not in_target and not in_quotes:
            values.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    values.append("".join(current).strip())
    return [value for value in values if value]
