"""Links as immutable values, and their one serialization to RFC 8288 ``Link`` syntax.

Pure: imports no Flask. A :class:`Link` is made by :func:`~.attributes.build_link`, which
validates and normalizes; it is changed only through its evolvers (``with_...``), and
written only by :attr:`Link.header_value` (and :meth:`Link.html_tag`): nothing else in the
package writes header text.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape

#: The attributes HTML gives ``<link>`` (besides ``rel``, ``href`` and ``as``), the only
#: parameters :meth:`Link.html_tag` writes: a parameter is any RFC 9110 token, so without
#: this list ``onload`` or ``onerror`` would become script in the page.
HTML_LINK_ATTRIBUTES = frozenset(
    {
        "blocking",
        "color",
        "crossorigin",
        "disabled",
        "fetchpriority",
        "hreflang",
        "imagesizes",
        "imagesrcset",
        "integrity",
        "media",
        "nonce",
        "referrerpolicy",
        "sizes",
        "title",
        "type",
    }
)

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def is_token(value: str) -> bool:
    """Whether ``value`` is an RFC 9110 token (and so needs no quotes as a parameter value)."""
    return _TOKEN.fullmatch(value) is not None


def _format_value(value: str) -> str:
    if is_token(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True)
class Link:
    """One link: a target, its relation, ``as``, further parameters, and its priority.

    Build links with :func:`~.attributes.build_link`; the constructor does not validate.
    """

    url: str
    rel: str = "preload"
    as_value: str | None = None
    #: Parameters after ``as`` in order; a ``None`` value is a bare parameter.
    params: tuple[tuple[str, str | None], ...] = ()
    nopush: bool = False
    weight: float = 1.0

    @functools.cached_property
    def header_value(self) -> str:
        """This link as one RFC 8288 ``link-value``."""
        parts = [f"<{self.url}>", f"rel={self.rel}"]
        if self.as_value is not None:
            parts.append(f"as={self.as_value}")
        for name, value in self.params:
            parts.append(name if value is None else f"{name}={_format_value(value)}")
        if self.nopush:
            parts.append("nopush")
        return "; ".join(parts)

    def html_tag(self) -> Markup:
        """This link as an HTML ``<link>`` element (``nopush`` has no meaning there).

        Only parameters in :data:`HTML_LINK_ATTRIBUTES` are written; the others (anything a
        proxy or a CDN reads from the header) stay in the header alone.
        """
        attributes = [f'rel="{escape(self.rel)}"', f'href="{escape(self.url)}"']
        if self.as_value is not None:
            attributes.append(f'as="{escape(self.as_value)}"')
        for name, value in self.params:
            if name.lower() not in HTML_LINK_ATTRIBUTES:
                continue
            attribute = escape(name) if value is None else f'{escape(name)}="{escape(value)}"'
            attributes.append(str(attribute))
        return Markup(f"<link {' '.join(attributes)}>")

    def param(self, name: str) -> str | None:
        """The value of parameter ``name`` (``""`` for a bare one), ``None`` if absent."""
        for given, value in self.params:
            if given == name:
                return "" if value is None else value
        return None

    # Evolvers: the only ways a link changes (a new value; the original is unchanged).

    def with_nopush(self) -> Link:
        """The same link, marked so that proxies forward it but do not push it."""
        return self if self.nopush else dataclasses.replace(self, nopush=True)

    def with_weight(self, weight: float) -> Link:
        """The same link with another priority."""
        return self if weight == self.weight else dataclasses.replace(self, weight=weight)

    def with_param(self, name: str, value: str | None) -> Link:
        """The same link with one more parameter, unless it has ``name`` already."""
        if self.param(name) is not None:
            return self
        return dataclasses.replace(self, params=(*self.params, (name, value)))


def serialize_links(links: Iterable[Link]) -> str:
    """The ``Link`` field value for ``links``, in the order given."""
    return ", ".join([link.header_value for link in links])
