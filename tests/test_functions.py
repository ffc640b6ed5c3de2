"""``push_url()`` through whole responses: any push reads back exactly, or fails clearly."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from flask_push_templates import PushError
from tests.fuzzing import (
    DESTINATIONS,
    FUZZ,
    NAMES,
    SCALARS,
    TEXT,
    Case,
    FuzzApp,
    asset_strategy,
    check_link,
    may_refuse,
    refused_clearly,
    sound_links,
)


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
        assert may_refuse(asset, destination, attributes, fuzz.url_of(asset)), error
        refused_clearly(error, asset, fuzz.url_of(asset))
        return
    assert response.status_code == 200
    [parsed] = sound_links(response)
    check_link(parsed, fuzz.url_of(asset), destination, attributes)


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
