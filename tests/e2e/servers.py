"""Real HTTP servers for end-to-end tests: gunicorn, Apache and nginx.

Each helper is a context manager that writes its configuration into a fresh
temporary directory, starts the server in the foreground on a free loopback
port, waits until the port accepts connections and stops the server (and its
workers) on exit.  Use them like::

    with gunicorn_server("sample_wsgi:app", cwd=HERE) as app, \\
            nginx_proxy(app.port) as proxy:
        response = h2client.get(proxy.url("/"))

Missing programs raise :class:`MissingPart` naming them; call
:func:`require` first in a test to turn that into a skip (a failure in CI).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Literal

from .parts import MissingPart, find_binary, find_module, in_ci, require
from .processes import LOOPBACK, RunningServer, ServerStartError, free_port, serve, wait_for_port
from .tls import (
    CertificateAuthority,
    Pki,
    ServerCertificate,
    make_ca,
    make_nss_home,
    make_server_certificate,
    throwaway_pki,
)

__all__ = [
    "LOOPBACK",
    "SERVICE_USER",
    "CertificateAuthority",
    "MissingPart",
    "Pki",
    "Protocol",
    "RunningServer",
    "ServerCertificate",
    "ServerStartError",
    "WorkerClass",
    "apache_main_config",
    "apache_proxy",
    "check_apache_modules",
    "find_binary",
    "free_port",
    "gunicorn_server",
    "in_ci",
    "make_ca",
    "make_nss_home",
    "make_server_certificate",
    "nginx_proxy",
    "require",
    "throwaway_pki",
    "wait_for_port",
]

Protocol = Literal["h1", "h2c", "h2"]
WorkerClass = Literal["sync", "gthread"]

# Servers started as root switch their workers to this user (Debian's default).
SERVICE_USER = "www-data"
_APACHE_MODULES = Path("/usr/lib/apache2/modules")

# gunicorn's master listens before any worker has imported the app, so a
# broken app would look "up" and die a moment later.  This config file has
# each worker leave a marker once the app is loaded; passing it with -c also
# keeps a stray gunicorn.conf.py in the working directory from being read.
_GUNICORN_CONFIG = """\
import os


def post_worker_init(worker):
    open(os.path.join({workdir!r}, "worker-ready.%d" % os.getpid()), "w").close()
