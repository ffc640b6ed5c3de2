"""Which assets a page makes the browser fetch: references in HTML, CSS and module scripts.

Pure functions over text, with no Flask in them: ``flask push manifest`` (crawl.py) fetches
the page, calls these, and follows the stylesheets and module scripts they return.

Only what the browser fetches while it renders the page counts, because a preload of
anything else is wasted bandwidth: so lazy images, ``nomodule`` scripts, alternate
stylesheets, dynamic ``import()`` and the content of ``<template>`` and ``<noscript>`` are
left out, and of a ``@font-face`` rule only the first ``url()`` of its ``src`` is kept (the
format the browser downloads when it supports it, in practice woff2).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin

from ..destinations import DESTINATIONS, infer_destination

#: Destinations the scanner follows: it reads a stylesheet's and a module's own references.
STYLESHEET = "style"
MODULE = "module"


@dataclass(frozen=True)
class Reference:
    """An asset the browser fetches, as an absolute URL without fragment.

    ``destination`` is what the context says the fetch is (a ``<script type=module>`` is a
    module whatever its extension); ``None`` where the context does not say (a ``url()`` in
    a style rule): the file extension decides then, as it does in the core.
    """

    url: str
    destination: str | None
    #: The element's ``crossorigin`` value ("" when bare), ``None`` without the attribute.
    crossorigin: str | None = None
    #: The element's ``integrity`` value, ``None`` without the attribute.
    integrity: str | None = None
    #: From a ``<link rel=preload>`` or ``modulepreload``: fetched ahead for a later use,
    #: not a use itself (``flask push check --pages`` looks for the uses).
    preload: bool = False


# --- HTML ---------------------------------------------------------------------------------

# The <script type> values that make a classic script (HTML's "JavaScript MIME type essence
# match", abridged to the ones in use); anything else (text/template, ld+json) is not run.
_CLASSIC_SCRIPT_TYPES = frozenset(
    {"", "text/javascript", "application/javascript", "application/ecmascript", "text/ecmascript"}
)
# <link rel=preload as=...> values the core knows as destinations.
_PRELOAD_AS = frozenset(DESTINATIONS) - {"module", "document"}
# Elements whose content the browser does not fetch from while rendering the page.
_INERT_ELEMENTS = frozenset({"template", "noscript"})


@dataclass(frozen=True)
class HtmlScan:
    """What one HTML document references, and the import map its modules resolve with."""

    references: tuple[Reference, ...]
    import_map: ImportMap


def scan_html(html: str, url: str) -> HtmlScan:
    """The assets the HTML document at ``url`` references, in document order."""
    parser = _PageParser(url)
    parser.feed(html)
    parser.close()
    return HtmlScan(tuple(parser.references), parser.import_map)


class _PageParser(HTMLParser):
    def __init__(self, url: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = url
        self._base_seen = False
        self.references: list[Reference] = []
        self.import_map = ImportMap()
        self._inert_depth = 0
        # The raw-text element being read (script or style) and what it will need.
        self._text_kind: str | None = None
        self._text: list[str] = []
        self._handlers: dict[str, Callable[[Mapping[str, str]], None]] = {
            "base": self._start_base,
            "link": self._start_link,
            "script": self._start_script,
            "style": self._start_style,
            "img": self._start_img,
        }

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INERT_ELEMENTS:
            self._inert_depth += 1
        if self._inert_depth:
            return
        attributes = _first_attributes(attrs)
        style = attributes.get("style")
        if style:
            self.references.extend(scan_css(style, self.base).references)
        handler = self._handlers.get(tag)
        if handler is not None:
            handler(attributes)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # <link ... /> and friends: void elements, so nothing to close.
        if tag not in _INERT_ELEMENTS:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INERT_ELEMENTS and self._inert_depth:
            self._inert_depth -= 1
        elif tag in ("script", "style") and self._text_kind is not None:
            self._finish_text()

    def handle_data(self, data: str) -> None:
        if self._text_kind is not None:
            self._text.append(data)

    def _add(
        self,
        url: str | None,
        destination: str | None,
        attributes: Mapping[str, str],
        preload: bool = False,
    ) -> None:
        if url and url.strip():
            resolved = resolve(url.strip(), self.base)
            if resolved is not None:
                reference = Reference(
                    resolved,
                    destination,
                    attributes.get("crossorigin"),
                    attributes.get("integrity"),
                    preload,
                )
                self.references.append(reference)

    def _start_base(self, attributes: Mapping[str, str]) -> None:
        # Only the first <base href> counts, as in browsers.
        if "href" in attributes and not self._base_seen:
            self._base_seen = True
            self.base = urljoin(self.base, attributes["href"].strip())

    def _start_link(self, attributes: Mapping[str, str]) -> None:
        rel = set(attributes.get("rel", "").lower().split())
        href = attributes.get("href")
        if "stylesheet" in rel and "alternate" not in rel and "disabled" not in attributes:
            self._add(href, STYLESHEET, attributes)
        elif "modulepreload" in rel:
            self._add(href, MODULE, attributes, preload=True)
        elif "preload" in rel:
            as_value = attributes.get("as", "").strip().lower()
            if as_value in _PRELOAD_AS:
                self._add(href, as_value, attributes, preload=True)

    def _start_script(self, attributes: Mapping[str, str]) -> None:
        kind = attributes.get("type", "").strip().lower()
        if kind == "module":
            destination = MODULE
        elif kind in _CLASSIC_SCRIPT_TYPES and "nomodule" not in attributes:
            destination = "script"
        elif kind == "importmap":
            self._start_text("importmap")
            return
        else:
            return
        if "src" in attributes:
            self._add(attributes["src"], destination, attributes)
        elif destination == MODULE:
            self._start_text("module")  # an inline module's imports are fetched too

    def _start_style(self, attributes: Mapping[str, str]) -> None:
        self._start_text("style")

    def _start_img(self, attributes: Mapping[str, str]) -> None:
        # A lazy image is fetched only when scrolled to; with srcset the browser picks a
        # candidate by viewport, so a preload of src could be the wrong file.
        if attributes.get("loading", "").lower() == "lazy" or "srcset" in attributes:
            return
        self._add(attributes.get("src"), "image", attributes)

    def _start_text(self, kind: str) -> None:
        self._text_kind = kind
        self._text = []

    def _finish_text(self) -> None:
        text, kind = "".join(self._text), self._text_kind
        self._text_kind, self._text = None, []
        if kind == "importmap":
            # A page's import map comes before its module scripts (browsers ignore a later
            # one), so it applies to the inline modules that follow and to the crawler's.
            self.import_map = ImportMap.parse(text, self.base)
        elif kind == "style":
            self.references.extend(scan_css(text, self.base).references)
        elif kind == "module":
            imports = module_imports(text, self.base, self.import_map)
            self.references.extend(Reference(url, MODULE) for url in imports)


def _first_attributes(attrs: Iterable[tuple[str, str | None]]) -> dict[str, str]:
    # Browsers keep the first of duplicated attributes; dict() would keep the last.
    attributes: dict[str, str] = {}
    for name, value in attrs:
        attributes.setdefault(name, value or "")
    return attributes


def resolve(reference: str, base: str) -> str | None:
    """``reference`` as an absolute URL without fragment; ``None`` for what is not fetched
    (``data:`` URLs, fragment-only references such as SVG's ``url(#clip)``)."""
    if reference.startswith("#") or reference.lower().startswith(("data:", "javascript:")):
        return None
    url = urldefrag(urljoin(base, reference)).url
    return url if url.lower().startswith(("http://", "https://")) else None


# --- CSS ----------------------------------------------------------------------------------

_CSS_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s"']*))\s*\)""", re.IGNORECASE)
_CSS_IMPORT = re.compile(
    r"""@import\s+(?:url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s"']*))\s*\)|"([^"]*)"|'([^']*)')""",
    re.IGNORECASE,
)
_FONT_FACE = re.compile(r"@font-face\s*\{([^{}]*)\}", re.IGNORECASE)
_FONT_SRC = re.compile(r"(?:^|[;{\s])src\s*:([^;]*)", re.IGNORECASE)


