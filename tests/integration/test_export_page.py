"""Exporting a page of jobs: simulator on loopback, S3 in moto."""

import hashlib
import logging
import time
from typing import cast

import pytest

from playment_exporter.api_models import JobRecord
from playment_exporter.errors import InvalidInput
from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_page
from playment_exporter.outcomes import JobOutcome, JobPage, JobStatus, SkipReason
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_exporter.storage_s3 import S3Storage
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject
from tests.conftest import API_KEY, BUCKET
from tests.integration.s3_answers import CountCalls, DamageInTransit, DenyDeletes, FailFirstCalls

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)
SHORT = RetrySettings(window=1, initial_wait=0.2, max_wait=0.2)
LARGE = 9 * 1024 * 1024  # past the 8 MiB multipart threshold


def one_batch(*jobs: SimJob) -> Catalog:
    return Catalog([SimProject(id="p1", batches=(SimBatch("b1", jobs),))])


def page_of(*job_ids: str) -> JobPage:
    return JobPage(project_id="p1", batch_id="b1", page=0, job_ids=list(job_ids))


def stored_sha256(s3, key: str) -> str:
    return hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()).hexdigest()


def keys(s3) -> set[str]:
    return {item["Key"] for item in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


@pytest.fixture
def exporter(s3):
    """Build a client and store for a simulator; closed after the test."""
    made = []

    def make(simulator, key: str = API_KEY, retry: RetrySettings = FAST):
        client = PlaymentClient(simulator.api_url, key, retry=retry, sleep=lambda _: None)
        store = ResultStore(S3Storage(s3, BUCKET), "")
        made.append((client, store))
        return client, store

    yield make
    for client, store in made:
        client.close()
        store.close()


def test_exports_completed_jobs_byte_identical_and_skips_the_rest(
    start_simulator, exporter, s3
) -> None:
    # Given a page with two completed jobs and one in progress
    catalog = one_batch(
        SimJob("a"), SimJob("b", body_size=9 * 1024 * 1024), SimJob("c", "labelling")
    )
    client, store = exporter(start_simulator(catalog))
    # When the page is exported
    result = export_page(client, store, page_of("a", "b", "c"))
    # Then each completed job's object is the served body, byte for byte (b is multipart)
    statuses = {o.job_id: (o.status, o.reason) for o in result.outcomes}
    assert statuses == {
        "a": (JobStatus.EXPORTED, None),
        "b": (JobStatus.EXPORTED, None),
        "c": (JobStatus.SKIPPED, SkipReason.NOT_COMPLETED),
    }
    for job_id in ("a", "b"):
        assert stored_sha256(s3, f"b1/{job_id}.json") == catalog.body_sha256("p1", job_id)
    assert keys(s3) == {"b1/a.json", "b1/b.json"}
    assert result.outcomes[1].bytes == 9 * 1024 * 1024


@pytest.mark.parametrize(
    ("endpoint", "fault"),
    [
        ("job", "429"),
        ("job", "429_retry_after"),
        ("job", "500"),
        ("job", "503"),
        ("job", "400_FS_0000"),
        ("job", "reset"),
        ("attachment", "503"),
        ("attachment", "reset"),
        ("storage", "500"),
        ("storage", "reset"),
        ("storage", "truncated"),
        ("storage", "expired"),
    ],
)
def test_each_transient_fault_is_survived(start_simulator, exporter, s3, endpoint, fault) -> None:
    # Given a job whose first request to this endpoint meets this fault
    catalog = one_batch(SimJob("a", body_size=200_000), SimJob("b"))
    faults = FaultPlan(scripted={(endpoint, "a"): [fault]})
    simulator = start_simulator(catalog, faults=faults)
    client, store = exporter(simulator)
    # When the page is exported
    result = export_page(client, store, page_of("a", "b"))
    # Then the fault happened, both jobs were exported, and the object is byte-identical
    assert simulator.stats.faults[fault] == 1
    assert [o.status for o in result.outcomes] == [JobStatus.EXPORTED, JobStatus.EXPORTED]
    assert stored_sha256(s3, "b1/a.json") == catalog.body_sha256("p1", "a")
    assert simulator.stats.key_leaks == 0


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("truncated", "truncated_body"),
        ("not_json", "invalid_json"),
        ("expired", "signed_url_forbidden"),
    ],
)
def test_a_bad_body_leaves_no_object(start_simulator, exporter, s3, fault, code) -> None:
    # Given a job whose storage always serves a cut-off or non-JSON body (large: multipart),
    # or always refuses its signed URLs
    catalog = one_batch(SimJob("bad", body_size=12 * 1024 * 1024), SimJob("good"))
    faults = FaultPlan(permanent={("storage", "bad"): fault})
    client, store = exporter(start_simulator(catalog, faults=faults), retry=SHORT)
    # When the page is exported
    result = export_page(client, store, page_of("bad", "good"))
    # Then the bad job failed with a code that says why, and left nothing behind
    bad, good = result.outcomes
    assert (bad.status, bad.error_code) == (JobStatus.FAILED, code)
    assert good.status == JobStatus.EXPORTED
    assert keys(s3) == {"b1/good.json"}
    assert s3.list_multipart_uploads(Bucket=BUCKET).get("Uploads", []) == []


