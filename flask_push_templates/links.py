"""Links as immutable values, and their one serialization to RFC 8288 ``Link`` syntax.

Everything that reaches a header passes through :func:`build_link`, which validates and
normalizes, and :attr:`Link.header_value`, which serializes. Nothing else writes header
text, so the guarantees live here: a target cannot leave its ``<...>``, a parameter value
is a token or a quoted-string, and no control character (CR/LF above all) gets through.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

from markupsafe import Markup, escape

from .destinations import (
    CONNECTION_RELATIONS,
    DESTINATIONS,
    FONT_TYPES,
    RELATIONS,
    accepted_destinations,
    extension_of,
    infer_destination,
)
from .errors import PushError

#: A value a link attribute may take: ``True`` is a bare parameter, ``False``/``None`` omit it.
AttributeValue = str | int | float | bool | None

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")

# RFC 3986 characters a target may keep as they are. "," and ";" are legal inside <...> but
# naive Link parsers split on them, so they are percent-encoded with everything else.
# "[" and "]" are only legal in an IP-literal host and are handled there.
_SAFE_TARGET = re.compile(r"(?:[A-Za-z0-9\-._~:/?@!$&'()*+=]|%[0-9A-Fa-f]{2})*")
_SAFE_CHARS = frozenset(string.ascii_letters + string.digits + "-._~:/?@!$&'()*+=")
_HEX = frozenset("0123456789abcdefABCDEF")
_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//[^/?#]*")
# RFC 3986 section 3.2: what each part of an authority may hold unencoded (sub-delims
# without "," and ";", encoded everywhere for the naive parsers above).
_SUB_DELIMS = "!$&'()*+="
_USERINFO_CHARS = frozenset(string.ascii_letters + string.digits + "-._~" + _SUB_DELIMS + ":")
_HOST_CHARS = frozenset(string.ascii_letters + string.digits + "-._~" + _SUB_DELIMS)
_PORT_CHARS = frozenset(string.digits + ":")
_PORT = re.compile(r"(?::[0-9]*)?")
_IPV_FUTURE = re.compile(r"v[0-9A-Fa-f]+\.[A-Za-z0-9\-._~!$&'()*+,;=:]+")

_CROSSORIGIN_CHOICES = ("anonymous", "use-credentials")
_RESERVED_ATTRIBUTES = frozenset({"href", "as"})


def is_token(value: str) -> bool:
    """Whether ``value`` is an RFC 9110 token (and so needs no quotes as a parameter value)."""
    return _TOKEN.fullmatch(value) is not None


def encode_target(url: str) -> str:
    """Percent-encode ``url`` so that it is a URI reference that cannot break out of ``<...>``.

    Existing ``%XX`` escapes are kept; a stray ``%`` becomes ``%25``; non-ASCII is encoded as
    UTF-8. Idempotent: encoding an encoded target changes nothing. Never raises: it also
    reads targets the view wrote itself (see :func:`build_link` for what is refused).
    """
    authority = _AUTHORITY.match(url)
    if authority is None:
        return url if _SAFE_TARGET.fullmatch(url) else _encode_chars(url)
    # An authority has its own grammar: "@" only once, brackets only around an IP literal.
    return _encode_authority(authority.group()) + _encode_chars(url[authority.end() :])


def _encode_chars(url: str) -> str:
    encoded: list[str] = []
    seen_fragment = False
    for index, char in enumerate(url):
        if char in _SAFE_CHARS or (char == "%" and _is_escape(url, index)):
            encoded.append(char)
        elif char == "#" and not seen_fragment:
            seen_fragment = True
            encoded.append(char)
        else:
            encoded.append(quote(char, safe=""))
    return "".join(encoded)


def _is_escape(text: str, percent_index: int) -> bool:
    hex_digits = text[percent_index + 1 : percent_index + 3]
    return len(hex_digits) == 2 and all(digit in _HEX for digit in hex_digits)


def _encode_authority(authority: str) -> str:
    """``scheme://userinfo@host:port`` with each part encoded by its own rule (RFC 3986 3.2)."""
    start = authority.index("//") + 2
    userinfo, at, hostport = authority[start:].rpartition("@")
    host, port = _split_host(hostport)
    if not _is_ip_literal(host):
        host = _encode_part(host, _HOST_CHARS)
    return (
        authority[:start]
        + _encode_part(userinfo, _USERINFO_CHARS)
        + at
        + host
        + _encode_part(port, _PORT_CHARS)
    )


