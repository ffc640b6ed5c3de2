"""``flask push show``'s engine: the ``Link`` header a page gets, and where each link came from.

The page is requested through the test client with its record's provenance switched on
(:class:`~..recording.Provenance`): the tag says which template and line pushed each
asset, ``push_url()`` is placed in the template being rendered, and the extension notes
the links it added to the header. The sources of every other link are the pipeline's own
(:func:`~..pipeline.link_sources`), so what is shown is what was served, by construction.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from flask import Flask, Response, request
from flask.signals import (
    before_render_template,
    request_finished,
    request_started,
    template_rendered,
)
from jinja2 import Template

from ..early_hints import hint_header
from ..pipeline import (
    CACHED_PAGE,
    CONSTANT_PUSHES,
    MANIFEST,
    MANIFEST_GROUP,
    RECORDED,
    VIEW_MANIFEST,
    LinkSource,
    link_sources,
    merge,
)
from ..recording import PageRecord, Provenance, page_record, recorded_page
from ..state import PushState, get_state
from .checks import display_path
from .crawl import SiteCrawler

#: The source of a link that only the view's own ``Link`` header names.
OWN_HEADER = "the view's own Link header"
#: The source of the preconnects the pipeline adds (pipeline.preconnects).
PRECONNECT = "PUSH_PRECONNECT: an origin the other links fetch from"


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
    #: A streamed page's pushes made while its body rendered: after its header had left.
    after_header: list[ShownLink] = field(default_factory=list)


def explain(crawler: SiteCrawler, path: str) -> PageLinks:
    """Request ``path`` with the crawler's client and explain its ``Link`` header."""
    app = crawler.app
    state = get_state(app)
    page = PageLinks(path)
    client = crawler.client  # set up (logged in) before the page's contexts
    cold_hint = _early_hint(crawler, state, path)
    header_time: list[HeaderTime] = []
    with _track_provenance(app), _watch_header(app, state, header_time), client:
        try:
            response = client.get(path)
        except Exception as error:
            page.error = f"raised {type(error).__name__}: {error}"
            return page
        with response:
            page.status = response.status
            page.endpoint = request.endpoint
            page.fields = response.headers.getlist("Link")
            page.no_links = _why_no_links(response.status_code, response.mimetype, state)
            # A streamed body renders now, recording the pushes its header could not carry.
            response.get_data()
            record = recorded_page()
            page.templates = list(record.templates) if record is not None else []
            if record is not None and header_time:
                sources = list(header_time[0].sources)
                _attribute(page, record, sources)
                if header_time[0].streamed:
                    page.after_header = _after_header(record, header_time[0].recorded, sources)
            if state.early_hints is not None and page.endpoint is not None:
                page.early_hints = (cold_hint, hint_header(app, state, page.endpoint))
    return page


@dataclass(frozen=True)
class HeaderTime:
    """What was known when the ``Link`` header was made (the request finished; a streamed
    body had not rendered yet)."""

    streamed: bool
    #: The URLs the page had recorded then.
    recorded: frozenset[str]
    #: The pipeline's sources then: what the header was made of.
    sources: tuple[LinkSource, ...]


@contextmanager
def _watch_header(app: Flask, state: PushState, seen: list[HeaderTime]) -> Iterator[None]:
    def finished(sender: Flask, response: Response, **extra: Any) -> None:
        record = recorded_page()
        if record is None:
            return
        streamed = response.is_streamed
        sources = list(link_sources(app, state, record, body_rendered=not streamed))
        # The record goes on growing while a streamed body renders: keep it as it was.
        sources[0] = replace(sources[0], links=record.links.copy())
        recorded = frozenset(link.url for link in record.links)
        seen.append(HeaderTime(streamed, recorded, tuple(sources)))

    with request_finished.connected_to(finished, app):
        yield


