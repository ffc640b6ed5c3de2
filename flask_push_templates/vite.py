"""Vite builds: an entry's chunk graph, read from the build's ``.vite/manifest.json``.

A Vite build (``build.manifest: true``, Vite 5 or later) names its files by content hash
and splits code into chunks; its manifest maps each source path to what was built from
it. For one entry, :meth:`ViteManifest.graph` follows the manifest as Vite's own HTML
output does (and Laravel's ``Vite.php``): the ``css`` of the entry and of every chunk it
imports statically (recursively, imported chunks' CSS before the importer's, each file
once), the fonts the manifest lists in their ``assets``, the entry's ``file`` and its
statically imported chunks (``imports``) as module preloads. ``dynamicImports`` are
loaded only when the code runs them: never preloaded, at most prefetched.

Pure: imports no Flask. It turns a manifest into files relative to the build's
folder and leaves their URLs to the caller. :class:`ViteBuild` adds where that folder is
served (a static-folder prefix or a URL) and re-reads a rebuilt manifest in debug.
"""

from __future__ import annotations

import difflib
import functools
import json
import logging
import os
import posixpath
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .attributes import AttributeValue
from .destinations import infer_destination
from .errors import ConfigError, ManifestError, PushError
from .manifest import Stamp, file_stamp
from .pushes import AssetPush

log = logging.getLogger(__name__)

#: The options a push of a Vite entry takes (``{% push 'src/main.ts', prefetch=True %}``).
#: ``weight`` and ``nopush`` apply to each of its links.
PUSH_OPTIONS = ("weight", "nopush", "prefetch", "import_map", "fonts")

_CHUNK_LISTS = ("css", "assets", "imports", "dynamicImports")


@dataclass(frozen=True)
class Chunk:
    """One manifest record: a source path and what the build made of it."""

    key: str
    file: str
    css: tuple[str, ...] = ()
    assets: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    dynamic_imports: tuple[str, ...] = ()
    is_entry: bool = False
    is_dynamic_entry: bool = False
    #: A Subresource Integrity value, when a plugin (vite-plugin-manifest-sri) adds one.
    integrity: str | None = None


@dataclass(frozen=True)
class ViteFile:
    """A built file an entry needs: its path in the build folder, kind and integrity."""

    file: str
    #: ``"style"``, ``"module"``, or what the extension says for an asset (``"font"``).
    kind: str
    integrity: str | None = None


@dataclass(frozen=True)
class VitePush:
    """One push of an entry's graph: a file of the build, a destination, attributes."""

    file: str
    destination: str
    attributes: tuple[tuple[str, AttributeValue], ...] = ()


@dataclass(frozen=True)
class EntryGraph:
    """What one entry needs, in the order a page wants it."""

    entry: str
    #: The stylesheets, imported chunks' before their importer's, each once.
    styles: tuple[ViteFile, ...]
    #: The fonts listed in the ``assets`` of the entry and of the chunks it imports.
    fonts: tuple[ViteFile, ...]
    #: The entry's own script; ``None`` for a stylesheet entry.
    script: ViteFile | None
    #: The chunks the entry imports statically, directly or not, depth first.
    imports: tuple[ViteFile, ...]
    #: The chunks ``import()`` loads at run time (none of the above).
    dynamic: tuple[ViteFile, ...]

    def pushes(
        self, *, prefetch: bool = False, import_map: bool = False, fonts: bool = True
    ) -> tuple[VitePush, ...]:
        """The preloads for a ``Link`` header or a 103: CSS first, then fonts, then modules.

        :param prefetch: also name the dynamic imports, as ``rel=prefetch``.
        :param import_map: the page has an import map, which a ``modulepreload`` from a
            header or a 103 would make the browser refuse (whatwg/html #9274): leave the
            modules out (the HTML tags preload them, after the map).
        :param fonts: name the fonts (they warn in the console when the page uses none).
        """
        pushes = [_push(style, "style") for style in self.styles]
        if fonts:
            pushes.extend(_push(font, "font") for font in self.fonts)
        if not import_map:
            modules = ([self.script] if self.script is not None else []) + list(self.imports)
            pushes.extend(_push(module, "module") for module in modules)
            if prefetch:
                pushes.extend(_push(chunk, "module", rel="prefetch") for chunk in self.dynamic)
        return tuple(pushes)


