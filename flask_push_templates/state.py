"""Per-app state, kept in ``app.extensions["push_templates"]`` (never on the extension)."""

from __future__ import annotations

import os
import threading

from flask import Flask

from .learning import EarlyHintsState
from .manifest import ManifestStore
from .page_memory import PageMemory
from .resolver import AssetResolver
from .settings import Settings
from .templates import TemplateFacts
from .vite import ViteBuild

EXTENSION_KEY = "push_templates"


class PushState:
    """What one app shares between its requests: settings and caches, no request data."""

    def __init__(
        self,
        settings: Settings,
        root_path: str,
        hooks_installed: bool,
        static_folder: str | None = None,
    ) -> None:
        self.settings = settings
        #: Whether init_app registered the response hook; without it (an app that only uses
        #: the ``http2push`` decorator) the decorator adds the header itself.
        self.hooks_installed = hooks_installed
        self.manifests = ManifestStore()
        self.templates = TemplateFacts()
        #: The app's Vite build, if ``PUSH_VITE_MANIFEST`` names one (see vite.py).
        self.vite = (
            None
            if settings.vite_manifest is None
            else ViteBuild.from_config(
                settings.vite_manifest,
                settings.vite_base,
                root_path,
                static_folder,
                {"import_map": settings.vite_import_map, "prefetch": settings.vite_prefetch},
            )
        )
        self.resolver = AssetResolver(settings.static_endpoint, self.vite, settings.url_builder)
        #: The absolute path of ``PUSH_MANIFEST``, if one is configured.
        self.manifest_path = (
            None if settings.manifest is None else os.path.join(root_path, settings.manifest)
        )
        #: What rendered pages pushed, for their cached copies (page_memory.py).
        self.page_memory = PageMemory(settings.cached_pages, settings.cached_endpoints)
        #: What 103 Early Hints have learned; ``None`` unless ``PUSH_EARLY_HINTS`` is on.
        self.early_hints: EarlyHintsState | None = None
        #: Endpoints already warned about links left out of their header.
        self.budget_warnings = FirstTimes()
        #: Endpoints already warned about a CSP nonce that could not be used (csp.py).
        self.nonce_warnings = FirstTimes()
        #: Endpoints whose failure to send a 103 was already logged as a warning.
        self.hint_failures = FirstTimes()


class FirstTimes:
    """Which keys were seen, thread-safely: to log something once per endpoint.

    Bounded by the app's endpoints, a fixed set."""

    def __init__(self) -> None:
        self._seen: set[str | None] = set()
        self._lock = threading.Lock()

    def first(self, key: str | None) -> bool:
        """Whether ``key`` is seen for the first time (and remember it)."""
        with self._lock:
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


def get_state(app: Flask) -> PushState:
    """The app's state; an app that never called ``init_app`` gets one with its config."""
    state: PushState | None = app.extensions.get(EXTENSION_KEY)
    if state is None:
        state = app.extensions.setdefault(
            EXTENSION_KEY,
            PushState(
                Settings.from_config(app.config),
                app.root_path,
                hooks_installed=False,
                static_folder=app.static_folder,
            ),
        )
    return state
