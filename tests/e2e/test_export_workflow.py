"""The export, end to end: the real definition on moto's engine, real handlers, simulator."""

import json
import uuid

import pytest

from playment_simulator import (
    Catalog,
    FaultPlan,
    SimBatch,
    SimJob,
    SimProject,
    sample_catalog,
)
from tests.conftest import API_KEY
from tests.e2e.conftest import (
    assert_byte_identical,
    completed,
    report_jobs,
    result_keys,
    segmentation_catalog,
    stored_sha256,
)

PROJECT = "demo-project"
THREE_STYLES = {"b-absent": 230, "b-null": 200, "b-empty": 101}


def test_happy_path_over_three_last_page_styles(start_simulator, local_engine) -> None:
    # Given three batches whose last pages end with an absent, null and empty token
    catalog = sample_catalog(PROJECT, THREE_STYLES, last_page_tokens=("absent", "null", "empty"))
    simulator = start_simulator(catalog)
    engine = local_engine(simulator)
    # When the three batches are exported in one execution
    result = engine.run({"project_id": PROJECT, "batch_ids": list(THREE_STYLES)})
    # Then it succeeded, every completed job's object is byte-identical, and nothing else is there
    assert result.status == "SUCCEEDED", result.cause
    for batch_id in THREE_STYLES:
        assert_byte_identical(engine, catalog, PROJECT, batch_id)
        expected = {f"{batch_id}/{job}.json" for job in completed(catalog, PROJECT, batch_id)}
        assert result_keys(engine, batch_id) == expected
    # And the report lists every not-completed job as skipped, and totals add up
    report = result.report
    assert report is not None
    not_completed = sum(count // 9 for count in THREE_STYLES.values())
    assert report["totals"]["jobs"] == sum(THREE_STYLES.values())
    assert report["totals"]["failed"] == 0
    skipped = report_jobs(engine, result.name, "skipped")
    assert {entry["reason"] for entry in skipped} == {"not_completed"}
    assert len(skipped) == not_completed
    assert simulator.stats.key_leaks == 0


def test_a_second_run_is_incremental_and_overwrite_fetches_again(
    start_simulator, local_engine
) -> None:
    # Given a batch already exported once
    catalog = sample_catalog(PROJECT, {"batch-a": 150})
    simulator = start_simulator(catalog)
    engine = local_engine(simulator)
    export = {"project_id": PROJECT, "batch_id": "batch-a"}
    assert engine.run(export).succeeded
    first_downloads = simulator.stats.requests["storage"]
    assert first_downloads == len(completed(catalog, PROJECT, "batch-a"))
    # When it is exported again
    again = engine.run(export)
    # Then nothing was fetched: no job record, no attachment, only the listing
    assert again.succeeded
    assert simulator.stats.requests["storage"] == first_downloads
    assert simulator.stats.requests["attachment"] == first_downloads
    assert again.report is not None
    assert again.report["totals"]["exported"] == 0
    assert again.report["skipped_by_reason"]["already_exported"] == first_downloads
    # When it is exported with overwrite / Then every completed job is fetched again
    forced = engine.run({**export, "overwrite": True})
    assert forced.succeeded
    assert simulator.stats.requests["storage"] == 2 * first_downloads
    assert_byte_identical(engine, catalog, PROJECT, "batch-a")


def test_broken_jobs_fail_the_execution_and_are_named_in_the_report(
    start_simulator, local_engine
) -> None:
    # Given a batch with three permanently broken jobs
    catalog = sample_catalog(PROJECT, {"batch-a": 120}, not_completed_every=0)
    broken = {
        ("job", "batch-a-job-00003"): "job_not_found",
        ("storage", "batch-a-job-00050"): "not_json",
        ("job", "batch-a-job-00101"): "job_not_found",
    }
    simulator = start_simulator(catalog, faults=FaultPlan(permanent=broken))
    engine = local_engine(simulator)
    # When the batch is exported
    result = engine.run({"project_id": PROJECT, "batch_id": "batch-a"})
    # Then the execution fails with ExportIncomplete, pointing at the report
    assert (result.status, result.error) == ("FAILED", "ExportIncomplete")
    assert result.cause is not None
    assert "report.json" in result.cause
    # And the report names the three jobs with their error codes; the rest are exported
    assert result.report is not None
    failed_jobs = report_jobs(engine, result.name, "failed")
    failed = {entry["job_id"]: entry["error_code"] for entry in failed_jobs}
    assert failed == {
        "batch-a-job-00003": "FS_0004",
        "batch-a-job-00050": "invalid_json",
        "batch-a-job-00101": "FS_0004",
    }
    assert result.report["totals"]["exported"] == 117
    assert len(result_keys(engine, "batch-a")) == 117


def test_a_refused_key_fails_fast_and_writes_nothing(start_simulator, local_engine) -> None:
    # Given an engine holding a key the API refuses
    simulator = start_simulator(sample_catalog(PROJECT, {"batch-a": 300}))
    engine = local_engine(simulator, key="not-the-key")
    # When an export starts
    result = engine.run({"project_id": PROJECT, "batch_id": "batch-a"})
    # Then it fails with PlaymentAuthError after a single request, and wrote no result
    assert (result.status, result.error) == ("FAILED", "PlaymentAuthError")
    assert sum(simulator.stats.requests.values()) == 1
    assert result_keys(engine, "batch-a") == set()
    history = json.dumps(engine.history(result.name), default=str)
    assert "not-the-key" not in history


def test_invalid_input_ends_the_execution_before_any_request(start_simulator, local_engine) -> None:
    # Given a running stack
    simulator = start_simulator()
    engine = local_engine(simulator)
    # When an execution is started with a batch ID that would escape its prefix
    result = engine.run({"project_id": PROJECT, "batch_ids": ["../x"]})
    # Then it fails with InvalidInput naming the field, and the simulator saw nothing
    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    assert "batch_ids[0]" in (result.cause or "")
    assert sum(simulator.stats.requests.values()) == 0


@pytest.mark.slow
def test_a_fault_storm_over_1000_jobs_is_survived(start_simulator, local_engine) -> None:
    # Given 1,000 jobs and 10% of all requests meeting a transient fault of any kind
    catalog = sample_catalog(PROJECT, {"storm": 1000}, not_completed_every=0)
    simulator = start_simulator(catalog, faults=FaultPlan(rate=0.10, seed=42))
    engine = local_engine(simulator)
    # When the batch is exported
    result = engine.run({"project_id": PROJECT, "batch_id": "storm"})
    # Then every job is exported, byte-identical, the faults really happened, and no key leaked
    assert result.status == "SUCCEEDED", report_jobs(engine, result.name, "failed")[:3]
    assert len(result_keys(engine, "storm")) == 1000
    assert_byte_identical(engine, catalog, PROJECT, "storm")
    assert sum(simulator.stats.faults.values()) > 200
    assert simulator.stats.faults["expired"] > 0
    assert simulator.stats.faults["truncated"] > 0
    assert simulator.stats.key_leaks == 0
    assert API_KEY not in json.dumps(engine.history(result.name), default=str)


@pytest.mark.slow
def test_a_10000_job_batch_goes_through_the_distributed_map(start_simulator, local_engine) -> None:
    # Given one batch of 10,000 jobs with UUID IDs, as Playment's are: its page list (~400 KB)
    # would not fit a 256 KiB state payload
    ids = (str(uuid.uuid5(uuid.NAMESPACE_URL, f"job/{n}")) for n in range(10_000))
    catalog = Catalog([SimProject(PROJECT, (SimBatch("huge", tuple(SimJob(i) for i in ids)),))])
    simulator = start_simulator(catalog)
    engine = local_engine(simulator)
    # When it is exported
    result = engine.run({"project_id": PROJECT, "batch_id": "huge"})
    # Then it finishes, every job exported, from a manifest in S3 of 40 pages of 250
    assert result.status == "SUCCEEDED", result.cause
    assert result.report is not None
    assert result.report["totals"]["exported"] == 10_000
    manifest = engine.read_json(f"_exports/{result.name}/manifests/000000.json")
    assert len(manifest) == 40
    assert len(json.dumps(manifest)) > 256 * 1024
    assert len(engine.keys(f"_exports/{result.name}/outcomes/pages/")) == 40


def test_a_whole_project_exports_every_batch_with_completed_jobs(
    start_simulator, local_engine
) -> None:
    # Given a project of four batches, one of them empty
    batches = {"p-1": 120, "p-2": 45, "p-empty": 0, "p-4": 30}
    catalog = sample_catalog(PROJECT, batches)
    simulator = start_simulator(catalog)
    engine = local_engine(simulator)
    # When the project is exported with all_batches
    result = engine.run({"project_id": PROJECT, "all_batches": True})
    # Then the three batches with jobs are exported, byte-identical, from one execution
    assert result.status == "SUCCEEDED", result.cause
    assert result.report is not None
    assert result.report["batch_ids"] == ["p-1", "p-2", "p-4"]
    for batch_id in ("p-1", "p-2", "p-4"):
        assert_byte_identical(engine, catalog, PROJECT, batch_id)
    assert engine.keys("p-empty/") == []
    # When it runs again / Then it is incremental: no job is fetched twice
    downloads = simulator.stats.requests["storage"]
    again = engine.run({"project_id": PROJECT, "all_batches": True})
    assert again.succeeded
    assert simulator.stats.requests["storage"] == downloads
    assert again.report is not None
    assert again.report["totals"]["exported"] == 0


def test_segmentation_results_come_with_their_masks(start_simulator, local_engine) -> None:
    # Given a segmentation batch whose results point at masks and point clouds, and one job
    # whose second file is missing from storage
    catalog = segmentation_catalog()
    broken = FaultPlan(permanent={("storage", "seg-007/cloud-7.pcd"): "not_json"})
    simulator = start_simulator(catalog, faults=broken)
    engine = local_engine(simulator)
    # When the batch is exported with include_referenced
    result = engine.run({"project_id": PROJECT, "batch_id": "seg", "include_referenced": True})
    # Then every other job's result and files are stored byte-identical beside each other
    assert (result.status, result.error) == ("FAILED", "ExportIncomplete")
    for n in (m for m in range(12) if m != 7):
        job_id = f"seg-{n:03d}"
        assert stored_sha256(engine, f"seg/{job_id}.json") == catalog.body_sha256(PROJECT, job_id)
        for name in ("mask.png", f"cloud-{n}.pcd", "frame-1.png"):
            key = f"seg/{job_id}/{name}"
            assert stored_sha256(engine, key) == catalog.file_sha256(PROJECT, job_id, name)
    # And the broken job is failed, the report names the file, and nothing of it is left
    assert result.report is not None
    (failed,) = report_jobs(engine, result.name, "failed")
    assert failed["job_id"] == "seg-007"
    assert "cloud-7.pcd" in failed["message"]
    assert engine.keys("seg/seg-007") == []
    assert simulator.stats.key_leaks == 0
