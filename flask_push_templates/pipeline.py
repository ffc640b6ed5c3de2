"""Which links a page gets, and where each came from: the one place this is computed.

A page's links come from these sources, in this order of mention (:func:`link_sources`):

1. what the page recorded (views and templates: tags, ``push_url()``, ``push_url_for()``);
2. for a cached copy of a page (a cache hit, which renders nothing), what that page
   recorded when it rendered, its pushes made again for this request (:mod:`.page_memory`);
   its templates and view manifests count as the page's own in the sources below;
3. the ``@http2push`` manifests of its view;
4. when its body is not rendered yet (a streamed page, a 103 Early Hint), the constant
   pushes that certainly run in its templates, read from their source;
5. the ``PUSH_MANIFEST`` groups of the templates it rendered, and of the templates those
   extend or include;
6. the ``PUSH_MANIFEST`` entries for every page.

They are merged by URL (:class:`~.linkset.LinkSet`), ordered by weight, led by a
``rel=preconnect`` for each other origin they name (:func:`preconnects`), then prepared for
a header (:func:`prepare`: CSP nonce, ``nopush``) and cut to the budget (:func:`fit_links`).
A large manifest is resolved and ordered once per version and request key, and a response
reads only as many of its links as the header takes (:func:`merge`, :class:`LinkStream`).
The final ``Link`` header, the 103, ``push_link_tags()``, ``flask push show`` and
``flask push check`` all consume these functions, so that what the tools print is what is
served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TypeGuard, overload
from urllib.parse import urlsplit

from flask import Flask, request

from . import push_once
from .attributes import build_link
from .csp import request_nonce, with_nonce
from .destinations import CONNECTION_RELATIONS, RELATIONS
from .links import Link
from .linkset import LinkSet, MergedLinks, RankedLinks
from .pushes import AssetPush
from .recording import PageRecord
from .resolver import RequestUrls
from .state import PushState
from .uri import names_host

#: The kinds of :class:`LinkSource`, in merge order.
RECORDED = "recorded"
CACHED_PAGE = "cached page"
VIEW_MANIFEST = "view manifest"
CONSTANT_PUSHES = "constant pushes"
MANIFEST_GROUP = "manifest group"
MANIFEST = "manifest"


@dataclass(frozen=True)
class LinkSource:
    """One source of a page's links, and the links it names."""

    kind: str
    links: Sequence[Link] | LinkSet
    #: The manifest file, for manifest sources.
    path: str | None = None
    #: The templates whose pushes or group this is.
    templates: tuple[str, ...] = ()
    #: For the recorded links while a page is explained: where each URL was pushed.
    origins: Mapping[str, list[str]] | None = None
    #: For manifest sources: the same links merged and ordered once per manifest version
    #: and request key (``RequestUrls.ranked``), so that a response reads only its first
    #: ones; ``None`` where they cannot be remembered.
    ranked: RankedLinks | None = None


def link_sources(
    app: Flask, state: PushState, page: PageRecord, body_rendered: bool
) -> Iterator[LinkSource]:
    """The sources of ``page``'s links, in merge order (see the module's docstring).

    :param body_rendered: the page's templates have run (their pushes are recorded).
        ``False`` for a streamed page, whose body is rendered after its headers leave, and
        for a 103, sent before the view runs.
    """
    env = app.jinja_env
    origins = None if page.provenance is None else page.provenance.by_url
    yield LinkSource(RECORDED, page.links, origins=origins)
    urls = page.urls
    manifests = state.manifests
    templates, view_manifests = page.templates, page.view_manifests
    cached = page.cached
    if cached is not None:
        yield LinkSource(CACHED_PAGE, cached.links, templates=tuple(cached.templates))
        templates = [*templates, *cached.templates]
        view_manifests = [*view_manifests]
        view_manifests.extend(p for p in cached.view_manifests if p not in view_manifests)
    for path in view_manifests:
        manifest = manifests.get(path, env.auto_reload)
        if manifest is not None:
            yield _manifest_source(VIEW_MANIFEST, urls, manifest.entries, manifests.version, path)
    if not body_rendered:
        pushes = state.templates.certain_pushes(env, templates)
        links = [link for push in pushes for link in urls.push_links(push)]
        yield LinkSource(CONSTANT_PUSHES, links, templates=tuple(templates))
    if state.manifest_path is None:
        return
    app_manifest = manifests.get(state.manifest_path, env.auto_reload)
    if app_manifest is None:
        return
    # Read after the manifest: the version that replaced any older one it was read with
    # (what resolved it is then forgotten: RequestUrls.ranked).
    version = manifests.version
    if app_manifest.groups:
        for name in state.templates.closure(env, templates):
            group = app_manifest.groups.get(name)
            if group is not None:
                yield _manifest_source(
                    MANIFEST_GROUP, urls, group, version, state.manifest_path, (name,)
                )
    yield _manifest_source(MANIFEST, urls, app_manifest.entries, version, state.manifest_path)


