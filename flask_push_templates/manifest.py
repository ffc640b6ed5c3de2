"""Push manifests: reading, validating and caching the JSON files that list assets.

Pure: imports no Flask.

Two formats, told apart entry by entry:

* flat, flask-http2-push's: ``{"/static/app.js": {"type": "script", "weight": 1}}``, whose
  entries apply to every page that uses the manifest;
* multi-page, the npm ``http2-push-manifest`` tool's:
  ``{"index.html": {"/static/app.js": {"type": "script"}}}``, whose groups apply when the
  template of that name is rendered.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .attributes import AttributeValue, build_link
from .errors import ManifestError, PushError
from .pushes import ENDPOINT_KEYWORD, AssetPush, check_endpoint
from .uri import asset_problem, is_url

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Manifest:
    """A parsed manifest: entries for every page, and groups by template name."""

    path: str
    entries: tuple[AssetPush, ...] = ()
    groups: Mapping[str, tuple[AssetPush, ...]] = field(default_factory=dict)


def load_manifest(path: str) -> Manifest:
    """Read and validate the manifest at ``path``.

    :raises ManifestError: naming the file, and the line and column or the entry at fault.
    """
    try:
        raw = _read_whole(path)
    except FileNotFoundError:
        raise ManifestError(f"push manifest {path} does not exist") from None
    except OSError as error:
        raise ManifestError(f"push manifest {path} cannot be read: {error.strerror}") from None
    if raw is None:
        raise ManifestError(
            f"push manifest {path} kept changing while it was read; write it to another "
            "file and rename that over it to replace it at once"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ManifestError(
            f"push manifest {path} is not UTF-8 (byte {error.start}): save it as UTF-8 JSON"
        ) from None
    return parse_manifest(text, path)


#: How many times a file that changed while it was read is read again.
_READ_ATTEMPTS = 3


def _read_whole(path: str) -> bytes | None:
    """The bytes of one version of ``path``, or ``None`` if it kept changing.

    A read is several system calls, and other threads run between them: a file an editor
    rewrites in place meanwhile gives the start of one version and the end of the next,
    which can be valid JSON naming assets of both. The file's stamp is compared before and
    after, so that such a read is done again rather than believed.
    """
    for _ in range(_READ_ATTEMPTS):
        with open(path, "rb") as file:
            before = os.fstat(file.fileno())
            raw = file.read()
            after = os.fstat(file.fileno())
        # st_size only means something for a regular file (not a pipe, not /proc).
        whole = len(raw) == after.st_size or not stat.S_ISREG(after.st_mode)
        if whole and _stamp_of(before) == _stamp_of(after):
            return raw
    return None


#: What tells two versions of a file apart.
Stamp = tuple[int, int, int]


def _stamp_of(status: os.stat_result) -> Stamp:
    return (status.st_mtime_ns, status.st_size, status.st_ino)


def file_stamp(path: str) -> Stamp | None:
    """The stamp of the file at ``path``; ``None`` if it cannot be had (it is gone...).

    Also how a rebuilt Vite manifest is noticed (vite.py)."""
    try:
        return _stamp_of(os.stat(path))
    except OSError:
        return None


def parse_manifest(text: str, path: str) -> Manifest:
    """Validate a manifest's JSON ``text``; ``path`` is used in error messages."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise ManifestError(
            f"push manifest {path}, line {error.lineno}, column {error.colno}: "
            f"invalid JSON: {error.msg}"
        ) from None
    # The decoder has two more ways to refuse, neither a JSONDecodeError; uncaught, they
    # would escape the reload in debug (ManifestStore.get) and break the request.
    except RecursionError:
        raise ManifestError(
            f"push manifest {path}: invalid JSON: arrays or objects nested too deeply"
        ) from None
    except ValueError:  # an integer of more digits than int() accepts
        raise ManifestError(
            f"push manifest {path}: invalid JSON: a number has more than "
            f"{sys.get_int_max_str_digits()} digits"
        ) from None
    if not isinstance(document, dict):
        raise ManifestError(
            f"push manifest {path}: must be a JSON object mapping asset URLs to "
            f'{{"type": ..., "weight": ...}}, not {type(document).__name__}'
        )
    reader = _ManifestReader(text, path)
    entries: list[AssetPush] = []
    groups: dict[str, tuple[AssetPush, ...]] = {}
    for key, value in document.items():
        if _is_group(key, value):
            groups[key] = tuple(
                reader.entry(asset, spec, group=key) for asset, spec in value.items()
            )
        else:
            entries.append(reader.entry(key, value))
    return Manifest(path, tuple(entries), groups)


