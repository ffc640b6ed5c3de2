"""A strict, independent parser for HTTP ``Link`` field values.

The test-suite reads back every header the library emits with this module, so it deliberately
shares no code with ``flask_push_templates`` or werkzeug: a bug in the emitter must not be hidden
by the same bug in the checker. It is written directly from the ABNF:

    Link       = #link-value                                   ; RFC 8288 section 3
    link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )
    link-param = token BWS [ "=" BWS ( token / quoted-string ) ]
    #element   = [ element ] *( OWS "," OWS [ element ] )      ; RFC 9110 section 5.6.1
    token      = 1*tchar                                       ; RFC 9110 section 5.6.2
    quoted-string = DQUOTE *( qdtext / quoted-pair ) DQUOTE    ; RFC 9110 section 5.6.4
    URI-Reference = URI / relative-ref                         ; RFC 3986 section 4.1

``strict=True`` (the default) also enforces what RFC 8288 and RFC 9110 require of *senders*,
because the thing under test is our own sender:

* no whitespace around ``=`` (BWS: "a sender MUST NOT generate BWS", RFC 9110 section 5.6.3);
* no leading or trailing whitespace (a field-value cannot have it, RFC 9110 section 5.5);
* a ``rel`` parameter with a value is present and is a list of relation types (RFC 8288 3.3);
* ``rel``, ``type``, ``media``, ``title`` and ``title*`` appear at most once per link
  (RFC 8288 sections 3.3 and 3.4.1);
* no obs-text (bytes 0xA0-0xFF) inside quoted strings (RFC 9110 section 5.5 deprecates it).

``strict=False`` is what a recipient must accept: it skips that whitespace, keeps only the first
occurrence of those single-valued parameters (as RFC 8288 tells parsers to), allows obs-text in
quoted strings and does not require ``rel``. Empty list elements (``<a>,,<b>``) are accepted in
both modes, as RFC 9110 section 5.6.1.2 requires of recipients.
"""

from __future__ import annotations

import ipaddress
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["LinkHeaderError", "ParsedLink", "parse_link_fields", "parse_link_header"]

# RFC 9110 section 5.6.2.
TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)

# RFC 8288 sections 3.3 and 3.4.1: "MUST NOT appear more than once in a given link-value;
# occurrences after the first MUST be ignored by parsers".
SINGLE_VALUED = frozenset({"rel", "type", "media", "title", "title*"})

# RFC 3986 section 2: the only characters a URI may contain.
_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_SUB_DELIMS = "!$&'()*+,;="
_URI_CHARS = frozenset(_UNRESERVED + _SUB_DELIMS + ":/?#[]@%")
_HEX2 = re.compile(r"[0-9A-Fa-f]{2}")


def _component(extra: str) -> re.Pattern[str]:
    """*( unreserved / pct-encoded / sub-delims / extra ), RFC 3986 section 3."""
    return re.compile(rf"(?:[{re.escape(_UNRESERVED + _SUB_DELIMS + extra)}]|%[0-9A-Fa-f]{{2}})*")


_USERINFO = _component(":")
_REG_NAME = _component("")
_PATH = _component(":@/")  # segments of pchar, RFC 3986 section 3.3
_QUERY = _component(":@/?")  # query and fragment share this grammar (sections 3.4, 3.5)
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*\Z")
_PORT = re.compile(r"(?::[0-9]*)?\Z")
_IPV_FUTURE = re.compile(rf"v[0-9A-Fa-f]+\.[{re.escape(_UNRESERVED + _SUB_DELIMS)}:]+\Z")
# RFC 3986 appendix B. Every group is optional, so it matches any string; it finds the
# components and the checks below validate each of them against its own rule.
_SPLIT = re.compile(r"(?:([^:/?#]+):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?\Z", re.S)
_REG_REL_TYPE = re.compile(r"[a-z][a-z0-9.\-]*\Z")  # RFC 8288 section 3.3


def _bad_offset(pattern: re.Pattern[str], text: str) -> int | None:
    """Offset of the first character of ``text`` that ``pattern`` (a starred group) rejects."""
    match = pattern.match(text)
    end = match.end() if match else 0
    return None if end == len(text) else end


def _authority_error(authority: str) -> tuple[int, str] | None:
    """authority = [ userinfo "@" ] host [ ":" port ]; returns (offset, expected) or None."""
    userinfo, at, hostport = authority.rpartition("@")  # userinfo cannot contain "@" itself
    bad = _bad_offset(_USERINFO, userinfo)
    if at and bad is not None:
        return bad, "a userinfo character"
    offset = len(userinfo) + len(at)
    if hostport.startswith("["):
        close = hostport.find("]")
        if close < 0:
            return offset + len(hostport), "']' closing the IP-literal"
        literal, port = hostport[1:close], hostport[close + 1 :]
        if not (_IPV_FUTURE.match(literal) or _is_ipv6(literal)):
            return offset + 1, "an IPv6 address or IPvFuture inside '[...]'"
        offset += close + 1
    else:
        host = hostport.partition(":")[0]  # reg-name and IPv4address have no ":"
        port = hostport[len(host) :]
        bad = _bad_offset(_REG_NAME, host)
        if bad is not None:
            return offset + bad, "a host (reg-name) character"
        offset += len(host)
    if not _PORT.match(port):
        return offset, "':' followed by a decimal port, or the end of the authority"
    return None