def _push(file: ViteFile, destination: str, rel: str | None = None) -> VitePush:
    attributes: list[tuple[str, AttributeValue]] = []
    if rel is not None:
        attributes.append(("rel", rel))
    if file.integrity is not None:
        attributes.append(("integrity", file.integrity))
    return VitePush(file.file, destination, tuple(attributes))


@dataclass(frozen=True)
class ViteManifest:
    """A validated Vite manifest: every chunk, and every reference between them, exists."""

    path: str
    chunks: Mapping[str, Chunk]

    def entries(self) -> list[str]:
        """The names that may be pushed: entries and dynamic entries, sorted."""
        return sorted(
            key for key, chunk in self.chunks.items() if chunk.is_entry or chunk.is_dynamic_entry
        )

    def is_entry(self, name: str) -> bool:
        chunk = self.chunks.get(name)
        return chunk is not None and (chunk.is_entry or chunk.is_dynamic_entry)

    def close_match(self, name: str) -> str | None:
        """The entry ``name`` was probably meant to be, if one is close enough."""
        matches = difflib.get_close_matches(name, self.entries(), n=1)
        return matches[0] if matches else None

    def unknown_entry(self, name: str) -> str:
        """Why ``name`` cannot be pushed as an entry, naming the close match if any."""
        chunk = self.chunks.get(name)
        if chunk is not None:
            what = f"is a chunk of the Vite manifest {self.path}, not an entry (isEntry)"
        else:
            what = f"is not an entry of the Vite manifest {self.path}"
        close = self.close_match(name)
        hint = f"; did you mean {close!r}?" if close is not None else ""
        return f"{name!r} {what}{hint}"

    def graph(self, name: str) -> EntryGraph:
        """The files entry ``name`` needs.

        :raises PushError: ``name`` is not an entry, naming the closest entry.
        """
        if not self.is_entry(name):
            raise PushError(f"push of {self.unknown_entry(name)}")
        entry = self.chunks[name]
        # The entry is seen from the start: a chunk importing it back is no import of it.
        reached: dict[str, Chunk] = {name: entry}
        finished: list[Chunk] = []
        self._collect_imports(entry, reached, finished)
        imported = {key: chunk for key, chunk in reached.items() if key != name}
        styles: dict[str, ViteFile] = {}
        fonts: dict[str, ViteFile] = {}
        # Post-order: a chunk's imports' CSS comes before its own, as in Vite's HTML, so
        # that the stylesheet tags cascade as Vite's page would.
        for chunk in [*finished, entry]:
            for css in chunk.css:
                styles.setdefault(css, self._file(css, "style"))
            for asset in chunk.assets:
                if infer_destination(asset) == "font":
                    fonts.setdefault(asset, self._file(asset, "font"))
        script = None
        if infer_destination(entry.file) == "style":
            styles.setdefault(entry.file, self._file(entry.file, "style"))
        else:
            script = ViteFile(entry.file, "module", entry.integrity)
        static_files = {entry.file, *(chunk.file for chunk in imported.values())}
        dynamic: dict[str, ViteFile] = {}
        for chunk in [entry, *imported.values()]:
            for key in chunk.dynamic_imports:
                target = self.chunks[key]
                if target.file not in static_files:
                    dynamic.setdefault(
                        target.file, ViteFile(target.file, "module", target.integrity)
                    )
        return EntryGraph(
            entry=name,
            styles=tuple(styles.values()),
            fonts=tuple(fonts.values()),
            script=script,
            imports=tuple(ViteFile(c.file, "module", c.integrity) for c in imported.values()),
            dynamic=tuple(dynamic.values()),
        )

    def _collect_imports(self, chunk: Chunk, seen: dict[str, Chunk], finished: list[Chunk]) -> None:
        """Depth first: ``seen`` in pre-order, ``finished`` in post-order (a chunk after
        its imports). A cycle (chunks importing each other) ends at a seen chunk."""
        for key in chunk.imports:
            if key in seen:
                continue
            seen[key] = self.chunks[key]
            self._collect_imports(self.chunks[key], seen, finished)
            finished.append(self.chunks[key])

    def _file(self, file: str, kind: str) -> ViteFile:
        # A CSS file or an asset has its own record only sometimes (shared CSS does, an
        # entry's CSS does not): take its integrity from there when there is one.
        owner = self._by_file.get(file)
        return ViteFile(file, kind, owner.integrity if owner is not None else None)

    @functools.cached_property
    def _by_file(self) -> dict[str, Chunk]:
        return {chunk.file: chunk for chunk in self.chunks.values()}