def _is_group(key: str, value: Any) -> bool:
    # Template names are never paths or URLs; asset keys often are.
    if not isinstance(value, dict) or is_url(key):
        return False
    if value:
        return all(isinstance(spec, dict) for spec in value.values())
    # An empty object is an empty page group ("about.html": {}) unless it names an asset.
    try:
        build_link(key)
    except PushError:
        return True
    return False


def line_of(text: str, key: str, after: str | None = None) -> int | None:
    """The line of ``key`` in a manifest's JSON ``text`` (within group ``after``, if given)."""
    start = 0
    if after is not None:
        start = max(text.find(json.dumps(after)), 0)
    offset = text.find(json.dumps(key), start)
    return None if offset < 0 else text.count("\n", 0, offset) + 1


class _ManifestReader:
    """Turns manifest entries into :class:`AssetPush`, with errors that point at them."""

    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path

    def fail(self, asset: str, group: str | None, message: str) -> ManifestError:
        where = f"push manifest {self.path}"
        line = line_of(self.text, asset, after=group)
        if line is not None:
            where += f", line {line}"
        entry = f"entry {asset!r}" + (f" of {group!r}" if group is not None else "")
        return ManifestError(f"{where}: {entry}: {message}")

    def refused(self, asset: str, group: str | None, error: PushError) -> ManifestError:
        # The PushError says "push of '<asset>': why"; the entry is named by fail(). Only
        # that prefix goes: the asset itself may hold ": ".
        return self.fail(asset, group, str(error).removeprefix(f"push of {asset!r}: "))

    def entry(self, asset: str, spec: Any, group: str | None = None) -> AssetPush:
        problem = asset_problem(asset)
        if problem is not None:
            raise self.fail(asset, group, problem)
        if not isinstance(spec, dict):
            raise self.fail(
                asset,
                group,
                f'must be an object like {{"type": "script", "weight": 1}}, not {json.dumps(spec)}',
            )
        destination = spec.get("type")
        if destination is not None and not isinstance(destination, str):
            raise self.fail(asset, group, f'"type" must be a string, not {json.dumps(destination)}')
        attributes: list[tuple[str, AttributeValue]] = []
        try:
            endpoint = check_endpoint(asset, spec.get(ENDPOINT_KEYWORD))
        except PushError as error:
            raise self.refused(asset, group, error) from None
        for name, value in spec.items():
            if name in ("type", ENDPOINT_KEYWORD):
                continue
            if isinstance(value, (dict, list)):
                raise self.fail(asset, group, f"{name!r} must be a string, number or boolean")
            attributes.append((name, value))
        entry = AssetPush(asset, destination, tuple(attributes), endpoint)
        try:
            build_link(asset, destination, entry.attributes)
        except PushError as error:
            raise self.refused(asset, group, error) from None
        return entry


class ManifestStore:
    """Parsed manifests by path, shared by every request of one app.

    Without auto-reload a file is read once. With it (debug, ``TEMPLATES_AUTO_RELOAD``) a
    changed file is re-read; a broken or deleted one is logged and the last good version
    kept, so that a half-saved file never breaks a response.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Stamp | None, Manifest | None]] = {}
        self._lock = threading.Lock()
        #: Counts the versions stored: what is derived from the manifests (their resolved,
        #: ordered links: ``RequestUrls.ranked``) is forgotten when it changes.
        self.version = 0

    def _store(self, path: str, stamp: Stamp | None, manifest: Manifest | None) -> None:
        with self._lock:
            cached = self._cache.get(path)
            if cached is None or cached[1] is not manifest:
                self.version += 1
            self._cache[path] = (stamp, manifest)

    def load(self, path: str) -> Manifest:
        """Load ``path`` now, raising :class:`ManifestError` if it is not valid."""
        stamp = file_stamp(path)
        manifest = load_manifest(path)
        self._store(path, stamp, manifest)
        return manifest

    def get(self, path: str, auto_reload: bool) -> Manifest | None:
        """The manifest at ``path``, or ``None`` if it has never been valid (logged once)."""
        cached = self._cache.get(path)
        if cached is not None and not auto_reload:
            return cached[1]
        stamp = file_stamp(path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        previous = cached[1] if cached is not None else None
        try:
            manifest: Manifest | None = load_manifest(path)
        except ManifestError as error:
            log.error("%s; %s", error, _kept(previous))
            manifest = previous
        except Exception:
            # Whatever else broke the reload (a bug here, a value validation did not foresee),
            # a manifest saved in debug must not break every page: keep the last good one.
            log.exception("push manifest %s could not be reloaded; %s", path, _kept(previous))
            manifest = previous
        self._store(path, stamp, manifest)
        return manifest


def _kept(previous: Manifest | None) -> str:
    return "keeping the last valid version" if previous else "no links from it until it is fixed"
