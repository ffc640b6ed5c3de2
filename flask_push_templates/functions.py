"""The functions views and templates call: ``push_url``, ``push_url_for``, ``push_link_tags``,
``vite_tags``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from markupsafe import Markup, escape

from .csp import request_nonce
from .errors import PushError
from .pipeline import collect_links, header_candidates, prepare
from .recording import page_record, record_endpoint_push, record_push
from .state import get_state
from .vite import ViteFile

# url_for's own underscore options; every other underscore argument is a link attribute.
_URL_FOR_OPTIONS = frozenset({"_external", "_anchor", "_method", "_scheme"})


def push_url(
    asset: str, destination: str | None = None, endpoint: str | None = None, **attributes: Any
) -> str:
    """Record a push of ``asset`` for this response and return its URL.

    ``asset`` is a static file name (``'css/app.css'``), a path or a full URL. Use it where
    the asset is referenced: ``<link rel="stylesheet" href="{{ push_url('app.css') }}">``.
    A static file name's URL is the one the app's templates build (Flask-CDN's,
    Flask-Static-Digest's or ``PUSH_URL_BUILDER``'s, else ``url_for``'s).

    :param destination: ``style``, ``script``, ``font``, ``image``, ``fetch``, ``track``,
        ``module`` or ``document``; inferred from the file extension when omitted.
    :param attributes: ``rel``, ``weight``, ``nopush``, ``crossorigin``, ``type``, and any
        other link attribute (``nonce``, ``integrity``, ``media``, ``fetchpriority``...).
    :param endpoint: the endpoint that serves the static file, if not
        ``PUSH_STATIC_ENDPOINT``: ``'admin.static'`` for the ``admin`` blueprint's.
    """
    return record_push(asset, destination, attributes, endpoint=endpoint)


def push_url_for(endpoint: str, **values: Any) -> str:
    """``url_for`` that also records a push of the URL it builds.

    Link attributes are passed with a leading underscore, as ``url_for`` does for its own:
    ``push_url_for('static', filename='app.js', _as='module', _weight=2)``. A static
    endpoint (``static``, ``admin.static``, ``PUSH_STATIC_ENDPOINT``) is built as a push of
    the file name is, by the app's static URL builder (Flask-CDN's, Flask-Static-Digest's,
    ``PUSH_URL_BUILDER``'s): ``push_url_for('static', filename='app.css')`` is
    ``push_url('app.css')``. Any other endpoint is built by Flask's ``url_for``.
    """
    attributes = {
        name[1:]: values.pop(name)
        for name in list(values)
        if name.startswith("_") and name not in _URL_FOR_OPTIONS
    }
    destination = attributes.pop("as", None)
    return record_endpoint_push(endpoint, values, destination, attributes)


def push_link_tags() -> Markup:
    """``<link rel="preload">`` tags for what has been pushed so far, for deployments where
    a proxy strips ``Link`` headers. Call it after the pushes it should list (for instance
    at the end of ``<head>``, after the blocks that push)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    page = page_record()
    if page is None:
        return Markup("")
    # As a header names them (the nonce), but for pushed_before: that is the header's.
    links = prepare(header_candidates(collect_links(app, state, page), state), state, None)
    return Markup("\n".join(link.html_tag() for link in links))


def vite_tags(entry: str, **options: Any) -> Markup:
    """The tags that load Vite entry ``entry`` (``'src/main.ts'``), which it also pushes.

    A ``<link rel="stylesheet">`` for each stylesheet of the entry and of the chunks it
    imports (theirs first), and ``<script type="module">`` for its script, with the
    manifest's ``integrity`` and the request's CSP nonce. With ``import_map=True`` (or
    ``PUSH_VITE_IMPORT_MAP``) the page has an import map, so its modules are preloaded by
    ``<link rel="modulepreload">`` tags here, after the map, instead of by the header.
    ``{% vite 'src/main.ts' %}`` is the same with constant arguments, known to the 103.

    :param options: ``prefetch``, ``import_map``, ``fonts``, ``weight``, ``nopush``.
    :raises PushError: ``PUSH_VITE_MANIFEST`` is not set, or ``entry`` is not an entry.
    """
    html = vite_html(entry, options)  # first: it says why an entry cannot be pushed
    record_push(entry, None, options)
    return html


def vite_html(entry: str, options: Mapping[str, Any]) -> Markup:
    """The tags of :func:`vite_tags`, without pushing: what ``{% vite %}`` renders (the tag
    pushes the entry itself, as a constant push, so that the 103 knows it)."""
    if not isinstance(entry, str):
        raise PushError(
            f"vite: the entry must be a source path such as 'src/main.ts', not {entry!r}"
        )
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    state = get_state(app)
    build = state.vite
    if build is None:
        raise PushError(f"Vite entry {entry!r}: set PUSH_VITE_MANIFEST to the build's manifest")
    # A manifest that never was valid: load() raises, saying why.
    manifest = build.manifest(app.jinja_env.auto_reload) or build.load()
    graph = manifest.graph(entry)
    record = page_record()
    urls = record.urls if record is not None else state.resolver.for_request()
    nonce = request_nonce(state)

    def tag(name: str, file: ViteFile, **attributes: str | None) -> str:
        attributes[name] = urls.url(build.asset(file.file))
        attributes.update(integrity=file.integrity, nonce=nonce)
        return " ".join(
            f'{key}="{escape(value)}"' for key, value in attributes.items() if value is not None
        )

    tags = [f"<link {tag('href', style, rel='stylesheet')}>" for style in graph.styles]
    if build.option(options, "import_map"):
        tags.extend(f"<link {tag('href', chunk, rel='modulepreload')}>" for chunk in graph.imports)
    if graph.script is not None:
        tags.append(f"<script {tag('src', graph.script, type='module')}></script>")
    return Markup("\n".join(tags))
