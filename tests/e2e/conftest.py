"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.e2e import browser, servers
from tests.e2e.parts import require
from tests.e2e.tls import Pki

if TYPE_CHECKING:
    # Only a type: playwright itself is imported lazily by browser.py.
    from playwright.sync_api import Browser


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    """A throwaway CA, a server certificate it signed, and a HOME whose NSS db trusts it.

    One per run: making keys and the NSS db takes a while, and nothing mutates them.
    """
    require("openssl")
    require("certutil")
    with servers.throwaway_pki() as made:
        yield made


@pytest.fixture(scope="module")
def chromium(pki: Pki) -> Iterator[Browser]:
    """One browser per module (launching costs about a second); its HOME trusts the CA."""
    require("playwright")
    require(browser.CHROMIUM)
    with browser.chromium(home=pki.home) as launched:
        yield launched
