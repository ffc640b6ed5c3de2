"""A push before its URL is known: an asset as a manifest entry or a constant tag names it.

Pure: imports no Flask. The URL depends on the request (its script root, its blueprint),
so it is resolved per request by :mod:`.resolver`; what is declared is kept as written.

A push may name the endpoint its static file is served by (``endpoint='admin.static'``:
a blueprint's static folder), in a tag, ``push_url()`` or a manifest entry. That is not a
link attribute: it says how to build the URL, and never reaches a header.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attributes import AttributeValue
from .errors import PushError
from .uri import is_url


class UnresolvableAsset(PushError):
    """A static file name's URL cannot be built: its endpoint does not exist in the app
    (``PUSH_STATIC_ENDPOINT``, or a push's own ``endpoint``), or the URL builder cannot
    read the file (Flask-CDN stamps a URL with the file's modification time). Such a push
    is left out of a page's links and logged (a template or manifest must not break every
    page); ``push_url()``, which must return a URL, raises it."""

    def __init__(self, asset: str, reason: str) -> None:
        super().__init__(f"push of {asset!r}: {reason}")
        self.asset = asset
        #: Why, without the asset: ``'admn.static' names no endpoint ...``.
        self.reason = reason


#: The keyword of a tag, ``push_url()`` and a manifest entry that names the endpoint.
ENDPOINT_KEYWORD = "endpoint"


@dataclass(frozen=True)
class AssetPush:
    """An asset (a static file name, a path or a URL), its destination and attributes,
    and the endpoint that serves it if not ``PUSH_STATIC_ENDPOINT`` (static names only)."""

    asset: str
    destination: str | None = None
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
    endpoint: str | None = None


def check_endpoint(asset: str, endpoint: object) -> str | None:
    """``endpoint`` as a push of ``asset`` may name it: ``None``, or an endpoint name for a
    static file name (a path or URL is taken as given: no endpoint builds it).

    :raises PushError: saying which of the two is wrong.
    """
    if endpoint is None:
        return None
    if not isinstance(endpoint, str) or not endpoint.strip(". "):
        raise PushError(
            f"push of {asset!r}: {ENDPOINT_KEYWORD} must be an endpoint name such as "
            f"'admin.static' or '.static', not {endpoint!r}"
        )
    if is_url(asset):
        raise PushError(
            f"push of {asset!r}: {ENDPOINT_KEYWORD}={endpoint!r} builds the URL of a static "
            "file name such as 'css/admin.css'; a path or URL is pushed as written"
        )
    return endpoint