def _manifest_source(
    kind: str,
    urls: RequestUrls,
    pushes: tuple[AssetPush, ...],
    version: int,
    path: str,
    templates: tuple[str, ...] = (),
) -> LinkSource:
    ranked = urls.ranked(pushes, version)
    links = urls.links(pushes, version) if ranked is None else ranked.links
    return LinkSource(kind, links, path, templates=templates, ranked=ranked)


#: What :func:`collect_links` gives: the page's record when there is nothing to merge.
PageLinks = LinkSet | MergedLinks


def collect_links(
    app: Flask, state: PushState, page: PageRecord, body_rendered: bool = True
) -> PageLinks:
    """Every link of ``page``, merged."""
    if (
        body_rendered
        and not page.view_manifests
        and state.manifest_path is None
        and page.cached is None
    ):
        return page.links  # the common case: nothing to merge, the record is the answer
    return merge(link_sources(app, state, page, body_rendered))


#: From how many remembered manifest links a merge is lazy (:class:`~.linkset.MergedLinks`):
#: below, adding them all costs less than setting a lazy merge up.
LAZY_MERGE = 256


def merge(sources: Iterable[LinkSource]) -> PageLinks:
    """The links of ``sources`` merged by URL, as :class:`~.linkset.LinkSet` merges them
    when each source is added in turn; the first source is the page's record.

    The record is taken as it is, not re-added: an inferred push must still yield to a
    manifest entry's explicit attributes (manifest entries are written deliberately: they
    count as explicit). With :data:`LAZY_MERGE` or more ranked links (remembered manifests),
    those are read only as far as they are used (:class:`~.linkset.MergedLinks`).
    """
    sources = iter(sources)
    recorded = next(sources)
    first = recorded.links if isinstance(recorded.links, LinkSet) else LinkSet()
    rest = list(sources)
    cached = rest[0].links if rest else None
    if isinstance(cached, LinkSet):
        # A cached page's record (it comes right after the page's own): merged as the
        # page's own, keeping which of its links were given explicitly.
        first = first.copy()
        first.include(cached)
        del rest[0]
    if sum(len(source.links) for source in rest if source.ranked is not None) < LAZY_MERGE:
        links = first.copy()
        for source in rest:
            links.update(source.links)
        return links
    return MergedLinks(
        first, [source.links if source.ranked is None else source.ranked for source in rest]
    )


