"""Load a page in a real Chromium and record what the browser did.

Uses Debian's ``/usr/bin/chromium`` through Playwright's sync API
(``playwright install`` cannot download browsers here).  A load returns the
console messages (Chromium's own warnings included), the Resource Timing
entries and every network request, so tests can assert that each preload was
used, that nothing was fetched twice and that no preload warning appeared.

Playwright is imported lazily so that :func:`parts.require` can skip (or in
CI fail) cleanly when it is missing instead of breaking test collection.
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .parts import MissingPart, find_module

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserType, Request

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps dialling out (and
# failing) on this loopback-only machine; QUIC would bypass the HTTP/2 path.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Chromium warns about an unused preload 3 s after the load event; wait a
# little longer so a test that asserts "no warning" is not vacuously true.
DEFAULT_SETTLE = 4.0
# Chromium's console texts for a preload that was not (re)used: unused a few
# seconds after load, or unusable because its mode (crossorigin) differs.
PRELOAD_WARNINGS = (
    "was preloaded using link preload but not used",
    "is found, but is not used because",
)

_RESOURCE_TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  return {
    navigationProtocol: nav ? nav.nextHopProtocol : '',
    resources: performance.getEntriesByType('resource').map(e => ({
      name: e.name,
      initiatorType: e.initiatorType,
      transferSize: e.transferSize,
      nextHopProtocol: e.nextHopProtocol,
    })),
  };
}"""


@dataclass(frozen=True)
class ConsoleEntry:
    type: str  # "log", "warning", "error", ...
    text: str


@dataclass(frozen=True)
class ResourceEntry:
    """One PerformanceResourceTiming entry."""

    name: str
    initiator_type: str  # "link" (Link header preload), "early-hints", "css", ...
    transfer_size: int  # 0 when served from a cache
    next_hop_protocol: str  # "h2", "http/1.1", ...


@dataclass(frozen=True)
class NetworkRequest:
    url: str
    resource_type: str  # Playwright's: "document", "stylesheet", "script", ...
    method: str
    status: int | None  # None if no response arrived
    failure: str | None


@dataclass(frozen=True)
class PageLoad:
    """What happened while loading one URL in a fresh browser context."""

    url: str
    status: int | None
    navigation_protocol: str
    console: list[ConsoleEntry]
    resources: list[ResourceEntry]
    requests: list[NetworkRequest]
    #: The ``Link`` value of each 103 Early Hints the navigation got (CDP
    #: ``Network.responseReceivedEarlyHints``), in arrival order.
    early_hints: list[str] = field(default_factory=list)

    def resource(self, url: str) -> list[ResourceEntry]:
        return [entry for entry in self.resources if entry.name == url]

    def requests_for(self, url: str) -> list[NetworkRequest]:
        return [request for request in self.requests if request.url == url]

    def duplicate_requests(self) -> dict[str, int]:
        """URLs requested more than once, with their counts."""
        counts = Counter(request.url for request in self.requests)
        return {url: n for url, n in counts.items() if n > 1}

    def preload_warnings(self) -> list[str]:
        """Console messages saying a preload was wasted."""
        return [e.text for e in self.console if any(w in e.text for w in PRELOAD_WARNINGS)]


@contextlib.contextmanager
def chromium(
    *,
    home: Path | None = None,
    extra_args: Sequence[str] = (),
    quic_origins: Sequence[str] = (),
) -> Iterator[Browser]:
    """Launch headless Debian Chromium; *home* may hold an NSS db trusting a test CA.

    QUIC is off, except that the ``host:port`` origins in *quic_origins* are spoken to
    over HTTP/3 from the first request on (no ``Alt-Svc`` round needed).
    """
    find_module("playwright")
    if not os.access(CHROMIUM, os.X_OK):
        raise MissingPart(f"required binary {CHROMIUM!r} not found (Debian package 'chromium')")
    from playwright.sync_api import sync_playwright

    with (
        sync_playwright() as playwright,
        relaunch(
            playwright.chromium, home=home, extra_args=extra_args, quic_origins=quic_origins
        ) as browser,
    ):
        yield browser


