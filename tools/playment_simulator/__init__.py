"""A Playment API simulator: a real HTTP server on loopback for tests and the demo.

It follows ``reference/playment-api.md``: the batch listing, job and attachment endpoints and
project details on an API origin, signed expiring result URLs on a separate storage origin,
the documented error envelope, and switches for latency, page-token styles, large bodies and
faults. It counts what it sees (``Simulator.stats``).
"""

from typing import TYPE_CHECKING

from playment_simulator.catalog import Catalog, SimBatch, SimJob, SimProject, sample_catalog
from playment_simulator.faults import ALL_TRANSIENT_KINDS, PERMANENT_ONLY_KINDS, FaultPlan
from playment_simulator.stats import SimulatorStats

if TYPE_CHECKING:
    from playment_simulator.server import Simulator, SimulatorError

__all__ = [
    "ALL_TRANSIENT_KINDS",
    "PERMANENT_ONLY_KINDS",
    "Catalog",
    "FaultPlan",
    "SimBatch",
    "SimJob",
    "SimProject",
    "Simulator",
    "SimulatorError",
    "SimulatorStats",
    "sample_catalog",
]


def __getattr__(name: str) -> object:
    """The server (http.server, its threads) is imported when first used: the command line
    defines the ``simulator`` command without it, and ``run`` starts sooner."""
    if name in {"Simulator", "SimulatorError"}:
        from playment_simulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
