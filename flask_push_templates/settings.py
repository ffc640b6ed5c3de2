"""The ``PUSH_*`` configuration keys: their defaults, and validation at start-up.

Pure: imports no Flask (a config is any mapping).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from werkzeug.utils import ImportStringError, import_string

from .errors import ConfigError

#: The most entries ``PUSH_ONCE_MAX_ENTRIES`` may ask for: 512 make a 2733-character cookie
#: value (push_once.py), within the 4096 bytes browsers keep per cookie (RFC 6265 6.1).
MAX_ENTRIES_LIMIT = 512

#: The protocols ``PUSH_EARLY_HINTS_PROTOCOLS`` may name. HTTP/1.0 is not one: a 1xx
#: response is not defined for HTTP/1.0 clients (RFC 9110 section 15.2).
HINT_PROTOCOLS = ("HTTP/1.1", "HTTP/2", "HTTP/3")

#: ``PUSH_EARLY_HINTS_TEMPLATES`` as validated: (endpoint, template names) pairs.
TemplateMap = tuple[tuple[str, tuple[str, ...]], ...]

#: Every key with its default. README.rst documents each one.
DEFAULTS: dict[str, Any] = {
    "PUSH_ENABLED": True,
    "PUSH_MANIFEST": None,
    "PUSH_STATIC_ENDPOINT": "static",
    # What builds a static file name's URL (resolver.py); None: what the app's templates
    # use (Flask-Static-Digest's static_url_for, Flask-CDN's url_for, else Flask's).
    "PUSH_URL_BUILDER": None,
    "PUSH_MIMETYPES": ("text/html",),
    "PUSH_MAX_LINKS": 50,
    # nginx answers 502 once all upstream response headers exceed proxy_buffer_size
    # (4 KiB on most platforms): half of that leaves room for cookies and the rest.
    "PUSH_MAX_HEADER_BYTES": 2048,
    "PUSH_NOPUSH": False,
    # A rel=preconnect for each other origin the links fetch from (pipeline.preconnects).
    "PUSH_PRECONNECT": True,
    # 103 Early Hints (early_hints.py). Off by default: a proxy that cannot relay a 103
    # (nginx < 1.29) breaks the response instead of dropping the hint.
    "PUSH_EARLY_HINTS": False,
    # Browsers act on a 103 only over HTTP/2 or later.
    "PUSH_EARLY_HINTS_PROTOCOLS": ("HTTP/2", "HTTP/3"),
    "PUSH_EARLY_HINTS_NAVIGATIONS_ONLY": True,
    "PUSH_EARLY_HINTS_TEMPLATES": None,
    # The most bytes of static files one 103 may name (early_hints.within_byte_budget):
    # a 103 naming more than the connection carries while the view runs delays the HTML.
    "PUSH_EARLY_HINTS_MAX_BYTES": None,
    # Endpoints never hinted: names or fnmatch patterns ("admin.*"). A 103 leaves before
    # authentication: list the endpoints whose assets anonymous visitors must not see.
    "PUSH_EARLY_HINTS_EXCLUDE": (),
    # Push once (push_once.py): a cookie digest of what was pushed to this client, so that
    # later responses mark those links nopush. Off by default: it sets a cookie.
    "PUSH_ONCE": False,
    "PUSH_ONCE_COOKIE": "push_once",
    # About an asset cache's lifetime; None: a session cookie.
    "PUSH_ONCE_MAX_AGE": 7 * 24 * 3600,
    "PUSH_ONCE_MAX_ENTRIES": 64,
    # None: Secure when the request is (behind a TLS proxy, ProxyFix tells Flask it is).
    "PUSH_ONCE_COOKIE_SECURE": None,
    "PUSH_ONCE_COOKIE_SAMESITE": "Lax",
    "PUSH_ONCE_COOKIE_PATH": "/",
    # CSP nonces (csp.py). None: Flask-Talisman's request.csp_nonce, when it is set.
    "PUSH_NONCE_GETTER": None,
    # A Vite build (vite.py): its .vite/manifest.json, relative to the app's root; where
    # its folder is served (None: it is in the static folder); whether pages have an
    # import map (no modulepreload in headers and 103s); whether to prefetch import()s.
    "PUSH_VITE_MANIFEST": None,
    "PUSH_VITE_BASE": None,
    "PUSH_VITE_IMPORT_MAP": False,
    "PUSH_VITE_PREFETCH": False,
    # Cached views (page_memory.py): how many pages a process remembers the pushes of, so
    # that a cache hit gets its render's links; the endpoints cached by other means than
    # Flask-Caching's decorators (found by themselves): names or fnmatch patterns ("*").
    "PUSH_CACHED_PAGES": 1024,
    "PUSH_CACHED_ENDPOINTS": (),
    # The crawl of the flask push commands (cli/crawl.py). Routes never requested unasked:
    # endpoint names, paths or fnmatch patterns of either ("admin.*", "/admin/*").
    "PUSH_CRAWL_EXCLUDE": (),
    # A callable (or its dotted path) that prepares the crawl's test client, such as one
    # that logs it in: imported by the commands only, never by a worker serving pages.
    "PUSH_CRAWL_CLIENT": None,
}


def unknown_keys(config: Mapping[str, Any]) -> list[str]:
    """A warning for each ``PUSH_*`` key of ``config`` that is not a setting (so that it is
    ignored), naming the setting it is probably a misspelling of."""
    typos = []
    keys = [key for key in config if isinstance(key, str) and key.startswith("PUSH_")]
    for key in sorted(keys):
        if key in DEFAULTS:
            continue
        close = difflib.get_close_matches(key, list(DEFAULTS), n=1, cutoff=0.8)
        hint = f"did you mean {close[0]}?" if close else "README.rst lists the settings"
        typos.append(f"{key} is not a setting of Flask-Push-Templates and is ignored; {hint}")
    return typos


#: The ``SameSite`` values ``PUSH_ONCE_COOKIE_SAMESITE`` may take.
SAMESITE_CHOICES = ("Lax", "Strict", "None")


@dataclass(frozen=True)
class Settings:
    """The validated ``PUSH_*`` configuration of one app.

    Made only by :meth:`from_config`: the fields have no defaults of their own, so that
    :data:`DEFAULTS` is the one place a default is written.
    """

    enabled: bool
    manifest: str | None
    static_endpoint: str
    #: ``PUSH_URL_BUILDER`` imported if it was a dotted path; ``None``: the templates'.
    url_builder: Callable[..., str] | None
    mimetypes: frozenset[str]
    max_links: int
    max_header_bytes: int
    nopush: bool
    preconnect: bool
    early_hints: bool
    early_hints_protocols: frozenset[str]
    early_hints_navigations_only: bool
    #: A path to a JSON file (read by early_hints.py), the validated mapping, or ``None``.
    early_hints_templates: str | TemplateMap | None
    early_hints_exclude: tuple[str, ...]
    #: The most bytes of the app's static files one 103 may name; ``None``: no limit.
    early_hints_max_bytes: int | None
    push_once: bool
    push_once_cookie: str
    push_once_max_age: int | None
    push_once_max_entries: int
    push_once_secure: bool | None
    push_once_samesite: str
    push_once_path: str
    #: ``PUSH_NONCE_GETTER`` imported if it was a dotted path; ``None``: Flask-Talisman's.
    nonce_getter: Callable[[], Any] | None
    vite_manifest: str | None
    vite_base: str | None
    vite_import_map: bool
    vite_prefetch: bool
    cached_pages: int
    cached_endpoints: tuple[str, ...]
    crawl_exclude: tuple[str, ...]
    #: A callable taking the test client, its dotted path, or ``None``.
    crawl_client: Callable[[Any], None] | str | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        """Read and validate the ``PUSH_*`` keys of a Flask config (missing keys: defaults)."""

        def get(key: str, check: Callable[[Any], bool], expected: str) -> Any:
            value = config.get(key, DEFAULTS[key])
            if not check(value):
                raise ConfigError(f"{key} must be {expected}, not {value!r}")
            return value

        mimetypes = get(
            "PUSH_MIMETYPES",
            lambda v: (
                isinstance(v, (list, tuple, set, frozenset))
                and all(isinstance(item, str) and "/" in item for item in v)
            ),
            "a list of mimetypes such as ['text/html']",
        )
        return cls(
            enabled=get("PUSH_ENABLED", _is_bool, "True or False"),
            manifest=get("PUSH_MANIFEST", _is_optional_text, "None or a path to a JSON manifest"),
            static_endpoint=get("PUSH_STATIC_ENDPOINT", _is_text, "an endpoint name"),
            url_builder=_callable(
                "PUSH_URL_BUILDER",
                config.get("PUSH_URL_BUILDER", DEFAULTS["PUSH_URL_BUILDER"]),
                "None (what the app's templates use), a callable taking url_for's arguments "
                "(endpoint, filename=...), or its dotted path such as 'myapp.assets:asset_url'",
            ),
            mimetypes=frozenset(item.lower() for item in mimetypes),
            max_links=get("PUSH_MAX_LINKS", _is_positive_int, "a whole number of at least 1"),
            max_header_bytes=get(
                "PUSH_MAX_HEADER_BYTES", _is_positive_int, "a whole number of at least 1"
            ),
            nopush=get("PUSH_NOPUSH", _is_bool, "True or False"),
            preconnect=get("PUSH_PRECONNECT", _is_bool, "True or False"),
            early_hints=get("PUSH_EARLY_HINTS", _is_bool, "True or False"),
            early_hints_protocols=frozenset(
                get(
                    "PUSH_EARLY_HINTS_PROTOCOLS",
                    lambda v: (
                        isinstance(v, (list, tuple, set, frozenset))
                        and all(item in HINT_PROTOCOLS for item in v)
                    ),
                    f"a list of {', '.join(HINT_PROTOCOLS)} "
                    "(HTTP/1.0 clients cannot receive a 103)",
                )
            ),
            early_hints_navigations_only=get(
                "PUSH_EARLY_HINTS_NAVIGATIONS_ONLY", _is_bool, "True or False"
            ),
            early_hints_templates=_early_hints_templates(
                config.get("PUSH_EARLY_HINTS_TEMPLATES", DEFAULTS["PUSH_EARLY_HINTS_TEMPLATES"])
            ),
            early_hints_max_bytes=get(
                "PUSH_EARLY_HINTS_MAX_BYTES",
                lambda v: v is None or _is_positive_int(v),
                "None (no limit) or a whole number of bytes of at least 1",
            ),
            early_hints_exclude=tuple(
                get(
                    "PUSH_EARLY_HINTS_EXCLUDE",
                    _is_text_list,
                    "a list of endpoint names or patterns such as ['admin.*']",
                )
            ),
            **_push_once(get),
            nonce_getter=_callable(
                "PUSH_NONCE_GETTER",
                config.get("PUSH_NONCE_GETTER", DEFAULTS["PUSH_NONCE_GETTER"]),
                "None (Flask-Talisman's request.csp_nonce), a callable taking no arguments, "
                "or its dotted path such as 'myapp.csp:nonce'",
            ),
            vite_manifest=get(
                "PUSH_VITE_MANIFEST",
                _is_optional_text,
                "None or the path of a Vite build's .vite/manifest.json",
            ),
            vite_base=get(
                "PUSH_VITE_BASE",
                _is_optional_text,
                "None (the build is in the static folder), a folder of the static folder, "
                "or the URL the build is served from",
            ),
            vite_import_map=get("PUSH_VITE_IMPORT_MAP", _is_bool, "True or False"),
            vite_prefetch=get("PUSH_VITE_PREFETCH", _is_bool, "True or False"),
            cached_pages=get(
                "PUSH_CACHED_PAGES",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0,
                "a whole number of pages of at least 0 (0: none are remembered)",
            ),
            cached_endpoints=tuple(
                get(
                    "PUSH_CACHED_ENDPOINTS",
                    _is_text_list,
                    "a list of endpoint names or patterns such as ['blog.*'] ('*': all)",
                )
            ),
            crawl_exclude=tuple(
                get(
                    "PUSH_CRAWL_EXCLUDE",
                    _is_text_list,
                    "a list of endpoint names, paths or patterns such as ['admin.*', '/admin/*']",
                )
            ),
            crawl_client=get(
                "PUSH_CRAWL_CLIENT",
                lambda v: v is None or _is_text(v) or callable(v),
                "None, a callable taking the test client, or its dotted path such as "
                "'myapp.crawl:log_in'",
            ),
        )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_optional_text(value: Any) -> bool:
    return value is None or _is_text(value)


def _is_text_list(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset)) and all(map(_is_text, value))


def _is_optional_bool(value: Any) -> bool:
    return value is None or isinstance(value, bool)


# RFC 6265 section 4.1.1: a cookie name is a token; a path is any CHAR but CTLs and ";".
_COOKIE_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_PATH = re.compile(r"/[\x21-\x3a\x3c-\x7e]*")


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _push_once(get: Callable[[str, Callable[[Any], bool], str], Any]) -> dict[str, Any]:
    samesite = get(
        "PUSH_ONCE_COOKIE_SAMESITE",
        lambda v: isinstance(v, str) and v.capitalize() in SAMESITE_CHOICES,
        f"one of {', '.join(map(repr, SAMESITE_CHOICES))}",
    ).capitalize()
    secure = get(
        "PUSH_ONCE_COOKIE_SECURE", _is_optional_bool, "None (as the request), True or False"
    )
    if samesite == "None" and secure is not True:
        # Browsers drop a SameSite=None cookie that is not Secure.
        raise ConfigError(
            f"PUSH_ONCE_COOKIE_SAMESITE='None' needs PUSH_ONCE_COOKIE_SECURE=True, not {secure!r}"
        )
    return {
        "push_once": get("PUSH_ONCE", _is_bool, "True or False"),
        "push_once_cookie": get(
            "PUSH_ONCE_COOKIE",
            lambda v: isinstance(v, str) and bool(_COOKIE_NAME.fullmatch(v)),
            "a cookie name (letters, digits and !#$%&'*+-.^_`|~)",
        ),
        "push_once_max_age": get(
            "PUSH_ONCE_MAX_AGE",
            lambda v: v is None or _is_positive_int(v),
            "None (a session cookie) or a number of seconds of at least 1",
        ),
        "push_once_max_entries": get(
            "PUSH_ONCE_MAX_ENTRIES",
            lambda v: _is_positive_int(v) and v <= MAX_ENTRIES_LIMIT,
            f"a whole number from 1 to {MAX_ENTRIES_LIMIT} (cookies hold about 4 KB)",
        ),
        "push_once_secure": secure,
        "push_once_samesite": samesite,
        "push_once_path": get(
            "PUSH_ONCE_COOKIE_PATH",
            lambda v: isinstance(v, str) and bool(_COOKIE_PATH.fullmatch(v)),
            "a path starting with '/', of visible ASCII without ';'",
        ),
    }


def _callable(key: str, value: Any, expected: str) -> Callable[..., Any] | None:
    """A setting that is ``None``, a callable, or a callable's dotted path (imported)."""
    if value is None or (callable(value) and not isinstance(value, str)):
        return value
    if not _is_text(value):
        raise ConfigError(f"{key} must be {expected}, not {value!r}")
    try:
        return import_callable(value)
    except ValueError as error:
        raise ConfigError(f"{key} {value!r} {error}") from None


