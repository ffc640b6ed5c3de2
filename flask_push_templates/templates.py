"""What is known about a template without rendering it: what it extends or includes, and
which of its pushes have only constant arguments.

Found by parsing the template's source once (Jinja's own parser, so ``<% push %>`` and
custom delimiters are handled), cached per name, and re-read when the template changes and
the environment auto-reloads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jinja2 import Environment, TemplateNotFound, TemplateSyntaxError, meta, nodes


@dataclass(frozen=True)
class StaticPush:
    """A ``{% push %}`` whose arguments are all constants."""

    asset: str
    destination: str | None
    attributes: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class TemplateInfo:
    references: tuple[str, ...] = ()
    static_pushes: tuple[StaticPush, ...] = ()


_NOTHING = TemplateInfo()


class TemplateFacts:
    """Cached :class:`TemplateInfo` by template name, for one app's environment."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[Callable[[], bool] | None, TemplateInfo]] = {}
        self._lock = threading.Lock()

    def info(self, env: Environment, name: str) -> TemplateInfo:
        cached = self._cache.get(name)
        if cached is not None:
            uptodate = cached[0]
            if not env.auto_reload or uptodate is None or uptodate():
                return cached[1]
        uptodate, info = _read(env, name)
        with self._lock:
            self._cache[name] = (uptodate, info)
        return info

    def closure(self, env: Environment, names: Iterable[str]) -> list[str]:
        """``names`` and every template they extend, include or import, each once, in order."""
        seen: dict[str, None] = {}
        pending = list(names)
        while pending:
            name = pending.pop(0)
            if name in seen:
                continue
            seen[name] = None
            pending.extend(self.info(env, name).references)
        return list(seen)


def _read(env: Environment, name: str) -> tuple[Callable[[], bool] | None, TemplateInfo]:
    if env.loader is None:
        return None, _NOTHING
    try:
        source, filename, uptodate = env.loader.get_source(env, name)
        tree = env.parse(source, name, filename)
    except (TemplateNotFound, TemplateSyntaxError):
        # Rendering reports these with better context; here they only mean "nothing known".
        return None, _NOTHING
    references = tuple(ref for ref in meta.find_referenced_templates(tree) if ref is not None)
    return uptodate, TemplateInfo(references, tuple(_static_pushes(tree)))


def _static_pushes(tree: nodes.Template) -> Iterable[StaticPush]:
    # Imported here: the extension module imports this one (for constant_push).
    from .jinja_ext import PushExtension

    for call in tree.find_all(nodes.Call):
        target = call.node
        if not (
            isinstance(target, nodes.ExtensionAttribute)
            and target.identifier == PushExtension.identifier
            and target.name == "_push"
        ):
            continue
        constant = constant_push(call.args, call.kwargs)
        if constant is not None:
            asset, destination, attributes = constant
            if isinstance(asset, str) and (destination is None or isinstance(destination, str)):
                yield StaticPush(asset, destination, attributes)


def constant_push(
    args: list[nodes.Expr], kwargs: list[nodes.Keyword]
) -> tuple[Any, Any, tuple[tuple[str, Any], ...]] | None:
    """The arguments of a push whose arguments are all constants, else ``None``."""
    if not all(isinstance(arg, nodes.Const) for arg in args):
        return None
    if not all(isinstance(keyword.value, nodes.Const) for keyword in kwargs):
        return None
    values = [arg.value for arg in args]  # type: ignore[attr-defined]
    attributes = tuple((keyword.key, keyword.value.value) for keyword in kwargs)  # type: ignore[attr-defined]
    return values[0], values[1] if len(values) > 1 else None, attributes
