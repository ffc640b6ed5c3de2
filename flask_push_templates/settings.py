"""The ``PUSH_*`` configuration keys: their defaults, and validation at start-up."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

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
        )


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value)


def _is_optional_text(value: Any) -> bool:
    return value is None or _is_text(value)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1
