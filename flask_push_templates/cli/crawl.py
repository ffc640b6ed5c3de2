"""``flask push manifest``'s engine: request pages through the test client, scan their HTML,
follow same-origin stylesheets and module scripts, and group what they reference by the
template each page rendered.

Also the crawl itself, shared by ``flask push manifest``, ``show`` and the page check:
which routes are requested (:func:`plan_pages`) and how (:class:`CrawlOptions`: as whom,
at which host and script root). Pages are requested through the app with its real
configuration and database: a view that changes state does so when it is crawled.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask, request
from flask.sessions import SessionMixin
from flask.signals import got_request_exception
from flask.testing import FlaskClient
from werkzeug.datastructures import Headers
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from ..attributes import build_link
from ..destinations import DESTINATIONS, infer_destination
from ..errors import PushError
from ..hint_policy import carries_credentials
from ..recording import recorded_page
from ..settings import import_callable
from ..state import get_state
from .asset_scan import (
    MODULE,
    STYLESHEET,
    ImportMap,
    Reference,
    module_imports,
    scan_css,
    scan_html,
)

#: Every generated entry's weight: all assets of a page matter equally until someone says
#: otherwise (the core then keeps the order of the manifest, which is sorted by URL).
DEFAULT_WEIGHT = 1


@dataclass(frozen=True)
class Asset:
    """An asset as the manifest will list it."""

    destination: str
    #: ``True`` for a bare ``crossorigin``, "use-credentials", or ``None`` for the default.
    crossorigin: str | bool | None = None

    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {"type": self.destination, "weight": DEFAULT_WEIGHT}
        if self.crossorigin is not None:
            spec["crossorigin"] = self.crossorigin
        return spec


@dataclass
class PageResult:
    """What one page request gave: its templates and assets, or why it has none."""

    path: str
    status: str = ""
    #: The endpoint that served the page (``None``: no route matched, or the request raised
    #: before one did); ``flask push manifest --early-hints`` keys its map by it.
    endpoint: str | None = None
    templates: tuple[str, ...] = ()
    #: Manifest key (a same-origin path) -> asset, in order of first reference.
    assets: dict[str, Asset] = field(default_factory=dict)
    other_origin: int = 0
    #: Why the page failed (it then makes the command exit non-zero).
    error: str | None = None
    #: Why the page was skipped without failing (a redirect, a JSON response).
    skipped: str | None = None
    #: Sub-resources that could not be read (a stylesheet answering 404...).
    warnings: list[str] = field(default_factory=list)
    #: The response's ``Link`` fields, as served (``flask push check --pages`` reads them).
    link_fields: tuple[str, ...] = ()
    #: The page's HTML, kept only by a ``SiteCrawler(..., keep_html=True)``.
    html: str | None = None
    #: Whether the request carried credentials (a login): Early Hints are learned and
    #: predicted per kind of request (``hint_policy.carries_credentials``).
    credentialed: bool = False

    @property
    def is_page(self) -> bool:
        """Whether the request answered a page (2xx, a type in ``PUSH_MIMETYPES``)."""
        return self.error is None and self.skipped is None and self.status[:1] == "2"

    @property
    def group(self) -> str | None:
        """The template the page's assets are listed under: the last one rendered.

        A view that renders a partial into the page's context renders the partial first;
        the page template, rendered last, is the one the response is.
        """
        return self.templates[-1] if self.templates else None


#: A setup hook: prepares the crawler's test client (logs it in) before any page is requested.
ClientSetup = Callable[[FlaskClient], None]


class CrawlSetupError(Exception):
    """The crawl cannot start: its client setup hook is not importable, or it raised."""


@dataclass(frozen=True)
class CrawlOptions:
    """How pages are requested: as whom, where, and which routes are left alone.

    One value for every command that crawls (``flask push manifest``, ``show``, the page
    check); :func:`crawl_options` makes it from the command line and the config.
    """

    #: Sent with every request, the setup hook's included.
    headers: tuple[tuple[str, str], ...] = ()
    #: Set in the client's cookie jar for the crawl's host before the setup hook runs.
    cookies: tuple[tuple[str, str], ...] = ()
    #: ``PUSH_CRAWL_CLIENT`` or ``--client-setup``: a callable, or its dotted path (imported
    #: when the crawl starts, so that a worker serving pages never imports it).
    client_setup: ClientSetup | str | None = None
    #: ``PUSH_CRAWL_EXCLUDE`` and ``--exclude``: endpoint names, paths, or fnmatch patterns
    #: of either (a pattern starting with ``/`` is a path's).
    exclude: tuple[str, ...] = ()
    #: The host the pages are requested at (``name[:port]``, or ``scheme://name[:port]``);
    #: ``None``: ``SERVER_NAME``, else ``localhost``.
    host: str | None = None
    #: The script root (mount prefix) the app is requested under; ``None``: APPLICATION_ROOT.
    script_root: str | None = None


def crawl_options(
    app: Flask,
    headers: Iterable[tuple[str, str]] = (),
    cookies: Iterable[tuple[str, str]] = (),
    client_setup: ClientSetup | str | None = None,
    exclude: Iterable[str] = (),
    host: str | None = None,
    script_root: str | None = None,
) -> CrawlOptions:
    """The options of a crawl of ``app``: these, added to (``exclude``) or taking the place
    of (``client_setup``) the app's ``PUSH_CRAWL_*`` settings."""
    settings = get_state(app).settings
    return CrawlOptions(
        headers=tuple(headers),
        cookies=tuple(cookies),
        client_setup=client_setup if client_setup is not None else settings.crawl_client,
        exclude=(*settings.crawl_exclude, *exclude),
        host=host,
        script_root=script_root,
    )


