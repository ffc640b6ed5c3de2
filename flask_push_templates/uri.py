"""URI references as a ``Link`` target may hold them: percent-encoding, and what is a URL.

Pure: imports no Flask. A target cannot leave its ``<...>`` once encoded here, and the
characters naive ``Link`` parsers split on (``,`` and ``;``) never appear raw in it.
"""

from __future__ import annotations

import ipaddress
import re
import string
from urllib.parse import quote

_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")


def is_url(asset: str) -> bool:
    """Whether ``asset`` is a path or URL to take as given, rather than a static file name."""
    return asset.startswith("/") or _SCHEME.match(asset) is not None


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


def authority_problem(target: str) -> str | None:
    """What makes an encoded target's authority unusable, if anything (its port)."""
    authority = _AUTHORITY.match(target)
    if authority is None:
        return None
    hostport = authority.group()[authority.group().index("//") + 2 :].rpartition("@")[2]
    port = _split_host(hostport)[1]
    if _PORT.fullmatch(port):
        return None
    # What follows the host: ":" and digits, unless text follows a "]" ("[::1]x").
    return f"the port {port.removeprefix(':')!r} is not a number"
