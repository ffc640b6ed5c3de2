"""``flask push check --pages``'s engine: does each page use what its headers preload?

A page is requested as ``flask push manifest`` requests it (:class:`~.crawl.SiteCrawler`),
and each preload of its ``Link`` header and of its 103 Early Hints (as a worker that has
seen the page would send it) is compared with what its HTML, its stylesheets and its
module scripts really fetch (:mod:`.asset_scan`; stylesheets and modules are read through
the same client). A finding is a preload the browser cannot use, so that the file is
fetched twice, or fetched for nothing:

* no use: nothing on the page fetches the URL, or only a file that differs from it by a
  digest (``site-3f2a….css``), a version query (``?v=2``) or a host (a CDN);
* a ``crossorigin`` that does not give the request mode of the use (fonts, module scripts
  and ``fetch()`` are fetched in CORS mode), an ``integrity`` other than the element's, or
  an ``as`` other than the use's destination: browsers reuse a preload only when all of
  them match (HTML's "consume a preloaded resource");
* an ``as`` browsers do not accept, which makes them ignore the link.

Modules and ``fetch`` preloads are not reported as unused: a page loads them from its
scripts at run time (``import()``, ``fetch()``), which scanning cannot see.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

from flask import Flask

from ..destinations import infer_destination
from ..early_hints import hint_links
from ..hint_policy import excluded
from ..state import get_state
from .asset_scan import MODULE, scan_html
from .crawl import PageResult, SiteCrawler
from .provenance import split_link_values

#: What browsers accept as a preload's ``as`` (PROTOCOL.md); others make them ignore it.
PRELOAD_AS = ("fetch", "font", "image", "script", "style", "track")
#: Destinations whose uses the scan sees (elements and stylesheets): a preload of one that
#: nothing uses is wasted. Not tracks (``<track>`` is not scanned), modules or ``fetch``.
_SEEN_DESTINATIONS = frozenset({"font", "image", "script", "style"})
#: What a stylesheet the check cannot read may load, and so may use unseen.
_FROM_STYLESHEETS = frozenset({"font", "image", "style"})
_KINDS = {
    "style": "a stylesheet",
    "script": "a classic script",
    "module": "a module script",
    "font": "a font",
    "image": "an image",
    "track": "a text track",
    "fetch": "fetch()",
}
#: What every mismatch costs.
TWICE = "the browser fetches it twice"
LINK_HEADER = "Link header"
EARLY_HINTS = "103 Early Hints"


@dataclass(frozen=True)
class Preload:
    """One ``rel=preload`` or ``rel=modulepreload`` link of the page."""

    #: The link-value as served.
    value: str
    href: str
    #: ``href`` resolved against the page's URL.
    url: str
    rel: str
    as_value: str | None
    #: ``""`` when bare, ``None`` without the parameter.
    crossorigin: str | None
    integrity: str | None

    @property
    def destination(self) -> str | None:
        return MODULE if self.rel == "modulepreload" else self.as_value

    @property
    def mode(self) -> str | None:
        """The request's CORS mode: ``None`` (no-cors), "anonymous" or "use-credentials"."""
        return _cors_mode(self.crossorigin, cors_by_default=self.rel == "modulepreload")


@dataclass(frozen=True)
class Use:
    """A fetch the page makes, and who makes it."""

    url: str
    destination: str | None
    crossorigin: str | None
    integrity: str | None
    #: "the page", or the stylesheet or module that references the URL.
    by: str
    #: ``url`` as the messages show it: a path when it is of the page's origin.
    shown: str

    @property
    def mode(self) -> str | None:
        if self.destination == "font":
            return "anonymous"  # CSS fonts are always fetched in CORS mode
        return _cors_mode(self.crossorigin, cors_by_default=self.destination == MODULE)


@dataclass
class PageCheck:
    """What checking one page found."""

    path: str
    #: What the request gave, when it was not a page to check (a redirect, JSON...).
    skipped: str | None = None
    #: Why the page could not be checked (it failed to render).
    error: str | None = None
    preloads: int = 0
    findings: list[str] = field(default_factory=list)
    #: Stylesheets that could not be read (another origin): preloads of fonts and images
    #: are not reported unused on such a page, as one of them may load them.
    unread: list[str] = field(default_factory=list)
    #: Sub-resources that could not be read (a stylesheet answering 404...).
    warnings: list[str] = field(default_factory=list)


