"""Hardening (issue #8): fuzzing through the real app, manifests under stress, concurrency.

The properties here go through whole requests (view or template -> response header), and read
every header back with the independent strict parser in :mod:`tests.linkheader`: whatever a
push says, the response either carries one ``Link`` field that parses back to exactly the
intended links, or the push fails with a clear :class:`PushError` naming the value.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import concurrent.futures
import hashlib
import itertools
import json
import logging
import os
import random
import re
import string
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import (
    Flask,
    g,
    render_template,
    render_template_string,
    request,
    stream_template,
    url_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateSyntaxError
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, ManifestError, PushError, PushTemplates, push_url
from flask_push_templates import manifest as manifest_module
from flask_push_templates.manifest import load_manifest
from tests.e2e.parts import require
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
    """One app (built once: hypothesis runs hundreds of examples) whose views push ``case``."""

    def __init__(self, **config: Any) -> None:
        self.root = tempfile.mkdtemp(prefix="push-fuzz-")
        (Path(self.root) / "static").mkdir()
        (Path(self.root) / "templates").mkdir()
        self._names = itertools.count()
        app = Flask("push_fuzz_app", root_path=self.root)
        # Room for every link: the budget has its own tests; here every link must appear.
        app.config.update(TESTING=True, PUSH_MAX_HEADER_BYTES=1_000_000, PUSH_MAX_LINKS=1000)
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
            (Path(self.root) / "templates" / self.template).write_text(source, "utf-8")
        return self.client.get(path)

    def url_of(self, asset: str) -> str:
        """The URL a push of ``asset`` names, as Flask itself builds it (not the package)."""
        if asset.startswith("/") or _has_scheme(asset):
            return asset
        with self.app.test_request_context():
            return url_for("static", filename=asset)


def _has_scheme(asset: str) -> bool:
    head, colon, _ = asset.partition(":")
    return (
        bool(colon)
        and head[:1].isalpha()
        and all(char.isalnum() or char in "+-." for char in head)
        and head.isascii()
    )


@pytest.fixture(scope="module")
def fuzz() -> Iterator[FuzzApp]:
    yield FuzzApp()


# Enough to run in about a second each; raise max_examples for a deep run (27 000 examples
# passed when these were written).
FUZZ = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
#: Manifest properties build an app per example (start-up is what they test).
FUZZ_MANIFESTS = settings(max_examples=80, deadline=None)

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


def may_refuse(asset: Any, destination: Any, attributes: dict[str, Any]) -> bool:
    """Whether a push may be refused: something in it cannot be said in a header."""
    if isinstance(asset, str) and has_bad_port(asset):
        return True
    names = [name.lower() for name in attributes]
    if len(set(names)) != len(names) or set(names) & _SPECIAL_NAMES:
        return True  # a name given twice (in two cases), or a special one, may be wrong
    if destination is not None and destination not in {*_AS_OF, "module", "document"}:
        return True
    if destination is None:
        return True  # the extension may say nothing
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


# --- push_url, whole responses -----------------------------------------------------------


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    attributes=st.dictionaries(NAMES, SCALARS, max_size=4),
)
def test_push_url_gives_a_header_that_reads_back_exactly_or_a_clear_error(
    fuzz: FuzzApp, asset: str, destination: Any, attributes: dict[str, Any]
) -> None:
    try:
        response = fuzz.get("/url", [(asset, destination, attributes)])
    except PushError as error:
        assert may_refuse(asset, destination, attributes), error
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    assert response.status_code == 200
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    special=st.dictionaries(SPECIAL, SCALARS, min_size=1, max_size=3),
)
def test_special_attributes_in_any_case_are_applied_once_or_refused(
    fuzz: FuzzApp, asset: str, destination: Any, special: dict[str, Any]
) -> None:
    try:
        response = fuzz.get("/url", [(asset, destination, special)])
    except PushError as error:
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    [parsed] = sound_links(response)  # the strict parser refuses a second rel or type
    assert same_target(parsed, fuzz.url_of(asset))
    assert [name for name, _ in parsed.params].count("nopush") <= 1


PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20)


@FUZZ
@given(
    pushes=st.lists(
        st.tuples(TEXT, st.sampled_from(["style", "script", "image", "font"]), PRINTABLE),
        max_size=12,
    )
)
def test_many_pushes_come_back_in_order_each_once(
    fuzz: FuzzApp, pushes: list[tuple[str, str, str]]
) -> None:
    # Distinct paths by construction, so that none merges with another.
    case: Case = [
        (f"/p{index}/{text}", destination, {"title": title})
        for index, (text, destination, title) in enumerate(pushes)
    ]
    response = fuzz.get("/url", case)
    links = sound_links(response)
    assert len(links) == len(case)
    for parsed, (asset, destination, attributes) in zip(links, case, strict=True):
        check_link(parsed, asset, destination, attributes)


# --- the tag -----------------------------------------------------------------------------


@FUZZ
@given(asset=asset_strategy(), destination=DESTINATIONS, title=SCALARS)
def test_push_tag_with_run_time_values(
    fuzz: FuzzApp, asset: str, destination: Any, title: Any
) -> None:
    attributes = {"title": title}
    try:
        response = fuzz.get("/tag", [(asset, destination, attributes)])
    except PushError as error:
        assert may_refuse(asset, destination, attributes), error
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


def jinja_literal(text: str) -> str:
    """``text`` as a Jinja string literal: every character escaped, so none is special."""
    return "'" + "".join(f"\\U{ord(char):08x}" for char in text) + "'"


@FUZZ
@given(
    asset=asset_strategy(),
    destination=DESTINATIONS,
    # Non-negative: Jinja reads -1 as an expression, which is no longer a constant push.
    title=st.one_of(TEXT, st.booleans(), st.integers(min_value=0)),
    streamed=st.booleans(),
)
def test_constant_push_tag_is_checked_at_compile_time_or_reads_back(
    fuzz: FuzzApp, asset: str, destination: Any, title: Any, streamed: bool
) -> None:
    arguments = jinja_literal(asset)
    if destination is not None:
        arguments += ", " + jinja_literal(destination)
    value = jinja_literal(title) if isinstance(title, str) else repr(title).lower()
    template = f"{{% push {arguments}, title={value} %}}<p>"
    attributes = {"title": title}
    try:
        response = fuzz.get("/stream" if streamed else "/constant", source=template)
        response.get_data()  # a streamed body renders only now
    except TemplateSyntaxError as error:
        assert may_refuse(asset, destination, attributes), error
        assert "push of" in str(error), error
        return
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


# --- manifests ---------------------------------------------------------------------------

JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT)
ANY_JSON = st.recursive(
    JSON_SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(TEXT, inner, max_size=4)),
    max_leaves=12,
)
#: Manifest-shaped documents: asset keys and entry objects, both formats, broken entries.
SPEC = st.dictionaries(st.one_of(st.just("type"), SPECIAL, NAMES), JSON_SCALARS, max_size=3)
MANIFEST_SHAPED = st.dictionaries(
    st.one_of(asset_strategy(), TEXT),
    st.one_of(SPEC, st.dictionaries(asset_strategy(), SPEC, max_size=3), ANY_JSON),
    max_size=6,
)


def manifest_app(root: Path, document: str | bytes, **config: Any) -> Flask:
    """An app whose PUSH_MANIFEST holds ``document``, with a page that renders page.html."""
    (root / "templates").mkdir(exist_ok=True)
    (root / "templates" / "page.html").write_text("<p>page</p>")
    path = root / "m.json"
    if isinstance(document, bytes):
        path.write_bytes(document)
    else:
        path.write_text(document, encoding="utf-8")
    app = Flask("push_manifest_fuzz", root_path=str(root))
    app.config.update(
        TESTING=True,
        PUSH_MANIFEST="m.json",
        PUSH_MAX_HEADER_BYTES=1_000_000,
        PUSH_MAX_LINKS=1000,
        **config,
    )
    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    return app


@FUZZ_MANIFESTS
@given(document=st.one_of(MANIFEST_SHAPED, ANY_JSON))
def test_any_json_manifest_fails_at_startup_or_serves_sound_headers(document: Any) -> None:
    with tempfile.TemporaryDirectory() as root:
        try:
            app = manifest_app(Path(root), json.dumps(document))
        except ManifestError as error:
            assert str(error).startswith("push manifest "), error
            return
        response = app.test_client().get("/")
        assert response.status_code == 200
        sound_links(response)


@FUZZ_MANIFESTS
@given(
    raw=st.one_of(
        st.binary(max_size=60),
        # Valid manifests cut short, or with bytes that are not UTF-8 spliced in.
        st.builds(
            lambda text, cut: text.encode()[:cut],
            MANIFEST_SHAPED.map(json.dumps),
            st.integers(min_value=0, max_value=80),
        ),
        st.builds(
            lambda text, junk: text.encode().replace(b'"', junk, 1),
            MANIFEST_SHAPED.map(json.dumps),
            st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\x00"]),
        ),
    )
)
def test_any_bytes_fail_at_startup_with_a_manifest_error_or_serve_sound_headers(
    raw: bytes,
) -> None:
    with tempfile.TemporaryDirectory() as root:
        try:
            app = manifest_app(Path(root), raw)
        except ManifestError as error:
            assert str(error).startswith("push manifest "), error
            return
        sound_links(app.test_client().get("/"))


@FUZZ_MANIFESTS
@given(
    entries=st.lists(
        st.tuples(
            TEXT,
            DESTINATIONS,
            st.one_of(st.integers(-5, 5), st.floats(allow_nan=False)),
            st.dictionaries(NAMES, JSON_SCALARS, max_size=3),
        ),
        max_size=8,
    )
)
def test_flat_manifest_reads_back_exactly_by_weight_or_names_the_bad_entry(
    entries: list[tuple[str, Any, float, dict[str, Any]]],
) -> None:
    document: dict[str, dict[str, Any]] = {}
    for index, (text, destination, weight, attributes) in enumerate(entries):
        spec: dict[str, Any] = {"weight": weight, **attributes}
        if destination is not None:
            spec["type"] = destination
        # Distinct paths by construction: no two entries merge. "weight" keeps every
        # value a scalar, so no entry is taken for a template group.
        document[f"/m{index}/{text}"] = spec
    with tempfile.TemporaryDirectory() as root:
        try:
            app = manifest_app(Path(root), json.dumps(document))
        except ManifestError as error:
            message = str(error)
            assert message.startswith("push manifest ") and "entry " in message, message
            bad = [
                key
                for key, spec in document.items()
                if may_refuse(key, spec.get("type"), _attributes_of(spec))
                or (spec.get("type") is not None and not isinstance(spec["type"], str))
            ]
            assert any(repr(key) in message for key in bad), message
            return
        links = sound_links(app.test_client().get("/"))
    expected = sorted(document.items(), key=lambda item: -item[1]["weight"])
    assert [unquote(link.target) for link in links] == [unquote(key) for key, _ in expected]
    for parsed, (key, spec) in zip(links, expected, strict=True):
        check_link(parsed, key, spec.get("type"), _attributes_of(spec))


def _attributes_of(spec: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in spec.items() if name not in ("type", "weight")}


@FUZZ_MANIFESTS
@given(document=st.one_of(MANIFEST_SHAPED.map(json.dumps), st.binary(max_size=40)))
def test_any_manifest_saved_while_a_debug_app_runs_never_breaks_a_response(
    document: str | bytes,
) -> None:
    good = {"/static/good.css": {"type": "style"}}
    with tempfile.TemporaryDirectory() as root:
        app = manifest_app(Path(root), json.dumps(good), TEMPLATES_AUTO_RELOAD=True)
        client = app.test_client()
        assert [link.target for link in sound_links(client.get("/"))] == ["/static/good.css"]
        path = Path(root) / "m.json"
        if isinstance(document, bytes):
            path.write_bytes(document)
        else:
            path.write_text(document, encoding="utf-8")
        os.utime(path, ns=(1, 1))  # a new stamp even if the size and clock tick are the same
        response = client.get("/")  # the reload happens here, mid-request
        assert response.status_code == 200
        sound_links(response)


# JSON the decoder refuses with something other than a JSONDecodeError.
UNDECODABLE = [
    pytest.param("[" * 100_000, "nested too deeply", id="nested-100000-deep"),
    pytest.param(
        '{"/a.js": {"weight": ' + "9" * 5000 + "}}",
        "a number has more than 4300 digits",
        id="5000-digit-number",
    ),
]


@pytest.mark.parametrize(("text", "message"), UNDECODABLE)
def test_undecodable_json_is_a_manifest_error_at_startup(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ManifestError, match=rf"^push manifest .*m\.json.*{message}"):
        manifest_app(tmp_path, text)


@pytest.mark.parametrize(("text", "message"), UNDECODABLE)
def test_undecodable_json_saved_in_debug_keeps_the_last_good_version(
    tmp_path: Path, text: str, message: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = manifest_app(tmp_path, '{"/static/good.css": {}}', TEMPLATES_AUTO_RELOAD=True)
    client = app.test_client()
    (tmp_path / "m.json").write_text(text)
    os.utime(tmp_path / "m.json", ns=(1, 1))
    response = client.get("/")
    assert response.status_code == 200
    assert [link.target for link in sound_links(response)] == ["/static/good.css"]
    assert message in caplog.text and "keeping the last valid version" in caplog.text


def test_manifest_symlink_loop_is_an_error_at_startup_not_a_missing_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A missing PUSH_MANIFEST is only a warning (it may be generated later); a loop is not
    # missing, and must not be mistaken for it.
    os.symlink(tmp_path / "b.json", tmp_path / "a.json")
    os.symlink(tmp_path / "a.json", tmp_path / "b.json")
    app = Flask("loop", root_path=str(tmp_path))
    app.config.update(PUSH_MANIFEST="a.json")
    with pytest.raises(ManifestError, match=r"a\.json cannot be read: Too many levels"):
        PushTemplates(app)
    assert "does not exist yet" not in caplog.text


@pytest.mark.parametrize("debug", [False, True])
def test_manifest_deleted_while_the_app_runs_keeps_serving_the_last_good_links(
    tmp_path: Path, debug: bool, caplog: pytest.LogCaptureFixture
) -> None:
    app = manifest_app(tmp_path, '{"/static/a.css": {}}', TEMPLATES_AUTO_RELOAD=debug)
    client = app.test_client()
    assert [link.target for link in sound_links(client.get("/"))] == ["/static/a.css"]
    (tmp_path / "m.json").unlink()
    for _ in range(3):
        response = client.get("/")
        assert response.status_code == 200
        assert [link.target for link in sound_links(response)] == ["/static/a.css"]
    # Said once, not on every request while the file is gone.
    assert caplog.text.count("does not exist") == (1 if debug else 0)


class TornFile:
    """A manifest opened for reading that an editor rewrites in place halfway through the
    read: the first half of the old version, then the rest of the new one, from a real
    descriptor (what a reader can get, as the GIL is released between two read calls)."""

    def __init__(self, path: str, new_text: str) -> None:
        self.path = path
        self.new_text = new_text
        self.fd = os.open(path, os.O_RDONLY)

    def fileno(self) -> int:
        return self.fd

    def read(self, size: int = -1) -> bytes:
        head = os.read(self.fd, os.fstat(self.fd).st_size // 2)
        with open(self.path, "w", encoding="utf-8") as file:  # truncate, rewrite
            file.write(self.new_text)
        rest = b""
        while chunk := os.read(self.fd, 65536):
            rest += chunk
        return head + rest

    def __enter__(self) -> TornFile:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)


def test_a_manifest_rewritten_in_place_while_read_is_never_half_one_version_half_another(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Entries of the same length: the torn bytes make valid JSON, naming assets of both.
    old = {f"/static/v0/{index}.js": {"type": "script"} for index in range(4)}
    new = {f"/static/v1/{index}.js": {"type": "script"} for index in range(4)}
    path = tmp_path / "m.json"
    path.write_text(json.dumps(old))
    torn = json.loads(
        json.dumps(old)[: len(json.dumps(old)) // 2] + json.dumps(new)[len(json.dumps(old)) // 2 :]
    )
    assert sorted(torn) == sorted([*list(old)[:2], *list(new)[2:]])  # the trap is real
    tears = iter([True])

    def opener(name: str, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if name == str(path) and "b" in mode and next(tears, False):
            return TornFile(name, json.dumps(new))
        return open(name, mode, *args, **kwargs)

    monkeypatch.setattr(manifest_module, "open", opener, raising=False)
    entries = [entry.asset for entry in load_manifest(str(path)).entries]
    assert entries == list(new)  # read again once the file held still

    tears = itertools.repeat(True)  # an editor that never stops saving
    with pytest.raises(ManifestError, match="kept changing while it was read; write it to"):
        load_manifest(str(path))


def test_concurrent_requests_while_a_debug_manifest_is_rewritten_see_whole_versions(
    tmp_path: Path,
) -> None:
    """Each response names exactly one version of the manifest: never a mix, never a
    half-written file's links, never an error, while another thread rewrites it in place."""
    versions = [
        {f"/static/v{version}/{index}.js": {"type": "script"} for index in range(count)}
        for version, count in ((0, 3), (1, 5), (2, 1))
    ]
    expected = {tuple(version) for version in versions}
    app = manifest_app(tmp_path, json.dumps(versions[0]), TEMPLATES_AUTO_RELOAD=True)
    path = tmp_path / "m.json"
    stop = threading.Event()
    seen: collections.Counter[tuple[str, ...]] = collections.Counter()
    problems: list[str] = []

    def rewrite() -> None:
        for turn in itertools.count():
            if stop.is_set():
                return
            text = json.dumps(versions[turn % len(versions)])
            # Not atomic on purpose: truncate, then write in two parts, as an editor that
            # saves in place would; readers meet empty and half-written files.
            with open(path, "w", encoding="utf-8") as file:
                file.write(text[: len(text) // 2])
                file.flush()
                time.sleep(0.0005)
                file.write(text[len(text) // 2 :])
            time.sleep(0.001)

    def load(requests: int) -> None:
        client = app.test_client()
        for _ in range(requests):
            response = client.get("/")
            if response.status_code != 200:
                problems.append(f"status {response.status_code}")
                continue
            targets = tuple(link.target for link in sound_links(response))
            seen[targets] += 1
            if targets not in expected:
                problems.append(f"not a whole version: {targets}")

    logging.getLogger("flask_push_templates.manifest").disabled = True  # half-saved files
    writer = threading.Thread(target=rewrite)
    writer.start()
    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(load, [150] * 8))
    finally:
        stop.set()
        writer.join()
        logging.getLogger("flask_push_templates.manifest").disabled = False
    assert problems == []
    assert sum(seen.values()) == 1200
    assert len(seen) >= 2, seen  # the rewrites were seen, so the test tested something


# --- concurrency: each response carries exactly its own pushes ---------------------------


def concurrent_app(tmp_path: Path) -> Flask:
    """Views that push exactly the assets the request names: half with push_url(), half
    with the tag, yielding between pushes so that requests interleave as much as possible."""
    app = Flask("push_concurrency", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_MAX_LINKS=100)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(
        "{% for asset in assets %}{% push asset %}{% endfor %}<p>page</p>"
    )
    PushTemplates(app)

    def split() -> tuple[list[str], list[str]]:
        assets = [name for name in request.args.get("assets", "").split(",") if name]
        return assets[: len(assets) // 2], assets[len(assets) // 2 :]

    @app.route("/page")
    def page() -> str:
        by_function, by_tag = split()
        for asset in by_function:
            push_url(asset)
            time.sleep(0)  # let another thread run between two pushes
        return render_template("page.html", assets=by_tag)

    @app.route("/apage")
    async def async_page() -> str:
        by_function, by_tag = split()
        for asset in by_function:
            push_url(asset)
            await asyncio.sleep(0)
            time.sleep(0)
        return render_template("page.html", assets=by_tag)

    @app.route("/json")
    def json_view() -> Any:
        # Pushes, but JSON is not a page: no header, whatever other threads do.
        for asset in split()[0] + split()[1]:
            push_url(asset)
        return {"ok": True}

    return app


def random_request(rng: random.Random, serial: int) -> tuple[str, list[str]]:
    """A path asking for a set of assets no other request asks for, and the expected
    header targets (none for JSON and for an empty set)."""
    count = rng.choice([0, 1, 2, 3, 5, 8])
    assets = [f"{rng.choice('abc')}{serial}-{index}.js" for index in range(count)]
    view = rng.choice(["page", "page", "apage", "json"])
    expected = [] if view == "json" else [f"/static/{asset}" for asset in assets]
    return f"/{view}?assets={','.join(assets)}", expected


def test_threads_and_async_views_each_get_exactly_their_own_pushes(tmp_path: Path) -> None:
    app = concurrent_app(tmp_path)
    rng = random.Random(8)
    requests = [random_request(rng, serial) for serial in range(1600)]
    wrong: list[tuple[str, list[str], list[str]]] = []

    def run(chunk: list[tuple[str, list[str]]]) -> None:
        client = app.test_client()
        for path, expected in chunk:
            response = client.get(path)
            assert response.status_code == 200
            targets = [link.target for link in sound_links(response)]
            if targets != expected:
                wrong.append((path, expected, targets))

    chunks = [requests[index::16] for index in range(16)]
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        for result in pool.map(run, chunks):
            assert result is None
    assert wrong == []


# --- push once: a cookie digest of what was pushed to this client ------------------------

ONCE_PAGE = (
    "{% push 'site.css' %}{% push 'app.js' %}{% push 'fonts/a.woff2' %}"
    "{% push 'mod.mjs' %}{% push 'next.html', 'document' %}"
    "{% push 'held.js', nopush=True %}{% for asset in extra %}{% push asset %}{% endfor %}<p>"
)
#: What a pushing proxy pushes from ONCE_PAGE: rel=preload without nopush.
ONCE_PUSHABLE = ["/static/site.css", "/static/app.js", "/static/fonts/a.woff2"]


def once_app(tmp_path: Path, **config: Any) -> Flask:
    app = Flask("push_once_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, PUSH_ONCE=True, **config)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "page.html").write_text(ONCE_PAGE)
    PushTemplates(app)

    @app.route("/")
    def page() -> str:
        extra = [name for name in request.args.get("extra", "").split(",") if name]
        return render_template("page.html", extra=extra)

    @app.route("/data")
    def data() -> Any:
        push_url("data.css")
        return {"json": True}

    return app


def pushed(response: TestResponse) -> list[str]:
    """What a pushing proxy would push for ``response``."""
    return [
        link.target
        for link in sound_links(response)
        if link.rel == "preload" and not link.has("nopush")
    ]


def set_cookies(response: TestResponse) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def digest_of(response: TestResponse, name: str = "push_once") -> list[bytes]:
    """The entries of the push-once cookie ``response`` sets, decoded here independently."""
    [cookie] = [value for value in set_cookies(response) if value.startswith(name + "=")]
    value = cookie.split(";", 1)[0].split("=", 1)[1]
    assert value.startswith("1.") and re.fullmatch(r"[A-Za-z0-9_-]*", value[2:]), value
    raw = base64.urlsafe_b64decode(value[2:] + "=" * (-len(value[2:]) % 4))
    return [raw[index : index + 4] for index in range(0, len(raw), 4)]


def sha4(url: str) -> bytes:
    return hashlib.sha256(url.encode()).digest()[:4]


def test_push_once_is_off_by_default(make_app: Any) -> None:
    app = make_app(templates={"page.html": ONCE_PAGE})
    app.add_url_rule("/", "page", lambda: render_template("page.html", extra=[]))
    client = app.test_client()
    for _ in range(2):
        response = client.get("/")
        assert pushed(response) == ONCE_PUSHABLE
        assert set_cookies(response) == []


def test_push_once_pushes_on_the_first_visit_and_keeps_the_preloads_after(
    tmp_path: Path,
) -> None:
    client = once_app(tmp_path).test_client()
    first = client.get("/")
    assert pushed(first) == ONCE_PUSHABLE
    # Only what a proxy pushes is recorded: not modulepreload, prefetch or nopush links.
    assert digest_of(first) == [sha4(url) for url in ONCE_PUSHABLE]
    [cookie] = set_cookies(first)
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    assert attributes == {"expires", "max-age", "httponly", "path", "samesite"}
    assert "Max-Age=604800" in cookie and "Path=/" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # http: a Secure cookie would never come back

    second = client.get("/")  # the test client sends the cookie back
    assert pushed(second) == []
    # Every link is still there, the same but for nopush on those pushed before.
    first_links, second_links = sound_links(first), sound_links(second)
    assert [link.target for link in second_links] == [link.target for link in first_links]
    for before, after in zip(first_links, second_links, strict=True):
        was_pushed = before.target in ONCE_PUSHABLE
        assert after.has("nopush") == (was_pushed or before.has("nopush"))
        assert [p for p in after.params if p[0] != "nopush"] == [
            p for p in before.params if p[0] != "nopush"
        ]
    assert set_cookies(second) == []  # nothing new was pushed: the cookie stands


def test_push_once_pushes_a_new_version_of_an_asset_again(tmp_path: Path) -> None:
    client = once_app(tmp_path).test_client()
    client.get("/?extra=/static/theme.css%3Fv%3D1")
    again = client.get("/?extra=/static/theme.css%3Fv%3D2")  # the digest covers the query
    assert pushed(again) == ["/static/theme.css?v=2"]
    assert digest_of(again)[-1] == sha4("/static/theme.css?v=2")
    assert pushed(client.get("/?extra=/static/theme.css%3Fv%3D1")) == []


def test_push_once_cookie_is_bounded_and_forgets_the_oldest_first(tmp_path: Path) -> None:
    client = once_app(tmp_path, PUSH_ONCE_MAX_ENTRIES=8).test_client()
    client.get("/")  # the three of the page
    many = [f"n{index}.js" for index in range(10)]
    response = client.get("/?extra=" + ",".join(many))
    entries = digest_of(response)
    assert entries == [sha4(f"/static/{name}") for name in many[-8:]]
    [cookie] = set_cookies(response)
    assert len(cookie.split(";")[0]) == len("push_once=1.") + 43  # 32 bytes, base64url
    # The page's own assets were forgotten, so they are pushed again; the rest are not.
    assert pushed(client.get("/?extra=" + ",".join(many[-8:]))) == ONCE_PUSHABLE


def test_push_once_records_only_the_links_that_made_it_into_the_header(
    tmp_path: Path,
) -> None:
    client = once_app(tmp_path, PUSH_MAX_LINKS=2).test_client()
    first = client.get("/")
    assert pushed(first) == ONCE_PUSHABLE[:2]
    assert digest_of(first) == [sha4(url) for url in ONCE_PUSHABLE[:2]]


def test_push_once_sets_no_cookie_where_there_is_no_header(tmp_path: Path) -> None:
    client = once_app(tmp_path).test_client()
    response = client.get("/data")
    assert response.headers.getlist("Link") == [] and set_cookies(response) == []
    assert set_cookies(client.get("/", headers={"Accept": "text/html"})) != []
    client.delete_cookie("push_once")
    assert set_cookies(once_app(tmp_path, PUSH_NOPUSH=True).test_client().get("/")) == []


def test_push_once_cookie_attributes_are_configurable(tmp_path: Path) -> None:
    app = once_app(
        tmp_path,
        PUSH_ONCE_COOKIE="pushed",
        PUSH_ONCE_MAX_AGE=None,
        PUSH_ONCE_COOKIE_SECURE=True,
        PUSH_ONCE_COOKIE_SAMESITE="strict",
        PUSH_ONCE_COOKIE_PATH="/shop",
    )
    [cookie] = set_cookies(app.test_client().get("/"))
    assert cookie.startswith("pushed=1.")
    assert "Max-Age" not in cookie and "Expires" not in cookie  # a session cookie
    assert "Secure" in cookie and "SameSite=Strict" in cookie and "Path=/shop" in cookie
    # None (the default) follows the request: Secure over https.
    [cookie] = set_cookies(once_app(tmp_path).test_client().get("/", base_url="https://x"))
    assert "Secure" in cookie


@FUZZ
@given(value=st.one_of(TEXT, st.text(string.ascii_letters + string.digits + "-_.=", max_size=60)))
def test_push_once_any_cookie_value_counts_as_empty_or_as_itself_and_never_breaks(
    value: str,
) -> None:
    with tempfile.TemporaryDirectory() as root:
        client = once_app(Path(root)).test_client()
        client.set_cookie("push_once", value)
        response = client.get("/")
        assert response.status_code == 200
        links = sound_links(response)
        assert len(links) == 6
        for cookie in set_cookies(response):  # one header line, nothing echoed from the client
            assert re.fullmatch(r"push_once=1\.[A-Za-z0-9_-]*; [ -~]*", cookie), cookie


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"PUSH_ONCE": "yes"}, "PUSH_ONCE must be True or False, not 'yes'"),
        ({"PUSH_ONCE_COOKIE": "a b"}, "PUSH_ONCE_COOKIE must be a cookie name"),
        ({"PUSH_ONCE_COOKIE": ""}, "PUSH_ONCE_COOKIE must be a cookie name"),
        ({"PUSH_ONCE_MAX_AGE": 0}, "PUSH_ONCE_MAX_AGE must be None (a session cookie) or"),
        (
            {"PUSH_ONCE_MAX_ENTRIES": 513},
            "PUSH_ONCE_MAX_ENTRIES must be a whole number from 1 to 512",
        ),
        (
            {"PUSH_ONCE_COOKIE_SECURE": "auto"},
            "PUSH_ONCE_COOKIE_SECURE must be None (as the request)",
        ),
        (
            {"PUSH_ONCE_COOKIE_SAMESITE": "lenient"},
            "must be one of 'Lax', 'Strict', 'None', not 'lenient'",
        ),
        (
            {"PUSH_ONCE_COOKIE_SAMESITE": "None"},
            "'None' needs PUSH_ONCE_COOKIE_SECURE=True, not None",
        ),
        (
            {"PUSH_ONCE_COOKIE_PATH": "shop"},
            "PUSH_ONCE_COOKIE_PATH must be a path starting with '/'",
        ),
        (
            {"PUSH_ONCE_COOKIE_PATH": "/a;b"},
            "PUSH_ONCE_COOKIE_PATH must be a path starting with '/'",
        ),
    ],
)
def test_push_once_config_errors_name_the_key_value_and_choices(
    make_app: Any, config: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_app(**config)


def test_push_once_marks_the_103_too(tmp_path: Path) -> None:
    """Apache (H2EarlyHints) pushes from a 103: what was pushed before is nopush there too."""
    app = once_app(
        tmp_path, PUSH_EARLY_HINTS=True, PUSH_EARLY_HINTS_TEMPLATES={"page": ["page.html"]}
    )
    client = app.test_client()
    hints: list[list[tuple[str, str]]] = []
    environ = {"SERVER_PROTOCOL": "HTTP/2", "wsgi.early_hints": hints.append}
    client.get("/", environ_overrides=environ)
    client.get("/", environ_overrides=environ)
    first, second = (parse_link_fields([value for _, value in hint]) for hint in hints)
    hinted = [link.target for link in first if not link.has("nopush")]
    assert hinted == [*ONCE_PUSHABLE, "/static/mod.mjs"]
    assert [link.target for link in second if not link.has("nopush")] == ["/static/mod.mjs"]


# --- CSP nonces --------------------------------------------------------------------------

NONCE_PAGE = (
    "{% push 'site.css' %}{% push 'app.js' %}{% push 'mod.mjs' %}{% push 'logo.png' %}"
    "{% push 'fonts/a.woff2' %}{% push 'own.js', nonce='given' %}<p>{{ push_link_tags() }}"
)
NONCED = {"/static/site.css", "/static/app.js", "/static/mod.mjs", "/static/own.js"}


def nonce_app(tmp_path: Path, nonce: Any = "r4nd0m+/Nonce==", **config: Any) -> Flask:
    """An app whose before_request sets request.csp_nonce, as Flask-Talisman's does."""
    app = Flask("push_nonce_app", root_path=str(tmp_path))
    app.config.update(TESTING=True, **config)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "page.html").write_text(NONCE_PAGE)

    @app.before_request
    def make_nonce() -> None:
        request.csp_nonce = nonce  # type: ignore[attr-defined]

    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    return app


def nonces(response: TestResponse) -> dict[str, str | None]:
    return {link.target: link.get("nonce") for link in sound_links(response)}


def test_scripts_and_styles_carry_a_talisman_style_request_nonce(tmp_path: Path) -> None:
    response = nonce_app(tmp_path).test_client().get("/")
    found = nonces(response)
    assert {target for target, nonce in found.items() if nonce} == NONCED
    assert found["/static/app.js"] == "r4nd0m+/Nonce=="  # quoted in the header: / and =
    assert found["/static/own.js"] == "given"  # a push's own nonce is kept
    # push_link_tags() carries it too.
    assert 'href="/static/app.js" as="script" nonce="r4nd0m+/Nonce=="' in response.text
    assert 'href="/static/logo.png" as="image">' in response.text


def test_no_nonce_no_nonce_parameter(make_app: Any) -> None:
    app = make_app(templates={"page.html": NONCE_PAGE})
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    found = nonces(app.test_client().get("/"))
    assert {target for target, nonce in found.items() if nonce} == {"/static/own.js"}


def get_nonce_from_g() -> str:
    """A getter for PUSH_NONCE_GETTER given as a dotted path."""
    return str(g.my_nonce)


@pytest.mark.parametrize(
    "getter",
    [
        get_nonce_from_g,
        "tests.test_hardening:get_nonce_from_g",
        "tests.test_hardening.get_nonce_from_g",
    ],
)
def test_nonce_getter_callable_or_dotted_path(tmp_path: Path, getter: Any) -> None:
    app = nonce_app(tmp_path, nonce=None, PUSH_NONCE_GETTER=getter)
    app.before_request(lambda: setattr(g, "my_nonce", "from-g"))
    assert nonces(app.test_client().get("/"))["/static/site.css"] == "from-g"


@pytest.mark.parametrize(
    ("getter", "message"),
    [
        (
            "tests.no_such_module:nonce",
            "PUSH_NONCE_GETTER 'tests.no_such_module:nonce' cannot be imported",
        ),
        ("tests.test_hardening:NONCED", "names {"),
        (42, "PUSH_NONCE_GETTER must be None (Flask-Talisman's request.csp_nonce), a callable"),
    ],
)
def test_nonce_getter_errors_at_startup(make_app: Any, getter: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        make_app(PUSH_NONCE_GETTER=getter)


@FUZZ
@given(nonce=st.one_of(TEXT, st.text("AZaz09+/-_=", min_size=1, max_size=30), st.integers()))
def test_any_nonce_is_written_only_when_it_is_a_csp_base64_value(nonce: Any) -> None:
    with tempfile.TemporaryDirectory() as root:
        response = nonce_app(Path(root), nonce).test_client().get("/")
        assert response.status_code == 200
        found = nonces(response)
        valid = isinstance(nonce, str) and re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", nonce)
        expected = nonce if valid else None
        assert found["/static/app.js"] == expected
        assert found["/static/logo.png"] is None


def test_a_bad_nonce_or_a_failing_getter_is_logged_once_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = nonce_app(tmp_path, nonce='x"\r\nSet-Cookie: a=b').test_client()
    for _ in range(2):
        response = client.get("/")
        assert response.status_code == 200 and "a=b" not in str(response.headers)
        assert nonces(response)["/static/app.js"] is None
    assert caplog.text.count("is not a CSP base64-value") == 1

    def broken() -> str:
        raise RuntimeError("no nonce today")

    client = nonce_app(tmp_path, PUSH_NONCE_GETTER=broken).test_client()
    assert nonces(client.get("/"))["/static/app.js"] is None
    assert "PUSH_NONCE_GETTER failed" in caplog.text and "no nonce today" in caplog.text


def test_real_flask_talisman_nonce_reaches_the_links(tmp_path: Path) -> None:
    require("flask_talisman")
    import flask_talisman as talisman

    app = Flask("push_talisman_app", root_path=str(tmp_path))
    app.config.update(TESTING=True)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "page.html").write_text(NONCE_PAGE)
    talisman.Talisman(
        app,
        force_https=False,
        content_security_policy={"default-src": "'self'", "script-src": "'self'"},
        content_security_policy_nonce_in=["script-src"],
    )
    PushTemplates(app)
    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    client = app.test_client()
    first, second = client.get("/"), client.get("/")
    policy = first.headers["Content-Security-Policy"]
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)  # type: ignore[union-attr]
    assert nonces(first)["/static/app.js"] == nonce
    assert nonces(second)["/static/app.js"] not in (None, nonce)  # a new one per request
