"""The exceptions this package raises (all are ``ValueError`` subclasses), and the category
of its warnings. Pure."""

from __future__ import annotations


class PushError(ValueError):
    """A push cannot be turned into a link: the message names the value and the choices."""


class ManifestError(PushError):
    """A manifest file is missing, malformed or has an invalid entry (message names the file)."""


class ConfigError(PushError):
    """A ``PUSH_*`` configuration value is invalid (message names the key)."""


class PushWarning(UserWarning):
    """A push or a setting is probably not what was meant (a misspelled attribute name or
    ``PUSH_*`` key): the message names it and the close match."""