def parse_vite_manifest(text: str, path: str) -> ViteManifest:
    """Validate a Vite manifest's JSON ``text``; ``path`` names it in error messages.

    :raises ManifestError: naming the file, the chunk and what is wrong with it.
    """
    where = f"Vite manifest {path}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"{where}, line {error.lineno}, column {error.colno}: invalid JSON: {error.msg}"
        ) from None
    except (RecursionError, ValueError) as error:
        raise ManifestError(f"{where}: invalid JSON: {error}") from None
    if not isinstance(document, dict):
        raise ManifestError(
            f"{where}: must be a JSON object mapping source paths to chunks "
            f'({{"src/main.ts": {{"file": "assets/main-4f2a.js", ...}}}}), '
            f"not {type(document).__name__}; is it Vite's build.manifest output?"
        )
    chunks = {key: _chunk(where, key, value) for key, value in document.items()}
    for chunk in chunks.values():
        for field_name, keys in (
            ("imports", chunk.imports),
            ("dynamicImports", chunk.dynamic_imports),
        ):
            for key in keys:
                if key not in chunks:
                    raise ManifestError(
                        f"{where}: chunk {chunk.key!r} lists {key!r} in {field_name!r}, which "
                        "the manifest does not have (a manifest from another build? rebuild)"
                    )
    return ViteManifest(path, chunks)


def _chunk(where: str, key: str, value: Any) -> Chunk:
    def fail(message: str) -> ManifestError:
        return ManifestError(f"{where}: chunk {key!r}: {message}")

    if not isinstance(value, dict):
        raise fail(f'must be an object with a "file", not {json.dumps(value)}')
    file = value.get("file")
    if not isinstance(file, str) or not file:
        raise fail(f'"file" must be the path of a built file, not {json.dumps(file)}')
    lists: dict[str, tuple[str, ...]] = {}
    for name in _CHUNK_LISTS:
        items = value.get(name, [])
        if not isinstance(items, list) or not all(isinstance(i, str) and i for i in items):
            raise fail(f"{name!r} must be a list of strings, not {json.dumps(items)}")
        lists[name] = tuple(items)
    flags: dict[str, bool] = {}
    for name in ("isEntry", "isDynamicEntry"):
        flag = value.get(name, False)
        if not isinstance(flag, bool):
            raise fail(f"{name!r} must be true or false, not {json.dumps(flag)}")
        flags[name] = flag
    integrity = value.get("integrity")
    if integrity is not None and not isinstance(integrity, str):
        raise fail(
            f'"integrity" must be a string such as "sha384-...", not {json.dumps(integrity)}'
        )
    for built in (file, *lists["css"], *lists["assets"]):
        if built.startswith("/") or ".." in built.split("/") or "\\" in built:
            raise fail(f"{built!r} is not a path inside the build folder")
    return Chunk(
        key=key,
        file=file,
        css=lists["css"],
        assets=lists["assets"],
        imports=lists["imports"],
        dynamic_imports=lists["dynamicImports"],
        is_entry=flags["isEntry"],
        is_dynamic_entry=flags["isDynamicEntry"],
        integrity=integrity,
    )


