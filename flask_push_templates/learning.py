"""What 103 Early Hints know about endpoints: the deployed template map, and what is learned.

Pure: imports no Flask. An endpoint's view decides which templates it renders, so the
templates of recent pages are remembered per endpoint (bounded, thread-safe) and the
prediction is what every recent variant has in common. The Flask wiring that sends the
103 and feeds the learner is :mod:`.early_hints`.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence

from jinja2 import Environment

from .errors import ConfigError
from .settings import Settings, template_map
from .templates import TemplateFacts

log = logging.getLogger(__name__)

#: How many endpoints are remembered; the least recently requested one is forgotten first.
MAX_ENDPOINTS = 1024
#: How many distinct sets of templates are remembered per endpoint.
MAX_VARIANTS = 8
#: How many template names of one response are remembered.
MAX_TEMPLATES = 32

# A distinct set of template names -> those names in the order of their latest render.
_Variants = OrderedDict[frozenset[str], tuple[str, ...]]


class TemplateLearner:
    """Which templates each endpoint rendered recently: bounded, and safe across threads.

    An endpoint seen answering a navigation with something other than a page (JSON, a
    file) is remembered as such, so that it gets no more hints until it serves a page.
    """

    def __init__(
        self,
        max_endpoints: int = MAX_ENDPOINTS,
        max_variants: int = MAX_VARIANTS,
        max_templates: int = MAX_TEMPLATES,
    ) -> None:
        self._max_endpoints = max_endpoints
        self._max_variants = max_variants
        self._max_templates = max_templates
        # Both levels are LRU: the most recently used entry is last. A variant is keyed by
        # its set of names, so that a view rendering the same templates again changes
        # nothing, and keeps the order of its latest render. None: "not a page".
        self._endpoints: OrderedDict[str, _Variants | None] = OrderedDict()
        self._lock = threading.Lock()

    def learn(self, endpoint: str, templates: Iterable[str]) -> None:
        """Remember that a page served by ``endpoint`` rendered ``templates``."""
        names = tuple(dict.fromkeys(templates))[: self._max_templates]
        key = frozenset(names)
        with self._lock:
            variants = self._endpoints.get(endpoint)
            if variants is None:
                variants = OrderedDict()
            self._remember(endpoint, variants)
            variants[key] = names
            variants.move_to_end(key)
            if len(variants) > self._max_variants:
                variants.popitem(last=False)

    def learn_not_page(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered with something other than a page."""
        with self._lock:
            self._remember(endpoint, None)

    def _remember(self, endpoint: str, variants: _Variants | None) -> None:
        self._endpoints[endpoint] = variants
        self._endpoints.move_to_end(endpoint)
        if len(self._endpoints) > self._max_endpoints:
            self._endpoints.popitem(last=False)

    def serves_pages(self, endpoint: str) -> bool:
        """False if ``endpoint`` last answered with something other than a page."""
        with self._lock:
            return endpoint not in self._endpoints or self._endpoints[endpoint] is not None

    def variants(self, endpoint: str) -> list[tuple[str, ...]]:
        """The distinct template sets ``endpoint`` rendered, the most recent last."""
        with self._lock:
            variants = self._endpoints.get(endpoint)
            return list(variants.values()) if variants is not None else []

    def endpoints(self) -> list[str]:
        """The endpoints known to serve pages, the least recently seen first."""
        with self._lock:
            return [name for name, variants in self._endpoints.items() if variants is not None]


def common_templates(
    env: Environment, facts: TemplateFacts, variants: Sequence[Sequence[str]]
) -> list[str]:
    """The templates every variant renders or pulls in, in the latest variant's order."""
    if not variants:
        return []
    *older, latest = variants
    predicted = facts.closure(env, latest)
    for names in older:
        # Closures, not top-level names: pages/a.html and pages/b.html share their layout.
        shared = set(facts.closure(env, names))
        predicted = [name for name in predicted if name in shared]
    return predicted


class EarlyHintsState:
    """One app's Early Hints knowledge: the deployed template map and what was learned."""

    def __init__(self, deployed: Mapping[str, Sequence[str]] | None = None) -> None:
        self.deployed: dict[str, tuple[str, ...]] = {
            endpoint: tuple(names) for endpoint, names in (deployed or {}).items()
        }
        self.learner = TemplateLearner()

    def serves_pages(self, endpoint: str) -> bool:
        """Whether ``endpoint`` may answer with a page (it is not known not to)."""
        return endpoint in self.deployed or self.learner.serves_pages(endpoint)

    def templates_for(self, env: Environment, facts: TemplateFacts, endpoint: str) -> list[str]:
        """The templates ``endpoint`` is predicted to render, with all they pull in."""
        deployed = self.deployed.get(endpoint)
        if deployed is not None:
            return facts.closure(env, deployed)
        return common_templates(env, facts, self.learner.variants(endpoint))

    def learn(self, endpoint: str, templates: Iterable[str] | None) -> None:
        """Remember what a page of ``endpoint`` rendered; ``None``: it was not a page."""
        if endpoint in self.deployed:
            return
        if templates is None:
            self.learner.learn_not_page(endpoint)
        else:
            self.learner.learn(endpoint, templates)


def deployed_templates(root_path: str, settings: Settings) -> dict[str, tuple[str, ...]]:
    """``PUSH_EARLY_HINTS_TEMPLATES`` as a mapping, read from its file if it names one."""
    configured = settings.early_hints_templates
    if configured is None:
        return {}
    if not isinstance(configured, str):
        return dict(configured)
    path = os.path.join(root_path, configured)
    try:
        with open(path, encoding="utf-8-sig") as file:
            document = json.load(file)
    except FileNotFoundError:
        # Not an error: `flask push manifest --early-hints` must be able to load the app to
        # write it. Workers learn meanwhile.
        log.warning(
            "PUSH_EARLY_HINTS_TEMPLATES %s does not exist yet: endpoints are learned until it "
            "does ('flask push manifest --early-hints FILE' writes it)",
            path,
        )
        return {}
    except OSError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path} cannot be read: {error.strerror}"
        ) from None
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path}, line {error.lineno}, column {error.colno}: "
            f"invalid JSON: {error.msg}"
        ) from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"PUSH_EARLY_HINTS_TEMPLATES: {path} is not UTF-8 (byte {error.start}): "
            "save it as UTF-8 JSON"
        ) from None
    try:
        return dict(template_map(document))
    except ValueError as error:
        raise ConfigError(f"PUSH_EARLY_HINTS_TEMPLATES: {path}: {error}") from None