class LinkStream(Sequence[Link]):
    """Links made as they are read, and kept once made: a header reads only the first
    ones of a large merge (:func:`fit_links` stops when it is full), and may read them
    more than once (the push-once cookie's reserve, then the budget).

    Every step between the merge and the budget only drops links or makes them longer
    (a nonce, ``nopush``), so :attr:`shortest` holds all the way.
    """

    __slots__ = ("_made", "_source", "shortest")

    def __init__(self, links: Iterable[Link], shortest: int) -> None:
        self._made: list[Link] = []
        self._source: Iterator[Link] | None = iter(links)
        #: No link here is shorter: once the header has less room, nothing more can fit.
        self.shortest = shortest

    def _make(self, count: int) -> bool:
        """Make links until ``count`` are made; whether there are that many."""
        made = self._made
        while len(made) < count and self._source is not None:
            link = next(self._source, None)
            if link is None:
                self._source = None
            else:
                made.append(link)
        return len(made) >= count

    def longer_than(self, count: int) -> bool:
        """Whether there are more than ``count`` links (making at most one more)."""
        return self._make(count + 1)

    def __iter__(self) -> Iterator[Link]:
        made = self._made
        index = 0
        while index < len(made) or self._make(index + 1):
            yield made[index]
            index += 1

    def __len__(self) -> int:
        if self._source is not None:
            self._made.extend(self._source)
            self._source = None
        return len(self._made)

    @overload
    def __getitem__(self, index: int) -> Link: ...

    @overload
    def __getitem__(self, index: slice) -> list[Link]: ...

    def __getitem__(self, index: int | slice) -> Link | list[Link]:
        if isinstance(index, slice) or index < 0:
            len(self)
        else:
            self._make(index + 1)
        return self._made[index]

    def then(self, step: Callable[[Iterable[Link]], Iterable[Link]]) -> LinkStream:
        """The links ``step`` makes of these, lazily; ``step`` only drops links or makes
        them longer."""
        return LinkStream(step(self), self.shortest)


def is_stream(links: Iterable[Link]) -> TypeGuard[LinkStream]:
    """Whether ``links`` is a :class:`LinkStream`. By exact type: ``isinstance`` against a
    ``collections.abc`` subclass runs ``ABCMeta.__instancecheck__`` in Python for a list,
    and every response asks this several times."""
    return type(links) is LinkStream


def select(links: Sequence[Link], wanted: Callable[[Link], bool]) -> Sequence[Link]:
    """The links of ``links`` that are ``wanted``, in order (lazily for a stream:
    ``wanted`` is asked once per link, in order, and only as far as the links are read)."""
    if is_stream(links):
        return links.then(lambda stream: filter(wanted, stream))
    return [link for link in links if wanted(link)]


def longer_than(links: Sequence[Link], count: int) -> bool:
    """Whether ``links`` has more than ``count`` links (a stream makes at most one more):
    whether a header of ``count`` of them left some out."""
    if is_stream(links):
        return links.longer_than(count)
    return len(links) > count


def header_candidates(links: PageLinks, state: PushState) -> Sequence[Link]:
    """A header's links before it is prepared: by priority, led by the preconnects to
    other origins (``PUSH_PRECONNECT``), which are few, small, and what a connection to a
    CDN waits for first. Needs a request context (the page's origin).

    A page's record alone gives a list; a merge with a manifest gives a
    :class:`LinkStream`, which makes only the links that are read.
    """
    ordered: Sequence[Link]
    if isinstance(links, LinkSet):
        ordered = named = links.by_priority()
        if not links.names_hosts:
            return ordered  # most pages name no other origin
    else:
        ordered = LinkStream(links.by_priority(), links.shortest)
        # What decides the preconnects, without making every link.
        named = links.origin_links()
    # Most pages name no other origin: the page's own is looked up only for those that do.
    if not state.settings.preconnect or not any(names_host(link.url) for link in named):
        return ordered
    leading = preconnects(named, request.host_url.rstrip("/").lower())
    if not is_stream(ordered):
        return [*leading, *ordered]
    shortest = min([ordered.shortest, *(len(link.header_value) for link in leading)])
    return LinkStream(chain(leading, ordered), shortest)