@dataclass(frozen=True)
class CssScan:
    references: tuple[Reference, ...]


def scan_css(css: str, url: str) -> CssScan:
    """The assets a stylesheet (or a ``style`` attribute) at ``url`` references.

    ``@import``\\ ed stylesheets come back as ``style``; the font a ``@font-face`` rule
    downloads as ``font``; any other ``url()`` without a destination (the extension decides:
    mostly images). Relative URLs are resolved against the stylesheet, as browsers do.
    """
    text = _CSS_COMMENT.sub(" ", css)
    references: list[Reference] = []
    claimed: list[tuple[int, int]] = []
    for match in _CSS_IMPORT.finditer(text):
        claimed.append(match.span())
        _append(references, _first_group(match), url, STYLESHEET)
    for match in _FONT_FACE.finditer(text):
        claimed.append(match.span())
        font = _first_font_url(match.group(1))
        _append(references, font, url, "font")
    for match in _CSS_URL.finditer(text):
        if not any(start <= match.start() < end for start, end in claimed):
            _append(references, _first_group(match), url, None)
    return CssScan(tuple(references))


def _first_font_url(rule_body: str) -> str | None:
    # Later declarations override earlier ones, so the last src wins; within it the browser
    # takes the first source it supports: local() fonts cost nothing, so the first url().
    sources = _FONT_SRC.findall(rule_body)
    if not sources:
        return None
    match = _CSS_URL.search(sources[-1])
    return _first_group(match) if match is not None else None


