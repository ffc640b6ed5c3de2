"""The ``{% push %}`` tag (also spelled ``<% push %>``) and ``{% vite %}``, as a Jinja
extension.

Pure: imports no Flask. The tags find their collaborators on their environment, the way
Jinja's i18n extension finds its translations (``PushTemplates.init_app`` sets them on
``app.jinja_env``; in a plain ``Environment`` they are ``None``):

* ``push_templates_recorder``: what ``{% push %}`` records through (nothing without it);
* ``push_templates_vite``: the app's Vite build, so that a constant push of an entry is
  checked against its manifest when the template is compiled;
* ``push_templates_vite_html``: what renders ``{% vite %}``'s tags;
* ``push_templates_endpoints``: what says why a constant ``endpoint='admin.static'``
  names no endpoint of the app, so that it is refused when the template is compiled.

How another module recognises a push in a parsed template (:func:`static_push`) is defined
here too, next to the nodes the tags make: ``{% vite 'src/main.ts' %}`` is a constant push
of the entry followed by its tags, so the 103 knows it like any other.
"""

from __future__ import annotations

import functools
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from jinja2 import Environment, nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from .attributes import attribute_typos, build_link
from .errors import PushError, PushWarning
from .pushes import ENDPOINT_KEYWORD, AssetPush, check_endpoint
from .uri import asset_problem
from .vite import ViteBuild, entry_pushes

_USAGE = (
    "{% push 'app.css' %}, {% push 'fonts/x.woff2', 'font', crossorigin=True %} or "
    "{% push 'css/admin.css', endpoint='admin.static' %}"
)

#: The names of the environment attributes the tags read (see the module's docstring).
RECORDER_ATTRIBUTE = "push_templates_recorder"
VITE_ATTRIBUTE = "push_templates_vite"
VITE_HTML_ATTRIBUTE = "push_templates_vite_html"
ENDPOINTS_ATTRIBUTE = "push_templates_endpoints"

_VITE_USAGE = "{% vite 'src/main.ts' %} or {% vite 'src/main.ts', prefetch=True %}"


class Recorder(Protocol):
    """What the tag calls at render time: record a push, said where in which template."""

    def __call__(
        self,
        asset: Any,
        destination: Any,
        attributes: Mapping[str, Any],
        origin: str,
        endpoint: Any = None,
    ) -> object: ...


