"""The ``{% push %}`` tag (also spelled ``<% push %>``), as a Jinja extension."""

from __future__ import annotations

import functools
import re
from typing import Any

from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.parser import Parser

from .errors import PushError
from .links import build_link
from .recording import record_push
from .templates import constant_push

_USAGE = "{% push 'app.css' %} or {% push 'fonts/x.woff2', 'font', crossorigin=True %}"


class PushExtension(Extension):
    """Adds the ``push`` tag: ``{% push asset[, destination][, name=value ...] %}``.

    The tag renders nothing; it records the asset for the response's ``Link`` header. Any
    expression may be an argument. When all of them are constants, the push is validated
    when the template is compiled, so a bad destination is reported with its line.

    ``<% push 'app.css' %>`` is the same tag: it is rewritten to the block syntax before
    lexing, only where ``<%`` is directly followed by the word ``push``, so that underscore
    or EJS templates embedded in a page keep their own ``<% %>`` tags.
    """

    tags = {"push"}  # noqa: RUF012 (declared by Jinja's Extension)

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        if "<%" not in source:
            return source
        env = self.environment
        pattern = _angle_push_pattern(env.block_start_string, env.block_end_string)
        return pattern.sub(
            lambda match: (
                match.group("raw")
                or f"{env.block_start_string} push{match.group('body')}{env.block_end_string}"
            ),
            source,
        )

    def parse(self, parser: Parser) -> nodes.Node:
        lineno = next(parser.stream).lineno
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
        self._check_constant_push(parser, args, kwargs, lineno)
        call = self.call_method("_push", args, kwargs, lineno=lineno)
        return nodes.ExprStmt(call, lineno=lineno)

    @staticmethod
    def _check_constant_push(
        parser: Parser, args: list[nodes.Expr], kwargs: list[nodes.Keyword], lineno: int
    ) -> None:
        constant = constant_push(args, kwargs)
        if constant is None:
            return
        asset, destination, attributes = constant
        if not isinstance(asset, str) or not (destination is None or isinstance(destination, str)):
            parser.fail(f"push: the asset and destination must be strings: {_USAGE}", lineno)
        try:
            build_link(asset, destination, attributes)
        except PushError as error:
            parser.fail(str(error), lineno)

    def _push(self, asset: Any, destination: Any = None, **attributes: Any) -> str:
        record_push(asset, destination, attributes)
        return ""


@functools.lru_cache(maxsize=8)
def _angle_push_pattern(block_start: str, block_end: str) -> re.Pattern[str]:
    start, end = re.escape(block_start), re.escape(block_end)
    # Raw blocks are matched first and given back untouched.
    raw = rf"(?P<raw>{start}-?\s*raw\s*-?{end}.*?{start}-?\s*endraw\s*-?{end})"
    angle = r"<%[ \t]*push(?P<body>[ \t\r\n](?:(?!%>).)*?)%>"
    return re.compile(f"{raw}|{angle}", re.DOTALL)