def _split_host(hostport: str) -> tuple[str, str]:
    if hostport.startswith("["):
        close = hostport.find("]")
        if close > 0:
            return hostport[: close + 1], hostport[close + 1 :]
    colon = hostport.find(":")
    return (hostport, "") if colon < 0 else (hostport[:colon], hostport[colon:])


def _is_ip_literal(host: str) -> bool:
    """``[IPv6address]`` or ``[vX.future]``; zone identifiers are not URI syntax."""
    if not (host.startswith("[") and host.endswith("]")):
        return False
    literal = host[1:-1]
    if _IPV_FUTURE.fullmatch(literal):
        return True
    if "%" in literal:
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def _encode_part(text: str, safe: frozenset[str]) -> str:
    return "".join(
        char if char in safe or (char == "%" and _is_escape(text, index)) else quote(char, safe="")
        for index, char in enumerate(text)
    )


def _authority_problem(target: str) -> str | None:
    """What makes an encoded target's authority unusable, if anything (its port)."""
    authority = _AUTHORITY.match(target)
    if authority is None:
        return None
    hostport = authority.group()[authority.group().index("//") + 2 :].rpartition("@")[2]
    port = _split_host(hostport)[1]
    if _PORT.fullmatch(port):
        return None
    return f"the port {port[1:]!r} is not a number"


def _format_value(value: str) -> str:
    if is_token(value):
        return value
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


