"""Manifests: both formats, every error case, caching and reloading; any JSON or bytes,
files torn or rewritten while they are read, deleted or saved while the app runs."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import json
import logging
import os
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from flask import Flask, render_template
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_push_templates import ManifestError, PushTemplates
from flask_push_templates import manifest as manifest_module
from flask_push_templates.manifest import (
    Manifest,
    ManifestStore,
    load_manifest,
    parse_manifest,
)
from flask_push_templates.pushes import AssetPush
from tests.conftest import AppFactory, targets_of, write
from tests.fuzzing import (
    DESTINATIONS,
    NAMES,
    SPECIAL,
    TEXT,
    asset_strategy,
    check_link,
    may_refuse,
    sound_links,
)


def test_flat_format() -> None:
    manifest = parse_manifest('{"/static/app.js": {"type": "script", "weight": 2}}', "m.json")
    assert manifest.entries == (AssetPush("/static/app.js", "script", (("weight", 2),)),)
    assert manifest.groups == {}


def test_multi_page_format() -> None:
    manifest = parse_manifest(
        json.dumps({"index.html": {"/a.css": {"type": "style"}}, "about.html": {}}), "m.json"
    )
    assert manifest.entries == ()
    assert manifest.groups == {"index.html": (AssetPush("/a.css", "style"),), "about.html": ()}


def test_type_may_be_omitted_when_the_extension_says_it() -> None:
    assert parse_manifest('{"/a.css": {}}', "m").entries == (AssetPush("/a.css"),)


def test_flask_http2_push_readme_example_with_its_trailing_comma_is_a_located_error() -> None:
    text = (
        '{\n    "/path/to/file-to-push.js": {\n'
        '        "type": "script",\n        "weight": 1\n    },\n}\n'
    )
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "push_manifest.json")
    assert str(error.value).startswith(
        "push manifest push_manifest.json, line 6, column 1: invalid JSON"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "must be a JSON object mapping asset URLs"),
        ('"x"', "not str"),
        ('{"/a.js": "script"}', "line 1: entry '/a.js': must be an object like"),
        (
            '{\n"/a.js": {"type": "scrpt"}}',
            "line 2: entry '/a.js': unknown destination 'scrpt'; accepted:",
        ),
        ('{"/a.js": {"type": 3}}', '"type" must be a string, not 3'),
        ('{"/a.js": {"weight": "1"}}', "weight must be a number"),
        ('{"/a.js": {"media": {"x": 1}}}', "'media' must be a string, number or boolean"),
        ('{"/a.unknown": {}}', "cannot infer a destination"),
        (
            '{"p.html": {"/a.js": {"type": "bad"}}}',
            "entry '/a.js' of 'p.html': unknown destination",
        ),
        ('{"/a.js": {"nonce": "x\\ny"}}', "control or non-ASCII"),
        # What names no file is refused at start-up, not at every request.
        ('{"": {"type": "style"}}', "line 1: entry '': the asset is empty"),
        ('{"?v=2": {"type": "style"}}', "entry '?v=2': a query or fragment needs a file name"),
        ('{"p.html": {"#x": {"type": "image"}}}', "entry '#x' of 'p.html': a query or fragment"),
        # The line of the bad entry in its group, not of the same asset elsewhere.
        (
            '{\n"/a.js": {"type": "script"},\n"p.html": {\n"/a.js": {"type": "bad"}}}',
            "line 4: entry '/a.js' of 'p.html': unknown destination 'bad'",
        ),
    ],
)
def test_invalid_manifests_name_the_file_and_entry(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "site/m.json")
    assert str(error.value).startswith("push manifest site/m.json")
    assert message in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match=r"push manifest .*nope.json does not exist"):
        load_manifest(str(tmp_path / "nope.json"))


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'{"/caf\xe9.css": {}}')
    with pytest.raises(ManifestError, match="is not UTF-8 \\(byte 6\\)"):
        load_manifest(str(path))


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_bytes(b'\xef\xbb\xbf{"/a.css": {}}')
    assert load_manifest(str(path)).entries == (AssetPush("/a.css"),)


def test_symlink_loop(tmp_path: Path) -> None:
    os.symlink(tmp_path / "b.json", tmp_path / "a.json")
    os.symlink(tmp_path / "a.json", tmp_path / "b.json")
    with pytest.raises(ManifestError, match="cannot be read"):
        load_manifest(str(tmp_path / "a.json"))


def test_bad_manifest_fails_at_startup(make_app: AppFactory) -> None:
    with pytest.raises(ManifestError, match=r"m\.json, line 1, column"):
        make_app(files={"m.json": "{"}, PUSH_MANIFEST="m.json")


def test_missing_app_manifest_is_a_warning_so_that_it_can_be_generated(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_MANIFEST="later.json", TEMPLATES_AUTO_RELOAD=True)
    assert "PUSH_MANIFEST" in caplog.text and "later.json does not exist yet" in caplog.text
    app.add_url_rule("/", "i", lambda: "<p>")
    client = app.test_client()
    assert client.get("/").headers.get("Link") is None
    write(tmp_path / "later.json", '{"/a.css": {}}')
    assert targets_of(client.get("/")) == ["/a.css"]


def test_app_manifest_applies_to_every_html_page(make_app: AppFactory) -> None:
    app = make_app(
        files={"m.json": '{"/static/site.css": {"type": "style"}, "app.js": {"weight": 0.5}}'},
        PUSH_MANIFEST="m.json",
    )
    app.add_url_rule("/a", "a", lambda: "<p>a</p>")
    app.add_url_rule("/b", "b", lambda: "<p>b</p>")
    client = app.test_client()
    assert targets_of(client.get("/a")) == ["/static/site.css", "/static/app.js"]
    assert targets_of(client.get("/b")) == ["/static/site.css", "/static/app.js"]


def test_groups_apply_to_the_template_and_the_templates_it_extends_or_includes(
    make_app: AppFactory,
) -> None:
    manifest = {
        "base.html": {"/static/base.css": {"type": "style"}},
        "nav.html": {"/static/nav.js": {"type": "script"}},
        "page.html": {"/static/page.css": {"type": "style"}},
        "other.html": {"/static/other.css": {"type": "style"}},
    }
    app = make_app(
        templates={
            "base.html": "<html>{% block body %}{% endblock %}</html>",
            "nav.html": "<nav></nav>",
            "page.html": (
                "{% extends 'base.html' %}{% block body %}{% include 'nav.html' %}{% endblock %}"
            ),
            "other.html": "other",
        },
        files={"m.json": json.dumps(manifest)},
        PUSH_MANIFEST="m.json",
    )
    from flask import render_template

    app.add_url_rule("/", "page", lambda: render_template("page.html"))
    assert sorted(targets_of(app.test_client().get("/"))) == [
        "/static/base.css",
        "/static/nav.js",
        "/static/page.css",
    ]


def test_store_reloads_a_changed_file_only_when_auto_reloading(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"/a.css": {}}')
    store = ManifestStore()
    store.load(str(path))
    path.write_text('{"/b.css": {}, "/c.css": {}}')
    assert [e.asset for e in store.get(str(path), auto_reload=False).entries] == ["/a.css"]  # type: ignore[union-attr]
    assert [e.asset for e in store.get(str(path), auto_reload=True).entries] == ["/b.css", "/c.css"]  # type: ignore[union-attr]


def test_a_broken_or_deleted_file_keeps_the_last_good_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"/a.css": {}}')
    store = ManifestStore()
    store.load(str(path))
    path.write_text('{"/a.css": {},')  # half-saved
    with pytest.raises(ManifestError) as error:
        load_manifest(str(path))
    with caplog.at_level(logging.ERROR):
        manifest = store.get(str(path), auto_reload=True)
    assert manifest is not None and manifest.entries == (AssetPush("/a.css"),)
    # The error as the file's, then what is served meanwhile.
    assert caplog.messages == [f"{error.value}; keeping the last valid version"]
    path.unlink()
    manifest = store.get(str(path), auto_reload=True)
    assert manifest is not None and manifest.entries == (AssetPush("/a.css"),)


def test_debug_app_picks_up_manifest_changes_between_requests(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(
        files={"m.json": '{"/a.css": {}}'}, PUSH_MANIFEST="m.json", TEMPLATES_AUTO_RELOAD=True
    )
    app.add_url_rule("/", "i", lambda: "<p>")
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/a.css"]
    write(tmp_path / "m.json", '{"/b.css": {}}')
    os.utime(tmp_path / "m.json", ns=(1, 1))  # a different mtime even on coarse clocks
    assert targets_of(client.get("/")) == ["/b.css"]


def test_huge_manifest_is_loaded_and_capped(make_app: AppFactory) -> None:
    entries = {f"/static/asset{i}.js": {"type": "script", "weight": i % 7} for i in range(10_000)}
    app = make_app(files={"m.json": json.dumps(entries)}, PUSH_MANIFEST="m.json")
    app.add_url_rule("/", "i", lambda: "<p>")
    response = app.test_client().get("/")
    assert response.status_code == 200
    assert 0 < len(targets_of(response)) <= 50
    assert len(response.headers["Link"]) <= 2048


def test_init_app_validates_manifests_of_decorated_views(make_app: AppFactory) -> None:
    from flask_push_templates import http2push

    app = make_app(init=False, files={"v.json": "{oops"})

    @app.route("/")
    @http2push("v.json")
    def index() -> str:
        return "x"

    with pytest.raises(ManifestError, match=r"v\.json, line 1, column 2"):
        PushTemplates(app)


# --- fuzzed, torn and rewritten while the app runs ---------------------------------------

#: Manifest properties build an app per example (start-up is what they test).
FUZZ_MANIFESTS = settings(max_examples=80, deadline=None)


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


# Values JSON can carry that no header can (issue 14): each is the manifest's error, naming
# the file and the entry, at start-up; saved in debug, the last good version is kept.
UNWRITABLE = [
    pytest.param('{"/a.js": {"weight": ' + "9" * 400 + "}}", "'/a.js'", id="400-digit-weight"),
    pytest.param('{"/a.js": {"weight": NaN}}', "'/a.js'", id="nan-weight"),
    pytest.param('{"/a.js": {"weight": Infinity}}', "'/a.js'", id="infinite-weight"),
    pytest.param('{"/a.js": {"weight": -Infinity}}', "'/a.js'", id="minus-infinite-weight"),
    pytest.param('{"/a\\ud800.js": {}}', "'/a\\ud800.js'", id="surrogate-in-url"),
    pytest.param('{"/a.js": {"title": "\\ud800"}}', "'/a.js'", id="surrogate-in-value"),
    pytest.param('{"/a.js": {"\\udfff": true}}', "'/a.js'", id="surrogate-in-name"),
    pytest.param('{"/a.js": {"type": "\\ud800"}}', "'/a.js'", id="surrogate-in-type"),
    pytest.param('{"page.html": {"/a.js": {"weight": NaN}}}', "'/a.js' of 'page.html'", id="group"),
]


@pytest.mark.parametrize(("text", "message"), UNDECODABLE)
def test_undecodable_json_is_a_manifest_error_at_startup(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ManifestError, match=rf"^push manifest .*m\.json.*{message}"):
        manifest_app(tmp_path, text)


@pytest.mark.parametrize(("text", "message"), [*UNDECODABLE, *UNWRITABLE])
def test_a_broken_manifest_saved_in_debug_keeps_the_last_good_version(
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
    with pytest.raises(ManifestError) as error:
        load_manifest(str(path))
    assert str(error.value) == (
        f"push manifest {path} kept changing while it was read; write it to another file "
        "and rename that over it to replace it at once"
    )


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


@pytest.mark.parametrize(("text", "entry"), UNWRITABLE)
def test_unwritable_values_are_manifest_errors_naming_file_and_entry(
    tmp_path: Path, text: str, entry: str
) -> None:
    with pytest.raises(ManifestError) as raised:
        manifest_app(tmp_path, text)
    message = str(raised.value)
    assert message.startswith("push manifest ") and "m.json" in message
    assert f"entry {entry}" in message


def test_a_reload_that_fails_in_any_way_keeps_the_last_good_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    app = manifest_app(tmp_path, '{"/static/good.css": {}}', TEMPLATES_AUTO_RELOAD=True)
    client = app.test_client()

    def broken(text: str, path: str) -> None:
        raise LookupError("a failure validation did not foresee")

    monkeypatch.setattr(manifest_module, "parse_manifest", broken)
    os.utime(tmp_path / "m.json", ns=(1, 1))
    response = client.get("/")
    assert response.status_code == 200
    assert [link.target for link in sound_links(response)] == ["/static/good.css"]
    assert "keeping the last valid version" in caplog.text


def test_an_error_in_a_group_names_the_line_of_the_entry_in_that_group() -> None:
    text = (
        "{\n"
        '  "/a.css": {"type": "style"},\n'
        '  "index.html": {\n'
        '    "/a.css": {"type": "styel"}\n'
        "  }\n"
        "}\n"
    )
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "m.json")
    assert str(error.value).startswith(
        "push manifest m.json, line 4: entry '/a.css' of 'index.html'"
    )


def test_an_entry_names_its_endpoint_which_is_no_link_attribute() -> None:
    manifest = parse_manifest(
        '{"css/admin.css": {"type": "style", "endpoint": "admin.static", "weight": 2}}', "m.json"
    )
    [entry] = manifest.entries
    assert (entry.endpoint, entry.attributes) == ("admin.static", (("weight", 2),))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ('{"a.css": {"endpoint": 3}}', "entry 'a.css': endpoint must be an endpoint name"),
        (
            '{\n"/static/a.css": {"endpoint": "admin.static"}}',
            "line 2: entry '/static/a.css': endpoint='admin.static' builds the URL of a static "
            "file name",
        ),
    ],
)
def test_a_bad_entry_endpoint_is_a_manifest_error(spec: str, message: str) -> None:
    with pytest.raises(ManifestError, match=re.escape(message)):
        parse_manifest(spec, "m.json")


# --- what the reload logs, and how often it reads (exact texts: they are what a user reads) -


def test_a_manifest_broken_from_the_start_in_debug_says_it_gives_no_links(
    make_app: AppFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(PUSH_MANIFEST="m.json", TEMPLATES_AUTO_RELOAD=True)  # not there yet
    app.add_url_rule("/", "i", lambda: "<p>")
    write(tmp_path / "m.json", "{")
    caplog.clear()
    response = app.test_client().get("/")
    assert response.status_code == 200 and "Link" not in response.headers
    [message] = [r.getMessage() for r in caplog.records if r.name == manifest_module.__name__]
    assert message.startswith(f"push manifest {tmp_path / 'm.json'}, line 1")
    assert message.endswith("; no links from it until it is fixed")


def test_an_unforeseen_reload_failure_names_the_file_and_what_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"/a.css": {}}')
    store = ManifestStore()
    good = store.load(str(path))

    def broken(text: str, path: str) -> None:
        raise LookupError("a failure validation did not foresee")

    monkeypatch.setattr(manifest_module, "parse_manifest", broken)
    os.utime(path, ns=(1, 1))
    assert store.get(str(path), auto_reload=True) is good
    [record] = caplog.records
    assert record.getMessage() == (
        f"push manifest {path} could not be reloaded; keeping the last valid version"
    )
    assert record.exc_info is not None and record.exc_info[0] is LookupError


def test_a_debug_manifest_is_read_once_per_version_not_per_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = manifest_app(tmp_path, '{"/static/a.css": {}}', TEMPLATES_AUTO_RELOAD=True)
    reads: list[str] = []
    real_load = manifest_module.load_manifest

    def counting_load(path: str) -> Manifest:
        reads.append(path)
        return real_load(path)

    monkeypatch.setattr(manifest_module, "load_manifest", counting_load)
    client = app.test_client()
    for _ in range(3):
        assert targets_of(client.get("/")) == ["/static/a.css"]
    assert reads == []  # read at start-up, unchanged since
    write(tmp_path / "m.json", '{"/static/b.css": {}}')
    os.utime(tmp_path / "m.json", ns=(1, 1))
    for _ in range(3):
        assert targets_of(client.get("/")) == ["/static/b.css"]
    assert reads == [str(tmp_path / "m.json")]


def test_a_manifest_read_from_a_pipe_is_read_whole(tmp_path: Path) -> None:
    # A pipe's size is 0 whatever it holds: only a regular file's size says a read is short.
    read_end, write_end = os.pipe()
    os.write(write_end, b'{"/a.css": {}, "/b.js": {"weight": 2}}')
    os.close(write_end)
    try:
        manifest = load_manifest(f"/dev/fd/{read_end}")
    finally:
        os.close(read_end)
    assert manifest.entries == (AssetPush("/a.css"), AssetPush("/b.js", None, (("weight", 2),)))


@pytest.mark.parametrize(
    ("text", "where"),
    [
        # The first mention of the asset, not a later one in a group.
        ('{\n"/a.js": {"type": "bad"},\n"p.html": {\n"/a.js": {}}}', "m.json, line 2: entry"),
        # Lines are counted from the very start of the file.
        ('\n\n{"/a.js": {"type": "bad"}}', "m.json, line 3: entry"),
        # The group named before its entry, not a later value of the same text.
        (
            '{"p.html": {\n"/a.js": {"type": "bad"}},\n"/b.js": {"title": "p.html"}}',
            "m.json, line 2: entry '/a.js' of 'p.html'",
        ),
        # A key the file spells otherwise than JSON writes it has no line to name.
        ('{"/\\u0061.js": {"type": "bad"}}', "m.json: entry '/a.js'"),
        ('{"/\u00e9.js": {"type": "bad"}}', "m.json: entry '/\u00e9.js'"),
    ],
)
def test_the_line_of_a_bad_entry(text: str, where: str) -> None:
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "m.json")
    assert str(error.value).startswith(f"push manifest {where}")


def test_the_store_counts_a_new_version_only_when_a_manifest_changes(tmp_path: Path) -> None:
    # What is derived from the manifests (RequestUrls.ranked) is forgotten on a new version:
    # a reload that keeps the last version must not throw that away.
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"/a.css": {}}')
    second.write_text('{"/b.css": {}}')
    store = ManifestStore()
    versions = [store.version]
    store.load(str(first))
    versions.append(store.version)
    store.load(str(second))
    versions.append(store.version)
    assert versions[0] < versions[1] < versions[2]
    first.write_text('{"/a.css": {},')  # half-saved: the last version is kept
    os.utime(first, ns=(1, 1))
    assert store.get(str(first), auto_reload=True) is not None
    assert store.get(str(second), auto_reload=False) is not None
    assert store.version == versions[2]
    first.write_text('{"/c.css": {}}')
    os.utime(first, ns=(2, 2))
    assert store.get(str(first), auto_reload=True) == Manifest(str(first), (AssetPush("/c.css"),))
    assert store.version > versions[2]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"/a.js": "script"}',
            "push manifest m.json, line 1: entry '/a.js': must be an object like "
            '{"type": "script", "weight": 1}, not "script"',
        ),
        (
            '{"/a.js": {"type": 3}}',
            "push manifest m.json, line 1: entry '/a.js': \"type\" must be a string, not 3",
        ),
        (
            '{"p.html": {\n"/a.js": {"type": ["script"]}}}',
            "push manifest m.json, line 2: entry '/a.js' of 'p.html': \"type\" must be a "
            'string, not ["script"]',
        ),
        (
            '{"p.html": {"/a.js": {"media": {"x": 1}}}}',
            "push manifest m.json, line 1: entry '/a.js' of 'p.html': 'media' must be a "
            "string, number or boolean",
        ),
        # An asset may hold ": ": the reason is what follows the asset, not its own end.
        (
            '{"/a: b.js": {"type": "bad"}}',
            "push manifest m.json, line 1: entry '/a: b.js': unknown destination 'bad'; "
            "accepted: document, fetch, font, image, module, script, style, track",
        ),
        (
            '{"p.html": {"x: y.css": {"endpoint": 3}}}',
            "push manifest m.json, line 1: entry 'x: y.css' of 'p.html': endpoint must be an "
            "endpoint name such as 'admin.static' or '.static', not 3",
        ),
        (
            '{"/a.css": {"endpoint": "admin: static"}}',
            "push manifest m.json, line 1: entry '/a.css': endpoint='admin: static' builds the "
            "URL of a static file name such as 'css/admin.css'; a path or URL is pushed as "
            "written",
        ),
    ],
)
def test_an_entry_error_in_full(text: str, message: str) -> None:
    with pytest.raises(ManifestError) as error:
        parse_manifest(text, "m.json")
    assert str(error.value) == message
