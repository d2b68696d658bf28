"""The local driver's own way of running the steps: the next listing step overlapping the
fetch of the chunk before it, and what it does when the two share a job."""

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from playment_cli.local_driver import DriverSettings, LocalDriver
from playment_execution import ExecutionResult
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.storage_folder import FolderStorage
from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator
from tests.conftest import API_KEY

PROJECT = "p1"
# 4 requests in flight and 20 ms a request: a chunk of 100 jobs takes about 1.5 s to fetch,
# the listing of the next step one request (20 ms).
SLOW = DriverSettings(max_concurrency=2, page_workers=2, step_jobs=100)


def batch_of(jobs: int, *, listed_twice: tuple[str, ...] = ()) -> Catalog:
    sim_jobs = tuple(SimJob(f"j-{n:04d}") for n in range(jobs))
    return Catalog([SimProject(PROJECT, (SimBatch("b1", sim_jobs, listed_twice=listed_twice),))])


class CallOrder:
    """The order in which the client's listing and job calls were made, from any thread."""

    def __init__(self, client: PlaymentClient, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[str] = []
        self._lock = threading.Lock()
        for name in ("list_batch_page", "get_job"):
            monkeypatch.setattr(client, name, self._recorded(name, getattr(client, name)))

    def _recorded(self, name: str, call: Callable[..., Any]) -> Callable[..., Any]:
        def recorded(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                self.calls.append(name)
            return call(*args, **kwargs)

        return recorded


def export(
    simulator: Simulator, out: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[ExecutionResult, CallOrder]:
    client = PlaymentClient(simulator.api_url, API_KEY, pool_size=4)
    order = CallOrder(client, monkeypatch)
    storage = FolderStorage(out)
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    try:
        result = LocalDriver(client, storage, SLOW).run(request, "export-test")
    finally:
        client.close()
        storage.close()
    return result, order


def test_the_next_listing_step_runs_while_the_chunk_before_is_fetched(
    start_simulator: Callable[..., Simulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch of 200 jobs, listed 100 a request, on a slow API
    simulator = start_simulator(batch_of(200), latency=0.02)
    # When it is exported in steps of 100 jobs
    result, order = export(simulator, tmp_path, monkeypatch)
    # Then every job is exported, and the second step's listing came while the first
    # chunk's jobs were still being fetched, not after all 100 of them
    assert result.succeeded
    assert len(list((tmp_path / "b1").glob("*.json"))) == 200
    second_listing = [n for n, call in enumerate(order.calls) if call == "list_batch_page"][1]
    assert order.calls[:second_listing].count("get_job") < 50


def test_a_job_listed_again_in_the_next_step_is_exported_once_as_the_state_machine_would(
    start_simulator: Callable[..., Simulator], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch whose listing shows a job of its second page again, on a third page: a
    # step of its own, listed while the second page's chunk is still being fetched
    simulator = start_simulator(batch_of(200, listed_twice=("j-0150",)), latency=0.02)
    # When it is exported in steps of 100 jobs
    result, _ = export(simulator, tmp_path, monkeypatch)
    # Then the third step was run again once the second chunk was done, as the state
    # machine runs it: the job, exported by this execution already, is neither fetched nor
    # counted again
    assert result.succeeded
    assert result.output is not None
    assert result.output["totals"]["exported"] == 200
    assert result.output["totals"]["skipped"] == 0
    assert simulator.stats.requests["storage"] == 200
