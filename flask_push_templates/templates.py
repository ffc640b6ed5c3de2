"""What is known about a template without rendering it: what it extends or includes, which
of its pushes have only constant arguments, and which of those certainly run.

Found by parsing the template's source once (Jinja's own parser, so ``<% push %>`` and
custom delimiters are handled), cached per name, and re-read when the template changes and
the environment auto-reloads.

"Certainly run" is what a response whose body is not rendered yet (a streamed page, a 103
Early Hint) may announce: a push inside ``{% if %}``, ``{% for %}``, a macro or a call
block may not run, and a block the child overrides without ``super()`` does not run. A
missing preload costs little; a wasted one costs bandwidth and a console warning.

Pure: imports no Flask (Jinja, and the tag's own node recognition in :mod:`.jinja_ext`).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from jinja2 import Environment, TemplateNotFound, TemplateSyntaxError, meta, nodes

from .jinja_ext import static_push, static_pushes
from .pushes import AssetPush


@dataclass(frozen=True)
class TemplateInfo:
    #: Every template this one extends, includes or imports (conditionally or not).
    references: tuple[str, ...] = ()
    #: Every constant push in the template, wherever it stands.
    static_pushes: tuple[AssetPush, ...] = ()


_NOTHING = TemplateInfo()
# Nodes whose bodies may not run: conditionals, loops (possibly empty), macros and call
# blocks (run only if called).
_MAYBE_SKIPPED = (nodes.If, nodes.For, nodes.Macro, nodes.CallBlock)
_Uptodate = Callable[[], bool] | None


class TemplateFacts:
    """Cached facts by template name, for one app's environment."""

    #: How many closures are remembered (they start over when full): each 103 and each
    #: page of an app with manifest groups asks for several.
    MAX_CLOSURES = 1024

    def __init__(self) -> None:
        self._trees: dict[str, tuple[_Uptodate, nodes.Template | None, TemplateInfo]] = {}
        self._certain: dict[str, tuple[AssetPush, ...]] = {}
        self._closures: dict[frozenset[str], tuple[str, ...]] = {}
        self._lock = threading.Lock()

    def _entry(self, env: Environment, name: str) -> tuple[nodes.Template | None, TemplateInfo]:
        cached = self._trees.get(name)
        if cached is not None:
            uptodate = cached[0]
            if not env.auto_reload or uptodate is None or uptodate():
                return cached[1], cached[2]
        uptodate, tree = _parse(env, name)
        info = _NOTHING if tree is None else _info(tree)
        with self._lock:
            self._trees[name] = (uptodate, tree, info)
            # Derived from the trees, one of which changed.
            self._certain.clear()
            self._closures.clear()
        return tree, info

    def info(self, env: Environment, name: str) -> TemplateInfo:
        return self._entry(env, name)[1]

    def closure(self, env: Environment, names: Iterable[str]) -> list[str]:
        """``names`` and every template they extend, include or import, each once, in order."""
        # Keyed by the set of names: a page that renders partials a thousand times, in any
        # order, makes one key of its distinct names (and one walk), not one per order.
        names = tuple(dict.fromkeys(names))
        key = frozenset(names)
        # Without auto-reload the trees never change, and neither do their closures.
        if not env.auto_reload:
            cached = self._closures.get(key)
            if cached is not None:
                return list(cached)
        seen: dict[str, None] = {}
        pending = deque(names)
        while pending:
            name = pending.popleft()
            if name in seen:
                continue
            seen[name] = None
            pending.extend(self.info(env, name).references)
        if not env.auto_reload:
            with self._lock:
                if len(self._closures) >= self.MAX_CLOSURES:
                    self._closures.clear()
                self._closures[key] = tuple(seen)
        return list(seen)

    def certain_pushes(self, env: Environment, names: Iterable[str]) -> list[AssetPush]:
        """The constant pushes that certainly run when ``names`` are rendered as pages.

        A name that another of ``names`` extends or includes is taken as part of that one
        (a layout's default blocks may be overridden), not rendered on its own.
        """
        names = list(names)
        pulled_in = {
            other for name in names for other in self.closure(env, [name]) if other != name
        }
        pushes: list[AssetPush] = []
        for name in names:
            if name not in pulled_in:
                pushes.extend(self._certain_pushes_of(env, name))
        return pushes

    def _certain_pushes_of(self, env: Environment, name: str) -> tuple[AssetPush, ...]:
        if not env.auto_reload:
            cached = self._certain.get(name)
            if cached is not None:
                return cached
        pushes = tuple(_PageWalker(self, env).page(name, frozenset()))
        with self._lock:
            self._certain[name] = pushes
        return pushes

    def tree(self, env: Environment, name: str) -> nodes.Template | None:
        return self._entry(env, name)[0]