def _is_ipv6(literal: str) -> bool:
    # The ipaddress module also accepts "%zone" suffixes, which RFC 3986 does not.
    if "%" in literal:
        return False
    try:
        ipaddress.IPv6Address(literal)
    except ValueError:
        return False
    return True


def uri_reference_error(uri: str, *, absolute: bool = False) -> tuple[int, str] | None:
    """First RFC 3986 violation in ``uri`` as (offset, what was expected), or None if valid.

    With ``absolute=True`` the URI must have a scheme (the ``URI`` rule, not ``URI-Reference``).
    """
    for i, ch in enumerate(uri):
        if ch not in _URI_CHARS:
            return i, "a URI character (RFC 3986 unreserved, reserved or '%')"
        if ch == "%" and not _HEX2.match(uri, i + 1):
            return i, "two hex digits after '%' (pct-encoded)"
    parts = _SPLIT.match(uri)
    assert parts is not None  # see _SPLIT
    scheme, authority = parts.group(1), parts.group(2)
    if scheme is not None and not _SCHEME.match(scheme):
        # Also catches relative references such as "1a:b": the first segment of a
        # relative path may not contain ":" (path-noscheme).
        return 0, "a scheme starting with a letter, or no ':' in the first path segment"
    if absolute and scheme is None:
        return 0, "an absolute URI (with a scheme)"
    if authority is not None:
        problem = _authority_error(authority)
        if problem is not None:
            return parts.start(2) + problem[0], problem[1]
    for group, pattern, what in ((3, _PATH, "path"), (4, _QUERY, "query"), (5, _QUERY, "fragment")):
        bad = _bad_offset(pattern, parts.group(group) or "")
        if bad is not None:
            return parts.start(group) + bad, f"a {what} character"
    return None


class LinkHeaderError(ValueError):
    """A Link field value that does not match the grammar; says where, and what was expected."""

    def __init__(self, value: str, position: int, expected: str, field: int | None = None) -> None:
        found = repr(value[position]) if position < len(value) else "the end of the value"
        where = f"position {position}" if field is None else f"field #{field}, position {position}"
        super().__init__(f"{where}: expected {expected}, found {found} in {value!r}")
        self.value = value
        self.position = position
        self.expected = expected
        self.field = field


@dataclass(frozen=True)
class ParsedLink:
    """One link-value: the target verbatim, and its parameters in order (names lower-cased)."""

    target: str
    params: tuple[tuple[str, str | None], ...] = ()

    def get(self, name: str) -> str | None:
        """Value of the first ``name`` parameter; None if absent *or* bare (see ``has``)."""
        name = name.lower()
        return next((value for key, value in self.params if key == name), None)

    def has(self, name: str) -> bool:
        name = name.lower()
        return any(key == name for key, _ in self.params)

    @property
    def rel(self) -> str | None:
        return self.get("rel")


