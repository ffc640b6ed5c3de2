"""Fuzzing through the real app: strategies, an app that pushes what it is handed, oracles.

The properties that use these (test_functions, test_attributes, test_jinja_ext,
test_manifest, ...) go through whole requests (view or template -> response header), and
read every header back with the independent strict parser in :mod:`tests.linkheader`:
whatever a push says, the response either carries one ``Link`` field that parses back to
exactly the intended links, or the push fails with a clear :class:`PushError` naming the
value.
"""

from __future__ import annotations

import itertools
import re
import string
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, render_template, render_template_string, stream_template, url_for
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from werkzeug.test import TestResponse

from flask_push_templates import PushTemplates, push_url
from tests.linkheader import ParsedLink, parse_link_fields

# --- strategies --------------------------------------------------------------------------


#: Any text a view could be handed, controls, quotes, brackets and non-ASCII included.
ANY_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
#: Text biased towards what breaks headers: CR, LF, quotes, brackets, separators.
NASTY = st.text(
    st.sampled_from(list('\r\n\t "\\<>,;=%#?[]@:/\x00\x7fé€\u2028') + list("aZ09-._~")),
    max_size=20,
)
TEXT = st.one_of(ANY_TEXT, NASTY)
#: How assets start: static names, paths, protocol-relative and absolute URLs, IP literals.
PREFIXES = st.sampled_from(
    [
        "",
        "/",
        "/static/",
        "//",
        "//cdn.example/",
        "https://cdn.example/",
        "http://[::1]:8000/",
        "https://[",
        "http://[v1.x]/",
        "//user:pw@h/",
        "//a@b@c:80/",
        "//h:x/",
        "data:",
        "x-y:",
    ]
)
EXTENSIONS = st.sampled_from(
    [".css", ".js", ".mjs", ".woff2", ".png", ".svg", ".json", ".vtt", ".html", ".unknown", ""]
)
DESTINATIONS = st.one_of(
    st.none(),
    st.sampled_from(["style", "script", "font", "image", "fetch", "track", "module", "document"]),
    TEXT,
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
#: Attribute names: tokens in any case (HTTP parameter names are case-insensitive), and
#: non-tokens that must be refused.
NAMES = st.one_of(
    st.text(st.sampled_from(string.ascii_letters + "-"), min_size=1, max_size=8).map(
        lambda name: "x" + name
    ),
    st.sampled_from(["title", "Title", "TITLE", "media", "nonce", "integrity", "fetchpriority"]),
    TEXT,
)
#: The names build_link treats specially, in any case.
SPECIAL = st.sampled_from(
    ["rel", "as", "weight", "nopush", "crossorigin", "type", "href", "REL", "As", "Type", "NOPUSH"]
)

_AS_OF = {"style": "style", "script": "script", "font": "font", "image": "image",
          "fetch": "fetch", "track": "track"}  # fmt: skip
_SPECIAL_NAMES = {"rel", "as", "weight", "nopush", "crossorigin", "type", "href"}


def asset_strategy() -> st.SearchStrategy[str]:
    return st.builds(lambda p, t, e: p + t + e, PREFIXES, TEXT, EXTENSIONS).filter(bool)


# --- the app the properties go through ---------------------------------------------------

Case = list[tuple[Any, Any, dict[str, Any]]]


class FuzzApp:
    """One app (built once: hypothesis runs hundreds of examples) whose views push ``case``.

    ``root`` is an empty folder from pytest's ``tmp_path_factory`` (the ``fuzz`` fixture in
    conftest.py), which pytest prunes with its other runs' folders: a ``mkdtemp`` folder
    here was left behind in the temporary directory by every run.
    """

    def __init__(self, root: Path, **config: Any) -> None:
        self.root = root
        (root / "static").mkdir()
        (root / "templates").mkdir()
        self._names = itertools.count()
        app = Flask("push_fuzz_app", root_path=str(root))
        # Room for every link: the budget has its own tests; here every link must appear.
        # One push, one link: the preconnects other origins get are tested on their own
        # (tests/test_pipeline.py), and would break that oracle.
        app.config.update(
            TESTING=True,
            PUSH_MAX_HEADER_BYTES=1_000_000,
            PUSH_MAX_LINKS=1000,
            PUSH_PRECONNECT=False,
        )
        app.config.update(config)
        PushTemplates(app)
        self.app = app
        self.case: Case = []
        self.template = ""

        @app.route("/url")
        def by_push_url() -> str:
            for asset, destination, attributes in self.case:
                push_url(asset, destination, **attributes)
            return "<p>"

        @app.route("/tag")
        def by_tag() -> str:
            # Arguments as variables: anything a template may be handed at run time.
            source = "{% for a, d, t in case %}{% push a, d, title=t %}{% endfor %}"
            items = [(a, d, attrs.get("title")) for a, d, attrs in self.case]
            return render_template_string(source, case=items)

        @app.route("/constant")
        def by_constant_tag() -> str:
            return render_template(self.template)

        @app.route("/stream")
        def streamed() -> Any:
            # A streamed page's header is made from its templates' constant pushes, found
            # by template name: hence files, each example's under a name of its own.
            return app.response_class(stream_template(self.template))

        self.client = app.test_client()

    def get(self, path: str, case: Case | None = None, source: str = "") -> TestResponse:
        self.case = case or []
        if source:
            self.template = f"t{next(self._names)}.html"
            (self.root / "templates" / self.template).write_text(source, "utf-8")
        return self.client.get(path)

    def url_of(self, asset: str) -> str:
        """The URL a push of ``asset`` names, as Flask itself builds it (not the package):
        a path or URL as given (the script root is ``""``), a static file name through
        ``url_for``, its query and fragment as given after it."""
        if asset.startswith("/") or _has_scheme(asset):
            return asset
        name = _static_name(asset)
        if not name:
            return asset  # refused: see may_refuse
        with self.app.test_request_context():
            return url_for("static", filename=name) + asset[len(name) :]


def _static_name(asset: str) -> str:
    """A static file name's part before its query or fragment."""
    return re.split(r"[?#]", asset, maxsplit=1)[0]


def _has_scheme(asset: str) -> bool:
    head, colon, _ = asset.partition(":")
    return (
        bool(colon)
        and head[:1].isalpha()
        and all(char.isalnum() or char in "+-." for char in head)
        and head.isascii()
    )


# Enough to run in about a second each; raise max_examples for a deep run (27 000 examples
# passed when these were written).
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# --- checking one response ---------------------------------------------------------------


def sound_links(response: TestResponse) -> list[ParsedLink]:
    """The response's links, after checking the header block is sound: no CR/LF or NUL in
    any field, at most one Link field (the view set none), parsed by the strict parser."""
    for name, value in response.headers.items():
        assert not any(char in value for char in "\r\n\x00"), (name, value)
        assert not any(char in name for char in "\r\n\x00:"), name
    fields = response.headers.getlist("Link")
    assert len(fields) <= 1, fields
    return parse_link_fields(fields)


def same_target(parsed: ParsedLink, url: str) -> bool:
    """Whether a parsed target means ``url``: percent-encoding may differ, nothing else."""
    return unquote(parsed.target) == unquote(url)


def check_link(parsed: ParsedLink, url: str, destination: Any, attributes: dict[str, Any]) -> None:
    assert same_target(parsed, url), (parsed.target, url)
    if destination is None and not {name.lower() for name in attributes} & _SPECIAL_NAMES:
        destination = inferred_destination(url)  # accepted, so it must have one
        assert destination is not None, (url, parsed)
    if destination in _AS_OF:
        assert parsed.get("as") == _AS_OF[destination]
        assert parsed.rel == "preload"
    elif destination == "module":
        assert parsed.rel == "modulepreload"
    elif destination == "document":
        assert parsed.rel == "prefetch"
    for name, value in attributes.items():
        key = name.lower()
        if key in _SPECIAL_NAMES:
            continue
        if value is None or value is False:
            assert not parsed.has(key), (key, parsed)
        elif value is True:
            assert parsed.has(key) and parsed.get(key) is None, (key, parsed)
        else:
            assert parsed.get(key) == str(value), (key, parsed)


_AUTHORITY = re.compile(r"(?:[A-Za-z][A-Za-z0-9+.\-]*:)?//([^/?#]*)")

#: README's table of destinations: the extensions each is inferred from.
_INFERRED = {
    **dict.fromkeys([".css"], "style"),
    **dict.fromkeys([".js"], "script"),
    **dict.fromkeys([".mjs"], "module"),
    **dict.fromkeys([".woff2", ".woff", ".ttf", ".otf", ".eot"], "font"),
    **dict.fromkeys([".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".svg", ".ico"], "image"),
    **dict.fromkeys([".json"], "fetch"),
    **dict.fromkeys([".vtt"], "track"),
}


def inferred_destination(url: Any) -> str | None:
    """The destination README promises for ``url``'s extension (its path's last name)."""
    if not isinstance(url, str):
        return None
    try:
        path = urlsplit(url).path
    except ValueError:  # an unbalanced "[": the name still ends the URL
        path = re.split("[?#]", url, maxsplit=1)[0]
    name = path.rpartition("/")[2]
    return _INFERRED.get(name[name.rfind(".") :].lower()) if "." in name else None


def has_bad_port(asset: str) -> bool:
    """Whether ``asset`` has an authority whose port is not a number (no URI can say it)."""
    match = _AUTHORITY.match(asset)
    if match is None:
        return False
    hostport = match.group(1).rpartition("@")[2]
    if hostport.startswith("[") and "]" in hostport:
        port = hostport[hostport.index("]") + 1 :]
    else:
        port = hostport[len(hostport.partition(":")[0]) :]
    return re.fullmatch(r"(:[0-9]*)?", port) is None


def may_refuse(
    asset: Any, destination: Any, attributes: dict[str, Any], url: str | None = None
) -> bool:
    """Whether a push may be refused: something in it cannot be said in a header.

    ``url`` is what ``asset`` becomes (``FuzzApp.url_of``), if it is not the asset itself.
    """
    if isinstance(asset, str) and has_bad_port(asset):
        return True
    is_name = isinstance(asset, str) and not (asset.startswith("/") or _has_scheme(asset))
    if is_name and not _static_name(asset):
        return True  # a query or fragment with no file name before it
    names = [name.lower() for name in attributes]
    if len(set(names)) != len(names) or set(names) & _SPECIAL_NAMES:
        return True  # a name given twice (in two cases), or a special one, may be wrong
    if destination is not None and destination not in {*_AS_OF, "module", "document"}:
        return True
    if destination is None and inferred_destination(asset if url is None else url) is None:
        return True  # the extension says nothing
    for name, value in attributes.items():
        if not name or any(char not in _TCHAR for char in name):
            return True
        is_text = value is not None and not isinstance(value, bool)
        if is_text and not all(" " <= char <= "~" for char in str(value)):
            return True
    return False


_TCHAR = frozenset("!#$%&'*+-.^_`|~" + string.digits + string.ascii_letters)


def refused_clearly(error: BaseException, *values: Any) -> None:
    """A refusal names what was pushed (as given, or as the URL it became)."""
    message = str(error)
    assert message.startswith(("push:", *(f"push of {value!r}" for value in values))), message
    assert "\n" not in message and "\r" not in message
