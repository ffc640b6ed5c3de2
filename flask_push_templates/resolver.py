"""Asset -> URL for this request: the one place where a pushed asset becomes the URL a page
uses, for tags, ``push_url()``, manifests, 103 Early Hints and the ``flask push`` tools.

An asset is one of (:meth:`RequestUrls.url`, the one place this rule is applied):

* a full URL (``https://cdn.example/x.css``, ``//cdn.example/x.css``), taken as given;
* an app path (``/static/css/site.css``: one leading ``/``), under the request's script
  root, as flask-http2-push read its manifests (``request.url_root + path[1:]``), so that
  a manifest written for ``/`` still works under a mount prefix;
* a static file name (``css/app.css``), built on ``PUSH_STATIC_ENDPOINT`` (or on the
  push's own ``endpoint``) the way the app's templates build static URLs (see
  :func:`template_url_builder`); a query or fragment (``css/app.css?v=2``) is kept as
  given, after the static URL of the name before it.

Outside a request, the script root is ``APPLICATION_ROOT``. A request whose script root
is not a path (``ProxyFix(x_prefix=1)`` copies ``X-Forwarded-Prefix`` into it, whatever it
holds) gets no links at all: its URLs would point elsewhere than the app. With a Vite
build (``PUSH_VITE_MANIFEST``), a push of one of its entries with no destination stands
for the entry's files (:mod:`.vite`): :meth:`RequestUrls.expand`.

URLs are remembered per app, because ``url_for`` is the hot path of a page with many
pushes, but only where everything the URL depends on is in the key: the asset, the
request's script root and the static endpoint as the request expands it (``.static`` is
the current blueprint's). An app that changes URLs in ways no key can hold (URL defaults
such as a cache-busting ``?v=``, host or subdomain matching, its own ``url_for``, a URL
builder other than Flask's and Flask-Static-Digest's) gets nothing remembered; neither
does anything resolved outside a request (a CLI command, a background job), whose URLs
are built for no request and must never reach one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from werkzeug.routing import BuildError

from .attributes import build_link, check_text
from .errors import PushError
from .links import Link
from .linkset import RankedLinks
from .pushes import AssetPush, UnresolvableAsset
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


#: What builds a static file's URL: ``url_for``'s signature (``endpoint``, ``filename=``).
UrlBuilder = Callable[..., str]


def expand_endpoint(endpoint: str, blueprint: str | None) -> str:
    """A relative endpoint (``.static``) as ``url_for`` expands it for ``blueprint``."""
    if endpoint[:1] != ".":
        return endpoint
    return f"{blueprint}{endpoint}" if blueprint is not None else endpoint[1:]


def static_endpoint_for(app: Flask, endpoint: str, blueprint: str | None) -> str:
    """``endpoint`` expanded for a request of ``blueprint``: a relative one (``.static``)
    names the blueprint's own, or the app's when the blueprint has none (as a blueprint's
    templates fall back to the app's), so that a page of a blueprint without static files
    still pushes the app's."""
    expanded = expand_endpoint(endpoint, blueprint)
    if expanded == endpoint or expanded in app.view_functions:
        return expanded
    return endpoint[1:]


def template_url_builder(app: Flask) -> tuple[UrlBuilder, bool]:
    """How the app's templates build a static file's URL, and whether those URLs depend
    only on what :class:`AssetResolver` keys them by (endpoint, file name, script root).

    Asked once, at the first push of a request (asset tools register their template
    globals in their own ``init_app``, often after this extension's):

    * a ``static_url_for`` template global: Flask-Static-Digest's (``css/site.css`` is
      ``css/site-<md5>.css`` from its ``cache_manifest.json``, read once at its start-up,
      so its URLs may be remembered), or another package's of that name (never remembered);
    * a ``url_for`` template global other than Flask's own: Flask-CDN's
      (``https://CDN_DOMAIN/static/...?t=<mtime>``, whose scheme follows the request and
      whose stamp follows the file: never remembered), or any other replacement;
    * else Flask's ``url_for``.
    """
    globals_ = app.jinja_env.globals
    static_url_for = globals_.get("static_url_for")
    if callable(static_url_for):
        owner = type(getattr(static_url_for, "__self__", None))
        return static_url_for, owner.__module__.partition(".")[0] == "flask_static_digest"
    template_url_for = globals_.get("url_for")
    flask_own = (
        getattr(template_url_for, "__self__", None) is app
        and getattr(template_url_for, "__func__", None) is type(app).url_for
    )
    if callable(template_url_for) and not flask_own:
        return template_url_for, False
    return build_url, True


class AssetResolver:
    """One app's resolver, with its memory of URLs; :meth:`for_request` gives the resolver
    of the current request."""

    #: How many URLs, and how many resolved manifests, are remembered; each memory starts
    #: over when full.
    MAX_URLS = 4096
    MAX_REQUEST_KEYS = 256
    MAX_LINK_GROUPS = 256
    #: How many resolved manifest links are remembered in all: a manifest larger than
    #: this is resolved and ordered for each response.
    MAX_LINKS = 500_000

    def __init__(
        self,
        static_endpoint: str,
        vite: ViteBuild | None = None,
        url_builder: UrlBuilder | None = None,
    ) -> None:
        self.static_endpoint = static_endpoint
        self.vite = vite
        #: ``PUSH_URL_BUILDER``; ``None``: the templates' (:func:`template_url_builder`).
        self.url_builder = url_builder
        self._builder: tuple[UrlBuilder, bool] | None = None
        #: The pushes already logged as left out (bounded by what the app's settings,
        #: templates and manifests name).
        self._logged: set[str] = set()
        self._urls: dict[tuple[str, str, str], str] = {}
        #: The resolvers of requests, by blueprint and script root, where URLs may be
        #: remembered (they then hold nothing of a request): a page needs one, and making
        #: it costs as much as a push.
        self._request_urls: dict[tuple[str | None, str], RequestUrls] = {}
        # Keyed by the pushes' identity: a manifest's entries live as long as the manifest,
        # and the entries are kept in the value (RankedLinks.pushes) so that a reused id is
        # told apart. Forgotten whole when a manifest changes (_manifests_version).
        self._links: dict[tuple[int, str, str], RankedLinks] = {}
        self._linked = 0  # how many links _links holds
        self._manifests_version = 0
        self._stable: bool | None = None
        #: The causes of refused script roots already logged (a few fixed strings).
        self._refusals: set[str] = set()
        self._lock = threading.Lock()

    def for_request(self) -> RequestUrls:
        """The resolver of the current request, or of no request outside one.

        Outside a request (a CLI command, a background job) static URLs are built by
        ``PUSH_URL_BUILDER`` if it is set, else by Flask's ``url_for`` (:func:`build_url`):
        the asset tools' builders read the request. Nothing built there is remembered.
        """
        if not has_request_context():
            return RequestUrls(self, None, builder=self.url_builder or build_url)
        real_request = request._get_current_object()  # type: ignore[attr-defined]
        script_root = real_request.script_root
        problem = script_root_problem(script_root)
        if problem is not None:
            self._refuse(problem, script_root)
            return RequestUrls(self, None, refused=True)
        return self.for_blueprint(real_request.blueprint, script_root)

    def _refuse(self, problem: str, script_root: str) -> None:
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
            script_root,
            problem,
        )

    def for_blueprint(self, blueprint: str | None, script_root: str | None = None) -> RequestUrls:
        """The resolver of a request of ``blueprint`` (in a request or a test request
        context); ``script_root`` ``None``: nothing is remembered."""
        if script_root is not None:
            known = self._request_urls.get((blueprint, script_root))
            if known is not None:
                return known
        app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
        endpoint = self.static_endpoint
        if endpoint[:1] == ".":
            endpoint = static_endpoint_for(app, endpoint, blueprint)
        builder, builder_stable = self.builder(app)
        stable = self._stable
        if stable is None:
            stable = self.stable
        if script_root is None or not (stable and builder_stable):
            return RequestUrls(self, None, endpoint, builder, blueprint)
        urls = RequestUrls(self, (script_root, endpoint), endpoint, builder, blueprint)
        if len(self._request_urls) >= self.MAX_REQUEST_KEYS:
            self._request_urls.clear()  # script roots may come from a proxy's header
        self._request_urls[blueprint, script_root] = urls
        return urls

    def builder(self, app: Flask) -> tuple[UrlBuilder, bool]:
        """What builds static URLs in a request, and whether its URLs may be remembered."""
        if self._builder is None:
            if self.url_builder is not None:
                # Nothing is known of what it reads: never remembered.
                self._builder = (self.url_builder, False)
            else:
                self._builder = template_url_builder(app)
        return self._builder

    def left_out(self, error: UnresolvableAsset) -> None:
        """Log, the first time, that a push was left out because its URL cannot be built."""
        first = str(error) not in self._logged
        self._logged.add(str(error))
        log.log(
            logging.ERROR if first else logging.DEBUG,
            "%s: left out of the page's links ('flask push check' lists every such push)",
            error,
        )

    def remember_links(self, key: tuple[int, str, str], ranked: RankedLinks, version: int) -> None:
        """Remember a manifest's resolved links, read at manifests' ``version``; all is
        forgotten when the memory is full or a newer version comes (a changed manifest
        must not keep the last one's links alive), and nothing of an older one is kept."""
        size = len(ranked.links)
        with self._lock:
            links = self._links
            if version > self._manifests_version:
                links.clear()
                self._linked = 0
                self._manifests_version = version
            if version < self._manifests_version or size > self.MAX_LINKS:
                return
            if len(links) >= self.MAX_LINK_GROUPS or self._linked + size > self.MAX_LINKS:
                links.clear()
                self._linked = 0
            replaced = links.pop(key, None)
            if replaced is not None:
                self._linked -= len(replaced.links)
            links[key] = ranked
            self._linked += size

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

    __slots__ = ("_blueprint", "_builder", "_endpoint", "_key", "_resolver", "refused")

    def __init__(
        self,
        resolver: AssetResolver,
        key: tuple[str, str] | None,
        endpoint: str | None = None,
        builder: UrlBuilder = build_url,
        blueprint: str | None = None,
        refused: bool = False,
    ) -> None:
        self._resolver = resolver
        self._key = key
        self._endpoint = endpoint if endpoint is not None else resolver.static_endpoint
        self._builder = builder
        self._blueprint = blueprint
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
        return self._static_reference(asset, self._endpoint)

    def _static_reference(self, asset: str, endpoint: str) -> str:
        """A static file name's URL, followed by the asset's own query and fragment."""
        name, rest = split_reference(asset)
        if not name:
            raise PushError(f"push of {asset!r}: {asset_problem(asset)}")
        url = self._static_url(name, endpoint)
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

    def static_url(self, asset: str, endpoint: str) -> str:
        """The URL of static file ``asset`` of ``endpoint`` (a push's own ``endpoint``, such
        as ``admin.static``; ``.static`` is the request's blueprint's), remembered like
        :meth:`url`'s."""
        if endpoint[:1] == ".":
            endpoint = static_endpoint_for(current_app, endpoint, self._blueprint)
        key = self._key
        if key is None:
            return self._static_reference(asset, endpoint)
        urls = self._resolver._urls
        cache_key = (asset, key[0], endpoint)
        url = urls.get(cache_key)
        if url is None:
            url = self._static_reference(asset, endpoint)
            if len(urls) >= AssetResolver.MAX_URLS:
                urls.clear()
            urls[cache_key] = url
        return url

    def endpoint_url(self, endpoint: str, values: dict[str, Any]) -> str:
        """``url_for(endpoint, **values)`` as the page writes it: a static endpoint's URL
        by the static URL builder (so ``push_url_for('static', filename=name)`` is
        ``push_url(name)``), any other by Flask's ``url_for`` (:func:`build_url`)."""
        if endpoint == self._endpoint or endpoint.rpartition(".")[2] == "static":
            return self._builder(endpoint, **values)
        return build_url(endpoint, **values)

    def _static_url(self, asset: str, endpoint: str) -> str:
        try:
            return self._builder(endpoint, filename=asset)
        except UnicodeEncodeError:
            check_text(asset, "the asset", asset)  # raises PushError, naming it
            raise
        except BuildError:
            raise UnresolvableAsset(asset, _no_endpoint(current_app, endpoint)) from None
        except OSError as error:
            builder = getattr(self._builder, "__module__", None) or repr(self._builder)
            raise UnresolvableAsset(
                asset, f"{builder}'s URL builder cannot read the file: {error}"
            ) from None

    def origin_url(self, push: AssetPush) -> str:
        """Where the app itself serves the static file of ``push`` (Flask's ``url_for``,
        whatever builds the page's URL): what ``flask push check`` looks for on disk when
        the page's URL is another host's (a CDN's)."""
        endpoint = push.endpoint or self._endpoint
        if endpoint[:1] == ".":
            endpoint = static_endpoint_for(current_app, endpoint, self._blueprint)
        try:
            return build_url(endpoint, filename=push.asset)
        except BuildError:
            raise UnresolvableAsset(push.asset, _no_endpoint(current_app, endpoint)) from None

    def asset_url(self, push: AssetPush) -> str:
        """The URL of one push of a single file: its own ``endpoint``'s, if it names one."""
        if push.endpoint is None:
            return self.url(push.asset)
        return self.static_url(push.asset, push.endpoint)

    def expand(self, push: AssetPush) -> tuple[AssetPush, ...]:
        """The pushes ``push`` stands for: a Vite entry's files, else ``push`` itself."""
        vite = self._resolver.vite
        if vite is None or push.destination is not None or push.endpoint is not None:
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
        return build_link(self.asset_url(push), push.destination, push.attributes)

    @property
    def static_endpoint(self) -> str:
        """The endpoint static file names are built on, as this request expands it."""
        return self._endpoint

    def push_links(self, push: AssetPush) -> tuple[Link, ...]:
        """The validated links of one push (a Vite entry's files, or the push's own); none
        if its endpoint is unknown (logged: see :class:`~.pushes.UnresolvableAsset`) or the
        request's script root is refused."""
        if self.refused:
            return ()
        try:
            return tuple(self.link(each) for each in self.expand(push))
        except UnresolvableAsset as error:
            self._resolver.left_out(error)
            return ()

    def links(self, pushes: tuple[AssetPush, ...], version: int) -> tuple[Link, ...]:
        """The links of ``pushes`` (a manifest's entries), remembered like URLs (not while
        a Vite build can change under them).

        :param version: the manifests' version (``ManifestStore.version``) when
            ``pushes`` were read: a newer one forgets what older ones left.
        """
        if self.refused:
            return ()
        ranked = self.ranked(pushes, version)
        return self._build(pushes) if ranked is None else ranked.links

    def ranked(self, pushes: tuple[AssetPush, ...], version: int) -> RankedLinks | None:
        """The links of ``pushes`` merged and in priority order (:class:`RankedLinks`), as
        remembered for this request's key; ``None`` if they cannot be remembered (then
        they are merged with the page's other links as they are)."""
        key = self._key
        if self.refused or key is None or (self._resolver.vite is not None and _auto_reload()):
            return None
        resolver = self._resolver
        cache_key = (id(pushes), *key)
        cached = resolver._links.get(cache_key)
        if cached is not None and cached.pushes is pushes:
            return cached
        ranked = RankedLinks(self._build(pushes), pushes)
        resolver.remember_links(cache_key, ranked, version)
        return ranked

    def _build(self, pushes: Iterable[AssetPush]) -> tuple[Link, ...]:
        return tuple(link for push in pushes for link in self.push_links(push))