@dataclass(frozen=True)
class Link:
    """One link: a target, its relation, ``as``, further parameters, and its priority.

    Build links with :func:`build_link`; the constructor does not validate.
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
        """This link as an HTML ``<link>`` element (``nopush`` has no meaning there)."""
        attributes = [f'rel="{escape(self.rel)}"', f'href="{escape(self.url)}"']
        if self.as_value is not None:
            attributes.append(f'as="{escape(self.as_value)}"')
        for name, value in self.params:
            attribute = escape(name) if value is None else f'{escape(name)}="{escape(value)}"'
            attributes.append(str(attribute))
        return Markup(f"<link {' '.join(attributes)}>")

    def with_nopush(self) -> Link:
        """The same link, marked so that proxies forward it but do not push it."""
        if self.nopush:
            return self
        return Link(self.url, self.rel, self.as_value, self.params, True, self.weight)


def serialize_links(links: Iterable[Link]) -> str:
    """The ``Link`` field value for ``links``, in the order given."""
    return ", ".join(link.header_value for link in links)


def build_link(
    url: str,
    destination: str | None = None,
    attributes: Iterable[tuple[str, AttributeValue]] = (),
) -> Link:
    """Validate a push and turn it into a :class:`Link`.

    :param url: the asset's URL (as ``url_for`` returns it, or any URL); encoded here.
    :param destination: one of :data:`~.destinations.DESTINATIONS`, or ``None`` to infer it
        from the file extension.
    :param attributes: further attributes: ``rel``, ``weight``, ``nopush``, ``crossorigin``,
        ``type`` and anything else that passes through (``nonce``, ``integrity``, ``media``...).
    :raises PushError: naming the asset and the offending value, with the accepted choices.
    """
    # The type is part of the cache key: 0 == False and 1 == True, but they mean different things.
    return _build_link(
        url, destination, tuple((name, value, type(value)) for name, value in attributes)
    )


@functools.lru_cache(maxsize=4096)
def _build_link(
    url: str, destination: str | None, attributes: tuple[tuple[str, AttributeValue, type], ...]
) -> Link:
    options = _LinkOptions(url)
    for name, value, _ in attributes:
        options.apply(name, value)
    if options.as_alias is not None:
        if destination is not None and destination != options.as_alias:
            raise PushError(f"push of {url!r}: destination given twice ({destination!r} and as=)")
        destination = options.as_alias
    return options.finish(destination)


class _LinkOptions:
    """The attributes of one push while they are being validated."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rel: str | None = None
        self.as_alias: str | None = None
        self.weight = 1.0
        self.nopush = False
        self.crossorigin: str | bool | None = True  # True: "as the destination needs"
        self.mime_type: str | None = None
        self.extra: list[tuple[str, str | None]] = []
        self.seen: set[str] = set()

    def fail(self, message: str) -> PushError:
        return PushError(f"push of {self.url!r}: {message}")

    def apply(self, name: str, value: AttributeValue) -> None:
        # Parameter names are case-insensitive (RFC 8288 section 3): REL= is rel=, and
        # title= with TITLE= would be one parameter given twice.
        given = name
        # ASCII only: str.lower() maps some non-ASCII letters onto ASCII (the Kelvin sign
        # to "k"), which would turn a refused name into an accepted one.
        name = name.lower() if name.isascii() else name
        if name in self.seen:
            raise self.fail(f"attribute {given!r} is given twice (names ignore case)")
        self.seen.add(name)
        if name == "rel":
            if value not in RELATIONS:
                raise self.fail(f"unknown rel {value!r}; accepted: {', '.join(RELATIONS)}")
            self.rel = str(value)
        elif name == "as":
            if not isinstance(value, str):
                raise self.fail(f"as must be a string, not {value!r}")
            self.as_alias = value
        elif name == "weight":
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise self.fail(f"weight must be a number, not {value!r}")
            self.weight = float(value)
        elif name == "nopush":
            self.nopush = bool(value)
        elif name == "crossorigin":
            self.crossorigin = self._crossorigin(value)
        elif name == "type":
            self.mime_type = None if value is None else self._text(name, value)
        elif name in _RESERVED_ATTRIBUTES:
            raise self.fail(f"{name!r} cannot be given as an attribute")
        else:
            self._extra(name, value)

    def _crossorigin(self, value: AttributeValue) -> str | bool | None:
        if value is False or value is None:
            return None
        if value is True or value == "":
            return ""
        if value in _CROSSORIGIN_CHOICES:
            return str(value)
        raise self.fail(
            f"crossorigin={value!r} is not valid; use True (bare), "
            f"{' or '.join(map(repr, _CROSSORIGIN_CHOICES))}, or False to omit it"
        )

    def _extra(self, name: str, value: AttributeValue) -> None:
        if not is_token(name):
            raise self.fail(f"attribute name {name!r} is not an RFC 9110 token")
        if value is False or value is None:
            return
        self.extra.append((name, None if value is True else self._text(name, value)))

    def _text(self, name: str, value: AttributeValue) -> str:
        text = str(value)
        if not _PRINTABLE_ASCII.fullmatch(text):
            raise self.fail(
                f"{name}={text!r} contains a control or non-ASCII character; "
                "attribute values must be printable ASCII"
            )
        return text

    def finish(self, destination: str | None) -> Link:
        if destination is not None and destination not in DESTINATIONS:
            raise self.fail(
                f"unknown destination {destination!r}; accepted: {accepted_destinations()}"
            )
        rel, as_value, cors = self._relation(destination)
        params: list[tuple[str, str | None]] = []
        if self.crossorigin is True:
            if cors:
                params.append(("crossorigin", None))
        elif self.crossorigin is not None:
            params.append(("crossorigin", self.crossorigin or None))
        mime_type = self.mime_type
        if mime_type is None and as_value == "font":
            mime_type = FONT_TYPES.get(extension_of(self.url))
        if mime_type is not None:
            params.append(("type", mime_type))
        params.extend(self.extra)
        target = encode_target(self.url)
        problem = _authority_problem(target)
        if problem is not None:
            raise self.fail(problem)
        return Link(
            url=target,
            rel=rel,
            as_value=as_value,
            params=tuple(params),
            nopush=self.nopush,
            weight=self.weight,
        )

    def _relation(self, destination: str | None) -> tuple[str, str | None, bool]:
        """The ``rel``, the ``as`` value and whether the fetch is in CORS mode."""
        if self.rel in CONNECTION_RELATIONS:
            if destination is not None:
                raise self.fail(f"rel={self.rel} names an origin and takes no destination")
            return self.rel, None, False
        destination = destination or infer_destination(self.url)
        if destination is None:
            if self.rel == "prefetch":
                return "prefetch", None, False
            raise self.fail(
                "cannot infer a destination from the file extension; "
                f"give one of: {accepted_destinations()}"
            )
        spec = DESTINATIONS[destination]
        if self.rel is None or self.rel == spec.rel:
            return spec.rel, spec.as_value, spec.cors
        if self.rel == "modulepreload":
            return "modulepreload", None, True
        if spec.as_value is None and destination == "module":
            return self.rel, "script", True
        if spec.as_value is None and self.rel == "preload":
            raise self.fail(f"browsers reject rel=preload for a {destination}; use rel=prefetch")
        return self.rel, spec.as_value, spec.cors