def test_an_existing_object_is_left_alone_unless_overwriting(start_simulator, exporter, s3) -> None:
    # Given an object already exported for job a
    catalog = one_batch(SimJob("a"))
    simulator = start_simulator(catalog)
    client, store = exporter(simulator)
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b'{"earlier": true}')
    # When the page is exported without overwrite
    first = export_page(client, store, page_of("a"))
    # Then the job is skipped as already exported and the object is untouched
    assert (first.outcomes[0].status, first.outcomes[0].reason) == (
        JobStatus.SKIPPED,
        SkipReason.ALREADY_EXPORTED,
    )
    assert s3.get_object(Bucket=BUCKET, Key="b1/a.json")["Body"].read() == b'{"earlier": true}'
    # When it is exported with overwrite / Then the object is replaced by the served body
    second = export_page(client, store, page_of("a"), ExportOptions(overwrite=True))
    assert second.outcomes[0].status == JobStatus.EXPORTED
    assert stored_sha256(s3, "b1/a.json") == catalog.body_sha256("p1", "a")


def test_a_broken_job_does_not_stop_the_others(start_simulator, exporter) -> None:
    # Given a page where one job's record always errors
    catalog = one_batch(*(SimJob(f"j{n}") for n in range(10)))
    faults = FaultPlan(permanent={("job", "j3"): "job_not_found"})
    client, store = exporter(start_simulator(catalog, faults=faults))
    # When the page is exported
    result = export_page(
        client, store, page_of(*(f"j{n}" for n in range(10))), ExportOptions(workers=4)
    )
    # Then j3 failed with Playment's code and the nine others were exported, in page order
    assert [o.job_id for o in result.outcomes] == [f"j{n}" for n in range(10)]
    failed = [o for o in result.outcomes if o.status == JobStatus.FAILED]
    assert [(o.job_id, o.error_code) for o in failed] == [("j3", "FS_0004")]
    assert result.counts()["exported"] == 9


def test_an_auth_error_stops_the_page_at_once(start_simulator, exporter, s3) -> None:
    # Given a key the API refuses, and a page of 50 jobs
    catalog = one_batch(*(SimJob(f"j{n}") for n in range(50)))
    simulator = start_simulator(catalog)
    client, store = exporter(simulator, key="revoked-key")
    # When the page is exported with 4 workers
    result = export_page(
        client, store, page_of(*(f"j{n}" for n in range(50))), ExportOptions(workers=4)
    )
    # Then every job failed as auth_failed, nothing was written, and no more than the
    # requests already in flight were made
    assert {o.error_code for o in result.outcomes} == {"auth_failed"}
    assert result.auth_failed
    # And each job says whether it was refused or never tried
    messages = {str(o.message) for o in result.outcomes}
    assert messages >= {"not attempted: Playment rejected the API key earlier in this page"}
    assert any(m.startswith("Playment rejected the API key (HTTP 401") for m in messages)
    assert sum(simulator.stats.requests.values()) <= 4
    assert keys(s3) == set()