#: What a route's endpoint or path says when it logs the visitor out. Such routes are never
#: requested unless their URL is given: they would end the crawl's login, and may revoke a
#: session or a token server-side.
_LOGS_OUT = re.compile(r"log[-_ ]?(out|off)|sign[-_ ]?(out|off)", re.IGNORECASE)
#: Why such a route was left out.
LOGS_OUT = "its name says it logs out"


@dataclass(frozen=True)
class PagePlan:
    """Which of an app's routes a crawl requests, and which it leaves out and why."""

    #: App-relative paths, sorted.
    paths: list[str]
    #: (path, why) of the argument-less GET routes left out.
    excluded: list[tuple[str, str]]
    #: Exclusion patterns that match no route: a typo there lets the route it meant run.
    unmatched: list[str]


def plan_pages(app: Flask, options: CrawlOptions | None = None) -> PagePlan:
    """The pages a crawl requests when given no URL: every GET rule that needs no argument,
    except those whose endpoint or path says they log out and those ``options`` exclude."""
    exclude = options.exclude if options is not None else get_state(app).settings.crawl_exclude
    paths: dict[str, None] = {}
    excluded: dict[str, str] = {}
    matched: set[str] = set()
    for rule in app.url_map.iter_rules():
        matching = {pattern for pattern in exclude if _excludes(pattern, rule, rule.rule)}
        matched |= matching
        path = _rule_path(rule)
        if path is None:
            continue
        matching |= {pattern for pattern in exclude if _excludes(pattern, rule, path)}
        matched |= matching
        if matching:
            excluded[path] = f"excluded by {', '.join(sorted(matching))}"
        elif _LOGS_OUT.search(rule.endpoint) or _LOGS_OUT.search(path):
            excluded[path] = LOGS_OUT
        else:
            paths[path] = None
    return PagePlan(
        paths=sorted(set(paths) - set(excluded)),
        excluded=sorted(excluded.items()),
        unmatched=[pattern for pattern in dict.fromkeys(exclude) if pattern not in matched],
    )


def default_paths(app: Flask, options: CrawlOptions | None = None) -> list[str]:
    """The app-relative path of every GET rule a crawl requests unasked, sorted
    (:func:`plan_pages`)."""
    return plan_pages(app, options).paths


def _excludes(pattern: str, rule: Rule, path: str) -> bool:
    subject = path if pattern.startswith("/") else rule.endpoint
    return fnmatch.fnmatchcase(subject, pattern)