def _parse(env: Environment, name: str) -> tuple[_Uptodate, nodes.Template | None]:
    if env.loader is None:
        return None, None
    try:
        source, filename, uptodate = env.loader.get_source(env, name)
        return uptodate, env.parse(source, name, filename)
    except (TemplateNotFound, TemplateSyntaxError):
        # Rendering reports these with better context; here they only mean "nothing known".
        return None, None


def _info(tree: nodes.Template) -> TemplateInfo:
    references = tuple(ref for ref in meta.find_referenced_templates(tree) if ref is not None)
    pushes = tuple(push for _, push in static_pushes(tree))
    return TemplateInfo(references, pushes)


def _constant_name(node: nodes.Expr) -> str | None:
    if isinstance(node, nodes.Const) and isinstance(node.value, str):
        return node.value
    return None


def _is_super_call(node: nodes.Node) -> bool:
    return (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "super"
    )


class _PageWalker:
    """Follows one page's inheritance chain and unconditional includes, as Jinja renders it."""

    def __init__(self, facts: TemplateFacts, env: Environment) -> None:
        self.facts = facts
        self.env = env

    def page(self, name: str, including: frozenset[str]) -> Iterator[AssetPush]:
        """The certain pushes of rendering template ``name`` (``including``: cycle guard)."""
        if name in including:
            return
        including = including | {name}
        chain = self._chain(name)
        if not chain:
            return
        definitions: dict[str, list[nodes.Block]] = {}
        for tree in chain:
            for block in tree.find_all(nodes.Block):
                definitions.setdefault(block.name, []).append(block)
        # A child's top-level statements run (their output is discarded); its blocks run
        # only where the root template places them.
        for child in chain[:-1]:
            yield from self._walk(child.body, definitions, None, including, in_child=True)
        yield from self._walk(chain[-1].body, definitions, None, including, in_child=False)

    def _chain(self, name: str) -> list[nodes.Template]:
        """The template and the ones it extends, the most derived first."""
        chain: list[nodes.Template] = []
        seen: set[str] = set()
        current: str | None = name
        while current is not None and current not in seen:
            seen.add(current)
            tree = self.facts.tree(self.env, current)
            if tree is None:
                break
            chain.append(tree)
            extends = next((node for node in tree.body if isinstance(node, nodes.Extends)), None)
            current = None if extends is None else _constant_name(extends.template)
        return chain

    def _walk(
        self,
        body: Iterable[nodes.Node],
        definitions: dict[str, list[nodes.Block]],
        block: tuple[str, int] | None,
        including: frozenset[str],
        in_child: bool,
    ) -> Iterator[AssetPush]:
        for node in body:
            if isinstance(node, _MAYBE_SKIPPED):
                continue
            if isinstance(node, nodes.Block):
                if not in_child:
                    yield from self._block(node.name, 0, definitions, including)
                continue
            if isinstance(node, nodes.Include):
                included = _constant_name(node.template)
                if included is not None and not in_child:
                    yield from self.page(included, including)
                continue
            if isinstance(node, nodes.Call):
                push = static_push(node)
                if push is not None:
                    yield push
                    continue
                if _is_super_call(node) and block is not None:
                    yield from self._block(block[0], block[1] + 1, definitions, including)
                    continue
            yield from self._walk(node.iter_child_nodes(), definitions, block, including, in_child)

    def _block(
        self,
        name: str,
        level: int,
        definitions: dict[str, list[nodes.Block]],
        including: frozenset[str],
    ) -> Iterator[AssetPush]:
        versions = definitions.get(name, [])
        if level < len(versions):
            yield from self._walk(
                versions[level].body, definitions, (name, level), including, in_child=False
            )
