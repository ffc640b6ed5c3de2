"""A TCP proxy on loopback that adds a round-trip time, for page-load benchmarks.

Every chunk read from one side is written to the other ``rtt / 2`` seconds later, in
order, in both directions, so a request and its response cost one RTT whatever protocol
runs over the connection (TLS and HTTP/2 pass through untouched). The TCP handshake,
which the kernel completes at once on loopback, is charged too: bytes from the client
are not delivered before one RTT after it connected plus the one-way delay, as if its
SYN had travelled. Bandwidth is not limited.

Why not Chromium's own throttling (CDP ``Network.emulateNetworkConditions``): it delays
each response after the fact inside the browser, so a ``103 Early Hints`` response and the
preloads it starts are held back as well, and their effect on load time disappears.

Run it in its own process (so that the benchmark's Python, Playwright and the browser
cannot hold up the forwarding)::

    python delay_proxy.py --upstream-port 8443 --rtt-ms 150

It listens on a free loopback port and prints ``listening on PORT`` once it accepts
connections; :func:`delaying_proxy` starts it that way and stops it on exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

LOOPBACK = "127.0.0.1"
_CHUNK = 65536


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    delay: float,
    not_before: float,
) -> None:
    """Copy ``reader`` to ``writer``, each chunk ``delay`` s after it was read.

    Reading and writing are separate tasks joined by a queue, so that a chunk waiting for
    its delivery time never stops the next one from being read (and timestamped) at once:
    a slow ``sleep`` must not add to the delay of what follows.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        try:
            while True:
                data = await reader.read(_CHUNK)
                queue.put_nowait((max(loop.time() + delay, not_before), data))
                if not data:  # EOF travels with the same delay as data.
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time(), b""))

    async def write() -> None:
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    reading = asyncio.create_task(read())
    try:
        await write()
    finally:
        reading.cancel()


async def _handle(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_port: int,
    rtt: float,
) -> None:
    loop = asyncio.get_running_loop()
    one_way = rtt / 2
    # The client's first bytes would leave after SYN / SYN-ACK (one RTT) and then take
    # the one-way delay to arrive.
    first_delivery = loop.time() + rtt + one_way
    try:
        upstream_reader, upstream_writer = await asyncio.open_connection(LOOPBACK, upstream_port)
    except OSError:
        client_writer.close()
        return
    try:
        await asyncio.gather(
            _pipe(client_reader, upstream_writer, one_way, first_delivery),
            _pipe(upstream_reader, client_writer, one_way, 0.0),
        )
    finally:
        for writer in (upstream_writer, client_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve(upstream_port: int, rtt: float, port: int = 0) -> None:
    """Proxy ``LOOPBACK:port`` (0: a free one) to ``LOOPBACK:upstream_port`` until killed."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _handle(reader, writer, upstream_port, rtt)

    server = await asyncio.start_server(handle, LOOPBACK, port)
    chosen = server.sockets[0].getsockname()[1]
    print(f"listening on {chosen}", flush=True)
    async with server:
        await server.serve_forever()


@contextlib.contextmanager
def delaying_proxy(upstream_port: int, rtt: float, timeout: float = 10.0) -> Iterator[int]:
    """Run the proxy in a child process; yield the loopback port it listens on."""
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__),
         "--upstream-port", str(upstream_port), "--rtt-ms", str(rtt * 1000)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # "listening on PORT", or "" if it died
        if not line.startswith("listening on "):
            raise RuntimeError(f"delay proxy did not start (exit status {process.poll()})")
        yield int(line.split()[-1])
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for pipe in (process.stdin, process.stdout):
            if pipe is not None:
                pipe.close()


def _exit_on_stdin_eof() -> None:
    sys.stdin.read()
    os._exit(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, default=150.0)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # The parent holds our stdin open: if it dies without stopping us (SIGKILL), the pipe
    # closes and we leave rather than linger. SIGTERM keeps its default action: exit at
    # once, with no traceback from the tasks it interrupts.
    threading.Thread(target=_exit_on_stdin_eof, daemon=True).start()
    asyncio.run(serve(args.upstream_port, args.rtt_ms / 1000, args.port))


if __name__ == "__main__":
    main()
