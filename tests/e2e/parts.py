"""Locate the real programs and Python modules the end-to-end tests drive.

A missing part must be loud: helpers raise :class:`MissingPart` naming it, and
:func:`require` turns that into a skip on a developer's machine but a failure
in CI, so a CI run can never go green by silently skipping the real checks.
"""

from __future__ import annotations

import importlib.util
import os
import shutil

import pytest

# Debian installs daemons such as apache2 and nginx in sbin, which is not on
# every PATH (e.g. a non-login shell of an unprivileged user), so look there
# too rather than report a part as missing that is in fact installed.
_EXTRA_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")

# Which Debian package provides each binary, so the error says how to fix it.
_PACKAGES = {
    "apache2": "apache2",
    "nginx": "nginx-full",
    "nghttp": "nghttp2-client",
    "chromium": "chromium",
    "certutil": "libnss3-tools",
    "openssl": "openssl",
    "curl": "curl",
    "caddy": "caddy",
}


class MissingPart(RuntimeError):
    """A binary, module or file an end-to-end helper needs is not installed."""


def in_ci() -> bool:
    """Whether we run under CI, where a missing part is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def find_binary(name: str) -> str:
    """Return the absolute path of executable *name* or raise :class:`MissingPart`."""
    search = os.pathsep.join([os.environ.get("PATH", os.defpath), *_EXTRA_DIRS])
    path = shutil.which(name, path=search)
    if path is None:
        package = _PACKAGES.get(name)
        hint = f" (Debian package {package!r}; see .ci/setup)" if package else ""
        raise MissingPart(f"required binary {name!r} not found on PATH{hint}")
    return path


def find_module(name: str) -> None:
    """Raise :class:`MissingPart` unless Python module *name* is importable."""
    if importlib.util.find_spec(name) is None:
        raise MissingPart(
            f"required Python module {name!r} is not installed (pip install -e '.[test]')"
        )


def require(binary_or_module: str) -> None:
    """Skip the calling test (fail it in CI) unless the named part is present.

    The name is looked up as an executable first and then as an importable
    Python module, so ``require("nginx")`` and ``require("playwright")`` both
    work; a path (``/usr/bin/chromium``) must exist and be executable.
    """
    try:
        if os.sep in binary_or_module:
            if not os.access(binary_or_module, os.X_OK):
                raise MissingPart(f"required executable {binary_or_module!r} not found")
            return
        try:
            find_binary(binary_or_module)
        except MissingPart as no_binary:
            try:
                find_module(binary_or_module)
            except (MissingPart, ImportError, ValueError):
                # Keep the binary message: it carries the apt package hint.
                raise MissingPart(
                    f"{no_binary}, nor is {binary_or_module!r} an importable Python module"
                ) from None
    except MissingPart as missing:
        reason = f"e2e part missing: {missing}"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
