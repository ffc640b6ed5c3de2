"""103 Early Hints: the links a page is predicted to need, sent while its view still runs.

With ``PUSH_EARLY_HINTS = True`` and a server that offers ``environ["wsgi.early_hints"]``
(gunicorn 25 or later), a request that passes the policy below gets one
``103 Early Hints`` before its view runs, whose ``Link`` field names:

* the entries of the app's ``PUSH_MANIFEST`` and of the view's ``@http2push`` manifest,
  which are known before anything runs, so the first request to an endpoint has them;
* the constant ``{% push %}`` tags of the templates the endpoint is predicted to render,
  of the templates those extend, include or import (read from the compiled templates,
  never by rendering them), and those templates' groups in ``PUSH_MANIFEST``.

Only ``rel=preload``, ``rel=modulepreload`` and ``rel=preconnect`` links go into a 103
(browsers ignore the others there); the final response's ``Link`` header is unchanged and
still names everything.

What is not knowable before the view runs, and so is never hinted: pushes whose arguments
are not constants (``{% push user.avatar %}``), ``push_url()`` and ``push_url_for()``
calls, and the templates of an endpoint not yet seen rendering them (the first request in
a worker, a template picked at run time for the first time). These still reach the final
response's ``Link`` header. Constant pushes are found in the templates' source, not by
running them: the 103 names exactly those a streamed page's ``Link`` header names
(:mod:`.templates` decides which count, such as one inside a branch or a macro).

Which templates an endpoint renders
-----------------------------------
The view decides, so it is learned: after each request that could have been hinted (see
below, whatever its protocol) and got a 2xx page, the names of the templates it rendered
are remembered for its endpoint. The prediction is what every recently seen variant has in
common (a view that renders ``pages/<slug>.html`` is predicted to need the layout they all
extend, not one page's assets). Learning is per app and per worker process, thread-safe
and bounded (:data:`MAX_ENDPOINTS` endpoints, :data:`MAX_VARIANTS` distinct template sets
each, :data:`MAX_TEMPLATES` names per set). The facts derived from a name (what it
extends, what it pushes) are read again when the template changes and the environment
auto-reloads, so an edit in debug is picked up on the next request. An endpoint that
answered such a request with something other than a page (``PUSH_MIMETYPES``), JSON say,
gets no hint until it serves a page again; endpoints that serve static files never do.

Many workers, many hosts
------------------------
Every worker process starts knowing nothing and learns on its own, so with many workers
or hosts the first requests everywhere hint only the manifests. The shared, deployable form
of the same knowledge is ``PUSH_EARLY_HINTS_TEMPLATES``: a mapping (or the path of a JSON
file, relative to the app's root) from endpoint names to the templates they render, such
as ``{"index": ["index.html"], "blog.post": ["blog/post.html"]}``. Together with what the
templates push and what ``PUSH_MANIFEST`` lists under their names, it gives every worker a
full hint on its first request. Generate it with ``flask push manifest --early-hints
early_hints.json`` (which requests the app's pages), write it by hand, or dump it from a
warmed-up process (the end of a test run, a staging worker) with
:func:`learned_templates`::

    json.dump(learned_templates(app), open("early_hints.json", "w"), indent=2)

Endpoints it lists are not learned: the file is their truth. There is no server-side
shared state.

Which requests get a 103 (and the proxies in front)
---------------------------------------------------
Only ``GET`` requests (a ``POST`` usually ends in a redirect, where a preload is wasted),
only over a protocol in ``PUSH_EARLY_HINTS_PROTOCOLS`` (default HTTP/2 and HTTP/3: browsers
ignore a 103 over HTTP/1.1), and with ``PUSH_EARLY_HINTS_NAVIGATIONS_ONLY`` (default) only
when the request may be a top-level navigation: ``Sec-Fetch-Mode: navigate`` and
``Sec-Fetch-Dest: document`` when the client sends them (browsers act on a 103 for nothing
else). The protocol is the one the WSGI server speaks (``SERVER_PROTOCOL``), which behind a
proxy is the proxy's protocol, not the browser's:

* gunicorn 25+ facing browsers, TLS with ``--http-protocols h2,h1``: works with the
  defaults.
* nginx before 1.29 in front: keep the defaults. nginx talks HTTP/1.1 to the app, so no
  hint is sent; were one sent, nginx would mangle it (HTTP/1.1 to the client) or reset the
  stream (HTTP/2). nginx 1.29+ with ``early_hints`` on can relay them: add ``"HTTP/1.1"``.
* Apache 2.4 mod_http2 with ``H2EarlyHints on`` and mod_proxy_http: add ``"HTTP/1.1"``;
  Apache relays the 103 to HTTP/2 clients (and with ``H2Push on`` also pushes its links:
  set ``PUSH_NOPUSH`` to prevent that).
* h2o swallows an upstream 103; Cloudflare makes its own from the final ``Link`` header.
* HTTP/1.0 clients never get one (gunicorn refuses as well).

A 103 is an optimisation: if building it or the server's callable fails, the error is
logged (a warning the first time per endpoint) and the request goes on without it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Request, Response, current_app, request
from jinja2 import Environment
from werkzeug.datastructures import Headers
from werkzeug.security import safe_join

from . import push_once
from .decorator import view_manifest_path
from .errors import ConfigError
from .headers import collect_links, fit_links, mark_nopush
from .links import Link, serialize_links
from .recording import RequestPushes, recorded_pushes
from .settings import Settings, template_map
from .state import FirstTimes, PushState, get_state
from .templates import TemplateFacts

log = logging.getLogger(__name__)

#: The relations a browser acts on in a 103. Chromium 156 also takes ``modulepreload``
#: from a 103 (measured by tests/benchmarks/bench_page_load.py: without it an import()ed
#: module waits for the final header, and the hint gains little on a module-based page).
HINT_RELATIONS = frozenset({"preload", "modulepreload", "preconnect"})

#: How many endpoints are remembered; the least recently requested one is forgotten first.
MAX_ENDPOINTS = 1024
#: How many distinct sets of templates are remembered per endpoint.
MAX_VARIANTS = 8
#: How many template names of one response are remembered.
MAX_TEMPLATES = 32

_PROTOCOL = re.compile(r"HTTP/(\d+)(?:\.(\d+))?")

EarlyHintsCallable = Callable[[list[tuple[str, str]]], Any]


# A distinct set of template names -> those names in the order of their latest render.
_Variants = OrderedDict[frozenset[str], tuple[str, ...]]


class TemplateLearner:
    """Which templates each endpoint rendered recently: bounded, and safe across threads.

    An endpoint seen answering a navigation with something other than a page (JSON, a
    file) is remembered as such, so that it gets no more hints until it serves a page.
    """

    def __init__(
        self,
        max_endpoints: int = MAX_ENDPOINTS,
        max_variants: int = MAX_VARIANTS,
        max_templates: int = MAX_TEMPLATES,
    ) -> None:
        self._max_endpoints = max_endpoints
        self._max_variants = max_variants
        self._max_templates = max_templates
        # Both levels are LRU: the most recently used entry is last. A variant is keyed by
        # its set of names, so that a view rendering the same templates again changes
        # nothing, and keeps the order of its latest render. None: "not a page".
        self._endpoints: OrderedDict[str, _Variants | None] = OrderedDict()
        self._lock = threading.Lock()

    def learn(self, endpoint: str, templates: Iterable[str]) -> None:
        """Remember that a page served by ``endpoint`` rendered ``templates``."""
        names = tuple(dict.fromkeys(templates))[: self._max_templates]
        key = frozenset(names)
        with self._lock:
            variants = self._endpoints.get(endpoint)
            if variants is None:
                variants = OrderedDict()
            self._remember(endpoint, variants)
            variants[key] = names
            variants.move_to_end(key)
            if len(variants) > self._max_variants:
                variants.popitem(last=False)

    def learn_not_page(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered with something other than a page."""
        with self._lock:
            self._remember(endpoint, None)

    def _remember(self, endpoint: str, variants: _Variants | None) -> None:
        self._endpoints[endpoint] = variants
        self._endpoints.move_to_end(endpoint)
        if len(self._endpoints) > self._max_endpoints:
            self._endpoints.popitem(last=False)

    def serves_pages(self, endpoint: str) -> bool:
        """False if ``endpoint`` last answered with something other than a page."""
        with self._lock:
            return endpoint not in self._endpoints or self._endpoints[endpoint] is not None

    def variants(self, endpoint: str) -> list[tuple[str, ...]]:
        """The distinct template sets ``endpoint`` rendered, the most recent last."""
        with self._lock:
            variants = self._endpoints.get(endpoint)
            return list(variants.values()) if variants is not None else []

    def endpoints(self) -> list[str]:
        """The endpoints known to serve pages, the least recently seen first."""
        with self._lock:
            return [name for name, variants in self._endpoints.items() if variants is not None]


