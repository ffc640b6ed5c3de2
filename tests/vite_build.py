"""Build tests/vite_site with the real ``vite`` from npm, into a temporary folder.

``.ci/setup`` installs it (``npm ci`` in tests/vite_site, vite 8.3.8 pinned by its
package-lock.json); neither node_modules nor the build is committed. Without them a test
that needs the build is skipped on a developer's machine and fails in CI (parts.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.parts import MissingPart, find_binary, in_ci

SITE = Path(__file__).resolve().parent / "vite_site"
VITE = SITE / "node_modules" / ".bin" / "vite"
#: The manifest's place in a build folder (Vite's default for build.manifest = true).
MANIFEST = Path(".vite") / "manifest.json"


def build(out_dir: Path) -> Path:
    """Run ``vite build`` into ``out_dir``; return the manifest's path.

    :raises MissingPart: node or the project's vite is not installed.
    """
    node = find_binary("node")
    if not VITE.exists():
        raise MissingPart(f"{VITE} not found: run 'npm ci' in {SITE} (see .ci/setup)")
    result = subprocess.run(
        [node, str(VITE), "build", "--outDir", str(out_dir), "--emptyOutDir"],
        cwd=SITE,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"vite build failed:\n{result.stdout}{result.stderr}")
    return out_dir / MANIFEST


def require_build(out_dir: Path) -> Path:
    """:func:`build`, turning a missing part into a skip (a failure in CI)."""
    try:
        return build(out_dir)
    except MissingPart as missing:
        reason = f"vite build missing: {missing}"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def read_manifest(manifest: Path) -> dict[str, Any]:
    return json.loads(manifest.read_text())  # type: ignore[no-any-return]
