"""Fixtures shared by the end-to-end suites."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e import servers
from tests.e2e.parts import require
from tests.e2e.tls import Pki


@pytest.fixture(scope="session")
def pki() -> Iterator[Pki]:
    """A throwaway CA, a server certificate it signed, and a HOME whose NSS db trusts it.

    One per run: making keys and the NSS db takes a while, and nothing mutates them.
    """
    require("openssl")
    require("certutil")
    with servers.throwaway_pki() as made:
        yield made
