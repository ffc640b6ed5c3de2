"""The package as a whole: its layers, its import graph, and what importing it loads."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from jinja2 import Environment, TemplateSyntaxError

import flask_push_templates
from flask_push_templates import PushExtension

PACKAGE = Path(flask_push_templates.__file__).parent

#: The layer that imports no Flask (its modules' docstrings say "Pure").
PURE = {
    "attributes",
    "destinations",
    "errors",
    "jinja_ext",
    "learning",
    "links",
    "linkset",
    "manifest",
    "pushes",
    "settings",
    "templates",
    "uri",
    "vite",
}

#: What only `flask push` needs: never loaded by a worker serving pages.
TOOLING = {"html.parser"} | {
    f"flask_push_templates.cli.{name}"
    for name in ("commands", "crawl", "asset_scan", "manifest_writer", "checks", "provenance")
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """Every module of the package that ``path`` imports, and every outside top-level
    package it imports: anywhere in the file, inside functions and under TYPE_CHECKING."""
    return imports_in(path.read_text(encoding="utf-8"), module_name(path), path.name)


def imports_in(source: str, this: str, filename: str) -> tuple[set[str], set[str]]:
    own, outside = set(), set()
    package = this if filename == "__init__.py" else this.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("flask_push_templates"):
                    own.add(alias.name.removeprefix("flask_push_templates").lstrip("."))
                else:
                    outside.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if (node.module or "").startswith("flask_push_templates"):
                    own.add((node.module or "").removeprefix("flask_push_templates").lstrip("."))
                else:
                    outside.add((node.module or "").split(".")[0])
                continue
            base = package.split(".") if package else []
            base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
            target = ".".join([*base, *([node.module] if node.module else [])])
            # `from . import x` needs only the (enclosing) package object, which importing
            # any submodule imports first: x is the dependency, not the package.
            if node.module is not None:
                own.add(target)
            # `from . import x` and `from .pkg import x` may name modules too.
            own.update(f"{target}.{alias.name}".lstrip(".") for alias in node.names)
    known = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {name for name in own if name in known and name != this}, outside


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imports_of(path)[0] for path in PACKAGE.rglob("*.py")}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the graph as a path that ends where it starts, or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == 1:
                return [*path[path.index(successor) :], successor]
            if successor not in state:
                found = visit(successor)
                if found is not None:
                    return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found is not None:
                return found
    return None


def test_the_cycle_finder_finds_cycles() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_import_graph_sees_deferred_and_type_checking_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from . import push_once\n"
        "import flask\n"
        "if TYPE_CHECKING:\n"
        "    from .settings import Settings\n"
        "def later():\n"
        "    from .cli import commands\n"
    )
    own, outside = imports_in(source, "headers", "headers.py")
    assert own == {"push_once", "settings", "cli", "cli.commands"}
    assert outside == {"typing", "flask"}
    source = "from ..links import Link\nfrom . import crawl\n"
    own, _ = imports_in(source, "cli.checks", "checks.py")
    assert own == {"links", "cli.crawl"}
    # The lazy `flask push` group imports its commands inside a method.
    assert "cli.commands" in imports_of(PACKAGE / "cli" / "__init__.py")[0]


def test_no_module_of_the_package_imports_itself_back() -> None:
    assert find_cycle(import_graph()) is None


def test_the_pure_layer_imports_no_flask_and_only_pure_modules() -> None:
    graph = import_graph()
    assert set(graph) >= PURE
    for name in sorted(PURE):
        path = PACKAGE / f"{name}.py"
        own, outside = imports_of(path)
        assert "flask" not in outside, f"{name} imports Flask"
        assert own <= PURE, f"{name} imports {sorted(own - PURE)}, outside the pure layer"
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
        assert "Pure" in docstring, f"{name}'s docstring does not state its layer"


def test_importing_the_package_and_serving_loads_no_tooling() -> None:
    code = (
        "import sys\n"
        "from flask import Flask, render_template_string\n"
        "import flask_push_templates as push\n"
        "app = Flask('worker')\n"
        "push.PushTemplates(app)\n"
        "app.add_url_rule('/', 'index', lambda: render_template_string(\"{% push 'a.css' %}\"))\n"
        "assert app.test_client().get('/').headers['Link']\n"
        "print(sorted(name for name in sys.modules if name in TOOLING))\n"
    ).replace("TOOLING", repr(TOOLING))
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=PACKAGE.parent,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def test_the_flask_push_commands_load_when_asked_for() -> None:
    from flask import Flask
    from flask.testing import FlaskCliRunner

    app = Flask("cli")
    flask_push_templates.PushTemplates(app)
    result = FlaskCliRunner(app).invoke(args=["push", "--help"])
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.split("Commands:")[1].splitlines()[1:]] == [
        "manifest",
        "check",
        "show",
    ]
    assert "flask_push_templates.cli.commands" in sys.modules


def test_push_extension_renders_in_a_plain_jinja_environment_recording_nothing() -> None:
    env = Environment(extensions=[PushExtension])
    assert env.from_string("{% push 'app.css' %}x<% push 'fonts/a.woff2' %>").render() == "x"
    assert env.push_templates_recorder is None  # type: ignore[attr-defined]
    with pytest.raises(TemplateSyntaxError, match="unknown destination 'styel'"):
        env.from_string("{% push 'app.css', 'styel' %}")


def test_push_extension_in_plain_jinja_hands_pushes_to_the_environment_recorder() -> None:
    env = Environment(extensions=[PushExtension])
    seen: list[tuple[object, ...]] = []
    env.push_templates_recorder = lambda *args: seen.append(args)  # type: ignore[attr-defined]
    template = env.from_string("\n{% push name, 'font', crossorigin=True %}")
    assert template.render(name="a.woff2") == "\n"
    assert seen == [("a.woff2", "font", {"crossorigin": True}, "{% push %} in <string>, line 2")]