def _rule_path(rule: Rule) -> str | None:
    if "GET" not in (rule.methods or ()) or rule.redirect_to is not None or rule.websocket:
        return None
    # A rule for another host or subdomain is not reachable at the test client's host.
    if rule.host or rule.subdomain:
        return None
    defaults = dict(rule.defaults or {})
    if not set(rule.arguments) <= set(defaults):
        return None  # needs values only the user knows: pass its URL explicitly
    built = rule.build(defaults, append_unknown=False)
    return None if built is None else built[1]


class CrawlClient(FlaskClient):
    """The crawler's test client: every request it makes, the setup hook's included, goes
    to the crawl's host and script root and carries the crawl's headers, so that a login
    made by the hook (a session cookie) is sent with the pages it requests."""

    def __init__(
        self, *args: Any, base_url: str, headers: Sequence[tuple[str, str]], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url
        self.crawl_headers = tuple(headers)

    def open(
        self,
        *args: Any,
        buffered: bool = False,
        follow_redirects: bool = False,
        **kwargs: Any,
    ) -> TestResponse:
        if not args or isinstance(args[0], str):
            kwargs = self._defaults(args[0] if args else kwargs.get("path", "/"), kwargs)
            headers = Headers(self.crawl_headers)
            headers.update(Headers(kwargs.get("headers") or ()))
            kwargs["headers"] = headers
        return super().open(*args, buffered=buffered, follow_redirects=follow_redirects, **kwargs)

    @contextmanager
    def session_transaction(self, *args: Any, **kwargs: Any) -> Iterator[SessionMixin]:
        path = args[0] if args and isinstance(args[0], str) else kwargs.get("path", "/")
        with super().session_transaction(*args, **self._defaults(path, kwargs)) as session:
            yield session

    def _defaults(self, path: Any, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with the crawl's base URL, unless they or ``path`` name a place."""
        placed = {"base_url", "subdomain", "url_scheme"} & set(kwargs)
        if placed or not isinstance(path, str) or "://" in path or path.startswith("//"):
            return kwargs
        return {**kwargs, "base_url": self.base_url}


class SiteCrawler:
    """Requests an app's pages through its test client and finds what each references."""

    def __init__(
        self, app: Flask, options: CrawlOptions | None = None, keep_html: bool = False
    ) -> None:
        self.app = app
        self.options = options if options is not None else crawl_options(app)
        self.keep_html = keep_html
        config = app.config
        scheme = config.get("PREFERRED_URL_SCHEME") or "http"
        host = self.options.host or config.get("SERVER_NAME") or "localhost"
        if "://" in host:
            scheme, _, host = host.partition("://")
        self.host = host.rstrip("/")
        self.origin = f"{scheme}://{self.host}"
        # The test client mounts the app under APPLICATION_ROOT, as url_for assumes.
        root = self.options.script_root
        if root is None:
            root = config.get("APPLICATION_ROOT") or "/"
        self.script_root = "/" + root.strip("/")
        self.mimetypes = get_state(app).settings.mimetypes
        # References of each stylesheet or module read so far, shared by all pages.
        self._followed: dict[tuple[str, ImportMap], tuple[Reference, ...] | str] = {}
        self._client: CrawlClient | None = None

    @property
    def client(self) -> CrawlClient:
        """The test client, set up on first use: its cookies set and its setup hook run
        (which may request pages: not before the crawl needs it)."""
        if self._client is None:
            self._client = self._new_client()
        return self._client

    def _new_client(self) -> CrawlClient:
        root = "" if self.script_root == "/" else self.script_root
        client = CrawlClient(
            self.app,
            self.app.response_class,
            use_cookies=True,
            base_url=f"{self.origin}{root}/",
            headers=self.options.headers,
        )
        # The jar sends a cookie to the host it was set for (werkzeug compares host names).
        domain = urlsplit(f"//{self.host}").hostname or "localhost"
        for name, value in self.options.cookies:
            client.set_cookie(name, value, domain=domain)
        setup = _setup_hook(self.options.client_setup)
        if setup is not None:
            name = getattr(setup, "__qualname__", repr(setup))
            # A fresh app context, as each page gets (see _request).
            with self.app.app_context():
                try:
                    setup(client)
                except Exception as error:
                    raise CrawlSetupError(
                        f"the crawl's client setup {name} raised {_describe(error)}"
                    ) from error
        return client

    def app_path(self, url: str) -> str | None:
        """``url`` (a path of the app or a same-origin URL) as the test client's path;
        ``None`` if the app does not serve it (another origin, outside APPLICATION_ROOT)."""
        parts = urlsplit(urljoin(self.origin + "/", url))
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return None
        path = parts.path
        if self.script_root != "/":
            if not self._under_script_root(path):
                return None
            path = path[len(self.script_root) :] or "/"
        return path + (f"?{parts.query}" if parts.query else "")

    def page_path(self, url: str) -> str | None:
        """A URL given on the command line as the test client's path: a full URL of this
        origin, a path with APPLICATION_ROOT, or a path below it (as the routes are)."""
        if urlsplit(url).scheme or url.startswith("//"):
            return self.app_path(url)
        path = url if url.startswith("/") else "/" + url
        return self.app_path(path) if self._under_script_root(path) else path

    def _under_script_root(self, path: str) -> bool:
        root = self.script_root
        return root != "/" and (path == root or path.startswith(root + "/"))

    def document_url(self, app_path: str) -> str:
        root = "" if self.script_root == "/" else self.script_root
        return f"{self.origin}{root}{app_path}"

    def scan(self, path: str) -> PageResult:
        """Request the page at app-relative ``path`` and collect what it references."""
        result, html = self.read_page(path)
        if html is not None:
            self._collect(html, result)
        return result

    def read_page(self, path: str) -> tuple[PageResult, str | None]:
        """Request the page at app-relative ``path``: what the request gave, and the page's
        HTML (``None`` if it is not a page: it failed, redirected or was skipped)."""
        result = PageResult(path)
        with self._request(path, result) as response:
            if response is None or not self._is_page(response, result):
                return result, None
            html = response.get_data(as_text=True)
        if self.keep_html:
            result.html = html
        return result, html

    @contextmanager
    def _request(self, path: str, result: PageResult) -> Iterator[TestResponse | None]:
        errors: list[BaseException] = []

        def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
            errors.append(exception)

        client = self.client  # set up before, not inside, this page's contexts
        # A fresh app context per page: ``flask``'s CLI has already pushed one, which a
        # request reuses, so the pages would otherwise share ``flask.g`` and with it the
        # templates (and pushes) recorded by the pages requested before. The exception
        # itself says more than a bare 500, whether or not the app propagates.
        with (
            self.app.app_context(),
            got_request_exception.connected_to(record, self.app),
            client,
        ):
            try:
                response = client.get(path)
            except Exception as error:
                result.error = f"raised {_describe(error)}"
                yield None
                return
            with response:
                result.status = response.status
                result.link_fields = tuple(response.headers.getlist("Link"))
                # The client kept the request context: read what the request recorded.
                result.endpoint = request.endpoint
                result.credentialed = carries_credentials(
                    request.environ, get_state(self.app).settings
                )
                pushes = recorded_page()
                result.templates = tuple(pushes.templates) if pushes is not None else ()
                if errors:
                    result.error = f"{response.status}: {_describe(errors[0])}"
                yield response

    def _is_page(self, response: TestResponse, result: PageResult) -> bool:
        """Whether ``response`` is a page to scan; if not, why it is skipped or failed.

        Only a page that failed to render fails the crawl (an exception, or an HTML 5xx):
        an API's JSON 401 or 404, a redirect to a login form or an HTML 404 are answers the
        crawler cannot scan, not errors of the app.
        """
        if result.error is not None:
            return False
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location", "?")
            result.skipped = f"{response.status}, redirects to {location}"
            return False
        if response.mimetype not in self.mimetypes:
            kind = f"{response.mimetype or 'no content type'} (not in PUSH_MIMETYPES)"
            result.skipped = kind if 200 <= status < 300 else f"{response.status}, {kind}"
            return False
        if status >= 500 or status < 200:
            result.error = response.status
            return False
        if status >= 400:
            result.skipped = f"{response.status}: not a page to list assets of"
            return False
        return True

    def _collect(self, html: str, result: PageResult) -> None:
        page = scan_html(html, self.document_url(result.path))
        pending = list(page.references)
        seen: set[str] = set()
        while pending:
            reference = pending.pop(0)
            if reference.url in seen:
                continue
            seen.add(reference.url)
            key = self._same_origin_key(reference.url)
            if key is None:
                result.other_origin += 1
                continue
            asset = _asset(reference)
            if asset is not None:
                result.assets.setdefault(key, asset)
            pending.extend(self.follow(reference, page.import_map, result))

    def _same_origin_key(self, url: str) -> str | None:
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            return None
        return parts.path + (f"?{parts.query}" if parts.query else "")

    def follow(
        self, reference: Reference, import_map: ImportMap, result: PageResult
    ) -> Iterable[Reference]:
        """The references of a stylesheet or module script (nothing for other assets), read
        through the crawler's client once per crawl; what cannot be read is a warning of
        ``result``."""
        destination = reference.destination or infer_destination(reference.url)
        if destination not in (STYLESHEET, MODULE):
            return ()
        cache_key = (reference.url, import_map if destination == MODULE else ImportMap())
        if cache_key not in self._followed:
            self._followed[cache_key] = self._read_references(
                reference.url, destination, import_map
            )
        found = self._followed[cache_key]
        if isinstance(found, str):
            result.warnings.append(found)
            return ()
        return found

    def _read_references(
        self, url: str, destination: str, import_map: ImportMap
    ) -> tuple[Reference, ...] | str:
        path = self.app_path(url)
        if path is None:
            return ()  # same origin but outside the app: listed, not followed
        client = self.client
        with self.app.app_context(), client.get(path) as response:  # see _request
            if response.status_code != 200:
                return f"{_display(url, self.origin)} answers {response.status}: not followed"
            text = response.get_data(as_text=True)
        if destination == STYLESHEET:
            return scan_css(text, url).references
        return tuple(Reference(found, MODULE) for found in module_imports(text, url, import_map))


def _setup_hook(setup: ClientSetup | str | None) -> ClientSetup | None:
    if not isinstance(setup, str):
        return setup
    try:
        return import_callable(setup)
    except ValueError as error:
        raise CrawlSetupError(
            f"the crawl's client setup {setup!r} {error}: give a function taking the test "
            "client, such as 'myapp.crawl:log_in'"
        ) from None


def _asset(reference: Reference) -> Asset | None:
    destination = reference.destination or infer_destination(reference.url)
    if destination is None:
        return None  # neither the context nor the extension says what it is
    crossorigin = _crossorigin_attribute(destination, reference.crossorigin)
    try:
        build_link(reference.url, destination, _attributes(crossorigin))
    except PushError:
        return None  # the core would refuse the entry; the page's markup is odd, not ours
    return Asset(destination, crossorigin)


def _crossorigin_attribute(destination: str, element_value: str | None) -> str | bool | None:
    """The manifest's ``crossorigin`` for an element's, so that the preload's request mode
    matches the element's fetch (a mismatch makes the browser download the asset twice)."""
    cors_by_default = DESTINATIONS[destination].cors
    if element_value is None:
        # Fonts and modules are fetched in CORS mode anyway; the core adds the attribute.
        return None
    if element_value.strip().lower() == "use-credentials":
        return "use-credentials"
    return None if cors_by_default else True


def _attributes(crossorigin: str | bool | None) -> tuple[tuple[str, str | bool], ...]:
    return () if crossorigin is None else (("crossorigin", crossorigin),)


def _describe(error: BaseException) -> str:
    message = str(error)
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def _display(url: str, origin: str) -> str:
    return url[len(origin) :] if url.startswith(origin + "/") else url
