"""A TCP proxy on loopback that adds a round-trip time and a bandwidth bottleneck.

Each direction is modelled as one link: a bottleneck that sends ``bandwidth`` bytes per
second from a bounded queue, followed by a propagation delay of ``rtt / 2``. A chunk read
from one side waits its turn in the queue, takes ``len / bandwidth`` to be sent, and is
written to the other side ``rtt / 2`` after it has been sent, in order. So a request and
its response cost one RTT plus their size at the bandwidth, whatever protocol runs over
the connection (TLS and HTTP/2 pass through untouched). The TCP handshake, which the
kernel completes at once on loopback, is charged too: bytes from the client are not
delivered before one RTT after it connected plus the one-way delay, as if its SYN had
travelled.

The queue holds about one bandwidth-delay product (``bandwidth * rtt``; at least
:data:`_MIN_QUEUE` bytes) and is not a FIFO of unlimited size: once it is full the proxy
stops reading, so the sender's own buffers and scheduling (an HTTP/2 server's stream
priorities) decide what goes next, as with a router's queue in front of a real link.
An unbounded queue would hold the HTML behind every asset byte already sent, which no
real link does. The proxy's socket towards the sender gets a small receive buffer for
the same reason (:data:`_SOCKET_BUFFER`): the kernel's default autotuned buffers on
loopback are megabytes, another hidden queue. ``bandwidth`` 0 means no bottleneck (the
link is infinitely fast, only delayed).

Why not Chromium's own throttling (CDP ``Network.emulateNetworkConditions``): it delays
each response after the fact inside the browser, so a ``103 Early Hints`` response and the
preloads it starts are held back as well, and their effect on load time disappears.

Run it in its own process (so that the benchmark's Python, Playwright and the browser
cannot hold up the forwarding)::

    python tests/e2e/delay_proxy.py --upstream-port 8443 --rtt-ms 150 --mbps 10

It listens on a free loopback port and prints ``listening on PORT`` once it accepts
connections; :func:`delaying_proxy` starts it that way and stops it on exit. A line
``drop`` on its standard input resets every open connection (answered ``dropped N``):
the benchmark's way to make the browser open a new connection while keeping its cache;
``accepted`` answers how many connections it has accepted so far.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

LOOPBACK = "127.0.0.1"
#: Read at most this much at once: the unit the bottleneck sends (at 10 Mbit/s, 13 ms),
#: small enough that a response of a more urgent stream is not held up long behind it.
_CHUNK = 16384
#: The smallest queue, so that a low bandwidth-delay product still lets TCP run.
_MIN_QUEUE = 4 * _CHUNK
#: SO_RCVBUF of the proxy's sockets (the kernel doubles it for bookkeeping).
_SOCKET_BUFFER = 32768
#: A round trip that leaves Chromium ready for a 103 when it arrives, as any real network
#: does: a test that asserts the 103 was used routes it through this. On bare loopback a
#: 103 can come back within a millisecond of the request leaving (or in the same read as
#: the server's SETTINGS), before Chromium 156's HTTP/2 transaction has begun to wait for
#: response headers, and ``SpdyHttpStream::OnEarlyHintsReceived`` keeps a 103 only if it
#: waits: the net-log then shows ``HTTP2_SESSION_RECV_HEADERS :status: 103`` before
#: ``HTTP_TRANSACTION_READ_HEADERS`` begins, and no
#: ``HTTP_TRANSACTION_READ_EARLY_HINTS_RESPONSE_HEADERS`` (a trap PROTOCOL.md records;
#: measured in tests/e2e/test_fronts.py).
HINT_SAFE_RTT = 0.020


class _Link:
    """One direction of the path: a bounded bottleneck queue, then a propagation delay."""

    def __init__(self, delay: float, bandwidth: float, queue_bytes: int) -> None:
        self.delay = delay
        self.bandwidth = bandwidth  # bytes per second; 0: no bottleneck
        self.queue_bytes = queue_bytes
        self.queued = 0
        self.room = asyncio.Event()
        self.room.set()
        # When the bottleneck has finished sending what it holds.
        self.busy_until = 0.0

    def transmit(self, arrived: float, size: int) -> float:
        """Reserve the bottleneck for *size* bytes that *arrived* then; when they have left.

        From the arrival time, not from the moment the sending task woke up: a sleep
        that overshoots must not add idle time to the link.
        """
        if not self.bandwidth:
            return arrived
        self.busy_until = max(self.busy_until, arrived) + size / self.bandwidth
        return self.busy_until


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    link: _Link,
    not_before: float,
) -> None:
    """Copy ``reader`` to ``writer`` through *link*.

    Three tasks joined by queues: reading (which stops while the bottleneck queue is
    full), the bottleneck (which sends one chunk at a time at the link's bandwidth), and
    writing (each chunk ``link.delay`` after it left the bottleneck). A chunk waiting for
    its delivery time never stops the next one from being sent.
    """
    loop = asyncio.get_running_loop()
    waiting: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
    in_flight: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def read() -> None:
        try:
            while True:
                await link.room.wait()
                data = await reader.read(_CHUNK)
                link.queued += len(data)
                if link.queued >= link.queue_bytes:
                    link.room.clear()
                waiting.put_nowait((loop.time(), data))
                if not data:  # EOF travels like data.
                    return
        except (ConnectionError, OSError):
            waiting.put_nowait((loop.time(), b""))

    async def send() -> None:
        while True:
            arrived, data = await waiting.get()
            sent = link.transmit(arrived, len(data))
            wait = sent - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            link.queued -= len(data)
            if link.queued < link.queue_bytes:
                link.room.set()
            in_flight.put_nowait((max(sent + link.delay, not_before), data))
            if not data:
                return

    async def write() -> None:
        try:
            while True:
                due, data = await in_flight.get()
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

    tasks = [asyncio.create_task(read()), asyncio.create_task(send())]
    try:
        await write()
    finally:
        for task in tasks:
            task.cancel()


async def _handle(
    client_reader: asyncio.StreamReader,
    client_writer: asyncio.StreamWriter,
    upstream_port: int,
    rtt: float,
    bandwidth: float,
    open_writers: set[asyncio.StreamWriter],
) -> None:
    loop = asyncio.get_running_loop()
    one_way = rtt / 2
    # The client's first bytes would leave after SYN / SYN-ACK (one RTT) and then take
    # the one-way delay to arrive.
    first_delivery = loop.time() + rtt + one_way
    queue_bytes = max(int(bandwidth * rtt), _MIN_QUEUE)
    try:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
        upstream.setblocking(False)
        await loop.sock_connect(upstream, (LOOPBACK, upstream_port))
        upstream_reader, upstream_writer = await asyncio.open_connection(sock=upstream)
    except OSError:
        client_writer.close()
        return
    pair = {client_writer, upstream_writer}
    open_writers |= pair
    try:
        await asyncio.gather(
            _pipe(client_reader, upstream_writer, _Link(one_way, bandwidth, queue_bytes),
                  first_delivery),
            _pipe(upstream_reader, client_writer, _Link(one_way, bandwidth, queue_bytes), 0.0),
        )  # fmt: skip
    finally:
        open_writers -= pair
        for writer in (upstream_writer, client_writer):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


async def serve(upstream_port: int, rtt: float, bandwidth: float = 0.0, port: int = 0) -> None:
    """Proxy ``LOOPBACK:port`` (0: a free one) to ``LOOPBACK:upstream_port`` until killed.

    *bandwidth* in bytes per second, each way; 0: unlimited.
    """
    # Both ends of every connection, to drop them on command.
    open_writers: set[asyncio.StreamWriter] = set()
    accepted = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal accepted
        accepted += 1
        await _handle(reader, writer, upstream_port, rtt, bandwidth, open_writers)

    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Inherited by accepted sockets: the browser's requests must not pile up unseen either.
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _SOCKET_BUFFER)
    listening.bind((LOOPBACK, port))
    server = await asyncio.start_server(handle, sock=listening)
    chosen = server.sockets[0].getsockname()[1]
    print(f"listening on {chosen}", flush=True)
    loop = asyncio.get_running_loop()
    async with server:  # start_server() is already serving
        while True:
            # Commands from the parent; EOF (the parent died) ends the proxy.
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                os._exit(0)
            if line.strip() == "drop":
                dropped = list(open_writers)
                for writer in dropped:
                    # A reset, as when a NAT or a mobile network forgets the connection.
                    writer.transport.abort()
                print(f"dropped {len(dropped) // 2}", flush=True)
            elif line.strip() == "accepted":
                print(f"accepted {accepted}", flush=True)


class DelayingProxy:
    """The running proxy: its port, and a way to close its connections."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port

    def origin(self, scheme: str) -> str:
        """``scheme://127.0.0.1:port``: where a client reaches the upstream through us."""
        return f"{scheme}://{LOOPBACK}:{self.port}"

    def drop_connections(self) -> int:
        """Close every connection through the proxy; return how many there were."""
        return self._ask("drop", "dropped")

    def accepted(self) -> int:
        """How many connections the proxy has accepted so far."""
        return self._ask("accepted", "accepted")

    def _ask(self, command: str, answer_word: str) -> int:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        if not answer.startswith(answer_word + " "):
            raise RuntimeError(f"delay proxy: {command!r} answered {answer!r}")
        return int(answer.split()[-1])


@contextlib.contextmanager
def delaying_proxy(
    upstream_port: int, rtt: float, bandwidth: float = 0.0, timeout: float = 10.0
) -> Iterator[DelayingProxy]:
    """Run the proxy in a child process (*bandwidth* in bytes per second, 0: unlimited)."""
    process = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__),
         "--upstream-port", str(upstream_port), "--rtt-ms", str(rtt * 1000),
         "--mbps", str(bandwidth * 8 / 1e6)],
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
        yield DelayingProxy(process, int(line.split()[-1]))
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--rtt-ms", type=float, default=150.0)
    parser.add_argument(
        "--mbps", type=float, default=10.0, help="bandwidth each way in Mbit/s (0: unlimited)"
    )
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    # SIGTERM keeps its default action: exit at once, with no traceback from the tasks it
    # interrupts. The parent holds our stdin open: if it dies without stopping us
    # (SIGKILL), the pipe closes and serve() leaves rather than linger.
    asyncio.run(serve(args.upstream_port, args.rtt_ms / 1000, args.mbps * 1e6 / 8, args.port))


if __name__ == "__main__":
    main()
