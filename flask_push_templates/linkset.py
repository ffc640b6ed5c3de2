"""One link per URL: how pushes of the same asset from different places are merged.

Pure: imports no Flask.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Iterator, Sequence
from urllib.parse import urlsplit

from .links import Link
from .uri import names_host


class LinkSet:
    """Links in order of first mention, at most one per URL.

    When an asset is pushed twice, the first push that gave a destination or attributes
    explicitly wins over pushes whose attributes were inferred, and the link keeps the
    highest weight any push gave it, so that a later, more important mention still counts.
    """

    __slots__ = ("_explicit", "_links", "_weighted", "names_hosts")

    def __init__(self) -> None:
        self._links: dict[str, Link] = {}
        self._explicit: set[str] = set()
        self._weighted = False  # whether any weight differs from the default, 1
        #: Whether any link is a full URL (``https://cdn/...``, ``//cdn/...``): only then
        #: can a page need a preconnect (pipeline.header_candidates).
        self.names_hosts = False

    def copy(self) -> LinkSet:
        """A set with the same links, which also remembers which were given explicitly."""
        twin = LinkSet()
        twin._links = dict(self._links)
        twin._explicit = set(self._explicit)
        twin._weighted = self._weighted
        twin.names_hosts = self.names_hosts
        return twin

    def add(self, link: Link, explicit: bool = True) -> None:
        """Add ``link``, merging it with an earlier link to the same URL."""
        url = link.url
        if link.weight != 1.0:
            self._weighted = True
        if names_host(url):
            self.names_hosts = True
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

    def update(self, links: Iterable[Link]) -> None:
        """Add each of ``links``, as given explicitly."""
        for link in links:
            self.add(link)

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


#: How a merge orders a link: its weight negated, then where it was first mentioned (the
#: part, the place in that part), then the link itself; no two links share a place.
Ranked = tuple[float, int, int, Link]

#: What :meth:`RankedLinks.by_origin` groups full URLs by: scheme (``""`` for a
#: scheme-relative URL) and host as written (lower-cased), the relation, and whether the
#: link has ``crossorigin``.
OriginClass = tuple[str, str, str, bool]


class RankedLinks:
    """One large part of a page's links (a manifest's entries or group, resolved for one
    request key), merged by URL once and kept in priority order, so that
    :class:`MergedLinks` reads only as many of them as a header takes.

    Remembered per manifest version and request key (``RequestUrls.ranked``): it holds its
    links and what they were resolved from, nothing of a request.
    """

    __slots__ = (
        "_origins",
        "_shared",
        "links",
        "mentioned",
        "ordered",
        "places",
        "pushes",
        "shortest",
    )

    #: How many combinations with other parts :meth:`shared_with` remembers.
    MAX_SHARED = 64

    def __init__(self, links: Iterable[Link], pushes: object = None) -> None:
        #: The links as the part names them, and what they were resolved from.
        self.links = tuple(links)
        self.pushes = pushes
        merged = LinkSet()
        merged.update(self.links)
        #: One link per URL, in order of first mention, and the place of each URL in it.
        self.mentioned = list(merged)
        self.places = {link.url: place for place, link in enumerate(self.mentioned)}
        #: ``(-weight, place, link)`` by priority: descending weight, then first mention.
        self.ordered = sorted(
            (-link.weight, place, link) for place, link in enumerate(self.mentioned)
        )
        #: The length of the shortest link-value: what a header's budget must still hold
        #: for any of these links to fit.
        self.shortest = min((len(link.header_value) for link in self.mentioned), default=0)
        self._shared: dict[tuple[int, ...], tuple[tuple[RankedLinks, ...], frozenset[str]]]
        self._shared = {}
        self._origins: dict[OriginClass, list[int]] | None = None

    def __len__(self) -> int:
        return len(self.places)

    def shared_with(self, others: tuple[RankedLinks, ...]) -> frozenset[str]:
        """The URLs named by more than one of this part and ``others``: those are merged
        link by link, the others are read from their one part as they are."""
        key = tuple(map(id, others))
        known = self._shared.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], others, strict=True)):
            return known[1]
        seen: set[str] = set()
        shared: set[str] = set()
        for part in (self, *others):
            shared.update(seen.intersection(part.places))
            seen.update(part.places)
        result = frozenset(shared)
        if len(self._shared) >= self.MAX_SHARED:
            self._shared.clear()
        self._shared[key] = (others, result)
        return result

    def by_origin(self) -> dict[OriginClass, list[int]]:
        """The places in :attr:`ordered` of the links to full URLs, by :data:`OriginClass`,
        in priority order: what a preconnect for each origin needs (its first link of each
        kind), without reading the other links."""
        origins = self._origins
        if origins is None:
            origins = {}
            for index, (_, _, link) in enumerate(self.ordered):
                if not names_host(link.url):
                    continue
                try:
                    parts = urlsplit(link.url)
                except ValueError:
                    continue
                if parts.netloc:
                    key = (
                        parts.scheme,
                        parts.netloc.lower(),
                        link.rel,
                        link.param("crossorigin") is not None,
                    )
                    origins.setdefault(key, []).append(index)
            self._origins = origins
        return origins


class MergedLinks:
    """What a :class:`LinkSet` holds once the page's record and then each part are added
    to it (``update``), in the same priority order, computed without adding the links of
    the large parts (:class:`RankedLinks`): only the URLs named by a small part or by
    several large ones are merged; the others are read from their one part, already in
    order, as far as the reader goes (:meth:`by_priority` is lazy).
    """

    __slots__ = ("_length", "_merged", "_ranked", "_skipped")

    def __init__(self, first: LinkSet, parts: Sequence[Iterable[Link] | RankedLinks]) -> None:
        ranked = [
            (index, part) for index, part in enumerate(parts, 1) if isinstance(part, RankedLinks)
        ]
        merged = first.copy()
        places = {url: (0, place) for place, url in enumerate(merged._links)}
        skipped: set[str] = set(places)
        for part in parts:
            if not isinstance(part, RankedLinks):
                skipped.update(link.url for link in part)
        if len(ranked) > 1:
            skipped |= ranked[0][1].shared_with(tuple(part for _, part in ranked[1:]))
        # The skipped URLs' links, added in the order LinkSet.update would meet them.
        for index, part in enumerate(parts, 1):
            if isinstance(part, RankedLinks):
                mentioned = part.mentioned
                for place in sorted(part.places[url] for url in skipped if url in part.places):
                    merged.add(mentioned[place])
                    places.setdefault(mentioned[place].url, (index, place))
            else:
                for place, link in enumerate(part):
                    merged.add(link)
                    places.setdefault(link.url, (index, place))
        self._merged: list[Ranked] = sorted(
            (-link.weight, *places[link.url], link) for link in merged
        )
        self._ranked = ranked
        self._skipped = skipped
        self._length = len(merged) + sum(
            len(part) - sum(url in part.places for url in skipped) for _, part in ranked
        )

    def __len__(self) -> int:
        return self._length

    @property
    def shortest(self) -> int:
        """No link here is shorter than this (what :func:`~.pipeline.fit_links` needs to
        know that the rest cannot fit)."""
        lengths = [len(link.header_value) for *_, link in self._merged]
        lengths.extend(part.shortest for _, part in self._ranked if len(part))
        return min(lengths, default=0)

    def _streams(self) -> list[Iterator[Ranked]]:
        streams: list[Iterator[Ranked]] = [iter(self._merged)]
        streams.extend(self._unmerged(index, part) for index, part in self._ranked)
        return streams

    def _unmerged(self, index: int, part: RankedLinks) -> Iterator[Ranked]:
        """The links of ``part`` that no other part names, in priority order."""
        skipped = self._skipped
        for weight, place, link in part.ordered:
            if link.url not in skipped:
                yield (weight, index, place, link)

    def by_priority(self) -> Iterator[Link]:
        """The links by descending weight; equal weights keep their order of mention."""
        return (ranked[3] for ranked in heapq.merge(*self._streams()))

    def origin_links(self) -> list[Link]:
        """For each origin, relation and CORS mode, the first of the links to full URLs
        that name it (and perhaps more), in priority order: whatever decides the
        preconnects, without reading every link."""
        found = [ranked for ranked in self._merged if names_host(ranked[3].url)]
        skipped = self._skipped
        for index, part in self._ranked:
            ordered = part.ordered
            for positions in part.by_origin().values():
                for position in positions:
                    weight, place, link = ordered[position]
                    if link.url not in skipped:
                        found.append((weight, index, place, link))
                        break
        return [ranked[3] for ranked in sorted(found)]
