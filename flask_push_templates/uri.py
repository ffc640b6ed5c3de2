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
    """Whether ``asset`` is a path or URL rather than a static file name."""
    return asset.startswith("/") or _SCHEME.match(asset) is not None


def names_host(url: str) -> bool:
    """Whether a link target (encoded) may name a host: ``scheme://`` or ``//`` at its
    start. A quick test for the hot path: what says which host is ``urlsplit``."""
    return "//" in url[:8]


def is_full_url(asset: str) -> bool:
    """Whether ``asset`` names its own origin (``https://...``, ``//host/...``): it is taken
    as given, whatever the app's script root."""
    return asset.startswith("//") or _SCHEME.match(asset) is not None


def split_reference(asset: str) -> tuple[str, str]:
    """``asset`` as its path and what follows it, the query and fragment as given:
    ``css/app.css?v=2#x`` is ``("css/app.css", "?v=2#x")``."""
    query, fragment = asset.find("?"), asset.find("#")
    ends = [index for index in (query, fragment) if index >= 0]
    end = min(ends) if ends else len(asset)
    return asset[:end], asset[end:]


def asset_problem(asset: str) -> str | None:
    """Why ``asset`` can name no file, or ``None``: what the tag refuses when its template
    compiles and a manifest when it loads, rather than every request that pushes it."""
    if not asset:
        return "the asset is empty; give a static file name, a path or a URL"
    if not is_url(asset) and not split_reference(asset)[0]:
        return "a query or fragment needs a file name before it, such as 'css/app.css?v=2'"
    return None


def script_root_problem(script_root: str) -> str | None:
    """Why a request's script root (``SCRIPT_NAME``, which a proxy may set from a header:
    ``ProxyFix(x_prefix=1)`` takes ``X-Forwarded-Prefix``) cannot start the app's paths,
    or ``None``. The answer is one of a few fixed causes, so that it can be logged once."""
    if not script_root:
        return None
    if not script_root.startswith("/"):
        return "does not start with '/'"
    if script_root.startswith("//"):
        return "starts with '//', which names another host"
    for char, meaning in _NOT_IN_A_ROOT:
        if char in script_root:
            return meaning
    if _CONTROL.search(script_root):
        return "holds a control character"
    return None


_NOT_IN_A_ROOT = (
    ("?", "holds '?', which would start a query"),
    ("#", "holds '#', which would start a fragment"),
    ("\\", "holds '\\', which browsers read as '/'"),
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


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
        target = url if _SAFE_TARGET.fullmatch(url) else _encode_chars(url)
        return _not_a_scheme(target)
    # An authority has its own grammar: "@" only once, brackets only around an IP literal.
    return _encode_authority(authority.group()) + _encode_chars(url[authority.end() :])


def _not_a_scheme(target: str) -> str:
    """``target`` with ``./`` before it if its first segment holds a ``:`` and it has no
    scheme (``0:``, ``1:2/a.css``): no URI reference can start so (RFC 3986 section 4.2:
    it would read as a scheme), and the dot-segment keeps what it resolves to."""
    if ":" not in target or _SCHEME.match(target) is not None:
        return target
    if ":" in _SEGMENT_END.split(target, maxsplit=1)[0]:
        return "./" + target
    return target


_SEGMENT_END = re.compile(r"[/?#]")


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