def _after_header(
    record: PageRecord, recorded: frozenset[str], sources: list[LinkSource]
) -> list[ShownLink]:
    """The links a streamed page pushed after its header left, that no source of the
    header names either."""
    named = {link.url for source in sources for link in source.links}
    origins = record.provenance.by_url if record.provenance is not None else {}
    return [
        ShownLink(link.header_value, link.url, origins.get(link.url, []))
        for link in record.links
        if link.url not in recorded and link.url not in named
    ]


def _early_hint(crawler: SiteCrawler, state: PushState, path: str) -> str | None:
    """The 103 a worker that has seen no request yet would send for ``path``."""
    if state.early_hints is None:
        return None
    app = crawler.app
    with app.test_request_context(path, base_url=crawler.client.base_url):
        endpoint = request.endpoint
        return hint_header(app, state, endpoint) if endpoint is not None else None


@contextmanager
def _track_provenance(app: Flask) -> Iterator[None]:
    """Switch the record's provenance on for the requests made meanwhile."""

    def started(sender: Flask, **extra: Any) -> None:
        record = page_record()
        if record is not None:
            record.provenance = Provenance(request.endpoint)

    def rendering(sender: Flask, template: Template, **extra: Any) -> None:
        provenance = _provenance()
        if provenance is not None:
            provenance.rendering.append(template.name or "<string>")

    def rendered(sender: Flask, template: Template, **extra: Any) -> None:
        provenance = _provenance()
        if provenance is not None and provenance.rendering:
            provenance.rendering.pop()

    with ExitStack() as stack:
        stack.enter_context(request_started.connected_to(started, app))
        stack.enter_context(before_render_template.connected_to(rendering, app))
        stack.enter_context(template_rendered.connected_to(rendered, app))
        yield


def _provenance() -> Provenance | None:
    record = recorded_page()
    return None if record is None else record.provenance


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


def describe(source: LinkSource) -> str:
    """A pipeline source as ``flask push show`` names it."""
    if source.kind == VIEW_MANIFEST:
        return f"@http2push manifest {display_path(source.path or '')}"
    if source.kind == CACHED_PAGE:
        rendered = ", ".join(source.templates) or "no template"
        return f"the cached page's pushes (remembered from its render of {rendered})"
    if source.kind == CONSTANT_PUSHES:
        return f"{{% push %}} in {', '.join(source.templates)} (read before streaming)"
    if source.kind == MANIFEST_GROUP:
        return f"manifest {display_path(source.path or '')} [{source.templates[0]}]"
    if source.kind == MANIFEST:
        return f"manifest {display_path(source.path or '')} (every page)"
    return "the page's pushes"


def sources_by_url(sources: Iterable[LinkSource]) -> dict[str, list[str]]:
    """Every source naming each URL, in merge order."""
    by_url: dict[str, list[str]] = {}
    for source in sources:
        for link in source.links:
            if source.kind == RECORDED and source.origins is not None:
                names = source.origins.get(link.url, [describe(source)])
            else:
                names = [describe(source)]
            known = by_url.setdefault(link.url, [])
            known.extend(name for name in names if name not in known)
    return by_url


def _attribute(page: PageLinks, record: PageRecord, sources: list[LinkSource]) -> None:
    by_url = sources_by_url(sources)
    added = record.provenance.header if record.provenance is not None else []
    added_field = ", ".join(link.header_value for link in added) if added else None
    named: set[str] = set()
    for field_value in page.fields:
        if field_value == added_field:
            for link in added:
                named_by = by_url.get(link.url, [])
                if not named_by and link.rel == "preconnect":
                    named_by = [PRECONNECT]
                page.links.append(ShownLink(link.header_value, link.url, named_by))
                named.add(link.url)
            continue
        for value in split_link_values(field_value):
            url = _target(value)
            page.links.append(ShownLink(value, url, [OWN_HEADER, *by_url.get(url, [])]))
            named.add(url)
    if page.no_links is None:
        for link in merge(iter(sources)).by_priority():
            if link.url not in named:
                page.left_out.append(ShownLink(link.header_value, link.url, by_url[link.url]))


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