def check_page(app: Flask, crawler: SiteCrawler, path: str) -> PageCheck:
    """Request the page at app-relative ``path`` and compare its preloads with its uses."""
    result, html = crawler.read_page(path)
    check = PageCheck(path, skipped=result.skipped, error=result.error)
    if html is None:
        return check
    uses = _uses(crawler, html, result)
    check.warnings = result.warnings
    check.unread = [
        use.shown
        for found in uses.values()
        for use in found
        if use.destination == "style" and crawler.app_path(use.url) is None
    ]
    preloads = _preloads(app, crawler, result)
    check.preloads = len(preloads)
    for preload, sources in preloads.items():
        for message in _problems(preload, uses, bool(check.unread or check.warnings)):
            line = f"{path}: {' and '.join(sources)} <{preload.href}>: {message}"
            if line not in check.findings:
                check.findings.append(line)
    return check


def _uses(crawler: SiteCrawler, html: str, result: PageResult) -> dict[str, list[Use]]:
    """Every URL the page fetches, with each way it is fetched, in document order."""
    page = scan_html(html, crawler.document_url(result.path))
    uses: dict[str, list[Use]] = {}
    pending = [(reference, "the page") for reference in page.references if not reference.preload]
    followed: set[str] = set()
    while pending:
        reference, by = pending.pop(0)
        destination = reference.destination or infer_destination(reference.url)
        shown = _display(reference.url, crawler)
        use = Use(reference.url, destination, reference.crossorigin, reference.integrity, by, shown)
        known = uses.setdefault(reference.url, [])
        if use not in known:
            known.append(use)
        if reference.url not in followed:
            followed.add(reference.url)
            found = crawler.follow(reference, page.import_map, result)
            pending.extend((each, shown) for each in found)
    return uses


def _preloads(app: Flask, crawler: SiteCrawler, result: PageResult) -> dict[Preload, list[str]]:
    """The page's preloads, each with where it is sent: the Link header, the 103, or both."""
    document = crawler.document_url(result.path)
    preloads: dict[Preload, list[str]] = {}
    for value in _link_values(result.link_fields):
        _add_preload(preloads, value, document, LINK_HEADER)
    for value in _early_hint_values(app, result):
        _add_preload(preloads, value, document, EARLY_HINTS)
    return preloads


def _link_values(fields: Iterable[str]) -> list[str]:
    return [value for field_value in fields for value in split_link_values(field_value)]


def _early_hint_values(app: Flask, result: PageResult) -> list[str]:
    """The 103 a worker that has seen this page sends for the next request to it."""
    state = get_state(app)
    endpoint = result.endpoint
    if state.early_hints is None or endpoint is None or excluded(state.settings, endpoint):
        return []
    with app.test_request_context(result.path):  # the resolver builds URLs for a request
        links = hint_links(app, state, endpoint, credentialed=result.credentialed)
        return [link.header_value for link in links]


def _add_preload(
    preloads: dict[Preload, list[str]], value: str, document: str, source: str
) -> None:
    href, params = parse_link_value(value)
    rel = (params.get("rel") or "").lower().split()
    kind = "modulepreload" if "modulepreload" in rel else "preload" if "preload" in rel else None
    if kind is None or "imagesrcset" in params:
        # prefetch, preconnect...: not fetched for this page; with imagesrcset the browser
        # picks a candidate by viewport, as for <img srcset>, which the scan leaves out.
        return
    as_value = params.get("as")
    preload = Preload(
        value=value,
        href=href,
        url=urljoin(document, href),
        rel=kind,
        as_value=as_value.lower() if as_value is not None else None,
        crossorigin=params.get("crossorigin"),
        integrity=params.get("integrity"),
    )
    # The same link in the Link header and the 103 differs only where it does not matter
    # here (nopush, a nonce): one check for both.
    for known, sources in preloads.items():
        if _same_request(known, preload):
            if source not in sources:
                sources.append(source)
            return
    preloads[preload] = [source]


