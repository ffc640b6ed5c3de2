"""CSP nonces: preloads of scripts and styles carry the request's nonce, when it has one.

Under a nonce-based Content-Security-Policy (``script-src 'nonce-...'``) a preload is a
fetch like any other: without the nonce, the browser blocks it and reports a violation.
The nonce comes from ``PUSH_NONCE_GETTER`` (a callable, or the dotted path of one, called
with no arguments during the request) or, by default, from ``request.csp_nonce``, which
Flask-Talisman sets in a ``before_request`` hook when ``content_security_policy_nonce_in``
is configured.

Only links whose fetch a nonce governs get it: ``as=script`` and ``rel=modulepreload``
(``script-src``) and ``as=style`` (``style-src``); CSP has no nonces for images, fonts or
``fetch()``, so those links do not spread the nonce further than the page does. A push
that gives its own ``nonce=`` keeps it.

The value is checked against CSP's ``base64-value`` grammar before it is written (letters,
digits, ``+/-_``, up to two ``=``): anything else is logged (once per endpoint) and left
out, never written, and the response goes on, as it would without a nonce.

103 Early Hints carry no nonce: they are sent before the app's ``before_request`` hooks
(Flask-Talisman's among them) have made one, and a 103 carries no policy of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from flask import has_request_context, request

from .links import Link
from .state import PushState

log = logging.getLogger(__name__)

#: CSP Level 3 ``base64-value``: 1*( ALPHA / DIGIT / "+" / "/" / "-" / "_" )*2( "=" ).
NONCE = re.compile(r"[A-Za-z0-9+/_-]+={0,2}")

NonceGetter = Callable[[], Any]


def takes_nonce(link: Link) -> bool:
    """Whether CSP checks ``link``'s fetch against a nonce (scripts and styles)."""
    return link.as_value in ("script", "style") or link.rel == "modulepreload"


def request_nonce(state: PushState) -> str | None:
    """The current request's nonce if it has a valid one, else ``None``."""
    if not has_request_context():
        return None
    getter: NonceGetter | None = state.settings.nonce_getter
    try:
        # Flask-Talisman's attribute; missing when the policy uses no nonce.
        nonce = (
            getter()
            if getter is not None
            else getattr(request._get_current_object(), "csp_nonce", None)  # type: ignore[attr-defined]
        )
    except Exception:
        # The nonce is a bonus on a preload; a broken getter must not break the page.
        endpoint = request.endpoint
        if state.nonce_warnings.first(endpoint):
            log.exception("%s: PUSH_NONCE_GETTER failed; links go without a nonce", endpoint)
        return None
    if nonce is None or nonce == "":
        return None
    if not isinstance(nonce, str) or NONCE.fullmatch(nonce) is None:
        endpoint = request.endpoint
        if state.nonce_warnings.first(endpoint):
            log.error(
                "%s: the CSP nonce %r is not a CSP base64-value (letters, digits, '+', '/', "
                "'-', '_', up to two '='); links go without it",
                endpoint,
                nonce,
            )
        return None
    return nonce


def with_nonce(links: Iterable[Link], nonce: str) -> Iterator[Link]:
    """``links`` with ``nonce`` (the request's: :func:`request_nonce`) on those that take
    one, as they are read."""
    # with_param keeps a nonce the push gave itself.
    return (link.with_param("nonce", nonce) if takes_nonce(link) else link for link in links)