def import_callable(path: str) -> Callable[..., Any]:
    """The callable that ``path`` (``module:name`` or ``module.name``) names.

    :raises ValueError: saying why not ("cannot be imported: ...", "names ..., which is
        not callable"), to follow the name of what the path was given for.
    """
    try:
        found = import_string(path)
    except ImportStringError as error:
        raise ValueError(f"cannot be imported: {error.exception}") from None
    if not callable(found):
        raise ValueError(f"names {found!r}, which is not callable")
    return found  # type: ignore[no-any-return]


def _early_hints_templates(value: Any) -> str | TemplateMap | None:
    if value is None or _is_text(value):
        return value  # type: ignore[no-any-return]
    try:
        return template_map(value)
    except ValueError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES must be None, a path to a JSON file, or a mapping of "
            f"endpoint names to lists of template names: {error}"
        ) from None


def template_map(value: Any) -> TemplateMap:
    """``value`` as (endpoint, template names) pairs, checked entry by entry.

    :raises ValueError: naming the entry that is not an endpoint name with a list of
        template names, such as ``{"index": ["index.html"]}``.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f'expected a mapping such as {{"index": ["index.html"]}}, not {value!r}')
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for endpoint, names in value.items():
        if not _is_text(endpoint):
            raise ValueError(f"endpoint names must be non-empty strings, not {endpoint!r}")
        # A bare string is a sequence too, of characters: refuse it rather than split it.
        if not isinstance(names, (list, tuple)) or not all(_is_text(name) for name in names):
            raise ValueError(f"{endpoint!r} must map to a list of template names, not {names!r}")
        pairs.append((endpoint, tuple(names)))
    return tuple(pairs)