def test_invalid_ids_are_rejected_before_any_request(start_simulator, exporter) -> None:
    # Given a page whose batch ID would climb out of the prefix
    simulator = start_simulator(one_batch(SimJob("a")))
    client, store = exporter(simulator)
    bad = JobPage(project_id="p1", batch_id="../x", page=0, job_ids=["a"])
    # When it is exported / Then the input is refused, naming the field, and nothing was asked
    with pytest.raises(InvalidInput, match=r"^batch_id: "):
        export_page(client, store, bad)
    # And so is a project ID that would
    with pytest.raises(InvalidInput, match=r"^project_id: "):
        export_page(client, store, bad.model_copy(update={"project_id": "a/b", "batch_id": "b1"}))
    assert sum(simulator.stats.requests.values()) == 0


def test_a_job_id_that_is_not_safe_fails_that_job_only(start_simulator, exporter) -> None:
    # Given a page with one job ID that is not a safe S3 key part
    client, store = exporter(start_simulator(one_batch(SimJob("a"))))
    # When exported / Then that job fails as invalid and the other is exported
    result = export_page(client, store, page_of("a/../../etc", "a"))
    assert [o.error_code for o in result.outcomes] == ["invalid_job_id", None]
    assert str(result.outcomes[0].message).startswith("job_id: 'a/../../etc' is not a valid ID")


def test_the_key_never_reaches_logs_or_outcomes(start_simulator, exporter, caplog) -> None:
    # Given verbose logging, a storm of faults, and one refused page
    caplog.set_level(logging.DEBUG)
    catalog = one_batch(*(SimJob(f"j{n}") for n in range(30)))
    faults = FaultPlan(rate=0.3, seed=7)
    simulator = start_simulator(catalog, faults=faults)
    client, store = exporter(simulator)
    results = [export_page(client, store, page_of(*(f"j{n}" for n in range(30))))]
    bad_client, _ = exporter(simulator, key=API_KEY + "-old")
    results.append(export_page(bad_client, store, page_of("j1")))
    # When everything said is gathered / Then the key is nowhere in it
    said = caplog.text + "".join(r.model_dump_json() for r in results) + repr(client)
    assert API_KEY not in said
    assert simulator.stats.key_leaks == 0