class _Parser:
    """Recursive descent over one field value; ``pos`` always points at the next unread char."""

    def __init__(self, text: str, strict: bool) -> None:
        self.text = text
        self.pos = 0
        self.strict = strict

    def error(self, expected: str, position: int | None = None) -> LinkHeaderError:
        return LinkHeaderError(self.text, self.pos if position is None else position, expected)

    def peek(self) -> str:
        return self.text[self.pos : self.pos + 1]  # "" at the end: compare, never use `in`

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t"):
            self.pos += 1

    def no_bws(self, start: int) -> None:
        if self.strict and self.pos != start:
            raise self.error("no whitespace around '=' (senders must not generate BWS)", start)

    def parse(self) -> list[ParsedLink]:
        links: list[ParsedLink] = []
        while True:
            self.skip_ows()
            if self.pos == len(self.text):
                return links
            if self.peek() == ",":  # an empty list element: legal, and skipped
                self.pos += 1
                continue
            links.append(self.link_value())
            self.skip_ows()
            if self.pos == len(self.text):
                return links
            if self.peek() != ",":
                raise self.error("';' and a parameter, ',' and the next link, or the end")
            self.pos += 1

    def link_value(self) -> ParsedLink:
        start = self.pos
        if self.peek() != "<":
            raise self.error("'<' starting a link")
        # '>' cannot occur in a URI-Reference, so the first one closes it; ',' and ';' can,
        # which is why the value is not split on them beforehand.
        close = self.text.find(">", start + 1)
        if close < 0:
            raise self.error(f"'>' closing the '<' at position {start}", len(self.text))
        target = self.text[start + 1 : close]
        problem = uri_reference_error(target)
        if problem is not None:
            raise self.error(f"{problem[1]} in the link target", start + 1 + problem[0])
        self.pos = close + 1

        params: list[tuple[str, str | None]] = []
        rel_at = start  # where a bad or missing rel is reported
        while True:
            before = self.pos
            self.skip_ows()
            if self.peek() != ";":
                self.pos = before  # the whitespace belongs to the list's OWS "," OWS
                break
            self.pos += 1
            self.skip_ows()
            param_start = self.pos
            name, value = self.link_param()
            if name in SINGLE_VALUED and any(key == name for key, _ in params):
                if self.strict:
                    raise self.error(f"at most one {name!r} parameter per link", param_start)
                continue  # RFC 8288: later occurrences MUST be ignored
            if name == "rel":
                rel_at = param_start
            params.append((name, value))
        link = ParsedLink(target, tuple(params))
        if self.strict:
            self.check_rel(link, rel_at)
        return link

    def link_param(self) -> tuple[str, str | None]:
        name = self.token("a parameter name (token)").lower()
        before = self.pos
        self.skip_ows()
        if self.peek() != "=":
            self.pos = before  # a bare parameter; the whitespace is the next separator's OWS
            return name, None
        self.no_bws(before)
        self.pos += 1
        after = self.pos
        self.skip_ows()
        self.no_bws(after)
        if self.peek() == '"':
            return name, self.quoted_string()
        return name, self.token("a parameter value (token or quoted-string)")

    def token(self, what: str) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] in TCHAR:
            self.pos += 1
        if self.pos == start:
            raise self.error(what)
        return self.text[start : self.pos]

    def quoted_string(self) -> str:
        start = self.pos
        self.pos += 1  # the opening DQUOTE
        chars: list[str] = []
        while True:
            ch = self.peek()
            if ch == "":
                raise self.error(f"'\"' closing the quoted-string opened at position {start}")
            if ch == '"':
                self.pos += 1
                return "".join(chars)
            if ch == "\\":  # quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text )
                self.pos += 1
                ch = self.peek()
                if ch == "":
                    raise self.error("a character after '\\' (quoted-pair)")
            # qdtext and the escaped char of a quoted-pair allow the same set, minus the
            # '"' and '\' already handled above.
            if not (ch == "\t" or " " <= ch <= "~" or (not self.strict and "\xa0" <= ch <= "\xff")):
                raise self.error("a quoted-string character (HTAB, SP or visible ASCII)")
            chars.append(ch)
            self.pos += 1

    def check_rel(self, link: ParsedLink, position: int) -> None:
        rel = link.rel
        if rel is None:  # absent or bare
            raise self.error("a 'rel' parameter with a value (RFC 8288 section 3.3)", position)
        # relation-type *( 1*SP relation-type ); splitting on " +" leaves "" for stray spaces.
        for relation_type in re.split(r" +", rel):
            if _REG_REL_TYPE.match(relation_type):
                continue
            if relation_type and uri_reference_error(relation_type, absolute=True) is None:
                continue
            raise self.error(
                f"relation types (lower-case names or absolute URIs separated by spaces), "
                f"not {rel!r}",
                position,
            )


def _check_characters(value: str) -> None:
    for i, ch in enumerate(value):
        # C0 controls except HTAB, DEL and C1 controls: never legal anywhere in a field value
        # (RFC 9110 section 5.5); CR, LF and NUL are what header injection is made of.
        if (ch < " " and ch != "\t") or "\x7f" <= ch <= "\x9f":
            raise LinkHeaderError(value, i, "no control characters")
        if ch > "\xff":  # field values are octets; a str holding more was never on the wire
            raise LinkHeaderError(value, i, "only characters U+0000 to U+00FF (octets)")


def parse_link_header(value: str, *, strict: bool = True) -> list[ParsedLink]:
    """Parse one Link field value into its links, in order; raise LinkHeaderError if invalid."""
    _check_characters(value)
    if strict and value[:1] in (" ", "\t"):
        raise LinkHeaderError(value, 0, "no leading whitespace in a field value")
    if strict and value[-1:] in (" ", "\t"):
        raise LinkHeaderError(value, len(value) - 1, "no trailing whitespace in a field value")
    return _Parser(value, strict).parse()


def parse_link_fields(values: Iterable[str], *, strict: bool = True) -> list[ParsedLink]:
    """Parse several Link field lines; they mean their concatenation (RFC 9110 section 5.3).

    Each line is parsed on its own rather than joined first, so that a quoted string split
    across two lines (which no line-level parser would accept) is reported, not glued back.
    """
    links: list[ParsedLink] = []
    for index, value in enumerate(values):
        try:
            links.extend(parse_link_header(value, strict=strict))
        except LinkHeaderError as err:
            raise LinkHeaderError(err.value, err.position, err.expected, field=index) from None
    return links
