"""``flask push manifest``'s engine: request pages through the test client, scan their HTML,
follow same-origin stylesheets and module scripts, and group what they reference by the
template each page rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from flask import Flask, request
from flask.signals import got_request_exception
from werkzeug.routing import Rule
from werkzeug.test import TestResponse

from ..attributes import build_link
from ..destinations import DESTINATIONS, infer_destination
from ..errors import PushError
from ..recording import recorded_page
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
    #: The page's ``Link`` fields, as served (``flask push check --pages`` reads them).
    link_fields: tuple[str, ...] = ()

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


def default_paths(app: Flask) -> list[str]:
    """The app-relative path of every GET rule that needs no argument, sorted."""
    paths: set[str] = set()
    for rule in app.url_map.iter_rules():
        path = _rule_path(rule)
        if path is not None:
            paths.add(path)
    return sorted(paths)


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


class SiteCrawler:
    """Requests an app's pages through its test client and finds what each references."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.client = app.test_client()
        config = app.config
        host = config.get("SERVER_NAME") or "localhost"
        scheme = config.get("PREFERRED_URL_SCHEME") or "http"
        self.origin = f"{scheme}://{host}"
        # The test client mounts the app under APPLICATION_ROOT, as url_for assumes.
        self.script_root = "/" + (config.get("APPLICATION_ROOT") or "/").strip("/")
        self.mimetypes = get_state(app).settings.mimetypes
        # References of each stylesheet or module read so far, shared by all pages.
        self._followed: dict[tuple[str, ImportMap], tuple[Reference, ...] | str] = {}

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
            result.link_fields = tuple(response.headers.getlist("Link"))
            return result, response.get_data(as_text=True)

    @contextmanager
    def _request(self, path: str, result: PageResult) -> Iterator[TestResponse | None]:
        errors: list[BaseException] = []

        def record(sender: Flask, exception: BaseException, **extra: Any) -> None:
            errors.append(exception)

        # A fresh app context per page: ``flask``'s CLI has already pushed one, which a
        # request reuses, so the pages would otherwise share ``flask.g`` and with it the
        # templates (and pushes) recorded by the pages requested before. The exception
        # itself says more than a bare 500, whether or not the app propagates.
        with (
            self.app.app_context(),
            got_request_exception.connected_to(record, self.app),
            self.client,
        ):
            try:
                response = self.client.get(path)
            except Exception as error:
                result.error = f"raised {_describe(error)}"
                yield None
                return
            with response:
                result.status = response.status
                # The client kept the request context: read what the request recorded.
                result.endpoint = request.endpoint
                pushes = recorded_page()
                result.templates = tuple(pushes.templates) if pushes is not None else ()
                if errors:
                    result.error = f"{response.status}: {_describe(errors[0])}"
                yield response

    def _is_page(self, response: TestResponse, result: PageResult) -> bool:
        if result.error is not None:
            return False
        status = response.status_code
        if 300 <= status < 400:
            location = response.headers.get("Location", "?")
            result.skipped = f"{response.status}, redirects to {location}"
            return False
        if status >= 400 or status < 200:
            result.error = response.status
            return False
        if response.mimetype not in self.mimetypes:
            result.skipped = f"{response.mimetype or 'no content type'} (not in PUSH_MIMETYPES)"
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
        with self.app.app_context(), self.client.get(path) as response:  # see _request
            if response.status_code != 200:
                return f"{_display(url, self.origin)} answers {response.status}: not followed"
            text = response.get_data(as_text=True)
        if destination == STYLESHEET:
            return scan_css(text, url).references
        return tuple(Reference(found, MODULE) for found in module_imports(text, url, import_map))


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