def common_templates(
    env: Environment, facts: TemplateFacts, variants: Sequence[Sequence[str]]
) -> list[str]:
    """The templates every variant renders or pulls in, in the latest variant's order."""
    if not variants:
        return []
    *older, latest = variants
    predicted = facts.closure(env, latest)
    for names in older:
        # Closures, not top-level names: pages/a.html and pages/b.html share their layout.
        shared = set(facts.closure(env, names))
        predicted = [name for name in predicted if name in shared]
    return predicted


class EarlyHintsState:
    """One app's Early Hints knowledge: the deployed template map and what was learned."""

    def __init__(self, deployed: Mapping[str, Sequence[str]] | None = None) -> None:
        self.deployed: dict[str, tuple[str, ...]] = {
            endpoint: tuple(names) for endpoint, names in (deployed or {}).items()
        }
        self.learner = TemplateLearner()
        #: Endpoints whose failure to hint was already logged as a warning.
        self.failures = FirstTimes()

    def serves_pages(self, endpoint: str) -> bool:
        """Whether ``endpoint`` may answer with a page (it is not known not to)."""
        return endpoint in self.deployed or self.learner.serves_pages(endpoint)

    def templates_for(self, env: Environment, facts: TemplateFacts, endpoint: str) -> list[str]:
        """The templates ``endpoint`` is predicted to render, with all they pull in."""
        deployed = self.deployed.get(endpoint)
        if deployed is not None:
            return facts.closure(env, deployed)
        return common_templates(env, facts, self.learner.variants(endpoint))

    def learn(self, endpoint: str, templates: Iterable[str] | None) -> None:
        """Remember what a page of ``endpoint`` rendered; ``None``: it was not a page."""
        if endpoint in self.deployed:
            return
        if templates is None:
            self.learner.learn_not_page(endpoint)
        else:
            self.learner.learn(endpoint, templates)


