"""``flask push``: generate, check and explain the app's pushes from the command line.

``init_app`` registers the group, so every app that uses the extension has::

    flask push manifest [URL ...] [-o FILE] [--early-hints FILE] [--check]
    flask push check [--pages [URL ...]]
    flask push show URL

Only this module is imported with the package: the commands and their engines (the
crawler, the HTML and CSS scanner, the manifest writer, the checker, the explainer) are
imported when a command runs, so that a worker serving pages never loads them.
"""

from __future__ import annotations

import click
from flask.cli import AppGroup

#: The commands, in the order ``--help`` lists them.
COMMAND_NAMES = ("manifest", "check", "show")


class _LazyPushGroup(AppGroup):
    """An ``AppGroup`` whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMAND_NAMES)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMAND_NAMES:
            return None
        from . import commands  # the deferred import this module exists for

        return commands.push_commands.commands.get(cmd_name)


push_cli = _LazyPushGroup(
    "push", help="Generate, check and explain the Link preload headers of the app's pages."
)