def preconnects(links: Iterable[Link], page_origin: str) -> list[Link]:
    """A ``rel=preconnect`` link for each origin other than ``page_origin`` that ``links``
    fetch from, in order of first mention, unless one is named already.

    The connection to a CDN or a font host is what a preload of its assets waits for
    first; Safari acts on nothing else in a 103. Assets fetched in CORS mode (fonts,
    modules, ``fetch``, anything with ``crossorigin``) use another connection than the
    others, so their origin gets a preconnect with ``crossorigin``.
    """
    named: set[tuple[str, bool]] = set()
    wanted: dict[tuple[str, bool], None] = {}
    for link in links:
        origin = _origin(link.url, page_origin)
        if origin is None:
            continue
        cors = link.param("crossorigin") is not None
        if link.rel in CONNECTION_RELATIONS:
            named.add((origin, cors))
        elif origin != page_origin:
            wanted.setdefault((origin, cors), None)
    return [
        build_link(origin, None, (("rel", "preconnect"), ("crossorigin", cors and "")))
        for origin, cors in wanted
        if (origin, cors) not in named
    ]


def _origin(url: str, page_origin: str) -> str | None:
    """The origin (``scheme://host[:port]``) a URL is fetched from; ``None`` for a path."""
    if not names_host(url):
        return None  # a path or a relative URL: the page's own origin
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.netloc:
        return None
    scheme = parts.scheme or page_origin.partition(":")[0]
    return f"{scheme.lower()}://{parts.netloc.lower()}"


def prepare(
    links: Sequence[Link],
    state: PushState,
    pushed_before: push_once.PushedDigest | None,
    nonce: bool = True,
) -> Sequence[Link]:
    """``links`` as a header names them: with the request's CSP nonce (if ``nonce``) and
    marked ``nopush`` where a pushing proxy must not push them: those pushed to this
    client before (``PUSH_ONCE``), or all of them (``PUSH_NOPUSH``). Before the budget is
    applied: a nonce and a nopush both take room in the header. A stream stays one."""
    nopush = state.settings.nopush
    nonce_value = request_nonce(state) if nonce else None
    if nonce_value is None and pushed_before is None and not nopush:
        return links  # the common case: nothing to mark

    def step(links: Iterable[Link]) -> Iterable[Link]:
        if nonce_value is not None:
            links = with_nonce(links, nonce_value)
        if pushed_before is not None:
            links = pushed_before.mark(links)
        if nopush:
            links = (link.with_nopush() for link in links)
        return links

    if is_stream(links):
        return links.then(step)
    return list(step(links))


#: No link-value is shorter: a target and a relation.
_SHORTEST_LINK = len("<>; rel=") + min(map(len, RELATIONS))


def fit_links(links: Iterable[Link], max_links: int, max_bytes: int) -> list[Link]:
    """The links of ``links`` that fit ``max_links`` and ``max_bytes`` of header, in order.

    In priority order, a link that does not fit is skipped and the next ones are still
    tried: one long signed URL mentioned first must not push out ten small links that fit.
    """
    kept: list[Link] = []
    # What the field costs so far, counted as field_size counts it: its value and two bytes
    # (each link adds its length and a ", " before it, or the field's two for the first).
    size = 0
    shortest = _SHORTEST_LINK
    if is_stream(links):
        shortest = max(shortest, links.shortest)
    for link in links:
        if len(kept) == max_links or max_bytes - size < shortest + 2:
            break  # full: no further link can fit (a 100,000-entry manifest is not walked)
        grown = size + len(link.header_value) + 2
        if grown <= max_bytes:
            kept.append(link)
            size = grown
    return kept


def left_out(links: Iterable[Link], kept: Sequence[Link]) -> list[Link]:
    """The links of ``links`` that :func:`fit_links` did not keep, in order."""
    chosen = {id(link) for link in kept}
    return [link for link in links if id(link) not in chosen]


def field_size(value: str) -> int:
    """What one field of ``value`` costs against ``PUSH_MAX_HEADER_BYTES``: its value and
    the two bytes that separate it (the unit :func:`fit_links` counts in)."""
    return len(value) + 2


def header_size(links: Sequence[Link]) -> int:
    """The length of the ``Link`` field value these links serialize to."""
    return sum(len(link.header_value) for link in links) + 2 * max(len(links) - 1, 0)