# --- which requests get a 103 ------------------------------------------------------------


def request_protocol(environ: Mapping[str, Any]) -> str | None:
    """``"HTTP/1.0"``, ``"HTTP/1.1"``, ``"HTTP/2"``... from ``SERVER_PROTOCOL``, or ``None``.

    gunicorn says ``HTTP/2.0`` for HTTP/2; from version 2 on there are no minor versions.
    """
    match = _PROTOCOL.fullmatch(str(environ.get("SERVER_PROTOCOL", "")).strip().upper())
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return f"HTTP/{major}" if major >= 2 else f"HTTP/{major}.{minor}"


def may_be_navigation(headers: Headers) -> bool:
    """Whether the request may be a top-level navigation, as Fetch Metadata tells.

    Clients that send no ``Sec-Fetch-*`` headers (older browsers, curl) may be navigating.
    """
    mode = headers.get("Sec-Fetch-Mode")
    dest = headers.get("Sec-Fetch-Dest")
    return (mode is None or mode == "navigate") and (dest is None or dest == "document")


def may_be_page_request(req: Request, settings: Settings) -> bool:
    """Whether ``req`` may be what hints are for (and learned from): a navigation by GET."""
    return req.method == "GET" and (
        not settings.early_hints_navigations_only or may_be_navigation(req.headers)
    )