"""


@contextlib.contextmanager
def gunicorn_server(
    app: str,
    *,
    cwd: str | os.PathLike[str] | None = None,
    pythonpath: Sequence[str | os.PathLike[str]] = (),
    env: Mapping[str, str] | None = None,
    worker_class: WorkerClass = "sync",
    threads: int = 1,
    workers: int = 1,
    protocol: Protocol = "h1",
    certfile: str | os.PathLike[str] | None = None,
    keyfile: str | os.PathLike[str] | None = None,
    port: int | None = None,
    extra_args: Sequence[str] = (),
    startup_timeout: float = 20.0,
) -> Iterator[RunningServer]:
    """Serve WSGI *app* (``"module:attribute"``) with gunicorn on loopback.

    *protocol*: ``"h1"`` is HTTP/1.1 (over TLS too when *certfile* is given),
    ``"h2c"`` cleartext HTTP/2 with prior knowledge, ``"h2"`` HTTP/2 over TLS
    (ALPN ``h2,http/1.1``; needs *certfile* and *keyfile*).  HTTP/2 needs the
    gthread worker: gunicorn's sync worker only logs a warning and falls back
    to HTTP/1.1, which would make a test pass for the wrong reason.
    """
    find_module("gunicorn")
    tls = certfile is not None or keyfile is not None
    if tls and (certfile is None or keyfile is None):
        raise ValueError("TLS needs both certfile and keyfile")
    if protocol != "h1":
        find_module("h2")
        if worker_class == "sync":
            raise ValueError(f"protocol {protocol!r} needs worker_class='gthread'")
    if protocol == "h2" and not tls:
        raise ValueError("protocol 'h2' is HTTP/2 over TLS: pass certfile and keyfile")
    if protocol == "h2c" and tls:
        # gunicorn ignores --http2-cleartext once TLS is configured.
        raise ValueError("protocol 'h2c' is cleartext: do not pass certfile/keyfile")
    if worker_class == "sync" and threads != 1:
        # gunicorn would silently switch to gthread; make the caller say so.
        raise ValueError("threads > 1 needs worker_class='gthread'")

    options = {
        "h1": [],
        "h2c": ["--http-protocols", "h2,h1", "--http2-cleartext", "prior-knowledge"],
        "h2": ["--http-protocols", "h2,h1"],
    }[protocol]
    if tls:
        options += ["--certfile", os.fspath(certfile or ""), "--keyfile", os.fspath(keyfile or "")]

    paths = [os.fspath(p) for p in pythonpath]
    if os.environ.get("PYTHONPATH"):
        paths.append(os.environ["PYTHONPATH"])
    child_env = {"PYTHONUNBUFFERED": "1", **(env or {})}
    if paths:
        child_env["PYTHONPATH"] = os.pathsep.join(paths)

    def argv(port: int, workdir: Path) -> list[str]:
        config = workdir / "gunicorn.conf.py"
        config.write_text(_GUNICORN_CONFIG.format(workdir=str(workdir)))
        return [
            # The running interpreter, so gunicorn sees the same packages.
            sys.executable, "-m", "gunicorn",
            "--config", str(config),
            "--bind", f"{LOOPBACK}:{port}",
            "--workers", str(workers),
            "--worker-class", worker_class,
            "--threads", str(threads),
            # Without this, gunicorn 27 shares one control socket under
            # $HOME and a second instance fails to start.
            "--no-control-socket",
            "--graceful-timeout", "3",
            "--error-logfile", "-",
            "--access-logfile", "-",
            *options,
            *extra_args,
            app,
        ]  # fmt: skip

    with serve(
        "gunicorn",
        argv,
        scheme="https" if tls else "http",
        port=port,
        cwd=cwd,
        env=child_env,
        ready=lambda workdir: len(list(workdir.glob("worker-ready.*"))) >= workers,
        startup_timeout=startup_timeout,
    ) as server:
        yield server


def check_apache_modules(modules: Mapping[str, str]) -> None:
    """Raise :class:`MissingPart` unless every module file (module name: file) exists."""
    for filename in modules.values():
        if not (_APACHE_MODULES / filename).is_file():
            raise MissingPart(
                f"Apache module {_APACHE_MODULES / filename} not found (Debian package 'apache2')"
            )


def apache_main_config(workdir: Path, modules: Mapping[str, str]) -> str:
    """Process plumbing for ``apache2 -f``: everything under *workdir*, *modules* loaded.

    Apache started as root hands requests to children running as www-data, so
    *workdir* must be owned by that user (``serve(workdir_owner=...)``).
    """
    load = "\n".join(f"LoadModule {m} {_APACHE_MODULES / f}" for m, f in modules.items())
    user = f"User {SERVICE_USER}\nGroup {SERVICE_USER}\n" if os.geteuid() == 0 else ""
    return f"""\
ServerRoot /etc/apache2
ServerName localhost
{user}PidFile {workdir}/httpd.pid
ErrorLog {workdir}/error.log
LogLevel warn
DefaultRuntimeDir {workdir}
Mutex file:{workdir} default
{load}
# One small child process: enough for tests and benchmarks, quick to start on 2 cores.
StartServers 1
ServerLimit 2
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 75
MaxRequestWorkers 50
"""


@contextlib.contextmanager
def apache_proxy(
    upstream_port: int,
    *,
    push: bool = True,
    early_hints: bool = True,
    extra_config: str = "",
    port: int | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[RunningServer]:
    """Run Apache 2.4 mod_http2 as a reverse proxy to ``127.0.0.1:upstream_port``.

    It speaks cleartext HTTP/2 with prior knowledge (and HTTP/1.1) on its own
    port, pushes resources named in upstream ``Link: rel=preload`` headers
    (``H2Push``) and forwards upstream 103 responses (``H2EarlyHints``).
    *extra_config* is appended inside the ``<VirtualHost>``.
    """
    apache2 = find_binary("apache2")
    modules = {
        "mpm_event_module": "mod_mpm_event.so",
        "authz_core_module": "mod_authz_core.so",
        "http2_module": "mod_http2.so",
        "proxy_module": "mod_proxy.so",
        "proxy_http_module": "mod_proxy_http.so",
    }
    check_apache_modules(modules)
    as_root = os.geteuid() == 0

    def argv(port: int, workdir: Path) -> list[str]:
        config = (
            apache_main_config(workdir, modules)
            + f"""\
