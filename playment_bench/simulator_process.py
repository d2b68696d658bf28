"""The Playment simulator in a process of its own, so that it does not share the GIL with the
exporter being measured. The parent asks it for its counters through a pipe."""

import multiprocessing
from collections.abc import Mapping
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator

PROJECT = "bench-project"


def bench_catalog(batches: Mapping[str, int], large: Mapping[str, int] | None = None) -> Catalog:
    """Batches of small jobs; ``large`` maps a job id to a body size, each in batch ``big``."""
    sim_batches = [
        SimBatch(batch_id, tuple(SimJob(f"{batch_id}-{n:06d}") for n in range(count)))
        for batch_id, count in batches.items()
    ]
    if large:
        sim_batches.append(
            SimBatch("big", tuple(SimJob(job_id, body_size=size) for job_id, size in large.items()))
        )
    return Catalog([SimProject(PROJECT, tuple(sim_batches))])


def _serve(
    connection: Connection,
    batches: dict[str, int],
    large: dict[str, int],
    api_key: str,
    latency: float,
) -> None:
    with Simulator(bench_catalog(batches, large), api_key, latency=latency) as simulator:
        connection.send((simulator.api_url, simulator.storage_url))
        while True:
            command = connection.recv()
            if command == "stats":
                connection.send(simulator.stats.snapshot())
            elif command == "reset":
                simulator.stats.reset()
                connection.send(True)
            else:
                connection.send(True)
                return


class SimulatorProcess:
    def __init__(
        self,
        batches: Mapping[str, int],
        *,
        api_key: str,
        latency: float = 0.0,
        large: Mapping[str, int] | None = None,
    ) -> None:
        self.api_key = api_key
        self._parent, child = multiprocessing.Pipe()
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve,
            args=(child, dict(batches), dict(large or {}), api_key, latency),
            daemon=True,
        )
        self.api_url = ""

    def __enter__(self) -> Self:
        self._process.start()
        self.api_url, _storage = self._parent.recv()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._parent.send("stop")
        self._parent.recv()
        self._process.join(timeout=10)

    def stats(self) -> dict[str, Any]:
        self._parent.send("stats")
        stats: dict[str, Any] = self._parent.recv()
        return stats

    def reset(self) -> None:
        self._parent.send("reset")
        self._parent.recv()