def _same_request(one: Preload, other: Preload) -> bool:
    return (one.url, one.rel, one.as_value, one.mode, one.integrity) == (
        other.url,
        other.rel,
        other.as_value,
        other.mode,
        other.integrity,
    )


def parse_link_value(value: str) -> tuple[str, dict[str, str]]:
    """The target of one RFC 8288 link-value and its parameters: names lower-cased, values
    unquoted, ``""`` for a bare one (as :meth:`~..links.Link.param`); the first of a
    repeated parameter counts."""
    start, end = value.find("<"), value.find(">")
    target = value[start + 1 : end] if 0 <= start < end else ""
    params: dict[str, str] = {}
    for param in _split_params(value[end + 1 :] if end >= 0 else ""):
        name, _, raw = param.partition("=")
        name = name.strip().lower()
        if name:
            params.setdefault(name, _unquote(raw.strip()))
    return target, params


def _split_params(text: str) -> list[str]:
    """``text`` split at the semicolons outside quoted strings."""
    params: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in text:
        if escaped:
            escaped = False
        elif quoted and char == "\\":
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            params.append("".join(current))
            current = []
            continue
        current.append(char)
    params.append("".join(current))
    return [param for param in params if param.strip()]


def _unquote(raw: str) -> str:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        inner = raw[1:-1]
        out: list[str] = []
        escaped = False
        for char in inner:
            if escaped or char != "\\":
                out.append(char)
                escaped = False
            else:
                escaped = True
        return "".join(out)
    return raw


# --- the comparison -----------------------------------------------------------------------


def _problems(preload: Preload, uses: dict[str, list[Use]], unread: bool) -> list[str]:
    """What makes ``preload`` useless to the page, with the fix; empty if it is used.
    ``unread``: some stylesheet of the page could not be read."""
    if preload.rel == "preload" and preload.as_value not in PRELOAD_AS:
        given = "no as" if preload.as_value is None else f"as={preload.as_value}"
        return [
            f"{given}: browsers ignore a preload without one of as={', '.join(PRELOAD_AS)}; "
            "push it with its destination"
        ]
    found = uses.get(preload.url)
    if found:
        mismatches = [_mismatch(preload, use) for use in found]
        # One matching use is enough: the browser consumes the preload there.
        return [] if None in mismatches else [message for message in mismatches[:1] if message]
    if preload.as_value == "fetch" and preload.mode is None:
        return [
            f"no crossorigin, but fetch() requests are made in CORS mode: {TWICE}; add "
            "crossorigin (a 'fetch' push has it unless crossorigin=False)"
        ]
    twin = _twin(preload, uses)
    if twin is not None:
        use, differences = twin
        return [
            f"not used: {use.by} loads {use.shown} instead (another "
            f"{' and '.join(differences)}): preload the URL the page uses"
        ]
    seen = preload.destination in _SEEN_DESTINATIONS
    if seen and not (unread and preload.destination in _FROM_STYLESHEETS):
        return [
            "not used: nothing in the page or its stylesheets fetches it (Chrome: 'preloaded "
            "but not used'): remove the push, or push the URL the page uses"
        ]
    return []


def _mismatch(preload: Preload, use: Use) -> str | None:
    """Why the browser cannot consume ``preload`` for ``use``, with the fix; ``None`` if it
    can."""
    destination = use.destination
    kind = _KINDS.get(destination or "", "a file")
    if destination in _KINDS and destination != "fetch":
        wanted_as = "script" if destination == MODULE else destination
        given_as = "script" if preload.rel == "modulepreload" else preload.as_value
        if given_as != wanted_as:
            return (
                f"preloaded as={given_as}, but {use.by} loads it as {kind}: {TWICE}; "
                f"push it as {destination!r}"
            )
        if preload.rel == "modulepreload" and destination == "script":
            return (
                f"modulepreload is for module scripts, but {use.by} runs it as {kind}: "
                f"{TWICE}; push it as 'script'"
            )
    if preload.mode != use.mode:
        return _mode_mismatch(preload, use, kind)
    if preload.integrity != use.integrity:
        given = f"integrity {preload.integrity!r}" if preload.integrity else "no integrity"
        wanted = f"integrity={use.integrity!r}" if use.integrity else "no integrity"
        return (
            f"{given}, but {use.by} loads it with {wanted}: {TWICE} (a preload is reused "
            f"only with the same integrity); push it with {wanted}"
        )
    return None


