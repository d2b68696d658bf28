"""The two ways to run an export on one machine hold each other to the same results.

One simulated project (transient faults, jobs not completed, a job whose result is not JSON,
segmentation results with referenced files, listed in several steps) is exported, then
exported again with ``overwrite``, by the local driver (``run``'s default) and by the real
state machine on the local engine (``--engine state-machine``, roles enforced). Both must
write the same result bytes, the same index lines (execution names and times aside), reports
with the same totals naming the same jobs, and end the same way.
"""

import json
from pathlib import Path
from typing import Any

import pytest

from playment_cli.export_flags import execution_input
from playment_cli.local_driver import DriverSettings, LocalDriver
from playment_execution import ExecutionResult, new_execution_name
from playment_exporter.export_request import ExportRequest
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.storage_folder import FolderStorage
from playment_local.engine import LocalEngine
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject
from tests.conftest import API_KEY

PROJECT = "eq-project"
FAILING_JOB = "eq-a-012"
STEP_JOBS, PAGES_AT_ONCE, PAGE_WORKERS = 20, 4, 2  # three listing steps for 52 jobs
RECORDS, INDEX = "_exports", "index.v1"


def project() -> Catalog:
    plain = tuple(
        SimJob(
            f"eq-a-{n:03d}",
            status="in_progress" if n % 7 == 6 else "completed",
            reference_id=f"ref-{n}" if n % 3 == 0 else "",
        )
        for n in range(40)
    )
    segmentation = tuple(
        SimJob(f"eq-b-{n:03d}", referenced=("mask.png", f"cloud-{n}.pcd")) for n in range(12)
    )
    return Catalog([SimProject(PROJECT, (SimBatch("eq-a", plain), SimBatch("eq-b", segmentation)))])


def faults() -> FaultPlan:
    return FaultPlan(rate=0.05, seed=3, permanent={("storage", FAILING_JOB): "not_json"})


def request(*, overwrite: bool) -> ExportRequest:
    return ExportRequest.from_input(
        {
            "project_id": PROJECT,
            "batch_ids": ["eq-a", "eq-b"],
            "overwrite": overwrite,
            "include_referenced": True,
        }
    )


def on_the_driver(api_url: str, out: Path) -> list[ExecutionResult]:
    storage = FolderStorage(out)
    client = PlaymentClient(api_url, API_KEY, pool_size=PAGES_AT_ONCE * PAGE_WORKERS)
    settings = DriverSettings(
        max_concurrency=PAGES_AT_ONCE, page_workers=PAGE_WORKERS, step_jobs=STEP_JOBS
    )
    try:
        driver = LocalDriver(client, storage, settings)
        return [driver.run(request(overwrite=o), new_execution_name()) for o in (False, True)]
    finally:
        client.close()
        storage.close()


def on_the_state_machine(
    api_url: str, out: Path, translated_template: dict[str, Any]
) -> list[ExecutionResult]:
    parameters = {
        "ListingStepJobs": str(STEP_JOBS),
        "MapMaxConcurrency": str(PAGES_AT_ONCE),
        "PageWorkers": str(PAGE_WORKERS),
    }
    results = []
    with LocalEngine(
        api_url=api_url,
        api_key=API_KEY,
        parameters=parameters,
        log_file=out / RECORDS / "engine.log",
        translated_template=translated_template,
    ) as engine:
        for overwrite in (False, True):
            name = engine.start_export(execution_input(request(overwrite=overwrite)))
            results.append(engine.wait(name))
        engine.copy_to(
            out, ""
        )  # the emulated bucket, into the folder the driver's is compared with
    return results


def result_files(out: Path) -> dict[str, bytes]:
    """Every result and referenced file, by key."""
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in out.rglob("*")
        if path.is_file() and path.relative_to(out).parts[0] not in {RECORDS, INDEX}
    }


def index_lines(out: Path, execution: str) -> list[str]:
    """The execution's index lines, without the execution's name and the time written."""
    lines = []
    for part in out.glob(f"{INDEX}/*/{execution}-*.jsonl"):
        for text in part.read_text().splitlines():
            line = json.loads(text)
            del line["execution"], line["exported_at"]
            lines.append(json.dumps(line, sort_keys=True))
    return sorted(lines)


def report_of(out: Path, result: ExecutionResult) -> dict[str, Any]:
    """What the report says, and the jobs it names, without the execution's name."""
    assert result.report is not None
    folder = out / RECORDS / result.name
    named = {
        kind: sorted(
            line
            for part in folder.glob(f"report/{kind}/*.jsonl")
            for line in part.read_text().splitlines()
        )
        for kind in ("failed", "skipped")
    }
    return {key: value for key, value in result.report.items() if key != "execution"} | named


@pytest.mark.slow
def test_the_driver_and_the_state_machine_export_the_same(
    start_simulator, tmp_path, translated_template
) -> None:
    # Given one project on two simulators (the same faults, each path its own)
    driver_out, machine_out = tmp_path / "driver", tmp_path / "state-machine"
    # When it is exported, then exported again with overwrite, by each path
    by_driver = on_the_driver(start_simulator(project(), faults=faults()).api_url, driver_out)
    by_machine = on_the_state_machine(
        start_simulator(project(), faults=faults()).api_url, machine_out, translated_template
    )
    # Then both ended each run the same way: incomplete, for the job that is not JSON
    endings = [[(r.status, r.error) for r in results] for results in (by_driver, by_machine)]
    assert endings[0] == endings[1] == [("FAILED", "ExportIncomplete")] * 2
    # And wrote the same result bytes, referenced files included
    files = result_files(driver_out)
    assert files == result_files(machine_out)
    assert len([key for key in files if key.startswith("eq-b/") and "/" in key[5:]]) == 24
    # And the same index lines, run by run
    for ours, theirs in zip(by_driver, by_machine, strict=True):
        assert index_lines(driver_out, ours.name) == index_lines(machine_out, theirs.name)
        assert index_lines(driver_out, ours.name)
    # And reports with the same totals, naming the same jobs
    for ours, theirs in zip(by_driver, by_machine, strict=True):
        assert report_of(driver_out, ours) == report_of(machine_out, theirs)
    first = report_of(driver_out, by_driver[0])
    assert [json.loads(line)["job_id"] for line in first["failed"]] == [FAILING_JOB]
    assert first["totals"]["skipped"] == 40 // 7