def wants_hints(req: Request, settings: Settings) -> bool:
    """Whether the policy lets ``req`` have a 103 (the server's support aside)."""
    return (
        settings.enabled
        and settings.early_hints
        and request_protocol(req.environ) in settings.early_hints_protocols
        and may_be_page_request(req, settings)
    )


def serves_files(app: Flask, settings: Settings, endpoint: str) -> bool:
    """Whether ``endpoint`` serves static files (the app's or a blueprint's): never pages.

    Without this, the first request for each asset would get a 103 naming the manifests,
    which a proxy pushing the hinted assets (Apache's H2EarlyHints) would then relay.
    """
    view = app.view_functions.get(endpoint)
    return endpoint == settings.static_endpoint or getattr(view, "__name__", "") == (
        "send_static_file"
    )


# --- what a 103 says ---------------------------------------------------------------------


def hint_header(app: Flask, state: PushState, endpoint: str) -> str | None:
    """The ``Link`` value of the 103 for a request to ``endpoint``, or ``None`` if empty.

    Needs a request context (URLs are built with ``url_for``).
    """
    hints = state.early_hints
    if hints is None or not hints.serves_pages(endpoint):
        return None
    # The request's script root, as for its pushes: URLs are remembered by script root.
    predicted = RequestPushes(state, request.script_root)
    predicted.templates = hints.templates_for(app.jinja_env, state.templates, endpoint)
    view_manifest = view_manifest_path(app, app.view_functions.get(endpoint))
    if view_manifest is not None:
        predicted.view_manifests.append(view_manifest)
    # Nothing is rendered yet, as with a streamed page: collect_links then takes the
    # templates' constant pushes in place of the recorded ones, in the final header's order.
    links = collect_links(app, state, predicted, streamed=True)
    candidates = [link for link in links.by_priority() if link.rel in HINT_RELATIONS]
    settings = state.settings
    candidates = within_byte_budget(app, candidates, settings.early_hints_max_bytes)
    # Apache (H2EarlyHints) pushes what a 103 names, as it does for the final header; the
    # final response sets the push-once cookie.
    candidates = mark_nopush(candidates, settings, push_once.from_request(settings))
    kept = fit_links(candidates, settings.max_links, settings.max_header_bytes)
    return serialize_links(kept) if kept else None


def within_byte_budget(app: Flask, links: Sequence[Link], budget: int | None) -> list[Link]:
    """The *links*, in their order, whose static files add up to at most *budget* bytes.

    A 103 that names more bytes than the connection carries while the view runs makes the
    page itself arrive later: the server has already queued the hinted files when the
    HTML is ready, and the HTML waits behind them. A link that does not fit is left out
    (the final ``Link`` header still names it) and a later, smaller one may still fit.
    Sizes are those of the files in the app's static folder; a link that is not one of
    them (another origin, a view, a blueprint's folder, a missing file) costs nothing.
    ``None``: no budget.
    """
    if budget is None:
        return list(links)
    kept: list[Link] = []
    spent = 0
    for link in links:
        size = static_file_size(app, link.url)
        if size is not None:
            if spent + size > budget:
                continue
            spent += size
        kept.append(link)
    return kept


def static_file_size(app: Flask, url: str) -> int | None:
    """The size of the app's static file at *url* (as ``url_for`` built it), else ``None``.

    Needs a request context (the URL starts with the request's script root).
    """
    if app.static_folder is None or app.static_url_path is None:
        return None
    prefix = request.script_root + app.static_url_path.rstrip("/") + "/"
    path = urlsplit(url).path
    if urlsplit(url).netloc or not path.startswith(prefix):
        return None
    filename = safe_join(app.static_folder, unquote(path.removeprefix(prefix)))
    if filename is None:
        return None
    try:
        return os.path.getsize(filename)
    except OSError:
        return None


