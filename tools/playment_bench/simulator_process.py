"""The Playment simulator in a process of its own, so that it does not share the GIL (or the
memory measured) with the exporter being measured. The parent asks it for its counters
through a pipe."""

import multiprocessing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any, Self

from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject, Simulator

PROJECT = "bench-project"


def bench_catalog(
    batches: Mapping[str, int],
    large: Mapping[str, int] | None = None,
    projects: Sequence[SimProject] = (),
) -> Catalog:
    """Batches of small jobs in project ``PROJECT``; ``large`` maps a job id to a body size,
    each in batch ``big``; ``projects`` served beside it."""
    sim_batches = [
        SimBatch(batch_id, tuple(SimJob(f"{batch_id}-{n:06d}") for n in range(count)))
        for batch_id, count in batches.items()
    ]
    if large:
        sim_batches.append(
            SimBatch("big", tuple(SimJob(job_id, body_size=size) for job_id, size in large.items()))
        )
    return Catalog([SimProject(PROJECT, tuple(sim_batches)), *projects])


@dataclass(frozen=True)
class _Serving:
    """What the simulator's process is started with (pickled into it)."""

    batches: dict[str, int]
    large: dict[str, int]
    projects: tuple[SimProject, ...]
    faults: FaultPlan | None
    api_key: str
    latency: float


def _serve(connection: Connection, serving: _Serving) -> None:
    catalog = bench_catalog(serving.batches, serving.large, serving.projects)
    with Simulator(
        catalog, serving.api_key, latency=serving.latency, faults=serving.faults
    ) as simulator:
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
        projects: Sequence[SimProject] = (),
        faults: FaultPlan | None = None,
    ) -> None:
        """``projects`` are served beside the bench project's ``batches``: make large ones of
        ``GeneratedJobs``, since they are pickled into the simulator's process."""
        self.api_key = api_key
        self._parent, child = multiprocessing.Pipe()
        serving = _Serving(
            dict(batches), dict(large or {}), tuple(projects), faults, api_key, latency
        )
        self._process = multiprocessing.get_context("spawn").Process(
            target=_serve, args=(child, serving), daemon=True
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