def _auto_reload() -> bool:
    """Whether the app's templates (and so its Vite build) may change while it runs."""
    return bool(current_app.jinja_env.auto_reload)


def _no_endpoint(app: Flask, endpoint: str) -> str:
    """Why static files cannot be built on ``endpoint``, and what the app has instead."""
    statics = sorted(name for name in app.view_functions if name.rpartition(".")[2] == "static")
    known = (
        f"the app's static endpoints are {', '.join(map(repr, statics))}"
        if statics
        else ("the app serves no static files")
    )
    return f"{endpoint!r} names no endpoint that serves static files ({known})"


def endpoint_problem(app: Flask, endpoint: str) -> str | None:
    """Why ``endpoint`` (a push's, or ``PUSH_STATIC_ENDPOINT``) cannot build static URLs
    in ``app`` as it is now, or ``None``; a relative one (``.static``) depends on the
    request and is not checked."""
    if endpoint[:1] == "." or endpoint in app.view_functions:
        return None
    return _no_endpoint(app, endpoint)


def _urls_depend_only_on_the_key(app: Flask) -> bool:
    # Setup is over once requests are served (Flask refuses later changes), so this is
    # asked once, at the first push.
    return (
        not any(app.url_default_functions.values())
        and not app.url_map.host_matching
        and not app.subdomain_matching
        and type(app).url_for is Flask.url_for
    )
