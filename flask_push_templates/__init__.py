"""Template-aware Link preload headers, HTTP/2 push and 103 Early Hints for Flask."""

__version__ = "0.1.0"
