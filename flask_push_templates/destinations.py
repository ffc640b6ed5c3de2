"""The destination vocabulary: what a pushed asset is, and what that implies for its link.

A destination is the manifest's ``"type"`` and the tag's second argument. It decides the
link relation, the ``as`` value and whether the browser fetches the asset in CORS mode
(in which case the link must say ``crossorigin`` or the browser downloads it twice).


Pure: imports no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Destination:
    """How one destination is expressed in a link."""

    rel: str
    as_value: str | None
    cors: bool


DESTINATIONS: dict[str, Destination] = {
    "style": Destination("preload", "style", cors=False),
    "script": Destination("preload", "script", cors=False),
    "font": Destination("preload", "font", cors=True),
    "image": Destination("preload", "image", cors=False),
    "fetch": Destination("preload", "fetch", cors=True),
    "track": Destination("preload", "track", cors=False),
    # Module scripts are fetched in CORS mode; modulepreload implies as=script.
    "module": Destination("modulepreload", None, cors=True),
    # flask-http2-push manifests say "document", but browsers reject preload as=document.
    # A document is something the user navigates to next: that is what prefetch means.
    "document": Destination("prefetch", None, cors=False),
}

#: Link relations a push may ask for explicitly with ``rel=...``.
RELATIONS = ("preload", "modulepreload", "prefetch", "preconnect", "dns-prefetch")

#: Relations that name an origin to connect to rather than an asset to fetch.
CONNECTION_RELATIONS = frozenset({"preconnect", "dns-prefetch"})

_EXTENSION_DESTINATIONS: dict[str, str] = {
    ".css": "style",
    ".js": "script",
    ".mjs": "module",
    ".woff2": "font",
    ".woff": "font",
    ".ttf": "font",
    ".otf": "font",
    ".eot": "font",
    ".png": "image",
    ".jpg": "image",
    ".jpeg": "image",
    ".gif": "image",
    ".webp": "image",
    ".avif": "image",
    ".svg": "image",
    ".ico": "image",
    ".vtt": "track",
    ".json": "fetch",
}

# Spelled out rather than taken from `mimetypes`, whose answers depend on the host's
# /etc/mime.types and which does not know woff2 everywhere.
FONT_TYPES: dict[str, str] = {
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".eot": "application/vnd.ms-fontobject",
}


def extension_of(url: str) -> str:
    """The lower-cased file extension of a URL's path (query and fragment ignored)."""
    try:
        path = urlsplit(url).path
    except ValueError:
        # urlsplit refuses an unbalanced "[" in the authority ("//[x.css"); such a URL is
        # percent-encoded later, and its extension is still what ends its name.
        path = url.split("#", 1)[0].split("?", 1)[0]
    name = path.rpartition("/")[2]
    # Unlike posixpath.splitext, a name that is only an extension (".css") still has one.
    dot = name.rfind(".")
    return name[dot:].lower() if dot >= 0 else ""


def infer_destination(url: str) -> str | None:
    """The destination implied by a URL's file extension, or ``None`` if there is none."""
    return _EXTENSION_DESTINATIONS.get(extension_of(url))


def accepted_destinations() -> str:
    """The destination names, for error messages."""
    return ", ".join(sorted(DESTINATIONS))
