"""A minimal HTTP/2 client that records what curl and browsers hide.

curl disables server push and httpx drops 103 responses, so neither can show
what a proxy pushed or when Early Hints arrived.  This client does one GET
over cleartext HTTP/2 with prior knowledge (``http://``) or over TLS with
ALPN ``h2`` (``https://``, certificate not verified), accepts pushes, and
reads until the response and every pushed stream have ended.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import h2.config
import h2.connection
import h2.events
import h2.settings

Headers = list[tuple[str, str]]


class H2ClientError(RuntimeError):
    """The exchange failed: reset stream, closed connection, timeout, no h2."""


@dataclass
class Informational:
    """One 1xx header block (e.g. 103 Early Hints) on the main stream."""

    status: int
    headers: Headers
    at: float  # seconds after the request was sent


@dataclass
class Push:
    """A PUSH_PROMISE the server made and the pushed response."""

    path: str
    request_headers: Headers
    status: int | None = None  # None if the push never got response headers
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    reset: int | None = None  # RST_STREAM error code, if it was reset
    promised_at: float = 0.0


@dataclass
class H2Response:
    """Everything observed on one HTTP/2 GET."""

    status: int
    headers: Headers
    body: bytes
    informational: list[Informational]
    pushes: list[Push]
    headers_at: float  # seconds after the request was sent
    alpn: str | None  # protocol negotiated over TLS, None for cleartext

    def header(self, name: str) -> list[str]:
        """All values of response header *name* (case-insensitive)."""
        return _values(self.headers, name)

    @property
    def pushed_paths(self) -> list[str]:
        return [push.path for push in self.pushes]


def get(
    url: str,
    *,
    headers: Sequence[tuple[str, str]] = (),
    timeout: float = 10.0,
    enable_push: bool = True,
) -> H2Response:
    """GET *url* over HTTP/2 and return what arrived, pushes and 1xx included."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or parts.hostname is None:
        raise ValueError(f"need an absolute http:// or https:// URL, got {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    deadline = time.monotonic() + timeout

    sock = socket.create_connection((parts.hostname, port), timeout=timeout)
    try:
        alpn = None
        if parts.scheme == "https":
            sock, alpn = _wrap_tls(sock, parts.hostname)
        exchange = _Exchange(sock, enable_push)
        request = [
            (":method", "GET"),
            (":scheme", parts.scheme),
            (":authority", parts.netloc),
            (":path", path),
            ("user-agent", "flask-push-templates-e2e-h2client"),
            ("accept", "*/*"),
            *headers,
        ]
        return exchange.run(request, deadline, alpn)
    finally:
        sock.close()


def _wrap_tls(sock: socket.socket, hostname: str) -> tuple[ssl.SSLSocket, str]:
    # Verification is off: this client checks protocol behaviour, and the
    # tests' certificates come from a throwaway CA anyway.
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["h2"])
    tls = context.wrap_socket(sock, server_hostname=hostname)
    alpn = tls.selected_alpn_protocol()
    if alpn != "h2":
        tls.close()
        raise H2ClientError(f"server did not negotiate h2 over ALPN (got {alpn!r})")
    return tls, alpn


class _Exchange:
    """One connection, one request: feeds bytes to h2 and sorts its events."""

    def __init__(self, sock: socket.socket, enable_push: bool) -> None:
        self.sock = sock
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding=None)
        )
        # Said explicitly rather than relying on h2's client default.
        self.conn.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.ENABLE_PUSH: int(enable_push)},
        )
        self.started = 0.0
        self.stream_id = 0
        self.status: int | None = None
        self.headers: Headers = []
        self.headers_at = 0.0
        self.body = bytearray()
        self.informational: list[Informational] = []
        self.pushes: dict[int, Push] = {}
        self.open_streams: set[int] = set()

    def run(self, request: Headers, deadline: float, alpn: str | None) -> H2Response:
        self.conn.initiate_connection()
        self.stream_id = self.conn.get_next_available_stream_id()
        self.started = time.monotonic()
        self.conn.send_headers(self.stream_id, request, end_stream=True)
        self.open_streams.add(self.stream_id)
        self._flush()
        # A server may only promise pushes while the request's stream is
        # open, so once it and all promised streams have ended we are done.
        while self.open_streams:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise H2ClientError(f"timed out; streams still open: {sorted(self.open_streams)}")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:  # socket.timeout is an alias since 3.10
                continue
            if not data:
                raise H2ClientError(
                    f"connection closed with streams open: {sorted(self.open_streams)}"
                )
            for event in self.conn.receive_data(data):
                self._handle(event)
            self._flush()
        self.conn.close_connection()
        self._flush()
        if self.status is None:
            raise H2ClientError("the main stream ended without a final response")
        return H2Response(
            status=self.status,
            headers=self.headers,
            body=bytes(self.body),
            informational=self.informational,
            pushes=list(self.pushes.values()),
            headers_at=self.headers_at,
            alpn=alpn,
        )

    def _handle(self, event: h2.events.Event) -> None:
        now = time.monotonic() - self.started
        if isinstance(event, h2.events.InformationalResponseReceived):
            headers = _decode(event.headers)
            status = int(_values(headers, ":status")[0])
            self.informational.append(Informational(status, headers, now))
        elif isinstance(event, h2.events.ResponseReceived):
            headers = _decode(event.headers)
            status = int(_values(headers, ":status")[0])
            if event.stream_id == self.stream_id:
                self.status, self.headers, self.headers_at = status, headers, now
            elif event.stream_id in self.pushes:
                self.pushes[event.stream_id].status = status
                self.pushes[event.stream_id].headers = headers
        elif isinstance(event, h2.events.PushedStreamReceived):
            assert event.pushed_stream_id is not None
            promised = _decode(event.headers or [])
            path = (_values(promised, ":path") or [""])[0]
            self.pushes[event.pushed_stream_id] = Push(path, promised, promised_at=now)
            self.open_streams.add(event.pushed_stream_id)
        elif isinstance(event, h2.events.DataReceived):
            if event.stream_id == self.stream_id:
                self.body += event.data
            elif event.stream_id in self.pushes:
                self.pushes[event.stream_id].body += event.data
            # Give the flow-control window back, or large bodies would stall.
            self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        elif isinstance(event, h2.events.StreamEnded):
            self.open_streams.discard(event.stream_id)
        elif isinstance(event, h2.events.StreamReset):
            if event.stream_id == self.stream_id:
                raise H2ClientError(f"server reset the request stream: {event.error_code!r}")
            if event.stream_id in self.pushes:
                self.pushes[event.stream_id].reset = int(event.error_code)
            self.open_streams.discard(event.stream_id)
        elif isinstance(event, h2.events.ConnectionTerminated) and self.open_streams:
            raise H2ClientError(
                f"server sent GOAWAY ({event.error_code!r}) with streams open: "
                f"{sorted(self.open_streams)}"
            )

    def _flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)


def _decode(headers: Sequence[tuple[bytes | str, bytes | str]]) -> Headers:
    # Latin-1 maps every byte to one character: never fails, loses nothing.
    return [(_text(name), _text(value)) for name, value in headers]


def _text(value: bytes | str) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else value


def _values(headers: Headers, name: str) -> list[str]:
    name = name.lower()
    return [value for key, value in headers if key.lower() == name]
