"""Asset -> URL for this request: the one place where a pushed asset becomes the URL a page
uses, for tags, ``push_url()``, manifests, 103 Early Hints and the ``flask push`` tools.

An asset is one of (:meth:`RequestUrls.url`, the one place this rule is applied):

* a full URL (``https://cdn.example/x.css``, ``//cdn.example/x.css``), taken as given;
* an app path (``/static/css/site.css``: one leading ``/``), under the request's script
  root, as flask-http2-push read its manifests (``request.url_root + path[1:]``), so that
  a manifest written for ``/`` still works under a mount prefix;
* a static file name (``css/app.css``), built with ``url_for`` on
  ``PUSH_STATIC_ENDPOINT``; a query or fragment (``css/app.css?v=2``) is kept as given,
  after the static URL of the name before it.

Outside a request, the script root is ``APPLICATION_ROOT``. A request whose script root
is not a path (``ProxyFix(x_prefix=1)`` copies ``X-Forwarded-Prefix`` into it, whatever it
holds) gets no links at all: its URLs would point elsewhere than the app. With a Vite
build (``PUSH_VITE_MANIFEST``), a push of one of its entries with no destination stands
for the entry's files (:mod:`.vite`): :meth:`RequestUrls.expand`.

URLs are remembered per app, because ``url_for`` is the hot path of a page with many
pushes, but only where everything the URL depends on is in the key: the asset, the
request's script root and the static endpoint as the request expands it (``.static`` is
the current blueprint's). An app that changes URLs in ways no key can hold (URL defaults
such as a cache-busting ``?v=``, host or subdomain matching, its own ``url_for``) gets
nothing remembered; neither does anything resolved outside a request (a CLI command, a
background job), whose URLs are built for no request and must never reach one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for

from .attributes import build_link, check_text
from .errors import PushError
from .links import Link
from .pushes import AssetPush
from .uri import asset_problem, is_full_url, script_root_problem, split_reference
from .vite import ViteBuild, expand_push

log = logging.getLogger(__name__)


def build_url(endpoint: str, **values: Any) -> str:
    """``url_for``, which also works in an app context without a request.

    Rendering with no request (a CLI command, a background job) must still produce URLs;
    ``url_for`` refuses unless ``SERVER_NAME`` is set, so fall back to a relative URL built
    against ``APPLICATION_ROOT``.
    """
    if has_request_context():
        return url_for(endpoint, **values)
    app = current_app
    if app.config.get("SERVER_NAME"):
        return url_for(endpoint, **values)
    adapter = app.url_map.bind(
        "localhost",
        script_name=app.config.get("APPLICATION_ROOT") or "/",
        url_scheme=app.config.get("PREFERRED_URL_SCHEME") or "http",
    )
    return adapter.build(endpoint, values)


def expand_endpoint(endpoint: str, blueprint: str | None) -> str:
    """A relative endpoint (``.static``) as ``url_for`` expands it for ``blueprint``."""
    if endpoint[:1] != ".":
        return endpoint
    return f"{blueprint}{endpoint}" if blueprint is not None else endpoint[1:]


class AssetResolver:
    """One app's resolver, with its memory of URLs; :meth:`for_request` gives the resolver
    of the current request."""

    #: How many URLs, and how many resolved manifests, are remembered; each memory starts
    #: over when full.
    MAX_URLS = 4096
    MAX_LINK_GROUPS = 256

    def __init__(self, static_endpoint: str, vite: ViteBuild | None = None) -> None:
        self.static_endpoint = static_endpoint
        self.vite = vite
        self._urls: dict[tuple[str, str, str], str] = {}
        # Keyed by the pushes' identity: a manifest's entries live as long as the manifest,
        # and the entries are kept in the value so that a reused id is told apart.
        self._links: dict[tuple[int, str, str], tuple[tuple[AssetPush, ...], tuple[Link, ...]]]
        self._links = {}
        self._stable: bool | None = None
        #: The causes of refused script roots already logged (a few fixed strings).
        self._refusals: set[str] = set()
        self._lock = threading.Lock()

    def for_request(self) -> RequestUrls:
        """The resolver of the current request, or of no request outside one."""
        if not has_request_context():
            return RequestUrls(self, None)
        real_request = request._get_current_object()  # type: ignore[attr-defined]
        endpoint = self.static_endpoint
        if endpoint[:1] == ".":
            endpoint = expand_endpoint(endpoint, real_request.blueprint)
        problem = script_root_problem(real_request.script_root)
        if problem is not None:
            self._refuse(problem)
            return RequestUrls(self, None, endpoint, refused=True)
        stable = self._stable
        if stable is None:
            stable = self.stable
        if not stable:
            return RequestUrls(self, None, endpoint)
        return RequestUrls(self, (real_request.script_root, endpoint), endpoint)

    def _refuse(self, problem: str) -> None:
        """Log a request's script root that cannot carry links: once per cause, as a
        client that sends such headers may send them on every request."""
        with self._lock:
            first = problem not in self._refusals
            self._refusals.add(problem)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "the request's script root %r %s (SCRIPT_NAME; behind ProxyFix(x_prefix=1) it "
            "is the X-Forwarded-Prefix header): requests with such a script root get no "
            "links (logged once for each cause)",
            request.script_root,
            problem,
        )

    @property
    def stable(self) -> bool:
        """Whether URLs may be remembered: within a request, the app builds a URL from the
        key alone."""
        if self._stable is None:
            self._stable = _urls_depend_only_on_the_key(current_app._get_current_object())  # type: ignore[attr-defined]
        return self._stable


class RequestUrls:
    """Resolves assets for one request (``key`` ``None``: nothing is remembered;
    ``refused``: the request's script root cannot carry links, so none are made)."""

    __slots__ = ("_endpoint", "_key", "_resolver", "refused")

    def __init__(
        self,
        resolver: AssetResolver,
        key: tuple[str, str] | None,
        endpoint: str | None = None,
        refused: bool = False,
    ) -> None:
        self._resolver = resolver
        self._key = key
        self._endpoint = endpoint if endpoint is not None else resolver.static_endpoint
        self.refused = refused

    def url(self, asset: str) -> str:
        """The URL of ``asset`` for this request: a full URL as given, an app path under
        the script root, a static file name as ``url_for`` builds it followed by the
        asset's own query and fragment (see the module's docstring).

        :raises PushError: ``asset`` names no file (``""``, ``"?v=2"``).
        """
        key = self._key
        if key is None:
            return self._resolve(asset)
        # The memory first: it is the hot path of a page with many pushes, and it holds
        # paths and URLs too (a path depends on the script root alone, which is in the key).
        urls = self._resolver._urls
        cache_key = (asset, *key)
        url = urls.get(cache_key)
        if url is None:
            url = self._resolve(asset)
            if len(urls) >= AssetResolver.MAX_URLS:
                urls.clear()
            urls[cache_key] = url
        return url

    def _resolve(self, asset: str) -> str:
        if is_full_url(asset):
            return asset
        if asset[:1] == "/":
            return self._script_root() + asset
        name, rest = split_reference(asset)
        if not name:
            raise PushError(f"push of {asset!r}: {asset_problem(asset)}")
        url = self._static_url(name)
        if rest[:1] == "?" and "?" in url:
            # The static URL has a query of its own (a cache-buster added by url_defaults):
            # the asset's parameters follow it.
            rest = "&" + rest[1:]
        return url + rest

    def _script_root(self) -> str:
        if self._key is not None:
            return self._key[0]
        if has_request_context():
            return request.script_root
        return str(current_app.config.get("APPLICATION_ROOT") or "/").rstrip("/")

    @property
    def vite(self) -> bool:
        """Whether the app has a Vite build, whose entries a push may name."""
        return self._resolver.vite is not None

    def _static_url(self, asset: str) -> str:
        try:
            return build_url(self._endpoint, filename=asset)
        except UnicodeEncodeError:
            check_text(asset, "the asset", asset)  # raises PushError, naming it
            raise

    def expand(self, push: AssetPush) -> tuple[AssetPush, ...]:
        """The pushes ``push`` stands for: a Vite entry's files, else ``push`` itself."""
        vite = self._resolver.vite
        if vite is None or push.destination is not None:
            return (push,)
        return expand_push(vite, push, _auto_reload())

    def entry(
        self, asset: str, attributes: Mapping[str, Any]
    ) -> tuple[tuple[AssetPush, ...], str] | None:
        """A Vite entry's pushes and the URL of its own file, or ``None`` if ``asset`` is
        not an entry (there is no build, or it does not name one)."""
        vite = self._resolver.vite
        if vite is None:
            return None
        auto_reload = _auto_reload()
        pushes = vite.pushes(asset, attributes, auto_reload)
        if pushes is None:
            return None
        return pushes, self.url(vite.entry_asset(asset, auto_reload))

    def link(self, push: AssetPush) -> Link:
        """The validated link of one push of a single file."""
        return build_link(self.url(push.asset), push.destination, push.attributes)

    def push_links(self, push: AssetPush) -> tuple[Link, ...]:
        """The validated links of one push (a Vite entry's files, or the push's own)."""
        if self.refused:
            return ()
        return tuple(self.link(each) for each in self.expand(push))

    def links(self, pushes: tuple[AssetPush, ...]) -> tuple[Link, ...]:
        """The links of ``pushes`` (a manifest's entries), remembered like URLs (not while
        a Vite build can change under them)."""
        key = self._key
        if self.refused:
            return ()
        if key is None or (self._resolver.vite is not None and _auto_reload()):
            return self._build(pushes)
        groups = self._resolver._links
        cache_key = (id(pushes), *key)
        cached = groups.get(cache_key)
        if cached is not None and cached[0] is pushes:
            return cached[1]
        links = self._build(pushes)
        if len(groups) >= AssetResolver.MAX_LINK_GROUPS:
            groups.clear()
        groups[cache_key] = (pushes, links)
        return links

    def _build(self, pushes: Iterable[AssetPush]) -> tuple[Link, ...]:
        return tuple(link for push in pushes for link in self.push_links(push))


def _auto_reload() -> bool:
    """Whether the app's templates (and so its Vite build) may change while it runs."""
    return bool(current_app.jinja_env.auto_reload)


def _urls_depend_only_on_the_key(app: Flask) -> bool:
    # Setup is over once requests are served (Flask refuses later changes), so this is
    # asked once, at the first push.
    return (
        not any(app.url_default_functions.values())
        and not app.url_map.host_matching
        and not app.subdomain_matching
        and type(app).url_for is Flask.url_for
    )
