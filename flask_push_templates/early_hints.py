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
are remembered for its endpoint and its kind of request (with credentials or without,
below). The prediction is what every recently seen variant has in common (a view that
renders ``pages/<slug>.html`` is predicted to need the layout they all extend, not one
page's assets). Learning is per app and per worker process, thread-safe and bounded
(:data:`MAX_ENDPOINTS` endpoints, :data:`MAX_VARIANTS` distinct template sets per endpoint
and kind, :data:`MAX_TEMPLATES` names per set). The facts derived from a name (what it
extends, what it pushes) are read again when the template changes and the environment
auto-reloads, so an edit in debug is picked up on the next request. Endpoints that serve
static files never get a hint.

What one visitor does must not be used against others (:mod:`.learning` has the rules): a
103 leaves before authentication runs, so pages are learned and predicted per kind of
request, with credentials (a ``Cookie`` other than the push-once one, ``Authorization``,
``REMOTE_USER``) or without (:func:`.hint_policy.carries_credentials`), and a request
without credentials is only hinted what pages served to requests without credentials
rendered: the first anonymous visitor after an admin page is not hinted the admin's
assets. An endpoint whose recent answers to page requests include a redirect or an error
(3xx but 304, 4xx, 5xx) gets no hint, deployed or learned, for either kind; the
prediction never grows (a template one of the endpoint's pages did not pull in is never
predicted); answers that are not pages (``PUSH_MIMETYPES``), JSON say, switch the hints
off only while they outnumber the pages; a page that rendered no template (a
cached view's hit) teaches nothing; a 304 teaches nothing (a 103 may precede a 304: it
leaves before the view decides). ``PUSH_EARLY_HINTS_EXCLUDE`` lists endpoints (names or
``fnmatch`` patterns) that never get a hint: for pages that differ between visitors who
all carry credentials (an admin and a user), and for apps that authenticate by something
other than a cookie or a header (a client certificate, the source address, a secret in
the URL).

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

Endpoints it lists are not learned: the file is their truth, hinted to every request, with
credentials or without. So :func:`learned_templates` exports only what pages served to
requests without credentials taught, and a map written by a logged-in crawl names pages
only logged-in visitors see: leave those out of it (or exclude them). There is no
server-side shared state.

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
logged (a warning the first time per endpoint) and the request goes on without it. That
includes ``BaseException`` subclasses such as ``gevent.Timeout``, but not
``KeyboardInterrupt`` and ``SystemExit``, which still stop the process.

This module builds the 103 (through :mod:`.pipeline`, like the final header) and wires the
hooks; what is learned lives in :mod:`.learning`, which requests qualify in
:mod:`.hint_policy`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, Response, current_app, request
from werkzeug.security import safe_join

from . import push_once
from .decorator import view_manifest_path
from .headers import BODILESS_STATUSES
from .hint_policy import (
    carries_credentials,
    excluded,
    may_be_page_request,
    serves_files,
    wants_hints,
)
from .learning import EarlyHintsState, deployed_templates
from .links import Link, serialize_links
from .pipeline import collect_links, fit_links, header_candidates, prepare, select
from .recording import PageRecord, recorded_page
from .state import PushState, get_state

log = logging.getLogger(__name__)

EarlyHintsCallable = Callable[[list[tuple[str, str]]], Any]

#: The relations a browser acts on in a 103. Chromium 156 also takes ``modulepreload``
#: from a 103 (measured by tests/benchmarks/bench_page_load.py: without it an import()ed
#: module waits for the final header, and the hint gains little on a module-based page).
HINT_RELATIONS = frozenset({"preload", "modulepreload", "preconnect"})


def predicted_page(
    app: Flask, state: PushState, endpoint: str, *, credentialed: bool | None = None
) -> PageRecord | None:
    """The record of a request to ``endpoint`` before its view runs, or ``None`` if the
    endpoint is not known to serve pages. Needs a request context (the resolver's).

    :param credentialed: predict for a request with credentials or for one without (see
        :func:`.hint_policy.carries_credentials`); ``None``: as the current request is.
    """
    hints = state.early_hints
    if hints is None or not hints.serves_pages(endpoint):
        return None
    if credentialed is None:
        credentialed = carries_credentials(request.environ, state.settings)
    view_manifest = view_manifest_path(app, app.view_functions.get(endpoint))
    return PageRecord.predicted(
        state,
        hints.templates_for(app.jinja_env, state.templates, endpoint, credentialed=credentialed),
        [] if view_manifest is None else [view_manifest],
    )


def hint_links(
    app: Flask, state: PushState, endpoint: str, *, credentialed: bool | None = None
) -> list[Link]:
    """The links of the 103 for a request to ``endpoint``, in order (``credentialed`` as
    :func:`predicted_page` takes it)."""
    page = predicted_page(app, state, endpoint, credentialed=credentialed)
    if page is None:
        return []
    # Nothing is rendered yet, as with a streamed page: the pipeline takes the templates'
    # constant pushes in place of recorded ones, in the final header's order.
    links = collect_links(app, state, page, body_rendered=False)
    candidates = select(header_candidates(links, state), lambda link: link.rel in HINT_RELATIONS)
    settings = state.settings
    candidates = within_byte_budget(app, candidates, settings.early_hints_max_bytes)
    # Apache (H2EarlyHints) pushes what a 103 names, as it does for the final header; the
    # final response sets the push-once cookie. No CSP nonce: see csp.py.
    candidates = prepare(candidates, state, push_once.from_request(settings), nonce=False)
    return fit_links(candidates, settings.max_links, settings.max_header_bytes)


def within_byte_budget(app: Flask, links: Sequence[Link], budget: int | None) -> Sequence[Link]:
    """The *links*, in their order, whose static files add up to at most *budget* bytes
    (``PUSH_EARLY_HINTS_MAX_BYTES``).

    A 103 that names more bytes than the connection carries while the view runs makes the
    page itself arrive later: the server has already queued the hinted files when the
    HTML is ready, and the HTML waits behind them. A link that does not fit is left out
    (the final ``Link`` header still names it) and a later, smaller one may still fit.
    Sizes are those of the files in the app's static folder; a link that is not one of
    them (another origin, a view, a blueprint's folder, a missing file) costs nothing.
    ``None``: no budget. A stream stays one (:func:`~.pipeline.select`): files are looked
    at only as far as the 103 reads.
    """
    if budget is None:
        return links
    spent = 0

    def fits(link: Link) -> bool:
        nonlocal spent
        size = static_file_size(app, link.url)
        if size is None:
            return True
        if spent + size > budget:
            return False
        spent += size
        return True

    return select(links, fits)


def static_file_size(app: Flask, url: str) -> int | None:
    """The size of the app's static file at *url* (as ``url_for`` built it), else ``None``.

    Needs a request context (the URL starts with the request's script root).
    """
    if app.static_folder is None or app.static_url_path is None:
        return None
    prefix = request.script_root + app.static_url_path.rstrip("/") + "/"
    parts = urlsplit(url)
    if parts.netloc or not parts.path.startswith(prefix):
        return None
    filename = safe_join(app.static_folder, unquote(parts.path.removeprefix(prefix)))
    if filename is None:
        return None
    try:
        return os.path.getsize(filename)
    except OSError:
        return None


def hint_header(
    app: Flask, state: PushState, endpoint: str, *, credentialed: bool | None = None
) -> str | None:
    """The ``Link`` value of the 103 for a request to ``endpoint``, or ``None`` if empty."""
    links = hint_links(app, state, endpoint, credentialed=credentialed)
    return serialize_links(links) if links else None


def learned_templates(app: Flask) -> dict[str, list[str]]:
    """The templates each known endpoint is predicted to render, deployed or learned from
    pages served to requests without credentials.

    The result is what ``PUSH_EARLY_HINTS_TEMPLATES`` reads: dump it to JSON from a
    warmed-up process to give every worker of a deployment the same predictions. A
    deployed map is hinted to every request, so what only pages served to requests with
    credentials taught (a logged-in page) is left out: it would name those pages' assets
    to anonymous visitors.
    """
    state = get_state(app)
    hints = state.early_hints
    if hints is None:
        return {}
    endpoints = dict.fromkeys([*hints.deployed, *hints.learner.endpoints(credentialed=False)])
    return {
        endpoint: hints.templates_for(app.jinja_env, state.templates, endpoint, credentialed=False)
        for endpoint in endpoints
    }


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
        or excluded(settings, endpoint)
    ):
        return
    try:
        value = hint_header(app, state, endpoint)
        if value is not None:
            send([("Link", value)])
    except (KeyboardInterrupt, SystemExit):
        raise  # the process is asked to stop: that is not the hint's to swallow
    except BaseException:
        # BaseException, not Exception: gevent.Timeout is a BaseException so that the
        # code it interrupts does not catch it, yet a timeout that fires while the 103 is
        # written (a slow client) must cost the hint, not the response. Only a timeout
        # around the request itself is lost this way, and that one fires again later.
        # A hint only saves time; whatever broke it (the server's callable, a client that
        # went away, a URL that cannot be built), the response itself must still be served.
        first = state.hint_failures.first(endpoint)
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
        or serves_files(app, settings, endpoint)
        # The client's cache answered: it says nothing about the endpoint.
        or response.status_code == 304
    ):
        return response
    if not 200 <= response.status_code < 300:
        # A redirect or an error: this kind of request may not see what the last page
        # needed (a login redirect after an admin page). No more hints for a while.
        hints.learn_refusal(endpoint)
    elif response.mimetype not in settings.mimetypes or response.status_code in BODILESS_STATUSES:
        hints.learn_not_page(endpoint)
    else:
        page = recorded_page()
        if page is not None and page.templates:
            names = page.templates
            hints.learn(
                endpoint,
                names,
                state.templates.closure(app.jinja_env, names),
                credentialed=carries_credentials(request.environ, settings),
            )
        # A page that rendered no template (a cache hit, a string) teaches nothing: it must
        # not erase what the rendered ones taught.
    return response
