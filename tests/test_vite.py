"""Vite manifests (vite.py): the real build of tests/vite_site, and hand-written edge cases."""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Callable
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, render_template, stream_template
from jinja2 import TemplateSyntaxError
from werkzeug.test import TestResponse

from flask_push_templates import ConfigError, ManifestError, PushError, push_url
from flask_push_templates.pushes import AssetPush
from flask_push_templates.vite import (
    EntryGraph,
    ViteBuild,
    ViteFile,
    ViteManifest,
    build_folder,
    entry_pushes,
    expand_push,
    load_vite_manifest,
    parse_vite_manifest,
)
from tests import vite_build
from tests.conftest import AppFactory, targets_of


def plain(pushes: tuple[AssetPush, ...] | None) -> tuple[tuple[object, ...], ...] | None:
    """Pushes as (asset, destination, attributes) tuples, to compare with literals."""
    if pushes is None:
        return None
    return tuple((push.asset, push.destination, push.attributes) for push in pushes)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The manifest of a real ``vite build`` of tests/vite_site (once per run)."""
    return vite_build.require_build(tmp_path_factory.mktemp("vite_dist") / "dist")


@pytest.fixture(scope="session")
def real(built: Path) -> ViteManifest:
    return load_vite_manifest(str(built))


def manifest(chunks: dict[str, Any]) -> ViteManifest:
    return parse_vite_manifest(json.dumps(chunks), "m.json")


def entry(file: str, **fields: Any) -> dict[str, Any]:
    """An entry chunk; ``dynamicImports`` is spelled ``dynamic_imports``."""
    if "dynamic_imports" in fields:
        fields["dynamicImports"] = fields.pop("dynamic_imports")
    return {"file": file, "isEntry": True, **fields}


def files(found: tuple[ViteFile, ...]) -> list[str]:
    return [file.file for file in found]


def matches(found: list[str], patterns: list[str]) -> bool:
    return len(found) == len(patterns) and all(map(fnmatch, found, patterns))


# --- the real build -----------------------------------------------------------------------


def test_main_entry_graph_of_the_real_build(real: ViteManifest) -> None:
    graph = real.graph("src/main.ts")
    # The shared chunk's CSS before the entry's own, as Vite's HTML orders them.
    assert matches(files(graph.styles), ["assets/shared-*.css", "assets/main-*.css"])
    assert matches(files(graph.fonts), ["assets/dejavu-serif-bold-subset-*.woff2"])
    assert graph.script is not None and fnmatch(graph.script.file, "assets/main-*.js")
    assert matches(files(graph.imports), ["assets/shared-*.js"])
    assert matches(files(graph.dynamic), ["assets/lazy-*.js"])


def test_main_entry_pushes_css_first_and_no_dynamic_import(real: ViteManifest) -> None:
    pushes = real.graph("src/main.ts").pushes()
    assert [push.destination for push in pushes] == ["style", "style", "font", "module", "module"]
    assert not any("lazy" in push.file for push in pushes)
    assert all(push.attributes == () for push in pushes)  # no integrity in a plain build


def test_second_entry_shares_the_chunk_and_its_css(real: ViteManifest) -> None:
    graph = real.graph("src/admin.ts")
    main = real.graph("src/main.ts")
    assert files(graph.styles) == files(main.styles)[:1]
    assert graph.fonts == ()
    assert graph.script is not None and fnmatch(graph.script.file, "assets/admin-*.js")
    assert graph.imports == main.imports
    assert graph.dynamic == ()


def test_a_dynamic_entry_may_be_pushed_too(real: ViteManifest) -> None:
    graph = real.graph("src/lazy.ts")
    assert graph.script is not None and fnmatch(graph.script.file, "assets/lazy-*.js")
    assert graph.imports == real.graph("src/main.ts").imports


def test_every_file_of_the_graph_is_in_the_build(built: Path, real: ViteManifest) -> None:
    folder = build_folder(str(built))
    assert folder == os.path.realpath(built.parent.parent)
    graph = real.graph("src/main.ts")
    for file in [*graph.styles, *graph.fonts, *graph.imports, *graph.dynamic, graph.script]:
        assert file is not None and os.path.isfile(os.path.join(folder, file.file)), file


def test_misspelled_entry_names_the_close_match(real: ViteManifest) -> None:
    with pytest.raises(PushError) as error:
        real.graph("src/mian.ts")
    assert str(error.value) == (
        f"push of 'src/mian.ts' is not an entry of the Vite manifest {real.path}; "
        "did you mean 'src/main.ts'?"
    )


def test_a_shared_chunk_is_not_an_entry(real: ViteManifest) -> None:
    [shared] = [key for key in real.chunks if key.startswith("_shared") and key.endswith(".js")]
    assert not real.is_entry(shared)
    with pytest.raises(PushError, match=r"is a chunk of the Vite manifest .*, not an entry"):
        real.graph(shared)
    assert real.entries() == ["src/admin.ts", "src/lazy.ts", "src/main.ts"]


# --- hand-written manifests ---------------------------------------------------------------


def test_import_cycles_end() -> None:
    graph = manifest(
        {
            "a.ts": {"file": "a.js", "isEntry": True, "imports": ["_b.js", "a.ts"]},
            "_b.js": {"file": "b.js", "imports": ["a.ts", "_c.js"], "css": ["b.css"]},
            "_c.js": {"file": "c.js", "imports": ["_b.js"], "css": ["c.css"]},
        }
    ).graph("a.ts")
    assert files(graph.imports) == ["b.js", "c.js"]
    # Post-order: c is imported by b, so its CSS comes first.
    assert files(graph.styles) == ["c.css", "b.css"]


def test_diamond_imports_give_each_file_once_in_depth_first_order() -> None:
    graph = manifest(
        {
            "main.ts": entry("main.js", imports=["_left.js", "_right.js"], css=["main.css"]),
            "_left.js": {"file": "left.js", "imports": ["_base.js"], "css": ["left.css"]},
            "_right.js": {"file": "right.js", "imports": ["_base.js"], "css": ["base.css"]},
            "_base.js": {"file": "base.js", "css": ["base.css"]},
        }
    ).graph("main.ts")
    assert files(graph.imports) == ["left.js", "base.js", "right.js"]
    assert files(graph.styles) == ["base.css", "left.css", "main.css"]


def test_css_cascades_as_in_vites_html_a_chunk_after_what_it_imports() -> None:
    graph = manifest(
        {
            "main.ts": entry("main.js", imports=["_a.js", "_b.js"], css=["main.css"]),
            "_a.js": {"file": "a.js", "imports": ["_c.js"], "css": ["a.css"]},
            "_b.js": {"file": "b.js", "css": ["b.css"]},
            "_c.js": {"file": "c.js", "css": ["c.css"]},
        }
    ).graph("main.ts")
    assert files(graph.styles) == ["c.css", "a.css", "b.css", "main.css"]
    assert files(graph.imports) == ["a.js", "c.js", "b.js"]


@pytest.mark.parametrize("field", ["imports", "dynamicImports"])
def test_a_missing_chunk_is_an_error_naming_file_chunk_and_key(field: str) -> None:
    with pytest.raises(ManifestError) as error:
        manifest({"main.ts": {"file": "main.js", "isEntry": True, field: ["_gone.js"]}})
    assert str(error.value) == (
        f"Vite manifest m.json: chunk 'main.ts' lists '_gone.js' in {field!r}, which the "
        "manifest does not have (a manifest from another build? rebuild)"
    )


@pytest.mark.parametrize(
    ("chunk", "message"),
    [
        ({"isEntry": True}, "chunk 'x.ts': \"file\" must be the path of a built file, not null"),
        ({"file": 3}, "chunk 'x.ts': \"file\" must be the path of a built file, not 3"),
        ({"file": ""}, '"file" must be the path of a built file, not ""'),
        ("x.js", 'chunk \'x.ts\': must be an object with a "file", not "x.js"'),
        ({"file": "x.js", "css": "x.css"}, "'css' must be a list of strings, not \"x.css\""),
        ({"file": "x.js", "imports": [1]}, "'imports' must be a list of strings, not [1]"),
        ({"file": "x.js", "isEntry": "yes"}, "'isEntry' must be true or false, not \"yes\""),
        ({"file": "x.js", "integrity": 5}, '"integrity" must be a string such as "sha384-..."'),
        ({"file": "../x.js"}, "'../x.js' is not a path inside the build folder"),
        ({"file": "/x.js"}, "'/x.js' is not a path inside the build folder"),
        ({"file": "x.js", "assets": ["a\\b.woff2"]}, "is not a path inside the build folder"),
    ],
)
def test_invalid_chunks_are_errors_naming_the_chunk(chunk: Any, message: str) -> None:
    with pytest.raises(ManifestError) as error:
        manifest({"x.ts": chunk})
    assert str(error.value).startswith("Vite manifest m.json: ")
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{\n"a": }', "Vite manifest m.json, line 2, column 6: invalid JSON"),
        ("[]", "must be a JSON object mapping source paths to chunks"),
        ('"x"', "not str; is it Vite's build.manifest output?"),
    ],
)
def test_invalid_documents(text: str, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace("?", r"\?")):
        parse_vite_manifest(text, "m.json")


def test_a_non_entry_is_refused_and_an_unknown_name_without_close_match_says_so() -> None:
    chunks = manifest({"main.ts": {"file": "main.js", "isEntry": True}, "_x.js": {"file": "x.js"}})
    with pytest.raises(PushError, match=r"'_x\.js' is a chunk of the Vite manifest m\.json, not"):
        chunks.graph("_x.js")
    with pytest.raises(PushError) as error:
        chunks.graph("zzzzzzzz")
    assert str(error.value) == "push of 'zzzzzzzz' is not an entry of the Vite manifest m.json"


def test_integrity_is_passed_on_from_the_chunks_and_the_css_records() -> None:
    graph = manifest(
        {
            "main.ts": entry(
                "main.js", integrity="sha384-main", imports=["_dep.js"], css=["main.css"]
            ),
            "_dep.js": {"file": "dep.js", "integrity": "sha384-dep", "css": ["dep.css"]},
            "_dep.css": {"file": "dep.css", "src": "_dep.css", "integrity": "sha384-depcss"},
        }
    ).graph("main.ts")
    assert [(push.file, push.destination, push.attributes) for push in graph.pushes()] == [
        ("dep.css", "style", (("integrity", "sha384-depcss"),)),
        ("main.css", "style", ()),
        ("main.js", "module", (("integrity", "sha384-main"),)),
        ("dep.js", "module", (("integrity", "sha384-dep"),)),
    ]


def test_only_fonts_of_the_assets_are_pushed_and_can_be_left_out() -> None:
    graph = manifest(
        {
            "main.ts": entry("main.js", assets=["logo.png", "body.woff2"], imports=["_dep.js"]),
            "_dep.js": {"file": "dep.js", "assets": ["icons.woff", "body.woff2"]},
        }
    ).graph("main.ts")
    assert files(graph.fonts) == ["icons.woff", "body.woff2"]
    assert [push.file for push in graph.pushes(fonts=False)] == ["main.js", "dep.js"]


def test_dynamic_imports_are_prefetched_only_on_request_and_never_twice() -> None:
    graph = manifest(
        {
            "main.ts": entry(
                "main.js", imports=["_dep.js"], dynamic_imports=["lazy.ts", "_dep.js"]
            ),
            "_dep.js": {"file": "dep.js", "dynamicImports": ["lazy.ts"]},
            "lazy.ts": {"file": "lazy.js", "isDynamicEntry": True},
        }
    ).graph("main.ts")
    # dep.js is also imported statically: preloaded as such, not counted as dynamic.
    assert files(graph.dynamic) == ["lazy.js"]
    assert "lazy.js" not in [push.file for push in graph.pushes()]
    assert graph.pushes(prefetch=True)[-1].attributes == (("rel", "prefetch"),)


def test_an_import_map_page_gets_no_module_preloads() -> None:
    graph = manifest(
        {
            "main.ts": {"file": "main.js", "isEntry": True, "css": ["m.css"], "assets": ["f.ttf"]},
        }
    ).graph("main.ts")
    pushes = graph.pushes(import_map=True, prefetch=True)
    assert [(push.file, push.destination) for push in pushes] == [
        ("m.css", "style"),
        ("f.ttf", "font"),
    ]


def test_a_stylesheet_entry_has_no_script() -> None:
    graph = manifest({"src/site.css": {"file": "assets/site-1.css", "isEntry": True}}).graph(
        "src/site.css"
    )
    assert graph == EntryGraph(
        "src/site.css",
        styles=(ViteFile("assets/site-1.css", "style"),),
        fonts=(),
        script=None,
        imports=(),
        dynamic=(),
    )


def test_entry_pushes_apply_weight_and_nopush_and_refuse_other_options() -> None:
    chunks = manifest({"main.ts": {"file": "main.js", "isEntry": True, "css": ["m.css"]}})
    assert plain(
        entry_pushes(chunks, "main.ts", {"weight": 3, "nopush": True}, "build/".__add__)
    ) == (
        ("build/m.css", "style", (("weight", 3), ("nopush", True))),
        ("build/main.js", "module", (("weight", 3), ("nopush", True))),
    )
    with pytest.raises(PushError) as error:
        entry_pushes(chunks, "main.ts", {"crossorigin": True})
    assert str(error.value) == (
        "push of Vite entry 'main.ts': 'crossorigin' cannot be given; "
        "accepted: weight, nopush, prefetch, import_map, fonts"
    )


# --- ViteBuild: where the files are served, and reloading ---------------------------------


def write_manifest(path: Path, chunks: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(chunks))


ONE = {"main.ts": {"file": "assets/one.js", "isEntry": True}}
TWO = {"main.ts": {"file": "assets/two.js", "isEntry": True}}


def bump(path: Path) -> None:
    """Make the file's stamp differ even on a coarse-mtime file system."""
    status = path.stat()
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns + 1_000_000_000))


