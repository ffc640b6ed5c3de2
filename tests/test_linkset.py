"""Pushes of the same asset from several places: one link, the explicit one, the highest weight."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates.attributes import build_link
from flask_push_templates.links import Link
from flask_push_templates.linkset import LinkSet, MergedLinks, RankedLinks
from flask_push_templates.pipeline import preconnects
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


# MergedLinks must be exactly what adding each part to a LinkSet gives (the reference):
# same links, same attributes, same weights, same order, whatever overlaps the parts have.
_URLS = st.sampled_from(
    [
        "/a.css",
        "/b.js",
        "/c.png",
        "/d.css",
        "https://cdn.example/e.js",
        "//cdn.example/f.css",
        "https://fonts.example/g.woff2",
        "http://cdn.example/h.js",
    ]
)


@st.composite
def _links(draw: st.DrawFn) -> Link:
    url = draw(_URLS)
    rel = draw(st.sampled_from(["preload", "preload", "preconnect", "modulepreload"]))
    attributes: dict[str, object] = {"rel": rel, "weight": draw(st.sampled_from([1, 1, 2, 5]))}
    if draw(st.booleans()):
        attributes["title"] = draw(st.sampled_from(["x", "y"]))
    if draw(st.booleans()):
        attributes["crossorigin"] = True
    return build_link(url, None, attributes.items())


_PART = st.tuples(st.booleans(), st.lists(_links(), max_size=6))


@given(
    st.lists(st.tuples(_links(), st.booleans()), max_size=5),
    st.lists(_PART, max_size=5),
)
def test_a_lazy_merge_of_ranked_parts_is_the_linkset_merge(
    recorded: list[tuple[Link, bool]], parts: list[tuple[bool, list[Link]]]
) -> None:
    first = LinkSet()
    for each, explicit in recorded:
        first.add(each, explicit)
    reference = first.copy()
    for _, links in parts:
        reference.update(links)
    merged = MergedLinks(
        first, [RankedLinks(links) if ranked else links for ranked, links in parts]
    )
    expected = reference.by_priority()
    assert list(merged.by_priority()) == expected
    assert len(merged) == len(expected)
    assert all(len(each.header_value) >= merged.shortest for each in expected)
    for page_origin in ("https://cdn.example", "http://shop.example"):
        assert preconnects(merged.origin_links(), page_origin) == preconnects(expected, page_origin)


def test_a_recorded_push_of_a_manifest_url_takes_the_manifests_higher_weight() -> None:
    part = RankedLinks([link(f"/{index}.css", weight=index % 3) for index in range(1000)])
    for explicit, title in ((True, "page"), (False, "manifest")):
        first = LinkSet()
        first.add(link("/7.css", title="page"), explicit)
        part = RankedLinks([*part.links[:7], link("/7.css", title="manifest", weight=9)])
        top = list(itertools.islice(MergedLinks(first, [part]).by_priority(), 3))
        assert [(each.url, each.weight, each.param("title")) for each in top] == [
            ("/7.css", 9.0, title),
            ("/2.css", 2.0, None),
            ("/5.css", 2.0, None),
        ]


def test_an_included_set_keeps_which_of_its_links_were_explicit() -> None:
    inferred, explicit = link("/a.css"), link("/a.css", "style", title="page")
    pushes = LinkSet()
    pushes.add(inferred, explicit=False)
    other = LinkSet()
    other.add(explicit)
    other.add(link("/b.css"), explicit=False)
    pushes.include(other)
    assert list(pushes) == [explicit, link("/b.css")]
    pushes.add(link("/b.css", "style", title="later"))  # b was inferred there: it still yields
    assert list(pushes)[1] == link("/b.css", "style", title="later")


def test_the_urls_ranked_parts_share_are_computed_once_per_combination() -> None:
    first = RankedLinks([link("/a.css"), link("/b.css")])
    second = RankedLinks([link("/b.css"), link("/c.css")])
    third = RankedLinks([link("/c.css"), link("/a.css"), link("/d.css")])
    assert first.shared_with((second,)) == {"/b.css"}
    assert first.shared_with((second, third)) == {"/a.css", "/b.css", "/c.css"}
    assert first.shared_with((third,)) == {"/a.css"}
    assert first.shared_with((second,)) is first.shared_with((second,))


def test_the_memory_of_shared_urls_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RankedLinks, "MAX_SHARED", 2)
    first = RankedLinks([link("/a.css")])
    others = [RankedLinks([link(f"/{index}.css")]) for index in range(3)]
    for other in others:
        first.shared_with((other,))
    # Two were remembered, the memory was full at the third: it holds only that one.
    assert list(first._shared) == [(id(others[2]),)]


def test_full_urls_are_grouped_by_scheme_host_relation_and_cors_mode() -> None:
    part = RankedLinks(
        [
            link("/a.css"),  # a path: no origin of its own
            link("https://CDN.example/x.js"),
            link("/b.css"),
            link("https://cdn.example/f.woff2", crossorigin=True),
            link("//cdn.example/y.js"),
            link("https://cdn.example/z.js", rel="modulepreload"),
            link("https://cdn.example/w.js"),
        ]
    )
    assert part.by_origin() == {
        ("https", "cdn.example", "preload", False): [1, 6],
        ("https", "cdn.example", "preload", True): [3],
        ("", "cdn.example", "preload", False): [4],
        ("https", "cdn.example", "modulepreload", True): [5],  # modules are CORS requests
    }
    assert part.by_origin() is part.by_origin()  # worked out once


def test_a_set_knows_whether_it_names_another_host_and_its_copy_too() -> None:
    # What lets a header skip the preconnect scan: only full URLs can name a host.
    links = LinkSet()
    links.add(build_link("/static/app.css"))
    links.add(build_link("css/app.css"))
    assert not links.names_hosts and not links.copy().names_hosts
    links.add(build_link("//cdn.example/app.js"))
    assert links.names_hosts and links.copy().names_hosts
    other = LinkSet()
    other.include(links)
    assert other.names_hosts