def test_referenced_files_survive_a_transient_fault_and_sit_beside_the_result(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job whose mask download is cut off once
    job = SimJob("seg", referenced=("mask.png", "cloud.pcd"))
    catalog = one_batch(job, SimJob("plain"))
    faults = FaultPlan(scripted={("storage", "seg/mask.png"): ["truncated"]})
    simulator = start_simulator(catalog, faults=faults)
    client, store = exporter(simulator)
    # When the page is exported with its referenced files
    result = export_page(
        client, store, page_of("seg", "plain"), ExportOptions(include_referenced=True)
    )
    # Then both jobs are exported; the segmentation job's files are beside its result
    assert [o.status for o in result.outcomes] == [JobStatus.EXPORTED, JobStatus.EXPORTED]
    assert result.outcomes[0].files == 2
    assert keys(s3) == {"b1/seg.json", "b1/seg/mask.png", "b1/seg/cloud.pcd", "b1/plain.json"}
    assert stored_sha256(s3, "b1/seg.json") == catalog.body_sha256("p1", "seg")
    assert stored_sha256(s3, "b1/seg/mask.png") == catalog.file_sha256("p1", "seg", "mask.png")
    assert simulator.stats.faults["truncated"] == 1
    assert s3.head_object(Bucket=BUCKET, Key="b1/seg/mask.png")["ContentType"] == "image/png"


@pytest.mark.parametrize(
    ("size", "operation"),
    [(None, "PutObject"), (LARGE, "CompleteMultipartUpload")],
    ids=["small", "multipart"],
)
def test_a_write_race_is_retried_then_exported(
    start_simulator, exporter, s3, size, operation
) -> None:
    # Given S3 answering the job's first create-only write with 409 ConditionalRequestConflict
    # (another write to the key under way), on the small path or the multipart one
    catalog = one_batch(SimJob("a", body_size=size))
    simulator = start_simulator(catalog)
    client, store = exporter(simulator)
    race = FailFirstCalls(
        s3, operation, status=409, code="ConditionalRequestConflict", key="b1/a.json"
    )
    # When the page is exported
    result = export_page(client, store, page_of("a"))
    # Then the write was tried again, with a fresh download, and the job exported byte for byte
    assert result.outcomes[0].status == JobStatus.EXPORTED
    assert race.calls == 2
    assert simulator.stats.requests["storage"] == 2
    assert stored_sha256(s3, "b1/a.json") == catalog.body_sha256("p1", "a")


def test_a_large_result_already_there_is_skipped_and_left_alone(
    start_simulator, exporter, s3
) -> None:
    # Given a job whose result is large (multipart) and an object already at its key
    client, store = exporter(start_simulator(one_batch(SimJob("a", body_size=LARGE))))
    s3.put_object(Bucket=BUCKET, Key="b1/a.json", Body=b'{"earlier": true}')
    # When the page is exported without overwrite (S3 answers 412 PreconditionFailed)
    result = export_page(client, store, page_of("a"))
    # Then the job is skipped as already exported and the earlier object is untouched
    assert (result.outcomes[0].status, result.outcomes[0].reason) == (
        JobStatus.SKIPPED,
        SkipReason.ALREADY_EXPORTED,
    )
    assert s3.get_object(Bucket=BUCKET, Key="b1/a.json")["Body"].read() == b'{"earlier": true}'


def test_a_write_race_on_a_result_with_files_is_retried(start_simulator, exporter, s3) -> None:
    # Given a segmentation job whose result write (after its files) first meets a 409
    catalog = one_batch(SimJob("seg", referenced=("mask.png", "cloud.pcd")))
    client, store = exporter(start_simulator(catalog))
    race = FailFirstCalls(
        s3, "PutObject", status=409, code="ConditionalRequestConflict", key="b1/seg.json"
    )
    # When the page is exported with its referenced files
    result = export_page(client, store, page_of("seg"), ExportOptions(include_referenced=True))
    # Then the result write was tried again and the job exported whole
    assert (result.outcomes[0].status, result.outcomes[0].files) == (JobStatus.EXPORTED, 2)
    assert race.calls == 2
    assert stored_sha256(s3, "b1/seg.json") == catalog.body_sha256("p1", "seg")
    assert keys(s3) == {"b1/seg.json", "b1/seg/mask.png", "b1/seg/cloud.pcd"}


def test_files_that_cannot_be_taken_back_fail_the_job_naming_them(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job whose result write is refused after its three files are
    # written, and a bucket that refuses to delete one of those files (200 with Errors)
    catalog = one_batch(SimJob("seg", referenced=("mask.png", "depth.png", "cloud.pcd")))
    client, store = exporter(start_simulator(catalog))
    FailFirstCalls(s3, "PutObject", status=403, code="AccessDenied", key="b1/seg.json")
    DenyDeletes(s3, {"b1/seg/mask.png"})
    # When the page is exported with its referenced files
    result = export_page(client, store, page_of("seg"), ExportOptions(include_referenced=True))
    # Then the job failed as cleanup_failed, saying what failed first and naming the one file
    # left behind; the others were taken back
    outcome = result.outcomes[0]
    assert (outcome.status, outcome.error_code) == (JobStatus.FAILED, "cleanup_failed")
    message = str(outcome.message)
    assert "(s3_AccessDenied)" in message
    assert "b1/seg/mask.png (s3_AccessDenied)" in message
    assert "depth.png" not in message
    assert keys(s3) == {"b1/seg/mask.png"}


def test_files_of_a_failed_job_are_taken_back(start_simulator, exporter, s3) -> None:
    # Given a segmentation job whose result write is refused after its files are written
    catalog = one_batch(SimJob("seg", referenced=("mask.png", "cloud.pcd")), SimJob("plain"))
    client, store = exporter(start_simulator(catalog))
    FailFirstCalls(s3, "PutObject", status=403, code="AccessDenied", key="b1/seg.json")
    # When the page is exported with its referenced files
    result = export_page(
        client, store, page_of("seg", "plain"), ExportOptions(include_referenced=True)
    )
    # Then the job failed with S3's code and none of its files stayed
    assert [(o.status, o.error_code, o.message) for o in result.outcomes] == [
        (JobStatus.FAILED, "s3_AccessDenied", "S3 refused the write"),
        (JobStatus.EXPORTED, None, None),
    ]
    assert keys(s3) == {"b1/plain.json"}


def test_a_page_past_its_deadline_requests_nothing(start_simulator, exporter, s3) -> None:
    # Given a page whose deadline has already passed
    simulator = start_simulator(one_batch(SimJob("a"), SimJob("b")))
    client, store = exporter(simulator)
    # When it is exported
    result = export_page(
        client, store, page_of("a", "b"), ExportOptions(deadline=time.monotonic() - 1)
    )
    # Then every job failed as deadline_exceeded, without a single request or object
    assert [(o.job_id, o.error_code, o.message) for o in result.outcomes] == [
        ("a", "deadline_exceeded", "not attempted: the page ran out of time"),
        ("b", "deadline_exceeded", "not attempted: the page ran out of time"),
    ]
    assert sum(simulator.stats.requests.values()) == 0
    assert keys(s3) == set()


def test_jobs_not_started_by_the_deadline_are_not_attempted(start_simulator, exporter, s3) -> None:
    # Given one worker, and a deadline that passes while the first job's result is written
    simulator = start_simulator(one_batch(SimJob("a"), SimJob("b"), SimJob("c")))
    client, store = exporter(simulator)
    deadline = time.monotonic() + 0.5
    writes = CountCalls(s3, "PutObject")
    s3.meta.events.register(
        "before-call.s3.PutObject", lambda **_: time.sleep(max(0, deadline - time.monotonic()))
    )
    # When the page is exported
    result = export_page(
        client, store, page_of("a", "b", "c"), ExportOptions(workers=1, deadline=deadline)
    )
    # Then the first job was exported, the two not started by then failed as
    # deadline_exceeded, and nothing was asked for them
    assert [o.error_code for o in result.outcomes] == [
        None,
        "deadline_exceeded",
        "deadline_exceeded",
    ]
    assert result.outcomes[0].status == JobStatus.EXPORTED
    assert simulator.stats.requests["job"] == 1
    assert writes.calls == 1
    assert keys(s3) == {"b1/a.json"}


def test_a_job_with_files_counts_every_byte_and_types_each_file(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job with a PNG mask and a point cloud of no known type
    catalog = one_batch(SimJob("seg", referenced=("mask.png", "cloud.pcd")))
    client, store = exporter(start_simulator(catalog))
    # When exported with its referenced files
    outcome = export_page(
        client, store, page_of("seg"), ExportOptions(include_referenced=True)
    ).outcomes[0]
    # Then its bytes are the result's and both files', and each file has its content type
    sizes = {key: s3.head_object(Bucket=BUCKET, Key=key) for key in keys(s3)}
    assert outcome.bytes == sum(head["ContentLength"] for head in sizes.values())
    assert sizes["b1/seg/mask.png"]["ContentType"] == "image/png"
    assert sizes["b1/seg/cloud.pcd"]["ContentType"] == "application/octet-stream"
    assert sizes["b1/seg.json"]["ContentType"] == "application/json"


def test_a_job_with_files_is_indexed_with_its_files_and_marked_with_its_execution(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job with a mask, on a page planned by execution "run-7"
    catalog = one_batch(SimJob("seg", referenced=("mask.png",)))
    client, store = exporter(start_simulator(catalog))
    page = page_of("seg").model_copy(update={"execution": "run-7"})
    # When exported with its referenced files
    outcome = export_page(client, store, page, ExportOptions(include_referenced=True)).outcomes[0]
    # Then the outcome gives the result's own size and SHA-256, as the export index lists them
    result = s3.head_object(Bucket=BUCKET, Key="b1/seg.json")
    assert outcome.result_size == result["ContentLength"]
    assert outcome.sha256 == stored_sha256(s3, "b1/seg.json") == catalog.body_sha256("p1", "seg")
    # And it lists the file written beside the result, with its size and SHA-256
    mask = s3.head_object(Bucket=BUCKET, Key="b1/seg/mask.png")
    assert [file.model_dump() for file in outcome.referenced or []] == [
        {
            "key": "b1/seg/mask.png",
            "size": mask["ContentLength"],
            "sha256": stored_sha256(s3, "b1/seg/mask.png"),
        }
    ]
    # And the result says which execution wrote it, so that a later listing step of that
    # execution does not count it again
    assert store.written_by("b1", "seg") == "run-7"


def test_overwrite_replaces_a_result_and_its_files(start_simulator, exporter, s3) -> None:
    # Given a segmentation job exported earlier, whose objects have since been changed
    catalog = one_batch(SimJob("seg", referenced=("mask.png",)))
    client, store = exporter(start_simulator(catalog))
    for key in ("b1/seg.json", "b1/seg/mask.png"):
        s3.put_object(Bucket=BUCKET, Key=key, Body=b'"stale"')
    # When exported again with overwrite
    result = export_page(
        client, store, page_of("seg"), ExportOptions(overwrite=True, include_referenced=True)
    )
    # Then the job is exported and both objects are the served bytes again
    assert (result.outcomes[0].status, result.outcomes[0].files) == (JobStatus.EXPORTED, 1)
    assert stored_sha256(s3, "b1/seg.json") == catalog.body_sha256("p1", "seg")
    assert stored_sha256(s3, "b1/seg/mask.png") == catalog.file_sha256("p1", "seg", "mask.png")


def test_a_file_left_by_an_earlier_run_is_kept_and_not_counted(
    start_simulator, exporter, s3
) -> None:
    # Given a mask written by an earlier run whose result write never happened
    catalog = one_batch(SimJob("seg", referenced=("mask.png", "cloud.pcd")))
    client, store = exporter(start_simulator(catalog))
    s3.put_object(Bucket=BUCKET, Key="b1/seg/mask.png", Body=b"earlier")
    # When the job is exported without overwrite
    outcome = export_page(
        client, store, page_of("seg"), ExportOptions(include_referenced=True)
    ).outcomes[0]
    # Then it is exported, the earlier mask kept, and only what this run wrote counted
    assert outcome.status == JobStatus.EXPORTED
    assert s3.get_object(Bucket=BUCKET, Key="b1/seg/mask.png")["Body"].read() == b"earlier"
    written = ("b1/seg.json", "b1/seg/cloud.pcd")
    assert outcome.bytes == sum(
        s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] for key in written
    )


@pytest.mark.parametrize(
    ("endpoint", "key"),
    [
        ("attachment", "seg"),
        ("storage", "seg"),
        ("attachment", "seg/mask.png"),
        ("storage", "seg/mask.png"),
    ],
)
def test_retrying_a_job_with_files_stops_at_the_deadline(
    start_simulator, exporter, s3, endpoint, key
) -> None:
    # Given a segmentation job one of whose downloads always fails with a 503, and a page
    # deadline half a second away (the retry window alone would allow 30 s)
    catalog = one_batch(SimJob("seg", referenced=("mask.png",)))
    faults = FaultPlan(permanent={(endpoint, key): "503"})
    client, store = exporter(start_simulator(catalog, faults=faults))
    started = time.monotonic()
    # When the page is exported with its referenced files
    result = export_page(
        client,
        store,
        page_of("seg"),
        ExportOptions(include_referenced=True, deadline=started + 0.5),
    )
    # Then the job failed soon after the deadline, not after the window, and left nothing
    assert result.outcomes[0].status == JobStatus.FAILED
    assert time.monotonic() - started < 10
    assert keys(s3) == set()
    # And a failing file is named, with the failure's own code
    if key == "seg/mask.png":
        assert result.outcomes[0].error_code
        assert str(result.outcomes[0].message).startswith("referenced file mask.png: ")
    if (endpoint, key) == ("storage", "seg/mask.png"):
        assert result.outcomes[0].error_code == "storage_http_503"


def test_a_cleanup_failure_after_a_surprise_names_the_surprise(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job whose result write breaks with an error of no known kind,
    # and a bucket that refuses to delete its file
    catalog = one_batch(SimJob("seg", referenced=("mask.png",)))
    client, store = exporter(start_simulator(catalog))

    def break_result_write(params, **_):
        if params["url_path"].endswith("/b1/seg.json"):
            raise RuntimeError("surprise")

    s3.meta.events.register("before-call.s3.PutObject", break_result_write)
    DenyDeletes(s3, {"b1/seg/mask.png"})
    # When the page is exported with its referenced files
    outcome = export_page(
        client, store, page_of("seg"), ExportOptions(include_referenced=True)
    ).outcomes[0]
    # Then the job failed as cleanup_failed, naming the error's type and the file left
    assert (outcome.error_code, outcome.message) == (
        "cleanup_failed",
        "the job failed (RuntimeError) and its referenced files could not be deleted: "
        f"1 object(s) left in s3://{BUCKET}/: b1/seg/mask.png (s3_AccessDenied)",
    )


@pytest.mark.parametrize(("endpoint", "key"), [("job", "a"), ("attachment", "a"), ("storage", "a")])
def test_retrying_a_job_stops_at_the_deadline(start_simulator, exporter, s3, endpoint, key) -> None:
    # Given a job one of whose requests always fails with a 503, and a page deadline half a
    # second away (the retry window alone would allow 30 s)
    faults = FaultPlan(permanent={(endpoint, key): "503"})
    client, store = exporter(start_simulator(one_batch(SimJob("a")), faults=faults))
    started = time.monotonic()
    # When the page is exported
    result = export_page(client, store, page_of("a"), ExportOptions(deadline=started + 0.5))
    # Then the job failed, transient to the last, soon after the deadline and not the window
    assert result.outcomes[0].status == JobStatus.FAILED
    assert time.monotonic() - started < 10
    assert keys(s3) == set()


class CompletedWithoutResult:
    """A client whose job is completed but names no result file (the API allows it)."""

    def get_job(self, project_id, job_id, **_):
        return JobRecord(job_id=job_id, status="completed", result="")


def test_a_completed_job_without_a_result_is_skipped(s3) -> None:
    # Given a completed job with no result URL
    store = ResultStore(S3Storage(s3, BUCKET), "")
    client = cast(PlaymentClient, CompletedWithoutResult())
    # When its page is exported
    result = export_page(client, store, page_of("a"))
    store.close()
    # Then it is skipped as having no result, and nothing is written
    assert result.outcomes == [JobOutcome.skipped("a", SkipReason.NO_RESULT)]
    assert keys(s3) == set()


def test_a_surprise_fails_only_its_job_and_names_its_type(start_simulator, exporter, s3) -> None:
    # Given a page of two jobs, the write of the first breaking with an error of no known kind
    client, store = exporter(start_simulator(one_batch(SimJob("a"), SimJob("b"))))

    def break_write_of_a(params, **_):
        if params["url_path"].endswith("/b1/a.json"):
            raise RuntimeError("surprise")

    s3.meta.events.register("before-call.s3.PutObject", break_write_of_a)
    # When the page is exported
    result = export_page(client, store, page_of("a", "b"))
    # Then that job failed as unexpected_error, naming only the error's type; the other exported
    assert result.outcomes[0] == JobOutcome.failed("a", "unexpected_error", "RuntimeError")
    assert result.outcomes[1].status is JobStatus.EXPORTED
    assert keys(s3) == {"b1/b.json"}


def test_a_cleanup_failure_after_a_coded_error_names_its_code(
    start_simulator, exporter, s3
) -> None:
    # Given a segmentation job whose result write keeps meeting a 409 until the deadline,
    # and a bucket that refuses to delete its file
    catalog = one_batch(SimJob("seg", referenced=("mask.png",)))
    client, store = exporter(start_simulator(catalog))
    FailFirstCalls(
        s3,
        "PutObject",
        status=409,
        code="ConditionalRequestConflict",
        times=10**6,
        key="b1/seg.json",
    )
    DenyDeletes(s3, {"b1/seg/mask.png"})
    # When the page is exported with its files, half a second before its deadline
    started = time.monotonic()
    result = export_page(
        client,
        store,
        page_of("seg"),
        ExportOptions(include_referenced=True, deadline=started + 0.5),
    )
    # Then the job failed as cleanup_failed soon after the deadline (not the 30 s window),
    # giving the code of what failed first
    assert time.monotonic() - started < 10
    outcome = result.outcomes[0]
    assert outcome.error_code == "cleanup_failed"
    assert str(outcome.message).startswith("the job failed (s3_ConditionalRequestConflict) and ")


def test_a_result_damaged_on_its_way_to_s3_fails_its_job_and_leaves_nothing(
    start_simulator, exporter, s3
) -> None:
    # Given a page of two jobs, the first result's bytes changing on their way to S3
    client, store = exporter(start_simulator(one_batch(SimJob("a"), SimJob("b"))))
    DamageInTransit(s3, "PutObject", key="b1/a.json")
    # When the page is exported
    result = export_page(client, store, page_of("a", "b"))
    # Then S3's check refused it: that job failed as s3_BadDigest and left no object; the
    # other was exported with its checksum checked
    assert result.outcomes[0] == JobOutcome.failed("a", "s3_BadDigest", "S3 refused the write")
    assert result.outcomes[1].status is JobStatus.EXPORTED
    assert keys(s3) == {"b1/b.json"}
