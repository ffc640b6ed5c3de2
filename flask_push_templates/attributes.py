"""Validation: how a push (a URL, a destination, attributes) becomes a :class:`~.links.Link`.

Pure: imports no Flask. :func:`build_link` is the one way links are made: every value a
tag, a manifest or a view gives passes through it, and anything that could not be written
as a valid header is refused with a :class:`~.errors.PushError` naming the asset, the
value and the accepted choices.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Iterable

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
from .links import HTML_LINK_ATTRIBUTES, Link, is_token
from .uri import authority_problem, encode_target

#: A value a link attribute may take: ``True`` is a bare parameter, ``False``/``None`` omit it.
AttributeValue = str | int | float | bool | None

_PRINTABLE_ASCII = re.compile(r"[\x20-\x7e]*")
_CROSSORIGIN_CHOICES = ("anonymous", "use-credentials")
_RESERVED_ATTRIBUTES = frozenset({"href", "as"})

#: The attribute names that mean something to a browser, a proxy or this package: ours,
#: RFC 8288's parameters and HTML's ``<link>`` attributes. Any other token passes through
#: (a parameter of a CDN's, say); one that is close to a known name is a typo.
KNOWN_ATTRIBUTES = frozenset(
    {"rel", "as", "weight", "nopush", "anchor", "rev", "hreflang", "media", "title", "title*"}
    | HTML_LINK_ATTRIBUTES
)


def misspelled_attribute(name: str) -> str | None:
    """The known attribute name that ``name`` is probably a misspelling of (``crosorigin``:
    ``crossorigin``), or ``None`` for a known name or one that resembles none."""
    lowered = name.lower() if name.isascii() else name  # as _LinkOptions.apply
    if lowered in KNOWN_ATTRIBUTES:
        return None
    close = difflib.get_close_matches(lowered, sorted(KNOWN_ATTRIBUTES), n=1, cutoff=0.8)
    return close[0] if close else None


def attribute_typos(names: Iterable[str]) -> list[str]:
    """A warning for each misspelled name of ``names`` (:func:`misspelled_attribute`),
    as the tag and ``flask push check`` report it after saying which push it is."""
    typos = []
    for name in names:
        match = misspelled_attribute(name)
        if match is not None:
            typos.append(
                f"attribute {name!r} is not a link attribute (it would go into the header as "
                f"it is); did you mean {match!r}?"
            )
    return typos


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
    # The type is part of the key: 0 == False and 1 == True, but they mean different things.
    key = tuple((name, value, type(value)) for name, value in attributes)
    try:
        return _build_link(url, destination, key)
    except TypeError:
        # An unhashable value never reaches the cache: say which value it is.
        _check_values(url, destination, key)
        raise


def _check_values(
    url: object, destination: object, attributes: tuple[tuple[object, object, type], ...]
) -> None:
    """Refuse what no header can carry, naming it: non-strings where strings are needed,
    lone surrogates (no UTF-8 can encode them), values that are not scalars."""
    check_text(url, "the URL", url)
    if destination is not None:
        check_text(url, "the destination", destination)
    for name, value, _ in attributes:
        check_text(url, "an attribute name", name)
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise PushError(
                f"push of {url!r}: attribute {name!r} must be a string, number or boolean, "
                f"not {type(value).__name__}"
            )
        if isinstance(value, str):
            check_text(url, f"attribute {name!r}", value)


def check_text(url: object, what: str, value: object) -> None:
    """Refuse what is not a string, or holds a lone surrogate (no UTF-8 can encode it)."""
    if not isinstance(value, str):
        raise PushError(f"push of {url!r}: {what} must be a string, not {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PushError(
            f"push of {url!r}: {what} {value!r} holds a lone surrogate, which no URL or "
            "header can carry"
        ) from None


@functools.lru_cache(maxsize=4096)
def _build_link(
    url: str, destination: str | None, attributes: tuple[tuple[str, AttributeValue, type], ...]
) -> Link:
    # Inside the cache: once per distinct push (an exception is never cached).
    _check_values(url, destination, attributes)
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
            try:
                weight = float(value)
            except OverflowError:  # an int too large for a float: 400 digits, say
                raise self.fail(
                    f"weight has {len(str(abs(int(value))))} digits: too large for a number"
                ) from None
            if not math.isfinite(weight):
                # NaN compares false with everything: it would sort anywhere, first in fact.
                raise self.fail(f"weight must be a finite number, not {value!r}")
            self.weight = weight
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
        problem = authority_problem(target)
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