def test_a_rebuilt_manifest_is_read_again_with_auto_reload(tmp_path: Path) -> None:
    path = tmp_path / ".vite" / "manifest.json"
    write_manifest(path, ONE)
    build = ViteBuild(str(path))
    assert plain(build.pushes("main.ts", {}, auto_reload=True)) == (
        ("assets/one.js", "module", ()),
    )
    write_manifest(path, TWO)
    bump(path)
    assert plain(build.pushes("main.ts", {}, auto_reload=False)) == (
        ("assets/one.js", "module", ()),
    )
    assert plain(build.pushes("main.ts", {}, auto_reload=True)) == (
        ("assets/two.js", "module", ()),
    )


def test_a_broken_rebuild_keeps_the_last_good_version(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(path, ONE)
    build = ViteBuild(str(path), "build")
    build.load()
    path.write_text('{"main.ts": {"file": ')
    bump(path)
    with caplog.at_level(logging.ERROR, "flask_push_templates.vite"):
        assert plain(build.pushes("main.ts", {}, auto_reload=True)) == (
            ("build/assets/one.js", "module", ()),
        )
    assert f"Vite manifest {path}, line 1, column 22: invalid JSON" in caplog.text
    assert "keeping the last valid version" in caplog.text
    write_manifest(path, TWO)
    bump(path)
    assert plain(build.pushes("main.ts", {}, auto_reload=True)) == (
        ("build/assets/two.js", "module", ()),
    )


def test_no_manifest_yet_means_no_entries(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    build = ViteBuild(str(tmp_path / "manifest.json"))
    with caplog.at_level(logging.ERROR, "flask_push_templates.vite"):
        assert build.pushes("main.ts", {}, auto_reload=True) is None
    assert "does not exist: build with build.manifest = true" in caplog.text
    with pytest.raises(ManifestError, match="does not exist"):
        build.load()


def test_a_name_that_is_not_an_entry_is_left_to_the_static_files(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(path, {**ONE, "_x.js": {"file": "x.js"}})
    build = ViteBuild(str(path))
    assert build.pushes("app.css", {}, auto_reload=False) is None
    assert build.pushes("_x.js", {}, auto_reload=False) is None


@pytest.mark.parametrize(
    ("manifest_path", "base", "asset"),
    [
        ("static/.vite/manifest.json", None, "assets/one.js"),
        ("static/build/.vite/manifest.json", None, "build/assets/one.js"),
        ("static/build/manifest.json", None, "build/assets/one.js"),
        (
            "dist/.vite/manifest.json",
            "https://cdn.example.com/app",
            "https://cdn.example.com/app/assets/one.js",
        ),
        ("dist/.vite/manifest.json", "/assets-root/", "/assets-root/assets/one.js"),
        ("dist/.vite/manifest.json", "vendor/build", "vendor/build/assets/one.js"),
    ],
)
def test_where_the_build_is_served(
    tmp_path: Path, manifest_path: str, base: str | None, asset: str
) -> None:
    write_manifest(tmp_path / manifest_path, ONE)
    build = ViteBuild.from_config(manifest_path, base, str(tmp_path), str(tmp_path / "static"))
    assert build.manifest_path == str(tmp_path / manifest_path)
    assert plain(build.pushes("main.ts", {}, auto_reload=False)) == ((asset, "module", ()),)


def test_a_build_outside_the_static_folder_needs_a_base(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        ViteBuild.from_config(
            "dist/.vite/manifest.json", None, str(tmp_path), str(tmp_path / "static")
        )
    assert str(error.value) == (
        f"PUSH_VITE_MANIFEST 'dist/.vite/manifest.json': the build folder {tmp_path / 'dist'} "
        f"is not inside the static folder {tmp_path / 'static'}; set PUSH_VITE_BASE to the URL "
        "it is served from (such as 'https://cdn.example.com/build/'), or build into the "
        "static folder"
    )


# --- in a Flask app: the tag, the function, the header, the 103, flask push check ---------

MANIFEST = "static/build/.vite/manifest.json"


@pytest.fixture
def vite_app(make_app: AppFactory, built: Path, tmp_path: Path) -> Callable[..., Flask]:
    """An app whose static folder holds the real build under build/."""
    shutil.copytree(build_folder(str(built)), tmp_path / "static" / "build")

    def factory(templates: dict[str, str] | None = None, **config: Any) -> Flask:
        app = make_app(templates, PUSH_VITE_MANIFEST=MANIFEST, **config)
        app.add_url_rule("/", "index", lambda: render_template("index.html"))
        return app

    return factory


def expected_links(real: ViteManifest, entry: str, prefix: str = "/static/build/") -> list[str]:
    """The header an entry's push gives, in the order of ``EntryGraph.pushes``."""
    graph = real.graph(entry)
    links = [f"<{prefix}{file.file}>; rel=preload; as=style" for file in graph.styles]
    links += [
        f'<{prefix}{file.file}>; rel=preload; as=font; crossorigin; type="font/woff2"'
        for file in graph.fonts
    ]
    modules = [graph.script, *graph.imports]
    links += [f"<{prefix}{file.file}>; rel=modulepreload; crossorigin" for file in modules if file]
    return links


def header_values(response: TestResponse) -> list[str]:
    return [
        value.strip() for field in response.headers.getlist("Link") for value in field.split(",")
    ]


def test_a_pushed_entry_gives_its_css_font_and_modules(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app({"index.html": "{% push 'src/main.ts' %}<p>hi</p>"})
    response = app.test_client().get("/")
    assert header_values(response) == expected_links(real, "src/main.ts")
    assert response.get_data(as_text=True) == "<p>hi</p>"
    assert "lazy" not in response.headers["Link"]


def test_the_vite_tag_renders_and_pushes_the_same_files(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app({"index.html": "<head>{% vite 'src/admin.ts' %}</head>"})
    response = app.test_client().get("/", environ_overrides={"SCRIPT_NAME": "/app"})
    graph = real.graph("src/admin.ts")
    assert graph.script is not None
    assert response.get_data(as_text=True) == (
        f'<head><link rel="stylesheet" href="/app/static/build/{graph.styles[0].file}">\n'
        f'<script type="module" src="/app/static/build/{graph.script.file}"></script></head>'
    )
    assert header_values(response) == expected_links(real, "src/admin.ts", "/app/static/build/")


def test_a_view_pushes_an_entry_and_gets_its_script_url(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app()
    app.add_url_rule("/view", "view", lambda: push_url("src/main.ts"))
    response = app.test_client().get("/view")
    script = real.graph("src/main.ts").script
    assert script is not None
    assert response.get_data(as_text=True) == f"/static/build/{script.file}"
    assert header_values(response) == expected_links(real, "src/main.ts")


def test_a_streamed_page_and_the_103_carry_the_entry(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app(
        {"index.html": "{% vite 'src/main.ts' %}"},
        PUSH_EARLY_HINTS=True,
        PUSH_EARLY_HINTS_TEMPLATES={"index": ["index.html"], "stream": ["index.html"]},
    )
    hint, page, streamed = hint_page_and_streamed(app)
    assert hint == page == streamed == expected_links(real, "src/main.ts")


def hint_page_and_streamed(app: Flask) -> tuple[list[str], list[str], list[str]]:
    """The link values of the 103 and the page at /, and of the page streamed at /stream."""
    app.add_url_rule("/stream", "stream", lambda: Response(stream_template("index.html")))
    sent: list[list[tuple[str, str]]] = []
    environ = {"SERVER_PROTOCOL": "HTTP/2.0", "wsgi.early_hints": sent.append}
    client = app.test_client()
    with client.get("/", environ_overrides=environ) as response:
        response.get_data()
    [[(name, value)]] = sent
    assert name == "Link"
    # Closed: an unread streamed page keeps its request context pushed until collected.
    with client.get("/stream") as streamed:
        streamed.get_data()
    hint = [each.strip() for each in value.split(",")]
    return hint, header_values(response), header_values(streamed)


def test_a_constant_push_of_an_entry_gives_its_files_in_the_103_and_a_streamed_page(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    # Both come from the template's constant pushes, before (or without) rendering it.
    app = vite_app(
        {"index.html": "{% push 'src/main.ts' %}<p>hi</p>"},
        PUSH_EARLY_HINTS=True,
        PUSH_EARLY_HINTS_TEMPLATES={"index": ["index.html"], "stream": ["index.html"]},
    )
    hint, page, streamed = hint_page_and_streamed(app)
    assert hint == page == streamed == expected_links(real, "src/main.ts")


def test_an_import_map_page_gets_module_preloads_in_the_html_only(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app({"index.html": "{% vite 'src/main.ts' %}"}, PUSH_VITE_IMPORT_MAP=True)
    response = app.test_client().get("/")
    assert "modulepreload" not in response.headers["Link"]
    assert header_values(response) == expected_links(real, "src/main.ts")[:3]
    [shared] = real.graph("src/main.ts").imports
    assert f'<link rel="modulepreload" href="/static/build/{shared.file}">' in response.text
    # The tag's option wins over the configuration.
    app = vite_app({"index.html": "{% vite 'src/main.ts', import_map=False %}"})
    assert "modulepreload" in app.test_client().get("/").headers["Link"]


def test_prefetch_names_the_dynamic_import(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app({"index.html": "{% push 'src/main.ts', prefetch=True %}"})
    [lazy] = real.graph("src/main.ts").dynamic
    last = header_values(app.test_client().get("/"))[-1]
    assert last == f"</static/build/{lazy.file}>; rel=prefetch; as=script; crossorigin"


def test_a_cdn_base_prefixes_every_file(vite_app: Callable[..., Flask], real: ViteManifest) -> None:
    app = vite_app(
        {"index.html": "{% vite 'src/admin.ts' %}"}, PUSH_VITE_BASE="https://cdn.example.com/b"
    )
    response = app.test_client().get("/")
    # The CDN's connections first: one for the stylesheet, one (CORS) for the modules.
    preconnects = [
        "<https://cdn.example.com>; rel=preconnect",
        "<https://cdn.example.com>; rel=preconnect; crossorigin",
    ]
    assert header_values(response) == preconnects + expected_links(
        real, "src/admin.ts", "https://cdn.example.com/b/"
    )
    assert 'href="https://cdn.example.com/b/assets/' in response.text


@pytest.mark.parametrize("tag", ["push", "vite"])
def test_a_misspelled_entry_is_a_template_error_naming_the_close_match(
    vite_app: Callable[..., Flask], tag: str
) -> None:
    app = vite_app({"index.html": f"\n{{% {tag} 'src/mian.ts' %}}"})
    with pytest.raises(TemplateSyntaxError) as error:
        app.test_client().get("/")
    assert error.value.lineno == 2
    assert error.value.message is not None
    assert error.value.message.startswith("push of 'src/mian.ts' is not an entry of the Vite")
    assert error.value.message.endswith("; did you mean 'src/main.ts'?")


def test_flask_push_check_names_the_close_match_in_one_line(
    vite_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    app = vite_app(
        {"index.html": "{% vite 'src/main.ts' %}", "admin.html": "{% vite 'src/admn.ts' %}"}
    )
    result = app.test_cli_runner().invoke(args=["push", "check"])
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{os.path.join('templates', 'admin.html')}, line 1: push of 'src/admn.ts' is not an "
        f"entry of the Vite manifest {MANIFEST}; did you mean 'src/admin.ts'?"
    ]


def test_flask_push_check_passes_and_counts_the_vite_manifest(
    vite_app: Callable[..., Flask],
) -> None:
    app = vite_app({"index.html": "{% vite 'src/main.ts' %}"})
    result = app.test_cli_runner().invoke(args=["push", "check"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("OK: 1 manifest (3 entries) and 1 template (1 constant push)")
    assert "the largest known Link header is" in result.stdout
    assert "5 links (template 'index.html')" in result.stdout


def test_flask_push_check_reports_a_built_file_that_is_gone(
    vite_app: Callable[..., Flask],
    real: ViteManifest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    app = vite_app({"index.html": "{% push 'src/admin.ts' %}"})
    script = real.graph("src/admin.ts").script
    assert script is not None
    os.remove(tmp_path / "static" / "build" / script.file)
    result = app.test_cli_runner().invoke(args=["push", "check"])
    looked = os.path.join("static", "build", script.file)
    assert result.stdout.splitlines() == [
        f"{os.path.join('templates', 'index.html')}, line 1: push of 'src/admin.ts': "
        f"/static/build/{script.file} does not exist (looked for {looked})"
    ]


def test_an_invalid_manifest_fails_at_start_up(make_app: AppFactory) -> None:
    with pytest.raises(ManifestError, match=r"chunk 'a\.ts': \"file\" must be"):
        make_app(
            files={"static/.vite/manifest.json": '{"a.ts": {}}'},
            PUSH_VITE_MANIFEST="static/.vite/manifest.json",
        )


def test_a_manifest_not_built_yet_is_a_warning(
    make_app: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "flask_push_templates"):
        app = make_app(
            {"index.html": "{% push 'app.css' %}"}, PUSH_VITE_MANIFEST="static/.vite/manifest.json"
        )
    assert "PUSH_VITE_MANIFEST" in caplog.text and "does not exist yet" in caplog.text
    app.add_url_rule("/", "index", lambda: render_template("index.html"))
    assert targets_of(app.test_client().get("/")) == ["/static/app.css"]


@pytest.mark.parametrize(
    ("key", "value"),
    [("PUSH_VITE_MANIFEST", 3), ("PUSH_VITE_BASE", ""), ("PUSH_VITE_IMPORT_MAP", "yes")],
)
def test_invalid_vite_settings(make_app: AppFactory, key: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=key):
        make_app(**{key: value})


def test_the_vite_tag_without_a_manifest_setting_is_a_template_error(
    make_app: AppFactory,
) -> None:
    app = make_app({"index.html": "{% vite 'src/main.ts' %}"})
    with pytest.raises(TemplateSyntaxError, match="set PUSH_VITE_MANIFEST"):
        app.jinja_env.get_template("index.html")


def test_integrity_and_nonce_reach_the_tags_and_the_header(make_app: AppFactory) -> None:
    chunks = {
        "src/main.ts": entry(
            "assets/main.js", integrity="sha384-m", css=["assets/main.css"], imports=["_d.js"]
        ),
        "_d.js": {"file": "assets/d.js", "integrity": "sha384-d"},
    }
    app = make_app(
        {"index.html": "{% vite 'src/main.ts' %}"},
        files={"static/.vite/manifest.json": json.dumps(chunks)},
        PUSH_VITE_MANIFEST="static/.vite/manifest.json",
        PUSH_NONCE_GETTER=lambda: "abc123",
    )
    app.add_url_rule("/", "index", lambda: render_template("index.html"))
    response = app.test_client().get("/")
    assert response.text == (
        '<link rel="stylesheet" href="/static/assets/main.css" nonce="abc123">\n'
        '<script type="module" src="/static/assets/main.js" integrity="sha384-m" '
        'nonce="abc123"></script>'
    )
    assert header_values(response) == [
        "</static/assets/main.css>; rel=preload; as=style; nonce=abc123",
        "</static/assets/main.js>; rel=modulepreload; crossorigin; integrity=sha384-m; "
        "nonce=abc123",
        "</static/assets/d.js>; rel=modulepreload; crossorigin; integrity=sha384-d; nonce=abc123",
    ]


def test_a_rebuild_is_picked_up_in_debug(make_app: AppFactory, tmp_path: Path) -> None:
    path = tmp_path / "static" / ".vite" / "manifest.json"
    write_manifest(path, {"src/main.ts": entry("assets/one.js")})
    app = make_app(
        {"index.html": "{% vite 'src/main.ts' %}"},
        PUSH_VITE_MANIFEST="static/.vite/manifest.json",
        TEMPLATES_AUTO_RELOAD=True,
    )
    app.add_url_rule("/", "index", lambda: render_template("index.html"))
    client = app.test_client()
    assert targets_of(client.get("/")) == ["/static/assets/one.js"]
    write_manifest(path, {"src/main.ts": entry("assets/two.js")})
    bump(path)
    response = client.get("/")
    assert targets_of(response) == ["/static/assets/two.js"]
    assert 'src="/static/assets/two.js"' in response.text


def test_expand_push_leaves_other_pushes_alone(tmp_path: Path) -> None:
    path = tmp_path / "manifest.json"
    write_manifest(path, {"src/main.ts": entry("assets/main.js", css=["assets/main.css"])})
    build = ViteBuild(str(path), "build")
    entry_push = AssetPush("src/main.ts", None, (("weight", 2),))
    assert expand_push(build, entry_push, auto_reload=False) == (
        AssetPush("build/assets/main.css", "style", (("weight", 2),)),
        AssetPush("build/assets/main.js", "module", (("weight", 2),)),
    )
    # A destination says "this file": not the entry.
    given = AssetPush("src/main.ts", "script", ())
    assert expand_push(build, given, auto_reload=False) == (given,)
    other = AssetPush("app.css")
    assert expand_push(build, other, auto_reload=False) == (other,)
    assert expand_push(None, AssetPush("src/main.ts"), auto_reload=False) == (
        AssetPush("src/main.ts"),
    )


def test_an_option_an_entry_push_does_not_take_is_a_template_error(
    vite_app: Callable[..., Flask],
) -> None:
    app = vite_app({"index.html": "{% push 'src/main.ts', crossorigin=True %}"})
    with pytest.raises(TemplateSyntaxError, match="'crossorigin' cannot be given; accepted"):
        app.jinja_env.get_template("index.html")


def test_vite_tags_renders_at_run_time_like_the_tag(
    vite_app: Callable[..., Flask], real: ViteManifest
) -> None:
    app = vite_app({"index.html": "{% set name = 'src/admin.ts' %}{{ vite_tags(name) }}"})
    tagged = vite_app({"tag.html": "{% vite 'src/admin.ts' %}"})
    tagged.add_url_rule("/tag", "tag", lambda: render_template("tag.html"))
    response = app.test_client().get("/")
    assert response.text == tagged.test_client().get("/tag").text
    assert header_values(response) == expected_links(real, "src/admin.ts")


def test_vite_tags_without_a_manifest_setting_says_what_to_set(make_app: AppFactory) -> None:
    app = make_app({"index.html": "{{ vite_tags('src/main.ts') }}"})
    app.add_url_rule("/", "index", lambda: render_template("index.html"))
    with pytest.raises(PushError) as error:
        app.test_client().get("/")
    assert str(error.value) == (
        "Vite entry 'src/main.ts': set PUSH_VITE_MANIFEST to the build's manifest"
    )
