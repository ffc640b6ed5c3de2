"""The destination a URL's file extension implies (pushes that give no destination)."""

from __future__ import annotations

import pytest

from flask_push_templates.destinations import extension_of, infer_destination


@pytest.mark.parametrize(
    ("url", "destination"),
    [
        # The last dot of the name counts: minified and hashed names keep their kind.
        ("/static/app.min.js", "script"),
        ("/static/site.3f9a.CSS", "style"),
        # A dot in a directory gives a name without one no extension.
        ("/v1.2/app", None),
        ("https://cdn.example/lib", None),
        # Query and fragment are not part of the name.
        ("/static/a.css?v=1.png#x.js", "style"),
        # urlsplit refuses an unbalanced "[" in the authority; the name still ends the URL,
        # and the query and fragment (even with several "?") are still cut off.
        ("//[x/a.css?v=1#top", "style"),
        ("//[x/a.css?v=1.png?w=2.js", "style"),
        ("//[x/a.css#top.png#b.js", "style"),
        ("//[x/a.js?q#f.png", "script"),
        # A static file name, as a tag or a manifest gives it: the name before its query.
        ("css/app.css?v=2", "style"),
        ("fonts/a.WOFF2#x", "font"),
        ("img/a.png?as=x.js", "image"),
        ("data?x.json", None),
    ],
)
def test_the_destination_comes_from_the_extension_of_the_name(
    url: str, destination: str | None
) -> None:
    assert infer_destination(url) == destination


def test_a_name_that_is_only_an_extension_still_has_one() -> None:
    # As the docstring promises, unlike posixpath.splitext.
    assert extension_of("/x/.css") == ".css"
    assert infer_destination("/static/.css") == "style"
    assert extension_of("/x/app") == ""
    assert extension_of("/v1.2/app") == ""
