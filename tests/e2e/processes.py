"""Start real server processes on loopback, wait until they listen, stop them.

Everything here is generic; :mod:`servers` knows how to configure gunicorn,
Apache and nginx on top of it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOOPBACK = "127.0.0.1"

# Set E2E_KEEP_WORKDIRS=1 to keep configs and logs after a run, for debugging.
_KEEP_WORKDIRS = os.environ.get("E2E_KEEP_WORKDIRS", "") == "1"

# How many fresh ports to try: free_port() closes its probe socket before the
# server binds, so another process may grab the port in between.
_PORT_ATTEMPTS = 3


class ServerStartError(RuntimeError):
    """A server process exited or never listened; the message holds its logs."""


@dataclass(frozen=True)
class RunningServer:
    """A live server process listening on ``127.0.0.1:port``."""

    name: str
    port: int
    scheme: str
    pid: int
    workdir: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{LOOPBACK}:{self.port}"

    def url(self, path: str = "/") -> str:
        """Absolute URL of *path* on this server."""
        return self.base_url + path

    def log(self) -> str:
        """Everything the process wrote to stdout and stderr so far."""
        return _read(self.log_path)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


def port_accepts(port: int, host: str = LOOPBACK) -> bool:
    """Whether a TCP connection to *host*:*port* succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for_port(
    port: int,
    *,
    process: subprocess.Popen[bytes] | None = None,
    timeout: float = 15.0,
    ready: Callable[[], bool] = lambda: True,
    describe: Callable[[], str] = lambda: "",
) -> None:
    """Block until *port* accepts connections and ``ready()`` is true.

    Raise :class:`ServerStartError` if *process* exits first or *timeout*
    seconds pass; ``describe()`` supplies the logs to put in the message.
    """
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise ServerStartError(
                f"process {process.args!r} exited with status {process.returncode} "
                f"before listening on port {port}\n{describe()}"
            )
        if port_accepts(port) and ready():
            return
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"{LOOPBACK}:{port} not listening or not ready within {timeout} s\n{describe()}"
            )
        time.sleep(0.05)


@contextlib.contextmanager
def serve(
    name: str,
    build_argv: Callable[[int, Path], Sequence[str]],
    *,
    scheme: str = "http",
    port: int | None = None,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    workdir_owner: str | None = None,
    ready: Callable[[Path], bool] | None = None,
    diagnostic_files: Sequence[str] = (),
    startup_timeout: float = 15.0,
    stop_signal: int = signal.SIGTERM,
    stop_timeout: float = 10.0,
) -> Iterator[RunningServer]:
    """Run ``build_argv(port, workdir)`` in the background until the block ends.

    *workdir* is a fresh temporary directory for configs and logs (chowned to
    *workdir_owner* when given, for servers that drop privileges); the
    process's own output goes to ``workdir/process.log``.  If given,
    ``ready(workdir)`` must also be true before the block runs: a listening
    port alone can come before the application has loaded.  *diagnostic_files*
    (relative to *workdir*) are added to error messages, e.g. an error log.
    With no *port*, a free one is picked, and another if the first was taken.
    """
    attempts = 1 if port is not None else _PORT_ATTEMPTS
    for attempt in range(1, attempts + 1):
        chosen = port if port is not None else free_port()
        workdir = Path(tempfile.mkdtemp(prefix=f"e2e-{name}-"))
        try:
            if workdir_owner is not None:
                # mkdtemp makes the directory 0700: a worker running as
                # another user could not write its logs, locks or temp files.
                shutil.chown(workdir, workdir_owner, workdir_owner)
            argv = list(build_argv(chosen, workdir))
            server, process = _start(name, argv, chosen, scheme, workdir, cwd, env)
            try:
                wait_for_port(
                    chosen,
                    process=process,
                    timeout=startup_timeout,
                    ready=(lambda: True) if ready is None else functools.partial(ready, workdir),
                    describe=functools.partial(_describe, workdir, diagnostic_files),
                )
            except ServerStartError as error:
                _stop(process, stop_signal, stop_timeout)
                if attempt < attempts and "in use" in str(error):
                    continue
                raise ServerStartError(f"{name} did not start: {error}") from None
            try:
                yield server
            finally:
                _stop(process, stop_signal, stop_timeout)
            return
        finally:
            if not _KEEP_WORKDIRS:
                shutil.rmtree(workdir, ignore_errors=True)


def _start(
    name: str,
    argv: list[str],
    port: int,
    scheme: str,
    workdir: Path,
    cwd: str | os.PathLike[str] | None,
    env: Mapping[str, str] | None,
) -> tuple[RunningServer, subprocess.Popen[bytes]]:
    log_path = workdir / "process.log"
    with log_path.open("wb") as log:
        # The child keeps its own copy of the descriptor, so closing ours now
        # is safe.  A new session makes the server a process-group leader,
        # which lets _stop() reach workers that outlive their master.
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = RunningServer(name, port, scheme, process.pid, workdir, log_path)
    return server, process


def _stop(process: subprocess.Popen[bytes], stop_signal: int, timeout: float) -> None:
    """Ask the server to stop, then kill its process group if it lingers."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)
    # The group id is the pid of the process we started (start_new_session),
    # so this only ever reaches that server and its own children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _describe(workdir: Path, diagnostic_files: Sequence[str]) -> str:
    parts = [f"--- {workdir / 'process.log'} ---\n{_read(workdir / 'process.log')}"]
    parts += [f"--- {workdir / f} ---\n{_read(workdir / f)}" for f in diagnostic_files]
    return "\n".join(parts)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except FileNotFoundError:
        return "(no such file)"