def load_vite_manifest(path: str) -> ViteManifest:
    """Read and validate the Vite manifest at ``path``.

    :raises ManifestError: naming the file and what is wrong (missing: say how to build it).
    """
    try:
        with open(path, "rb") as file:
            raw = file.read()
    except FileNotFoundError:
        raise ManifestError(
            f"Vite manifest {path} does not exist: build with build.manifest = true "
            "(vite build writes <outDir>/.vite/manifest.json)"
        ) from None
    except OSError as error:
        raise ManifestError(f"Vite manifest {path} cannot be read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(f"Vite manifest {path} is not UTF-8 (byte {error.start})") from None
    return parse_vite_manifest(text, path)


class ViteBuild:
    """One app's Vite build: its manifest, re-read when it changes, and where it is served.

    :param manifest_path: the absolute path of the manifest.
    :param base: what the build folder's files are prefixed with to make an asset for the
        app's resolver: ``""`` or a folder inside the static folder (``"build/"``) for the
        static endpoint, or a URL (``"https://cdn.example.com/build/"``) taken as given.
    """

    def __init__(
        self, manifest_path: str, base: str = "", defaults: Mapping[str, Any] | None = None
    ) -> None:
        self.manifest_path = manifest_path
        self.base = base if base == "" or base.endswith("/") else base + "/"
        #: Options every push of an entry starts from (``PUSH_VITE_IMPORT_MAP`` and
        #: ``PUSH_VITE_PREFETCH``); a push's own options override them.
        self.defaults = dict(defaults or {})
        self._cached: tuple[Stamp | None, ViteManifest | None] | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_config(
        cls,
        manifest: str,
        base: str | None,
        root_path: str,
        static_folder: str | None,
        defaults: Mapping[str, Any] | None = None,
    ) -> ViteBuild:
        """The build ``PUSH_VITE_MANIFEST`` and ``PUSH_VITE_BASE`` describe.

        :param manifest: the manifest's path, relative to the app's ``root_path``.
        :param base: ``None``: the build folder is the static folder or inside it; else a
            folder name inside the static folder, or a URL or path to prefix the files with.
        :raises ConfigError: ``base`` is ``None`` and the build is not in the static folder.
        """
        path = os.path.join(root_path, manifest)
        if base is not None:
            return cls(path, base, defaults)
        out_dir = build_folder(path)
        if static_folder is not None:
            relative = os.path.relpath(out_dir, os.path.realpath(static_folder))
            if relative == os.curdir:
                return cls(path, "", defaults)
            if not relative.startswith(os.pardir):
                return cls(path, relative.replace(os.sep, "/"), defaults)
        raise ConfigError(
            f"PUSH_VITE_MANIFEST {manifest!r}: the build folder {out_dir} is not inside the "
            f"static folder {static_folder}; set PUSH_VITE_BASE to the URL it is served from "
            "(such as 'https://cdn.example.com/build/'), or build into the static folder"
        )

    def load(self) -> ViteManifest:
        """Read the manifest now; :class:`ManifestError` if it is missing or invalid."""
        stamp = file_stamp(self.manifest_path)
        manifest = load_vite_manifest(self.manifest_path)
        with self._lock:
            self._cached = (stamp, manifest)
        return manifest

    def manifest(self, auto_reload: bool) -> ViteManifest | None:
        """The manifest, re-read if it changed and ``auto_reload``; ``None`` if it never
        was valid. A broken rebuild is logged and the last good version kept."""
        cached = self._cached
        if cached is not None and not auto_reload:
            return cached[1]
        # The stamp is taken before reading: a write that ends after it changes the stamp,
        # so a half-written file read now is read again on the next call.
        stamp = file_stamp(self.manifest_path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        previous = cached[1] if cached is not None else None
        try:
            manifest: ViteManifest | None = load_vite_manifest(self.manifest_path)
        except ManifestError as error:
            log.error(
                "%s; %s",
                error,
                "keeping the last valid version" if previous else "no Vite pushes until it is",
            )
            manifest = previous
        with self._lock:
            self._cached = (stamp, manifest)
        return manifest

    def asset(self, file: str) -> str:
        """The asset (static file name or URL) of a file of the build."""
        return posixpath.join(self.base, file) if self.base else file

    def pushes(
        self, name: str, options: Mapping[str, Any], auto_reload: bool
    ) -> tuple[AssetPush, ...] | None:
        """The (asset, destination, attributes) pushes of entry ``name``, or ``None`` if
        ``name`` is not an entry of the manifest (so is an asset of its own).

        :param options: the push's attributes, of :data:`PUSH_OPTIONS`; ``prefetch`` and
            ``import_map`` as in :meth:`EntryGraph.pushes`.
        :raises PushError: an option that is not one of :data:`PUSH_OPTIONS`.
        """
        manifest = self.manifest(auto_reload)
        if manifest is None or not manifest.is_entry(name):
            return None
        return entry_pushes(manifest, name, {**self.defaults, **options}, self.asset)

    def entry_asset(self, name: str, auto_reload: bool) -> str:
        """The asset of entry ``name``'s own file (its script, or its stylesheet)."""
        manifest = self.manifest(auto_reload)
        if manifest is None or not manifest.is_entry(name):
            raise PushError(f"{name!r} is not an entry of the Vite manifest {self.manifest_path}")
        return self.asset(manifest.chunks[name].file)

    def option(self, options: Mapping[str, Any], name: str) -> bool:
        """Whether option ``name`` is on for a push with ``options`` (else the default)."""
        return bool(options.get(name, self.defaults.get(name, False)))


def expand_push(
    build: ViteBuild | None, push: AssetPush, auto_reload: bool
) -> tuple[AssetPush, ...]:
    """The pushes one push stands for: a Vite entry's graph, else the push itself.

    This is the one place where a push of an entry (``{% push 'src/main.ts' %}``, which
    names no destination) becomes its files; everything after it sees plain pushes.
    """
    if build is not None and push.destination is None:
        pushes = build.pushes(push.asset, dict(push.attributes), auto_reload)
        if pushes is not None:
            return pushes
    return (push,)


def entry_pushes(
    manifest: ViteManifest,
    name: str,
    options: Mapping[str, Any],
    asset: Callable[[str], str] | None = None,
) -> tuple[AssetPush, ...]:
    """The pushes of entry ``name`` with a push's ``options`` applied (see :data:`PUSH_OPTIONS`).

    :param asset: turns a file of the build into an asset; by default the file itself.
    :raises PushError: an unknown option, or ``name`` is not an entry.
    """
    unknown = [key for key in options if key not in PUSH_OPTIONS]
    if unknown:
        raise PushError(
            f"push of Vite entry {name!r}: {', '.join(map(repr, unknown))} cannot be given; "
            f"accepted: {', '.join(PUSH_OPTIONS)}"
        )
    graph = manifest.graph(name)
    shared = tuple((key, value) for key, value in options.items() if key in ("weight", "nopush"))
    pushes = graph.pushes(
        prefetch=bool(options.get("prefetch", False)),
        import_map=bool(options.get("import_map", False)),
        fonts=bool(options.get("fonts", True)),
    )
    return tuple(
        AssetPush(
            asset(push.file) if asset is not None else push.file,
            push.destination,
            push.attributes + shared,
        )
        for push in pushes
    )


def build_folder(manifest_path: str) -> str:
    """The folder a manifest's file paths are relative to (Vite's ``outDir``).

    ``<outDir>/.vite/manifest.json`` is Vite's default; a manifest given another name
    (``build.manifest: "manifest.json"``) is taken to be in ``outDir`` itself.
    """
    folder = os.path.dirname(os.path.realpath(manifest_path))
    if os.path.basename(folder) == ".vite":
        folder = os.path.dirname(folder)
    return folder
