"""What both origins share: a threaded keep-alive server that can drop its connections on stop,
and a request handler with the few ways of answering the simulator needs."""

import contextlib
import socket
import struct
import sys
import threading
import time
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from playment_simulator.catalog import Catalog
from playment_simulator.signing import UrlSigner
from playment_simulator.stats import SimulatorStats


class SimulatorState(Protocol):
    """What the request handlers read from the simulator they serve (``server.Simulator``).

    A protocol, so that the handlers need not import the server that imports them.
    """

    catalog: Catalog
    api_key: str
    latency: float
    page_size: int
    url_ttl: float
    stats: SimulatorStats
    signer: UrlSigner

    @property
    def redirect_status(self) -> int: ...

    @property
    def storage_url(self) -> str: ...

    def fault_for(self, endpoint: str, key: str, *, targeted_only: bool = False) -> str | None: ...


_DISCONNECTS = (ConnectionError, TimeoutError)


class OriginServer(ThreadingHTTPServer):
    """One origin (API or storage) of a simulator.

    Many clients at once (a deep listen queue, a thread per connection), and ``stop`` must not
    leave idle keep-alive connections answering after the simulator is gone: it tracks them.
    """

    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    allow_reuse_port = False

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[BaseHTTPRequestHandler],
        simulator: SimulatorState,
    ) -> None:
        self.simulator = simulator
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Shut down every open client connection, so their threads end."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):  # already closed by the client or the handler
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client going away mid-answer is normal here; anything else is still reported."""
        if isinstance(sys.exc_info()[1], _DISCONNECTS):
            return
        super().handle_error(request, client_address)


class SimulatorHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, a Content-Length on every answer, and no access log."""

    protocol_version = "HTTP/1.1"
    # Answers go out at once: with Nagle's algorithm on, each small answer on loopback waited
    # about 40 ms for the client's delayed ACK, which "no latency" benches then measured.
    disable_nagle_algorithm = True
    server_version = "PlaymentSimulator/1.0"
    sys_version = ""
    server: OriginServer

    @property
    def simulator(self) -> SimulatorState:
        return self.server.simulator

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: tests and the demo would drown in per-request lines."""

    def pause(self) -> None:
        """The configured latency, before every answer."""
        latency = self.simulator.latency
        if latency > 0:
            time.sleep(latency)

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        if body:
            self.wfile.write(body)

    def reset_connection(self) -> None:
        """Abort the connection with no answer: linger 0 then close makes the kernel send RST."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