class PushExtension(Extension):
    """Adds the ``push`` tag: ``{% push asset[, destination][, name=value ...] %}``.

    The tag renders nothing; it records the asset for the response's ``Link`` header. Any
    expression may be an argument. When all of them are constants, the push is validated
    when the template is compiled, so a bad destination is reported with its line.

    ``<% push 'app.css' %>`` is the same tag: it is rewritten to the block syntax before
    lexing, only where ``<%`` is directly followed by the word ``push``, so that underscore
    or EJS templates embedded in a page keep their own ``<% %>`` tags.
    """

    tags = {"push", "vite"}  # noqa: RUF012 (declared by Jinja's Extension)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        environment.extend(
            **{
                RECORDER_ATTRIBUTE: None,
                VITE_ATTRIBUTE: None,
                VITE_HTML_ATTRIBUTE: None,
                ENDPOINTS_ATTRIBUTE: None,
            }
        )

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if "<%" not in source:
            return source
        env = self.environment
        return _AnglePushes(env.block_start_string, env.block_end_string).rewrite(source)

    def parse(self, parser: Parser) -> nodes.Node | list[nodes.Node]:
        token = next(parser.stream)
        if token.value == "vite":
            return self._parse_vite(parser, token.lineno)
        lineno = token.lineno
        if parser.stream.current.type == "block_end":
            parser.fail(f"push needs an asset: {_USAGE}", lineno)
        args: list[nodes.Expr] = [parser.parse_expression()]
        kwargs: list[nodes.Keyword] = []
        while parser.stream.skip_if("comma"):
            if parser.stream.current.type == "name" and parser.stream.look().type == "assign":
                key = parser.stream.current.value
                parser.stream.skip(2)
                kwargs.append(nodes.Keyword(key, parser.parse_expression(), lineno=lineno))
            elif kwargs:
                parser.fail("push: a positional argument cannot follow a keyword argument", lineno)
            else:
                args.append(parser.parse_expression())
        if len(args) > 2:
            parser.fail(
                f"push takes an asset and an optional destination, not {len(args)} "
                f"positional arguments: {_USAGE}",
                lineno,
            )
        _warn_typos(parser, args[0], kwargs, lineno)
        self._check_constant_push(parser, args, kwargs, lineno)
        return self._push_node(parser, "push", args, kwargs, lineno)

    def _push_node(
        self,
        parser: Parser,
        tag: str,
        args: list[nodes.Expr],
        kwargs: list[nodes.Keyword],
        lineno: int,
    ) -> nodes.ExprStmt:
        # Where the push stands, as the first argument: a constant, so it costs nothing at
        # render time, and `flask push show` can say which template and line pushed what.
        origin = nodes.Const(f"{{% {tag} %}} in {parser.name or '<string>'}, line {lineno}")
        call = self.call_method("_push", [origin, *args], kwargs, lineno=lineno)
        return nodes.ExprStmt(call, lineno=lineno)

    def _parse_vite(self, parser: Parser, lineno: int) -> list[nodes.Node]:
        """``{% vite 'src/main.ts'[, option=value ...] %}``: a Vite entry pushed (as
        ``{% push %}`` would), then its ``<link>`` and ``<script>`` tags."""
        if parser.stream.current.type == "block_end":
            parser.fail(f"vite needs an entry: {_VITE_USAGE}", lineno)
        args: list[nodes.Expr] = [parser.parse_expression()]
        kwargs: list[nodes.Keyword] = []
        while parser.stream.skip_if("comma"):
            if parser.stream.current.type != "name" or parser.stream.look().type != "assign":
                parser.fail(f"vite takes one entry and options: {_VITE_USAGE}", lineno)
            key = parser.stream.current.value
            parser.stream.skip(2)
            kwargs.append(nodes.Keyword(key, parser.parse_expression(), lineno=lineno))
        if getattr(self.environment, VITE_ATTRIBUTE, None) is None:
            parser.fail("vite: set PUSH_VITE_MANIFEST to the Vite build's manifest", lineno)
        self._check_constant_push(parser, args, kwargs, lineno)
        options = nodes.Dict(
            [nodes.Pair(nodes.Const(k.key), k.value, lineno=lineno) for k in kwargs],
            lineno=lineno,
        )
        html = self.call_method("_vite_html", [args[0], options], lineno=lineno)
        return [
            self._push_node(parser, "vite", args, kwargs, lineno),
            nodes.Output([html], lineno=lineno),
        ]

    def _push(self, origin: str, asset: Any, destination: Any = None, **attributes: Any) -> str:
        recorder: Recorder | None = getattr(self.environment, RECORDER_ATTRIBUTE, None)
        if recorder is not None:
            if ENDPOINT_KEYWORD in attributes:
                endpoint = attributes.pop(ENDPOINT_KEYWORD)
                recorder(asset, destination, attributes, origin, endpoint=endpoint)
            else:
                # A recorder written before endpoint= existed keeps working.
                recorder(asset, destination, attributes, origin)
        return ""

    def _vite_html(self, entry: Any, options: dict[str, Any]) -> Any:
        render: Callable[[Any, Mapping[str, Any]], Any] | None = getattr(
            self.environment, VITE_HTML_ATTRIBUTE, None
        )
        if render is None:
            raise PushError("vite: the tags of a Vite entry need PushTemplates on a Flask app")
        return render(entry, options)

    def _check_constant_push(
        self, parser: Parser, args: list[nodes.Expr], kwargs: list[nodes.Keyword], lineno: int
    ) -> None:
        constant = _constant_arguments(args, kwargs)
        if constant is None:
            return
        asset, destination, attributes = constant
        if not isinstance(asset, str) or not (destination is None or isinstance(destination, str)):
            parser.fail(f"push: the asset and destination must be strings: {_USAGE}", lineno)
        problem = asset_problem(asset)
        if problem is not None:
            parser.fail(f"push of {asset!r}: {problem}", lineno)
        endpoint, attributes = _split_endpoint(attributes)
        if endpoint is not None:
            self._check_endpoint(parser, asset, endpoint, lineno)
            try:
                build_link(asset, destination, attributes)
            except PushError as error:
                parser.fail(str(error), lineno)
            return
        build: ViteBuild | None = getattr(self.environment, VITE_ATTRIBUTE, None)
        manifest = None if build is None else build.manifest(self.environment.auto_reload)
        try:
            if manifest is not None and destination is None and manifest.is_entry(asset):
                entry_pushes(manifest, asset, dict(attributes))  # refuses unknown options
                return
            build_link(asset, destination, attributes)
        except PushError as error:
            if (
                manifest is not None
                and destination is None
                and not manifest.is_entry(asset)
                and manifest.close_match(asset)
            ):
                # Not a file name at all, but a misspelled entry.
                parser.fail(f"push of {manifest.unknown_entry(asset)}", lineno)
            if build is not None and manifest is None:
                return  # the Vite build is not there yet: its entries are not known
            parser.fail(str(error), lineno)

    def _check_endpoint(self, parser: Parser, asset: str, endpoint: Any, lineno: int) -> None:
        try:
            check_endpoint(asset, endpoint)
        except PushError as error:
            parser.fail(str(error), lineno)
        problem: Callable[[str], str | None] | None = getattr(
            self.environment, ENDPOINTS_ATTRIBUTE, None
        )
        message = None if problem is None else problem(endpoint)
        if message is not None:
            parser.fail(f"push of {asset!r}: {message}", lineno)


