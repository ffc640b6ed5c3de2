"""Template-aware Link preload headers, HTTP/2 push and 103 Early Hints for Flask."""

from .decorator import http2push
from .errors import ConfigError, ManifestError, PushError, PushWarning
from .extension import PushTemplates
from .functions import push_link_tags, push_url, push_url_for
from .jinja_ext import PushExtension
from .links import Link

__version__ = "0.2.0"

__all__ = [
    "ConfigError",
    "Link",
    "ManifestError",
    "PushError",
    "PushExtension",
    "PushTemplates",
    "PushWarning",
    "http2push",
    "push_link_tags",
    "push_url",
    "push_url_for",
]
