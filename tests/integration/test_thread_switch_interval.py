"""The local driver runs its jobs with a short thread switch interval: each of a job's three
requests would otherwise wait up to Python's 5 ms for a thread parsing another response."""

import sys
from collections.abc import Callable
from pathlib import Path

from playment_cli.local_driver import SWITCH_INTERVAL_S, DriverSettings, LocalDriver
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.storage_folder import FolderStorage
from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator
from tests.conftest import API_KEY

PROJECT = "p1"
SMALL = DriverSettings(max_concurrency=2, page_workers=2, step_jobs=100)


def batch_of(jobs: int) -> Catalog:
    sim_jobs = tuple(SimJob(f"j-{n:04d}") for n in range(jobs))
    return Catalog([SimProject(PROJECT, (SimBatch("b1", sim_jobs),))])


def test_the_jobs_run_with_a_short_thread_switch_interval_and_the_process_gets_its_own_back(
    start_simulator: Callable[..., Simulator], tmp_path: Path
) -> None:
    # Given a batch, and the interpreter's switch interval as a process starts with it
    simulator = start_simulator(batch_of(20))
    before = sys.getswitchinterval()
    seen: set[float] = set()
    client = PlaymentClient(simulator.api_url, API_KEY, pool_size=4)
    storage = FolderStorage(tmp_path)
    request = ExportRequest.from_input({"project_id": PROJECT, "batch_id": "b1"})
    # When it is exported, the interval read as each page ends
    driver = LocalDriver(
        client, storage, SMALL, on_progress=lambda _: seen.add(sys.getswitchinterval())
    )
    try:
        result = driver.run(request, "export-test")
    finally:
        client.close()
        storage.close()
    # Then the pages ran with the driver's interval, and the process has its own back
    assert result.succeeded
    assert seen == {SWITCH_INTERVAL_S}
    assert before > SWITCH_INTERVAL_S
    assert sys.getswitchinterval() == before