@contextlib.contextmanager
def relaunch(
    browser_type: BrowserType,
    *,
    home: Path | None = None,
    extra_args: Sequence[str] = (),
    quic_origins: Sequence[str] = (),
) -> Iterator[Browser]:
    """Another Chromium, as :func:`chromium` launches it, from a running Playwright.

    Playwright's sync API cannot be started twice in one thread: a test that needs a
    browser with other flags next to a running one launches it through the running
    one's ``browser.browser_type``.
    """
    env: dict[str, str | float | bool] | None = None
    if home is not None:
        # Chromium reads extra trust anchors from $HOME/.pki/nssdb.
        env = {**os.environ, "HOME": str(home)}
    browser = browser_type.launch(
        executable_path=CHROMIUM,
        args=[*_args(quic_origins), *extra_args],
        env=env,
        headless=True,
    )
    try:
        yield browser
    finally:
        browser.close()


def load_page(
    browser: Browser,
    url: str,
    *,
    settle: float = DEFAULT_SETTLE,
    ignore_https_errors: bool = False,
    timeout: float = 15.0,
) -> PageLoad:
    """Load *url* in a new context (cold cache), wait *settle* s after load, report."""
    context = browser.new_context(ignore_https_errors=ignore_https_errors)
    try:
        console: list[ConsoleEntry] = []
        requests: list[Request] = []
        # A lambda, not requests.append: Playwright sets an attribute on the
        # handler, which a builtin bound method does not allow.
        context.on("request", lambda request: requests.append(request))
        page = context.new_page()
        page.on("console", lambda message: console.append(ConsoleEntry(message.type, message.text)))
        early_hints: list[str] = []
        cdp = context.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.on(
            "Network.responseReceivedEarlyHints",
            lambda params: early_hints.extend(_link_values(params.get("headers", {}))),
        )
        response = page.goto(url, wait_until="load", timeout=timeout * 1000)
        page.wait_for_timeout(settle * 1000)
        timing: dict[str, Any] = page.evaluate(_RESOURCE_TIMING_JS)
        return PageLoad(
            url=url,
            status=response.status if response is not None else None,
            navigation_protocol=str(timing["navigationProtocol"]),
            console=console,
            resources=[
                ResourceEntry(
                    name=str(entry["name"]),
                    initiator_type=str(entry["initiatorType"]),
                    transfer_size=int(entry["transferSize"]),
                    next_hop_protocol=str(entry["nextHopProtocol"]),
                )
                for entry in timing["resources"]
            ],
            requests=[_describe(request) for request in requests],
            early_hints=early_hints,
        )
    finally:
        context.close()


def _args(quic_origins: Sequence[str]) -> list[str]:
    if not quic_origins:
        return list(CHROMIUM_ARGS)
    return [
        *(arg for arg in CHROMIUM_ARGS if arg != "--disable-quic"),
        "--enable-quic",
        f"--origin-to-force-quic-on={','.join(quic_origins)}",
    ]


def visit(
    url: str,
    *,
    home: Path | None = None,
    settle: float = DEFAULT_SETTLE,
    ignore_https_errors: bool = False,
) -> PageLoad:
    """Launch Chromium, load *url* once, close it: for a test with one page load."""
    with chromium(home=home) as browser:
        return load_page(browser, url, settle=settle, ignore_https_errors=ignore_https_errors)


def _link_values(headers: dict[str, str]) -> list[str]:
    """The Link field of a CDP header object (one entry; repeated fields newline-joined)."""
    return [value for name, value in headers.items() if name.lower() == "link"]


def _describe(request: Request) -> NetworkRequest:
    response = request.response()
    return NetworkRequest(
        url=request.url,
        resource_type=request.resource_type,
        method=request.method,
        status=response.status if response is not None else None,
        failure=request.failure,
    )
