"""Fronts that serve static files and relay 103 Early Hints: Caddy and Apache over TLS.

A front is what production sites put before gunicorn: it answers ``/static/...`` from
disk itself and proxies everything else to the app over HTTP/1.1, relaying the app's
``103 Early Hints`` to the browser over HTTP/2. Each front runs the configuration file
under ``tests/e2e/fronts/`` unchanged (:data:`CONFIG_FILES`): the files take their
addresses and paths from environment variables, which both Caddy (``{$NAME}``) and
Apache (``${NAME}``) substitute themselves, so the README can print the very file that
the tests and the page-load benchmark run. Around Apache's file only what Debian's own
``apache2.conf`` would provide is added (modules, ``TypesConfig``, the TLS session cache,
pid file, error log, user).

Use them like::

    with example_gunicorn(app) as upstream, \\
            caddy_front(upstream.port, STATIC_PARENT, pki.server) as front:
        load = browser.load_page(chromium, front.url("/"))
        front.requests()  # Counter of request targets from the front's access log
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from .parts import find_binary
from .processes import LOOPBACK, RunningServer, serve
from .servers import SERVICE_USER, apache_main_config, check_apache_modules
from .tls import ServerCertificate

FrontName = Literal["caddy", "apache"]
FRONTS: tuple[FrontName, ...] = ("caddy", "apache")

CONFIG_DIR = Path(__file__).resolve().parent / "fronts"
#: The configuration each front runs, verbatim.
CONFIG_FILES: dict[FrontName, Path] = {
    "caddy": CONFIG_DIR / "Caddyfile",
    "apache": CONFIG_DIR / "apache-site.conf",
}

#: What apache-site.conf needs, besides the MPM and access control.
APACHE_MODULES = {
    "mpm_event_module": "mod_mpm_event.so",
    "authz_core_module": "mod_authz_core.so",
    "mime_module": "mod_mime.so",
    "alias_module": "mod_alias.so",
    "headers_module": "mod_headers.so",
    "socache_shmcb_module": "mod_socache_shmcb.so",
    "ssl_module": "mod_ssl.so",
    "http2_module": "mod_http2.so",
    "proxy_module": "mod_proxy.so",
    "proxy_http_module": "mod_proxy_http.so",
}
ACCESS_LOG = "access.log"


@dataclass(frozen=True)
class Front:
    """A running front: its server, and what its access log says."""

    server: RunningServer

    @property
    def name(self) -> str:
        return self.server.name

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str = "/") -> str:
        return self.server.url(path)

    @property
    def access_log(self) -> Path:
        return self.server.workdir / ACCESS_LOG

    def requests(self) -> Counter[str]:
        """How many times each request target (path and query) reached the front."""
        return Counter(target for target, _protocol in self.requests_with_protocol())

    def requests_with_protocol(self) -> list[tuple[str, str]]:
        """(request target, protocol) of every logged request, in log order."""
        try:
            text = self.access_log.read_text(errors="replace")
        except FileNotFoundError:
            return []
        if self.name == "caddy":
            entries = [json.loads(line) for line in text.splitlines() if line.strip()]
            return [
                (entry["request"]["uri"], entry["request"]["proto"])
                for entry in entries
                if "request" in entry
            ]
        # apache-site.conf's format: %h "%r" %>s %B %D
        return re.findall(r'"[A-Z]+ (\S+) (\S+)"', text)


def environment(
    front_port: int, upstream_port: int, static_parent: Path, cert: ServerCertificate, workdir: Path
) -> dict[str, str]:
    """The variables the configuration files read."""
    return {
        "FRONT_ADDRESS": f"{LOOPBACK}:{front_port}",
        "TLS_CERT": str(cert.cert),
        "TLS_KEY": str(cert.key),
        "STATIC_PARENT": str(static_parent),
        "APP_ADDRESS": f"{LOOPBACK}:{upstream_port}",
        "ACCESS_LOG": str(workdir / ACCESS_LOG),
    }


@contextlib.contextmanager
def front(
    name: FrontName,
    upstream_port: int,
    static_parent: Path,
    cert: ServerCertificate,
    *,
    startup_timeout: float = 15.0,
) -> Iterator[Front]:
    """Start front *name* on a free port before ``127.0.0.1:upstream_port``."""
    start = caddy_front if name == "caddy" else apache_front
    with start(upstream_port, static_parent, cert, startup_timeout=startup_timeout) as running:
        yield running


@contextlib.contextmanager
def caddy_front(
    upstream_port: int,
    static_parent: Path,
    cert: ServerCertificate,
    *,
    startup_timeout: float = 15.0,
) -> Iterator[Front]:
    """Caddy (Debian ``caddy`` 2.6) running ``fronts/Caddyfile``."""
    caddy = find_binary("caddy")
    variables: dict[str, str] = {}

    def argv(port: int, workdir: Path) -> list[str]:
        variables.clear()
        variables.update(environment(port, upstream_port, static_parent, cert, workdir))
        # Caddy keeps its state (locks, certificates) under these; keep them per instance.
        variables.update(
            HOME=str(workdir), XDG_DATA_HOME=str(workdir), XDG_CONFIG_HOME=str(workdir)
        )
        return [caddy, "run", "--config", str(CONFIG_FILES["caddy"]), "--adapter", "caddyfile"]

    with serve(
        "caddy",
        argv,
        scheme="https",
        # Filled in by argv(), which serve() calls before it starts the process.
        env=variables,
        diagnostic_files=(ACCESS_LOG,),
        startup_timeout=startup_timeout,
        stop_signal=signal.SIGTERM,
    ) as server:
        yield Front(server)


@contextlib.contextmanager
def apache_front(
    upstream_port: int,
    static_parent: Path,
    cert: ServerCertificate,
    *,
    startup_timeout: float = 15.0,
) -> Iterator[Front]:
    """Apache 2.4 (Debian ``apache2``) running ``fronts/apache-site.conf``."""
    apache2 = find_binary("apache2")
    check_apache_modules(APACHE_MODULES)
    variables: dict[str, str] = {}

    def argv(port: int, workdir: Path) -> list[str]:
        variables.clear()
        variables.update(environment(port, upstream_port, static_parent, cert, workdir))
        config = apache_main_config(workdir, APACHE_MODULES) + (
            "TypesConfig /etc/mime.types\n"
            f"SSLSessionCache shmcb:{workdir}/ssl_scache(512000)\n"
            f"Include {CONFIG_FILES['apache']}\n"
        )
        (workdir / "httpd.conf").write_text(config)
        return [apache2, "-f", str(workdir / "httpd.conf"), "-DFOREGROUND"]

    with serve(
        "apache",
        argv,
        scheme="https",
        # Filled in by argv(), which serve() calls before it starts the process.
        env=variables,
        workdir_owner=SERVICE_USER if os.geteuid() == 0 else None,
        diagnostic_files=("error.log", "httpd.conf"),
        startup_timeout=startup_timeout,
    ) as server:
        yield Front(server)
