"""One link per URL: how pushes of the same asset from different places are merged.

Pure: imports no Flask.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .links import Link


class LinkSet:
    """Links in order of first mention, at most one per URL.

    When an asset is pushed twice, the first push that gave a destination or attributes
    explicitly wins over pushes whose attributes were inferred, and the link keeps the
    highest weight any push gave it, so that a later, more important mention still counts.
    """

    __slots__ = ("_explicit", "_links", "_weighted")

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._explicit: set[str] = set()
        self._weighted = False  # whether any weight differs from the default, 1

    def copy(self) -> LinkSet:
        """A set with the same links, which also remembers which were given explicitly."""
        twin = LinkSet()
        twin._links = dict(self._links)
        twin._explicit = set(self._explicit)
        twin._weighted = self._weighted
        return twin

    def add(self, link: Link, explicit: bool = True) -> None:
        """Add ``link``, merging it with an earlier link to the same URL."""
        url = link.url
        if link.weight != 1.0:
            self._weighted = True
        known = self._links.get(url)
        if known is None:
            self._links[url] = link
        else:
            winner = link if explicit and url not in self._explicit else known
            if winner.weight < max(known.weight, link.weight):
                winner = winner.with_weight(max(known.weight, link.weight))
            self._links[url] = winner
        if explicit:
            self._explicit.add(url)

    def update(self, links: Iterable[Link], explicit: bool = True) -> None:
        for link in links:
            self.add(link, explicit)

    def include(self, other: LinkSet) -> None:
        """Add the links of ``other``, each as explicit as it was there."""
        explicit = other._explicit
        for url, link in other._links.items():
            self.add(link, url in explicit)

    def __iter__(self) -> Iterator[Link]:
        return iter(self._links.values())

    def __len__(self) -> int:
        return len(self._links)

    def by_priority(self) -> list[Link]:
        """The links by descending weight; equal weights keep their order of mention."""
        if not self._weighted:
            return list(self._links.values())
        return sorted(self._links.values(), key=lambda link: -link.weight)
