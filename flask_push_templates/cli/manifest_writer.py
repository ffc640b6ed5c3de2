"""The manifest ``flask push manifest`` writes: the pages' assets grouped by template, merged
with the file already there, as JSON that diffs well.

Each asset found is written as the core resolves it back (:class:`PortableKeys`): a file of
the static folder as its static file name (``css/site.css``), any other URL of the app as
its path below the script root (``/page-data.json``); never the script root, the host, or
a query the app's ``url_defaults`` add (a cache-busting ``?v=``), which the core adds
again for each request. So the file stays right when the app is mounted under another
prefix, and when an asset's version changes, without regenerating.

Regenerating must be safe to repeat, so the existing file is updated rather than replaced:

* its flat entries (assets for every page) are kept as written, and a template's group does
  not list an asset a flat entry already pushes;
* the group of each template rendered in this run is rebuilt from what was found, keeping
  the attributes someone added by hand (``weight``, ``nopush``, ``fetchpriority``...) and the
  key's spelling for assets still found, while ``type`` follows the page;
* groups of templates not rendered in this run (pages whose URLs were not given, pages that
  failed) are kept if the template still exists, and dropped if it does not.

With ``--early-hints FILE`` the same crawl also gives the ``PUSH_EARLY_HINTS_TEMPLATES`` map,
endpoint -> the templates its pages rendered, which lets every worker send a full 103 on
its first request (early_hints.py). It is merged the same way: the entry of each endpoint
requested in this run is rebuilt, entries of endpoints not requested (or whose pages all
failed) are kept if the endpoint still exists, and dropped if it does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from ..manifest import Manifest
from ..pushes import AssetPush
from ..resolver import expand_endpoint
from ..state import get_state
from .crawl import Asset, PageResult

#: The assets found, by template name, then by URL.
Groups = dict[str, dict[str, Asset]]
Spec = dict[str, Any]


def group_assets(results: Iterable[PageResult]) -> Groups:
    """The assets of the pages that rendered, by the template each rendered (pages sharing a
    template are merged; the first page, in path order, decides an asset's attributes)."""
    groups: Groups = {}
    for result in sorted(results, key=lambda result: result.path):
        if result.group is not None and result.error is None and result.skipped is None:
            group = groups.setdefault(result.group, {})
            for key, asset in result.assets.items():
                group.setdefault(key, asset)
    return groups


@dataclass
class ManifestUpdate:
    """The manifest to write, and what the merge kept and dropped."""

    #: Entries for every page, as the existing file had them.
    flat: dict[str, Spec] = field(default_factory=dict)
    groups: dict[str, dict[str, Spec]] = field(default_factory=dict)
    #: Groups of existing templates that were not rendered in this run, kept as they were.
    kept: list[str] = field(default_factory=list)
    #: Groups whose template no longer exists.
    dropped: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {**self.flat, **self.groups}

    def asset_count(self) -> int:
        return len(self.flat) + sum(len(group) for group in self.groups.values())


class PortableKeys:
    """How a URL the crawl found is written in the manifest: as the asset the core resolves
    back to that URL, for any script root and any version (see the module's docstring).

    A file of the static folder is written as its static name, with the query the page
    gave it less what the app's ``url_defaults`` add, when the core resolves that name
    back to exactly the URL found; anything else (a stylesheet's ``url(../fonts/x.woff2)``
    without the cache-buster the page's own links have, another view's URL) as its path
    below the script root, with its query as found.

    :param script_root: the crawl's (``APPLICATION_ROOT``), which the URLs found start with.
    """

    def __init__(self, app: Flask, script_root: str) -> None:
        self.app = app
        self.root = script_root.rstrip("/")
        self.static_endpoint = expand_endpoint(get_state(app).settings.static_endpoint, None)
        # The crawl's host: an existing entry resolved outside a request is an external URL
        # of it when SERVER_NAME is set.
        self.host = app.config.get("SERVER_NAME") or "localhost"
        self.adapter = app.url_map.bind(self.host, script_name=script_root or "/")

    def key(self, url: str) -> str | None:
        """The manifest key of ``url``, a same-origin URL or path found by the crawl;
        ``None`` for a path of the origin outside the app (outside ``APPLICATION_ROOT``),
        which no key can name wherever the app is mounted."""
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != self.host:
            return url  # another origin's: not the app's to respell
        path = parts.path
        if self.root:
            if not path.startswith(self.root + "/"):
                return None
            path = path[len(self.root) :]
        name = self._static_name(path, parts.query)
        return name if name is not None else _with_query(path, parts.query)

    def _static_name(self, path: str, query: str) -> str | None:
        try:
            endpoint, values = self.adapter.match(unquote(path), method="GET")
        except (HTTPException, RequestRedirect):
            return None
        filename = values.get("filename")
        if endpoint != self.static_endpoint or not isinstance(filename, str):
            return None
        # The crawl's request context: its script root is the one the URL was found under.
        with self.app.test_request_context():
            urls = get_state(self.app).resolver.for_request()
            added = parse_qsl(urlsplit(urls.url(filename)).query, keep_blank_values=True)
            own = []
            for parameter in query.split("&") if query else ():
                pair = parse_qsl(parameter, keep_blank_values=True)
                if pair and pair[0] in added:
                    added.remove(pair[0])
                else:
                    own.append(parameter)
            name = _with_query(filename, "&".join(own))
            found = _with_query(self.root + path, query)
            return name if urls.url(name) == found else None


def _with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path


def update_manifest(
    groups: Groups,
    existing: Manifest | None,
    templates: Collection[str],
    url_of: Callable[[str], str],
    key_of: Callable[[str], str | None] = str,
) -> ManifestUpdate:
    """Merge the ``groups`` found with the ``existing`` manifest (see the module docstring).

    ``url_of`` resolves the existing file's asset names to URLs; ``key_of`` turns a URL
    into the key it is written and compared as (:meth:`PortableKeys.key`); an asset found
    with no key is left out.
    """
    update = ManifestUpdate()
    old_flat = existing.entries if existing is not None else ()
    old_groups = existing.groups if existing is not None else {}
    for entry in old_flat:
        update.flat[entry.asset] = entry_spec(entry)
    everywhere = {key_of(url_of(entry.asset)) for entry in old_flat}
    for name, found in groups.items():
        assets: dict[str, Asset] = {}
        for url, asset in found.items():
            key = key_of(url)
            if key is not None:
                assets.setdefault(key, asset)
        previous = {key_of(url_of(entry.asset)): entry for entry in old_groups.get(name, ())}
        group = _rebuilt_group(assets, previous, everywhere)
        if group:
            update.groups[name] = group
    for name, entries in old_groups.items():
        if name in groups:
            continue
        if name in templates:
            update.groups[name] = {entry.asset: entry_spec(entry) for entry in entries}
            update.kept.append(name)
        else:
            update.dropped.append(name)
    return update


def _rebuilt_group(
    assets: dict[str, Asset], previous: dict[str | None, AssetPush], everywhere: set[str | None]
) -> dict[str, Spec]:
    group: dict[str, Spec] = {}
    for key, asset in assets.items():
        if key in everywhere:
            continue  # a flat entry already pushes it on every page
        old = previous.get(key)
        if old is None:
            group[key] = asset.spec()
        else:
            # The entry as it was, with the type (and CORS mode) the page now implies: a
            # weight or any other attribute added by hand survives.
            fresh = {name: value for name, value in asset.spec().items() if name != "weight"}
            group[old.asset] = {**fresh, **dict(old.attributes)}
    return group


def entry_spec(entry: AssetPush) -> Spec:
    """A manifest entry as the JSON object it was read from."""
    spec: Spec = {} if entry.destination is None else {"type": entry.destination}
    spec.update(entry.attributes)
    return spec


def manifest_text(update: ManifestUpdate) -> str:
    """The manifest as JSON that diffs well: sorted, two-space indented, with a trailing
    newline, and the same bytes for the same pages and the same existing file."""
    return json.dumps(update.document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- the PUSH_EARLY_HINTS_TEMPLATES map ---------------------------------------------------

#: A template name -> it and every template it extends, includes or imports
#: (:meth:`.templates.TemplateFacts.closure` for the app's environment).
Closure = Callable[[Iterable[str]], list[str]]


@dataclass
class EndpointTemplates:
    """What the pages of a run say about their endpoints."""

    #: Endpoint -> the templates every page of it rendered (see :func:`endpoint_templates`).
    templates: dict[str, list[str]] = field(default_factory=dict)
    #: Endpoints that answered in this run, pages or not: their old entries are replaced.
    answered: set[str] = field(default_factory=set)
    #: Endpoints whose pages have no template in common: left out, so that workers learn them.
    unpredictable: list[str] = field(default_factory=list)


def endpoint_templates(results: Iterable[PageResult], closure: Closure) -> EndpointTemplates:
    """The templates each endpoint's pages all rendered, in the order the first page (in
    path order) rendered them.

    Only what every page of an endpoint rendered is certain for the next request to it: a
    view that renders ``pages/<slug>.html`` renders a different page each time. When such
    pages share no rendered name but extend or include common templates (their layout),
    those are listed after the shared names, as the workers' own learning would predict.
    An endpoint with nothing in common is left out rather than listed with nothing, since a
    listed endpoint is no longer learned.
    """
    found = EndpointTemplates()
    variants: dict[str, list[tuple[str, ...]]] = {}
    for result in sorted(results, key=lambda result: result.path):
        if result.endpoint is None or result.error is not None:
            continue  # a failed page says nothing: the existing entry, if any, is kept
        found.answered.add(result.endpoint)
        if result.is_page:
            # A view may render a template twice (a partial in a loop): once is enough.
            variants.setdefault(result.endpoint, []).append(tuple(dict.fromkeys(result.templates)))
    for endpoint, pages in variants.items():
        names = _common_names(pages, closure)
        if names:
            found.templates[endpoint] = names
        else:
            found.unpredictable.append(endpoint)
    return found


def _common_names(pages: Sequence[tuple[str, ...]], closure: Closure) -> list[str]:
    first, *others = pages
    shared = [name for name in first if all(name in page for page in others)]
    if all(set(page) == set(first) for page in others):
        return shared
    # The pages differ: add what they all pull in that the shared names do not already.
    pulled_in = [set(closure(page)) for page in others]
    covered = set(closure(shared))
    return shared + [
        name
        for name in closure(first)
        if name not in covered and all(name in names for names in pulled_in)
    ]


@dataclass
class TemplateMapUpdate:
    """The template map to write, and what the merge with the existing file kept and dropped."""

    endpoints: dict[str, list[str]] = field(default_factory=dict)
    #: Entries of existing endpoints that did not answer in this run, kept as they were.
    kept: list[str] = field(default_factory=list)
    #: Entries whose endpoint no longer exists.
    dropped: list[str] = field(default_factory=list)


def update_template_map(
    found: EndpointTemplates,
    existing: Mapping[str, Sequence[str]] | None,
    endpoints: Collection[str],
) -> TemplateMapUpdate:
    """Merge what the run ``found`` with the ``existing`` map (see the module docstring);
    ``endpoints`` are the app's."""
    update = TemplateMapUpdate(endpoints=dict(found.templates))
    for endpoint, names in (existing or {}).items():
        if endpoint in found.answered:
            continue
        if endpoint in endpoints:
            update.endpoints[endpoint] = list(names)
            update.kept.append(endpoint)
        else:
            update.dropped.append(endpoint)
    return update


def template_map_text(update: TemplateMapUpdate) -> str:
    """The map as JSON that diffs well, like :func:`manifest_text`."""
    return json.dumps(update.endpoints, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
