"""What 103 Early Hints know about endpoints: the deployed template map, and what is learned.

Pure: imports no Flask. An endpoint's view decides which templates it renders, so the
templates of recent pages are remembered per endpoint (bounded, thread-safe) and the
prediction is what every recent variant has in common. The Flask wiring that sends the
103 and feeds the learner is :mod:`.early_hints`.

What one visitor does must not change what others are hinted (a 103 leaves before the
view, so before authentication):

* pages are learned, and predicted, per kind of request: requests that carry credentials
  (a ``Cookie`` other than push once's, ``Authorization``, ``REMOTE_USER``:
  :func:`.hint_policy.carries_credentials`) and requests that carry none. A request
  without credentials is only ever hinted what pages served to requests without
  credentials rendered, which anyone can see by asking without credentials; so however
  the app authenticates by cookie or header, the first anonymous visitor after an admin
  page is not hinted the admin's assets. :func:`.early_hints.learned_templates` exports
  only that kind (a deployed map is hinted to everyone);
* an endpoint whose :data:`RECENT` latest answers to page requests, of either kind,
  include a redirect or an error gets no 103 (deployed endpoints too): among requests
  with credentials, one visitor's page can otherwise be hinted to another (a user whose
  role does not allow the page, an anonymous visitor who carries only a session or an
  analytics cookie) until the first refusal;
* the prediction never grows: it is also cut to what *every* page the endpoint served to
  that kind since it was first learned pulled in (:attr:`_Pages.shared`), so requests
  for one kind of page cannot make its assets everyone's, however many there are;
* answers that are not pages (JSON to a navigation-like GET) switch hints off only when
  they outnumber the pages among the recent answers, not by one request.

Each of these can only take hints away, which costs time, never another visitor's data.
A deployed map (``PUSH_EARLY_HINTS_TEMPLATES``) is the user's declaration and is hinted
to both kinds.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable, Mapping, Sequence

from jinja2 import Environment

from .errors import ConfigError
from .settings import Settings, template_map
from .templates import TemplateFacts

log = logging.getLogger(__name__)

#: How many endpoints are remembered; the least recently requested one is forgotten first.
MAX_ENDPOINTS = 1024
#: How many distinct sets of templates are remembered per endpoint and kind of request.
MAX_VARIANTS = 8
#: How many template names of one response are remembered.
MAX_TEMPLATES = 32
#: How many of an endpoint's latest answers to page requests decide whether it is hinted.
RECENT = 32

#: The kinds of answer the policy counts.
PAGE, NOT_PAGE, REFUSED = "page", "not a page", "refused"

# A distinct set of template names -> those names in the order of their latest render.
_Variants = OrderedDict[frozenset[str], tuple[str, ...]]


class _Pages:
    """What the pages of one endpoint served to one kind of request taught."""

    __slots__ = ("shared", "variants")

    def __init__(self) -> None:
        self.variants: _Variants = OrderedDict()
        #: The templates every page learned since the first one pulled in; ``None``: none yet.
        self.shared: frozenset[str] | None = None


class _Endpoint:
    """What is known of one endpoint: per kind of request, what its pages taught (``False``:
    requests without credentials, ``True``: with); for all of them, its recent answers."""

    __slots__ = ("answers", "pages")

    def __init__(self) -> None:
        self.pages: dict[bool, _Pages] = {}
        self.answers: deque[str] = deque(maxlen=RECENT)

    def hintable(self) -> bool:
        if REFUSED in self.answers:
            return False
        return self.answers.count(NOT_PAGE) <= self.answers.count(PAGE) or not self.answers


class TemplateLearner:
    """Which templates each endpoint rendered recently, for each kind of request, and how
    it answered: bounded, and safe across threads. See the module's docstring for the
    rules.

    ``credentialed`` names the kind of request (:func:`.hint_policy.carries_credentials`):
    what pages served to one kind taught is never read for the other. Answers are counted
    for both together: a redirect or an error of either kind stops both kinds' hints.
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
        # nothing, and keeps the order of its latest render.
        self._endpoints: OrderedDict[str, _Endpoint] = OrderedDict()
        self._lock = threading.Lock()

    def learn(
        self,
        endpoint: str,
        templates: Iterable[str],
        closure: Iterable[str] | None = None,
        *,
        credentialed: bool = False,
    ) -> None:
        """Remember that a page served by ``endpoint`` to a request of the kind
        ``credentialed`` rendered ``templates``.

        :param closure: those templates with all they extend, include or import (the
            names themselves if not given): the prediction never names a template that
            one of the endpoint's pages did not pull in.
        """
        names = tuple(dict.fromkeys(templates))[: self._max_templates]
        key = frozenset(names)
        pulled_in = frozenset(names if closure is None else closure)
        with self._lock:
            known = self._remember(endpoint, PAGE).pages
            pages = known.get(credentialed)
            if pages is None:
                pages = known[credentialed] = _Pages()
            variants = pages.variants
            variants[key] = names
            variants.move_to_end(key)
            if len(variants) > self._max_variants:
                variants.popitem(last=False)
            pages.shared = pulled_in if pages.shared is None else pages.shared & pulled_in

    def learn_not_page(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered with something other than a page."""
        with self._lock:
            self._remember(endpoint, NOT_PAGE)

    def learn_refusal(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered a page request with a redirect or an error."""
        with self._lock:
            self._remember(endpoint, REFUSED)

    def learn_page_answer(self, endpoint: str) -> None:
        """Count a page answer of ``endpoint`` without learning its templates (deployed)."""
        with self._lock:
            self._remember(endpoint, PAGE)

    def _remember(self, endpoint: str, answer: str) -> _Endpoint:
        known = self._endpoints.get(endpoint)
        if known is None:
            known = self._endpoints[endpoint] = _Endpoint()
        known.answers.append(answer)
        self._endpoints.move_to_end(endpoint)
        if len(self._endpoints) > self._max_endpoints:
            self._endpoints.popitem(last=False)
        return known

    def serves_pages(self, endpoint: str) -> bool:
        """Whether ``endpoint`` may be hinted: unknown, or no redirect or error among its
        recent answers and no more non-pages than pages."""
        with self._lock:
            known = self._endpoints.get(endpoint)
            return known is None or known.hintable()

    def refused_recently(self, endpoint: str) -> bool:
        """Whether a redirect or an error is among ``endpoint``'s recent answers."""
        with self._lock:
            known = self._endpoints.get(endpoint)
            return known is not None and REFUSED in known.answers

    def variants(self, endpoint: str, *, credentialed: bool = False) -> list[tuple[str, ...]]:
        """The distinct template sets ``endpoint``'s pages to the kind ``credentialed``
        rendered, the most recent last."""
        with self._lock:
            pages = self._pages(endpoint, credentialed)
            return [] if pages is None else list(pages.variants.values())

    def shared(self, endpoint: str, *, credentialed: bool = False) -> frozenset[str] | None:
        """What every page ``endpoint`` served to the kind ``credentialed`` pulled in;
        ``None`` if none was learned."""
        with self._lock:
            pages = self._pages(endpoint, credentialed)
            return None if pages is None else pages.shared

    def _pages(self, endpoint: str, credentialed: bool) -> _Pages | None:
        known = self._endpoints.get(endpoint)
        return None if known is None else known.pages.get(credentialed)

    def endpoints(self, *, credentialed: bool = False) -> list[str]:
        """The endpoints with pages learned from the kind ``credentialed`` that may be
        hinted, the least recent first."""
        with self._lock:
            return [
                name
                for name, known in self._endpoints.items()
                if credentialed in known.pages and known.hintable()
            ]


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
        """Whether ``endpoint`` may be hinted: deployed or learned as serving pages, and no
        redirect or error among its recent answers (deployed or not)."""
        if endpoint in self.deployed:
            return not self.learner.refused_recently(endpoint)
        return self.learner.serves_pages(endpoint)

    def templates_for(
        self, env: Environment, facts: TemplateFacts, endpoint: str, *, credentialed: bool = False
    ) -> list[str]:
        """The templates a request of the kind ``credentialed`` to ``endpoint`` is
        predicted to render, with all they pull in: the deployed map's for any request,
        else only what pages served to that kind taught."""
        deployed = self.deployed.get(endpoint)
        if deployed is not None:
            return facts.closure(env, deployed)
        learner = self.learner
        predicted = common_templates(
            env, facts, learner.variants(endpoint, credentialed=credentialed)
        )
        shared = learner.shared(endpoint, credentialed=credentialed)
        return predicted if shared is None else [name for name in predicted if name in shared]

    def learn(
        self,
        endpoint: str,
        templates: Iterable[str],
        closure: Iterable[str] | None = None,
        *,
        credentialed: bool = False,
    ) -> None:
        """Remember what a page of ``endpoint`` served to a request of the kind
        ``credentialed`` rendered.

        A deployed endpoint's templates are not learned (the map is their truth), but its
        answers are: a redirect or an error stops its hints too."""
        if endpoint in self.deployed:
            self.learner.learn_page_answer(endpoint)
        else:
            self.learner.learn(endpoint, templates, closure, credentialed=credentialed)

    def learn_not_page(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered with something other than a page."""
        self.learner.learn_not_page(endpoint)

    def learn_refusal(self, endpoint: str) -> None:
        """Remember that ``endpoint`` answered a page request with a redirect or an error."""
        self.learner.learn_refusal(endpoint)


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
