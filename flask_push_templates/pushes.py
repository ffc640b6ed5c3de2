"""A push before its URL is known: an asset as a manifest entry or a constant tag names it.

Pure: imports no Flask. The URL depends on the request (its script root, its blueprint),
so it is resolved per request by :mod:`.resolver`; what is declared is kept as written.
"""

from __future__ import annotations

from dataclasses import dataclass

from .attributes import AttributeValue


@dataclass(frozen=True)
class AssetPush:
    """An asset (a static file name, a path or a URL), its destination and attributes."""

    asset: str
    destination: str | None = None
    attributes: tuple[tuple[str, AttributeValue], ...] = ()
