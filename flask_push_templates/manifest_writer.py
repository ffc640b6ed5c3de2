"""The manifest ``flask push manifest`` writes: the pages' assets grouped by template, merged
with the file already there, as JSON that diffs well.

Regenerating must be safe to repeat, so the existing file is updated rather than replaced:

* its flat entries (assets for every page) are kept as written, and a template's group does
  not list an asset a flat entry already pushes;
* the group of each template rendered in this run is rebuilt from what was found, keeping
  the attributes someone added by hand (``weight``, ``nopush``, ``fetchpriority``...) and the
  key's spelling for assets still found, while ``type`` follows the page;
* groups of templates not rendered in this run (pages whose URLs were not given, pages that
  failed) are kept if the template still exists, and dropped if it does not.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

from .crawl import Asset, PageResult
from .manifest import Manifest, ManifestEntry
from .urls import asset_url

#: The assets found, by template name, then by URL.
Groups = dict[str, dict[str, Asset]]
Spec = dict[str, Any]


def group_assets(results: Iterable[PageResult]) -> Groups:
    """The assets of the pages that rendered, by the template each rendered (pages sharing a
    template are merged; the first page, in path order, decides an asset's attributes)."""
    groups: Groups = {}
    for result in sorted(results, key=lambda result: result.path):
        if result.group is not None and result.error is None and result.skipped is None:
            group = groups.setdefault(result.group, {})
            for key, asset in result.assets.items():
                group.setdefault(key, asset)
    return groups


@dataclass
class ManifestUpdate:
    """The manifest to write, and what the merge kept and dropped."""

    #: Entries for every page, as the existing file had them.
    flat: dict[str, Spec] = field(default_factory=dict)
    groups: dict[str, dict[str, Spec]] = field(default_factory=dict)
    #: Groups of existing templates that were not rendered in this run, kept as they were.
    kept: list[str] = field(default_factory=list)
    #: Groups whose template no longer exists.
    dropped: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        return {**self.flat, **self.groups}

    def asset_count(self) -> int:
        return len(self.flat) + sum(len(group) for group in self.groups.values())


def update_manifest(
    groups: Groups,
    existing: Manifest | None,
    templates: Collection[str],
    static_endpoint: str,
) -> ManifestUpdate:
    """Merge the ``groups`` found with the ``existing`` manifest (see the module docstring).

    Needs an app context: asset names of the existing file are turned into URLs to compare.
    """
    update = ManifestUpdate()
    old_flat = existing.entries if existing is not None else ()
    old_groups = existing.groups if existing is not None else {}
    for entry in old_flat:
        update.flat[entry.asset] = entry_spec(entry)
    everywhere = {asset_url(entry.asset, static_endpoint) for entry in old_flat}
    for name, assets in groups.items():
        previous = {
            asset_url(entry.asset, static_endpoint): entry for entry in old_groups.get(name, ())
        }
        group = _rebuilt_group(assets, previous, everywhere)
        if group:
            update.groups[name] = group
    for name, entries in old_groups.items():
        if name in groups:
            continue
        if name in templates:
            update.groups[name] = {entry.asset: entry_spec(entry) for entry in entries}
            update.kept.append(name)
        else:
            update.dropped.append(name)
    return update


def _rebuilt_group(
    assets: dict[str, Asset], previous: dict[str, ManifestEntry], everywhere: set[str]
) -> dict[str, Spec]:
    group: dict[str, Spec] = {}
    for url, asset in assets.items():
        if url in everywhere:
            continue  # a flat entry already pushes it on every page
        old = previous.get(url)
        if old is None:
            group[url] = asset.spec()
        else:
            # The entry as it was, with the type (and CORS mode) the page now implies: a
            # weight or any other attribute added by hand survives.
            fresh = {name: value for name, value in asset.spec().items() if name != "weight"}
            group[old.asset] = {**fresh, **dict(old.attributes)}
    return group


def entry_spec(entry: ManifestEntry) -> Spec:
    """A manifest entry as the JSON object it was read from."""
    spec: Spec = {} if entry.destination is None else {"type": entry.destination}
    spec.update(entry.attributes)
    return spec


def manifest_text(update: ManifestUpdate) -> str:
    """The manifest as JSON that diffs well: sorted, two-space indented, with a trailing
    newline, and the same bytes for the same pages and the same existing file."""
    return json.dumps(update.document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
