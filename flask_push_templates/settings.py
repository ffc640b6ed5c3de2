"""The ``PUSH_*`` configuration keys: their defaults, and validation at start-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

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
    "PUSH_MIMETYPES": ("text/html",),
    "PUSH_MAX_LINKS": 50,
    # nginx answers 502 once all upstream response headers exceed proxy_buffer_size
    # (4 KiB on most platforms): half of that leaves room for cookies and the rest.
    "PUSH_MAX_HEADER_BYTES": 2048,
    "PUSH_NOPUSH": False,
    # 103 Early Hints (early_hints.py). Off by default: a proxy that cannot relay a 103
    # (nginx < 1.29) breaks the response instead of dropping the hint.
    "PUSH_EARLY_HINTS": False,
    # Browsers act on a 103 only over HTTP/2 or later.
    "PUSH_EARLY_HINTS_PROTOCOLS": ("HTTP/2", "HTTP/3"),
    "PUSH_EARLY_HINTS_NAVIGATIONS_ONLY": True,
    "PUSH_EARLY_HINTS_TEMPLATES": None,
}


@dataclass(frozen=True)
class Settings:
    """The validated ``PUSH_*`` configuration of one app."""

    enabled: bool = True
    manifest: str | None = None
    static_endpoint: str = "static"
    mimetypes: frozenset[str] = frozenset({"text/html"})
    max_links: int = 50
    max_header_bytes: int = 2048
    nopush: bool = False
    early_hints: bool = False
    early_hints_protocols: frozenset[str] = frozenset({"HTTP/2", "HTTP/3"})
    early_hints_navigations_only: bool = True
    #: A path to a JSON file (read by early_hints.py), the validated mapping, or ``None``.
    early_hints_templates: str | TemplateMap | None = None

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
            mimetypes=frozenset(item.lower() for item in mimetypes),
            max_links=get("PUSH_MAX_LINKS", _is_positive_int, "a whole number of at least 1"),
            max_header_bytes=get(
                "PUSH_MAX_HEADER_BYTES", _is_positive_int, "a whole number of at least 1"
            ),
            nopush=get("PUSH_NOPUSH", _is_bool, "True or False"),
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
        )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_optional_text(value: Any) -> bool:
    return value is None or _is_text(value)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


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