def _split_endpoint(
    attributes: tuple[tuple[str, Any], ...],
) -> tuple[Any, tuple[tuple[str, Any], ...]]:
    """A push's ``endpoint`` keyword (``None`` if it has none) and its link attributes."""
    endpoint = None
    rest = []
    for name, value in attributes:
        if name == ENDPOINT_KEYWORD:
            endpoint = value
        else:
            rest.append((name, value))
    return endpoint, tuple(rest)


def _warn_typos(
    parser: Parser, asset: nodes.Expr, kwargs: list[nodes.Keyword], lineno: int
) -> None:
    """A :class:`~.errors.PushWarning` at the template's line for each misspelled attribute
    name: the names are known when the template compiles, whatever the values."""
    what = f"push of {asset.value!r}" if isinstance(asset, nodes.Const) else "push"
    for typo in attribute_typos(keyword.key for keyword in kwargs):
        warnings.warn_explicit(
            f"{what}: {typo}",
            PushWarning,
            filename=parser.filename or parser.name or "<template>",
            lineno=lineno,
        )


def _constant_arguments(
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


def static_push(call: nodes.Call) -> AssetPush | None:
    """The push ``call`` makes, if it is a ``{% push %}`` whose arguments are all constants."""
    target = call.node
    if not (
        isinstance(target, nodes.ExtensionAttribute)
        and target.identifier == PushExtension.identifier
        and target.name == "_push"
    ):
        return None
    constant = _constant_arguments(call.args[1:], call.kwargs)  # args[0] is the origin
    if constant is None:
        return None
    asset, destination, attributes = constant
    endpoint, attributes = _split_endpoint(attributes)
    if (
        isinstance(asset, str)
        and (destination is None or isinstance(destination, str))
        and (endpoint is None or isinstance(endpoint, str))
    ):
        return AssetPush(asset, destination, attributes, endpoint)
    return None


def static_pushes(tree: nodes.Template) -> Iterator[tuple[int, AssetPush]]:
    """Every constant push in a parsed template, wherever it stands, with its line."""
    for call in tree.find_all(nodes.Call):
        push = static_push(call)
        if push is not None:
            yield call.lineno, push


@functools.lru_cache(maxsize=8)
class _AnglePushes:
    """Rewrites ``<% push ... %>`` as the block tag, leaving raw blocks untouched.

    A scan, not one regular expression over the source: each search starts where the last
    ended and none is repeated, so that it stays linear on what it cannot close (a 40 KB
    template of unclosed ``<% push`` tags once took seconds with a regex).
    """

    _ANGLE = re.compile(r"<%[ \t]*push[ \t\r\n]")

    def __init__(self, block_start: str, block_end: str) -> None:
        start, end = re.escape(block_start), re.escape(block_end)
        self.start, self.end = block_start, block_end
        self.raw = re.compile(rf"{start}-?\s*raw\s*-?{end}")
        self.endraw = re.compile(rf"{start}-?\s*endraw\s*-?{end}")

    def rewrite(self, source: str) -> str:
        out: list[str] = []
        pos = 0
        raw = self.raw.search(source)
        while True:
            if raw is not None and raw.start() < pos:
                raw = self.raw.search(source, pos)
            angle = source.find("<%", pos)
            if angle < 0 and raw is None:
                break
            if raw is not None and (angle < 0 or raw.start() <= angle):
                closing = self.endraw.search(source, raw.end())
                if closing is None:
                    # Unclosed (Jinja reports it), and so is every later one: no more raws.
                    raw = None
                    continue
                out.append(source[pos : closing.end()])
                pos = closing.end()
                continue
            tag = self._ANGLE.match(source, angle)
            if tag is None:
                out.append(source[pos : angle + 2])
                pos = angle + 2
                continue
            body_start = tag.end() - 1  # the whitespace after "push" belongs to the body
            close = source.find("%>", body_start)
            if close < 0:
                break  # no later tag can close either
            body = source[body_start:close]
            out.append(f"{source[pos:angle]}{self.start} push{body}{self.end}")
            pos = close + 2
        out.append(source[pos:])
        return "".join(out)