def _mode_mismatch(preload: Preload, use: Use, kind: str) -> str:
    given = _describe_mode(preload.mode)
    if use.destination == "font":
        how = "always in CORS mode"
    elif use.destination == MODULE and use.mode == "anonymous":
        how = "in CORS mode"
    else:
        how = _describe_mode(use.mode)
    if use.mode is None:
        fix = "remove crossorigin (crossorigin=False)"
    elif use.mode == "use-credentials":
        fix = "push it with crossorigin='use-credentials'"
    elif use.destination == MODULE and preload.rel == "preload":
        fix = "push it as 'module' (rel=modulepreload)"
    else:
        fix = "add crossorigin"
    return f"preloaded {given}, but {use.by} loads it as {kind}, {how}: {TWICE}; {fix}"


def _describe_mode(mode: str | None) -> str:
    return "without crossorigin" if mode is None else f"with crossorigin={mode}"


def _cors_mode(crossorigin: str | None, cors_by_default: bool) -> str | None:
    """HTML's CORS settings attribute: absent is no-cors (or anonymous where the fetch is
    CORS anyway), "use-credentials" is itself, any other value is anonymous."""
    if crossorigin is None:
        return "anonymous" if cors_by_default else None
    return "use-credentials" if crossorigin.strip().lower() == "use-credentials" else "anonymous"


def _twin(preload: Preload, uses: dict[str, list[Use]]) -> tuple[Use, list[str]] | None:
    """A use of the same file as ``preload`` under another URL, and how the URLs differ."""
    for url, found in uses.items():
        differences = url_differences(preload.url, url)
        if differences:
            return found[0], differences
    return None


def url_differences(one: str, other: str) -> list[str]:
    """How two URLs of the same file differ ("host", "digest", "version query"); empty if
    they are the same URL or name different files.

    The same file: the same name once a content digest is taken out of it (Flask-Static-
    Digest's ``site-<md5>.css``, Vite's ``main-BXpIoncC.js``), the same extension, and one
    folder ending the other's (a CDN may serve the static folder under a prefix).
    """
    first, second = urlsplit(one), urlsplit(other)
    folder_one, _, name_one = first.path.rpartition("/")
    folder_two, _, name_two = second.path.rpartition("/")
    base_one, digest_one = _undigested(name_one)
    base_two, digest_two = _undigested(name_two)
    if base_one != base_two or not (
        folder_one.endswith(folder_two) or folder_two.endswith(folder_one)
    ):
        return []
    differences = []
    if (first.scheme, first.netloc) != (second.scheme, second.netloc):
        differences.append("host")
    elif folder_one != folder_two:
        return []  # another folder of the same origin: another file
    if digest_one != digest_two:
        differences.append("digest")
    if first.query != second.query:
        differences.append("version query")
    return differences


def _undigested(name: str) -> tuple[str, str]:
    """A file name without its content digest (``site-3f2a9b1c.css`` -> ``site.css``), and
    the digest ("" if it has none)."""
    stem, dot, extension = name.rpartition(".")
    if not dot:
        return name, ""
    for index, char in enumerate(stem):
        if char in "-." and _is_digest(stem[index + 1 :]):
            return f"{stem[:index]}.{extension}", stem[index + 1 :]
    return name, ""


_HEX = frozenset("0123456789abcdef")
_BASE64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _is_digest(text: str) -> bool:
    """Whether ``text`` looks like a content hash: hex (md5, sha: 7 to 64 digits) or the 8
    base64url characters of Rollup and Vite; a word ("subset", "checker") is not one."""
    if 7 <= len(text) <= 64 and set(text) <= _HEX:
        return any(char.isdigit() for char in text)
    if len(text) == 8 and set(text) <= _BASE64URL:
        return any(char.isdigit() or char.isupper() for char in text)
    return False


def _display(url: str, crawler: SiteCrawler) -> str:
    return url[len(crawler.origin) :] if url.startswith(crawler.origin + "/") else url