def _first_group(match: re.Match[str]) -> str | None:
    return next((group for group in match.groups() if group is not None), None)


def _append(
    references: list[Reference], raw: str | None, base: str, destination: str | None
) -> None:
    """Add the reference a ``url()``'s or an ``@import``'s text ``raw`` makes, if any."""
    if raw and raw.strip():
        resolved = resolve(raw.strip(), base)
        if resolved is not None:
            references.append(Reference(resolved, destination))


# --- module scripts -----------------------------------------------------------------------

# Block comments, and line comments that start a line or follow whitespace or a semicolon
# (so that "https://..." inside a string is not taken for a comment).
_JS_COMMENT = re.compile(r"/\*.*?\*/|(?:^|(?<=[\s;]))//[^\n]*", re.DOTALL | re.MULTILINE)
# Static imports and re-exports at the start of a statement: import "x"; import a from "x";
# import {a, b} from "x"; export * from "x"; export {a} from "x". Not import("x"), which
# loads on demand, and not import.meta.
_JS_IMPORT = re.compile(
    r"""(?:^|(?<=[;}]))[ \t]*(?:import|export)\b(?:[^;'"`()]*?\bfrom)?\s*(["'])([^"'\n]+)\1""",
    re.MULTILINE,
)
# Specifiers the browser resolves as URLs without an import map.
_URL_LIKE_SPECIFIER = re.compile(r"(?:/|\./|\.\./|[A-Za-z][A-Za-z0-9+.\-]*:)")


def module_imports(source: str, url: str, import_map: ImportMap) -> list[str]:
    """The absolute URLs of the JavaScript modules the module ``source`` at ``url`` imports
    statically (JSON and CSS module imports are not scripts and are left out)."""
    imported: list[str] = []
    for match in _JS_IMPORT.finditer(_JS_COMMENT.sub(" ", source)):
        resolved = import_map.resolve(match.group(2), url)
        if resolved is not None and infer_destination(resolved) in (None, "script", MODULE):
            imported.append(resolved)
    return imported


@dataclass(frozen=True)
class ImportMap:
    """The ``imports`` of a page's ``<script type="importmap">`` (scopes are not applied)."""

    imports: tuple[tuple[str, str], ...] = ()

    @classmethod
    def parse(cls, text: str | None, base: str) -> ImportMap:
        """The import map in ``text``; an empty one if there is none or it is not valid
        (the browser ignores an invalid map too)."""
        if not text:
            return cls()
        try:
            document = json.loads(text)
        except ValueError:
            return cls()
        imports = document.get("imports") if isinstance(document, dict) else None
        if not isinstance(imports, dict):
            return cls()
        return cls(
            tuple(
                (key, urljoin(base, value))
                for key, value in imports.items()
                if isinstance(key, str) and isinstance(value, str)
            )
        )

    def resolve(self, specifier: str, base: str) -> str | None:
        """The URL a module ``specifier`` imported from ``base`` loads, ``None`` if unknown."""
        mapped = dict(self.imports).get(specifier)
        if mapped is not None:
            return resolve(mapped, base)
        # The longest "prefix/" key wins, as in the HTML spec's import map resolution.
        prefixes = [
            key for key, _ in self.imports if key.endswith("/") and specifier.startswith(key)
        ]
        if prefixes:
            key = max(prefixes, key=len)
            return resolve(dict(self.imports)[key] + specifier[len(key) :], base)
        if _URL_LIKE_SPECIFIER.match(specifier):
            return resolve(specifier, base)
        return None  # a bare specifier ("lodash") that no import map names: not fetchable