def learned_templates(app: Flask) -> dict[str, list[str]]:
    """The templates each known endpoint is predicted to render, deployed or learned.

    The result is what ``PUSH_EARLY_HINTS_TEMPLATES`` reads: dump it to JSON from a
    warmed-up process to give every worker of a deployment the same predictions.
    """
    state = get_state(app)
    hints = state.early_hints
    if hints is None:
        return {}
    endpoints = dict.fromkeys([*hints.deployed, *hints.learner.endpoints()])
    return {
        endpoint: hints.templates_for(app.jinja_env, state.templates, endpoint)
        for endpoint in endpoints
    }


# --- wiring ------------------------------------------------------------------------------


def install_early_hints(app: Flask, state: PushState) -> None:
    """Register the hooks that send and learn hints, if ``PUSH_EARLY_HINTS`` is on.

    :raises ~flask_push_templates.ConfigError: ``PUSH_EARLY_HINTS_TEMPLATES`` names a file
        that cannot be read or is not a valid template map.
    """
    if not state.settings.early_hints:
        return
    state.early_hints = EarlyHintsState(deployed_templates(app.root_path, state.settings))
    # First of the before-request hooks: the 103 should leave before the app's own hooks
    # (sessions, database connections, authentication) spend time.
    app.before_request_funcs.setdefault(None, []).insert(0, _send_early_hints)
    app.after_request(_learn_templates)


def deployed_templates(root_path: str, settings: Settings) -> dict[str, tuple[str, ...]]:
    """``PUSH_EARLY_HINTS_TEMPLATES`` as a mapping, read from its file if it names one."""
    configured = settings.early_hints_templates
    if configured is None:
        return {}
    if not isinstance(configured, str):
        return dict(configured)
    path = os.path.join(root_path, configured)
    try:
        with open(path, encoding="utf-8-sig") as file:
            document = json.load(file)
    except FileNotFoundError:
        # Not an error: `flask push manifest --early-hints` must be able to load the app to
        # write it. Workers learn meanwhile.
        log.warning(
            "PUSH_EARLY_HINTS_TEMPLATES %s does not exist yet: endpoints are learned until it "
            "does ('flask push manifest --early-hints FILE' writes it)",
            path,
        )
        return {}
    except OSError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path} cannot be read: {error.strerror}"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path}, line {error.lineno}, column {error.colno}: "
            f"invalid JSON: {error.msg}"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path} is not UTF-8 (byte {error.start}): "
            "save it as UTF-8 JSON"
        ) from None
    try:
        return dict(template_map(document))
    except ValueError as error:
        raise ConfigError(f"PUSH_EARLY_HINTS_TEMPLATES: {path}: {error}") from None


def _send_early_hints() -> None:
    send: EarlyHintsCallable | None = request.environ.get("wsgi.early_hints")
    endpoint = request.endpoint
    if send is None or not callable(send) or endpoint is None:
        return
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    settings = state.settings
    if (
        state.early_hints is None
        or not wants_hints(request, settings)
        or serves_files(app, settings, endpoint)
    ):
        return
    try:
        value = hint_header(app, state, endpoint)
        if value is not None:
            send([("Link", value)])
    except Exception:
        # A hint only saves time; whatever broke it (the server's callable, a client that
        # went away, a URL that cannot be built), the response itself must still be served.
        first = state.early_hints.failures.first(endpoint)
        log.log(
            logging.WARNING if first else logging.DEBUG,
            "%s: 103 Early Hints not sent; the response goes on without them",
            endpoint,
            exc_info=True,
        )


def _learn_templates(response: Response) -> Response:
    endpoint = request.endpoint
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    settings = state.settings
    hints = state.early_hints
    if (
        hints is None
        or endpoint is None
        or not settings.enabled
        # Learn only from what would be hinted: a fetch() of an endpoint that also serves
        # JSON must not teach it that navigations get JSON.
        or not may_be_page_request(request, settings)
        # A redirect or an error says nothing about what the page needs.
        or not 200 <= response.status_code < 300
        or serves_files(app, settings, endpoint)
    ):
        return response
    if response.mimetype in settings.mimetypes:
        pushes = recorded_pushes()
        hints.learn(endpoint, pushes.templates if pushes is not None else ())
    else:
        hints.learn(endpoint, None)
    return response
