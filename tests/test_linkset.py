"""Pushes of the same asset from several places: one link, the explicit one, the highest weight."""

from __future__ import annotations

from flask_push_templates.linkset import LinkSet
from tests.conftest import link


def urls(links: object) -> list[str]:
    return [link.url for link in links]  # type: ignore[attr-defined]


def test_a_later_heavier_push_of_a_known_asset_raises_its_weight_and_keeps_its_attributes() -> None:
    links = LinkSet()
    first = link("/a.css", title="first")
    links.add(first)
    links.add(link("/b.css", weight=5))
    links.add(link("/a.css", title="later", weight=9), explicit=False)
    [a, _] = links
    assert a.url == "/a.css" and a.params == first.params and a.rel == "preload"
    assert a.as_value == "style" and a.nopush is False and a.weight == 9.0
    assert urls(links.by_priority()) == ["/a.css", "/b.css"]


def test_the_first_explicit_push_wins_over_inferred_ones_and_later_explicit_ones() -> None:
    links = LinkSet()
    links.add(link("/a.js", title="inferred"), explicit=False)
    explicit = link("/a.js", "script", title="explicit", nopush=True)
    links.add(explicit)  # explicit by default: what a template or push_url gives
    links.add(link("/a.js", "script", title="second"))
    assert list(links) == [explicit]


def test_a_copy_keeps_the_weights_and_what_was_explicit() -> None:
    links = LinkSet()
    a = link("/a.css")
    links.add(a)
    links.add(link("/b.css", weight=5))
    twin = links.copy()
    twin.add(link("/a.css", title="manifest"))
    assert urls(twin.by_priority()) == ["/b.css", "/a.css"]
    assert next(iter(twin)) == a
    assert len(twin) == 2 and len(links) == 2


def test_pushes_that_all_have_other_weights_than_the_default_are_sorted_too() -> None:
    links = LinkSet()
    links.update([link("/a.css", weight=2), link("/b.css", weight=5)])
    assert urls(links.by_priority()) == ["/b.css", "/a.css"]


def test_equal_weights_keep_their_order_of_mention() -> None:
    links = LinkSet()
    links.update(link(f"/{name}.css") for name in "cab")
    assert urls(links.by_priority()) == ["/c.css", "/a.css", "/b.css"]