Listen {LOOPBACK}:{port}
<VirtualHost {LOOPBACK}:{port}>
  Protocols h2c http/1.1
  H2Direct on
  H2Push {"on" if push else "off"}
  H2EarlyHints {"on" if early_hints else "off"}
  ProxyPass / http://{LOOPBACK}:{upstream_port}/
  ProxyPassReverse / http://{LOOPBACK}:{upstream_port}/
{extra_config}
</VirtualHost>
"""
        )
        (workdir / "httpd.conf").write_text(config)
        return [apache2, "-f", str(workdir / "httpd.conf"), "-DFOREGROUND"]

    with serve(
        "apache",
        argv,
        port=port,
        workdir_owner=SERVICE_USER if as_root else None,
        diagnostic_files=("error.log", "httpd.conf"),
        startup_timeout=startup_timeout,
    ) as server:
        yield server


@contextlib.contextmanager
def nginx_proxy(
    upstream_port: int,
    *,
    push_preload: bool = True,
    extra_config: str = "",
    port: int | None = None,
    startup_timeout: float = 15.0,
) -> Iterator[RunningServer]:
    """Run nginx as a reverse proxy to ``127.0.0.1:upstream_port``.

    It speaks cleartext HTTP/2 with prior knowledge only (``listen … http2``
    without ``ssl``) and pushes resources named in upstream ``Link:
    rel=preload`` headers (``http2_push_preload``; nginx 1.22, removed in
    1.25.1).  Proxy buffer sizes stay at nginx's defaults on purpose: tests
    rely on them to check that our headers fit.  *extra_config* is appended
    inside ``location /``.
    """
    nginx = find_binary("nginx")
    as_root = os.geteuid() == 0

    def argv(port: int, workdir: Path) -> list[str]:
        user = f"user {SERVICE_USER} {SERVICE_USER};\n" if as_root else ""
        # Every path nginx writes to lives in workdir, so nothing touches
        # /var/lib/nginx or /var/log/nginx and instances cannot collide.
        config = f"""\
{user}daemon off;
master_process on;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/error.log notice;
events {{ worker_connections 128; }}
http {{
  access_log {workdir}/access.log;
  client_body_temp_path {workdir}/client_body_temp;
  proxy_temp_path {workdir}/proxy_temp;
  fastcgi_temp_path {workdir}/fastcgi_temp;
  uwsgi_temp_path {workdir}/uwsgi_temp;
  scgi_temp_path {workdir}/scgi_temp;
  server {{
    listen {LOOPBACK}:{port} http2;
    http2_push_preload {"on" if push_preload else "off"};
    location / {{
      proxy_pass http://{LOOPBACK}:{upstream_port};
      proxy_http_version 1.1;
{extra_config}
    }}
  }}
}}
"""
        (workdir / "nginx.conf").write_text(config)
        # -e: the compiled-in error log is used until the config is read.
        return [nginx, "-p", str(workdir), "-c", str(workdir / "nginx.conf"),
                "-e", str(workdir / "error.log")]  # fmt: skip

    with serve(
        "nginx",
        argv,
        port=port,
        workdir_owner=SERVICE_USER if as_root else None,
        diagnostic_files=("error.log", "nginx.conf"),
        startup_timeout=startup_timeout,
        # SIGTERM is nginx's fast shutdown; SIGQUIT would wait for clients.
        stop_signal=signal.SIGTERM,
    ) as server:
        yield server
