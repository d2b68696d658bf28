"""The simulator's lifecycle: two loopback HTTP servers (API and storage) and their settings."""

import threading
from types import TracebackType

from playment_simulator.api import BASE_PATH, ApiHandler
from playment_simulator.catalog import Catalog
from playment_simulator.faults import FaultDecider, FaultPlan
from playment_simulator.http_base import OriginServer, SimulatorHandler
from playment_simulator.signing import UrlSigner
from playment_simulator.stats import SimulatorStats
from playment_simulator.storage import StorageHandler

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_POLL_INTERVAL = 0.05  # how quickly stop() is noticed by serve_forever


class SimulatorError(RuntimeError):
    """The simulator cannot do what was asked (start twice, port in use, not started)."""


class Simulator:
    """A Playment API and its storage origin on loopback, for tests and the demo.

    Settings other than the catalog and the host may be changed while it runs (tests switch
    ``redirect_status``, ``api_key``, ``url_ttl``, ``latency`` and ``faults``).
    """

    def __init__(  # noqa: PLR0913 - keyword-only knobs a test turns, each with a default
        self,
        catalog: Catalog,
        api_key: str,
        *,
        latency: float = 0.0,
        faults: FaultPlan | None = None,
        redirect_status: int = 302,
        url_ttl: float = 300.0,
        page_size: int = 100,
        host: str = "127.0.0.1",
    ) -> None:
        if page_size < 1:
            raise ValueError(f"page_size must be positive, got {page_size}")
        self.catalog = catalog
        self.api_key = api_key
        self.latency = latency
        self.faults = faults if faults is not None else FaultPlan()
        self.redirect_status = redirect_status
        self.url_ttl = url_ttl
        self.page_size = page_size
        self.host = host
        self.stats = SimulatorStats()
        self.signer = UrlSigner()
        self._servers: list[tuple[OriginServer, threading.Thread]] = []
        self._lifecycle_lock = threading.Lock()

    @property
    def faults(self) -> FaultPlan:
        return self._decider.plan

    @faults.setter
    def faults(self, plan: FaultPlan) -> None:
        """A new plan starts afresh: scripts from the beginning, the generator reseeded."""
        self._decider = FaultDecider(plan)

    @property
    def redirect_status(self) -> int:
        return self._redirect_status

    @redirect_status.setter
    def redirect_status(self, status: int) -> None:
        if status not in REDIRECT_STATUSES:
            raise ValueError(f"redirect_status must be one of {sorted(REDIRECT_STATUSES)}")
        self._redirect_status = status

    def fault_for(self, endpoint: str, key: str, *, targeted_only: bool = False) -> str | None:
        """The fault to inject into this request, if any (and count it)."""
        fault = self._decider.decide(endpoint, key, targeted_only=targeted_only)
        if fault is not None:
            self.stats.count_fault(fault)
        return fault

    @property
    def running(self) -> bool:
        return bool(self._servers)

    @property
    def api_url(self) -> str:
        """Like ``http://127.0.0.1:PORT/v1``."""
        return self._origin(0) + BASE_PATH

    @property
    def storage_url(self) -> str:
        """Like ``http://127.0.0.1:PORT``."""
        return self._origin(1)

    @property
    def api_port(self) -> int:
        return self._port(0)

    @property
    def storage_port(self) -> int:
        return self._port(1)

    def _port(self, index: int) -> int:
        if not self._servers:
            raise SimulatorError("the simulator is not running: call start() first")
        return int(self._servers[index][0].server_address[1])

    def _origin(self, index: int) -> str:
        return f"http://{self.host}:{self._port(index)}"

    def start(self, *, api_port: int = 0, storage_port: int = 0) -> "Simulator":
        """Bind both origins (port 0: any free port) and serve them on daemon threads."""
        with self._lifecycle_lock:
            if self._servers:
                raise SimulatorError(f"the simulator is already running at {self.api_url}")
            api = self._bind("API", api_port, ApiHandler)
            try:
                storage = self._bind("storage", storage_port, StorageHandler)
            except SimulatorError:
                api.server_close()
                raise
            for name, server in (("api", api), ("storage", storage)):
                thread = threading.Thread(
                    target=server.serve_forever,
                    kwargs={"poll_interval": _POLL_INTERVAL},
                    name=f"playment-simulator-{name}",
                    daemon=True,
                )
                thread.start()
                self._servers.append((server, thread))
        return self

    def _bind(self, role: str, port: int, handler: type[SimulatorHandler]) -> OriginServer:
        try:
            return OriginServer((self.host, port), handler, self)
        except OSError as error:
            raise SimulatorError(
                f"cannot serve the {role} origin on {self.host}:{port}: {error.strerror or error}"
            ) from error

    def stop(self) -> None:
        """Stop both origins, drop open connections and close the sockets. Idempotent."""
        with self._lifecycle_lock:
            servers, self._servers = self._servers, []
            for server, _thread in servers:
                server.shutdown()
            for server, thread in servers:
                server.close_connections()
                server.server_close()
                thread.join(timeout=5)

    def __enter__(self) -> "Simulator":
        if not self.running:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
