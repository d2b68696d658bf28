"""Exporting a page of jobs: simulator on loopback, S3 in moto."""

import hashlib
import logging

import pytest

from playment_exporter.errors import InvalidInput
from playment_exporter.export_page import export_page
from playment_exporter.outcomes import JobPage, JobStatus, SkipReason
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_simulator import Catalog, FaultPlan, SimBatch, SimJob, SimProject
from tests.conftest import API_KEY, BUCKET

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)
SHORT = RetrySettings(window=1, initial_wait=0.2, max_wait=0.2)


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
        store = ResultStore(s3, BUCKET, "")
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
    second = export_page(client, store, page_of("a"), overwrite=True)
    assert second.outcomes[0].status == JobStatus.EXPORTED
    assert stored_sha256(s3, "b1/a.json") == catalog.body_sha256("p1", "a")


def test_a_broken_job_does_not_stop_the_others(start_simulator, exporter) -> None:
    # Given a page where one job's record always errors
    catalog = one_batch(*(SimJob(f"j{n}") for n in range(10)))
    faults = FaultPlan(permanent={("job", "j3"): "job_not_found"})
    client, store = exporter(start_simulator(catalog, faults=faults))
    # When the page is exported
    result = export_page(client, store, page_of(*(f"j{n}" for n in range(10))), workers=4)
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
    result = export_page(client, store, page_of(*(f"j{n}" for n in range(50))), workers=4)
    # Then every job failed as auth_failed, nothing was written, and no more than the
    # requests already in flight were made
    assert {o.error_code for o in result.outcomes} == {"auth_failed"}
    assert result.auth_failed
    assert sum(simulator.stats.requests.values()) <= 4
    assert keys(s3) == set()


def test_invalid_ids_are_rejected_before_any_request(start_simulator, exporter) -> None:
    # Given a page whose batch ID would climb out of the prefix
    simulator = start_simulator(one_batch(SimJob("a")))
    client, store = exporter(simulator)
    bad = JobPage(project_id="p1", batch_id="../x", page=0, job_ids=["a"])
    # When it is exported / Then the input is refused, naming the field, and nothing was asked
    with pytest.raises(InvalidInput, match="batch_id"):
        export_page(client, store, bad)
    assert sum(simulator.stats.requests.values()) == 0


def test_a_job_id_that_is_not_safe_fails_that_job_only(start_simulator, exporter) -> None:
    # Given a page with one job ID that is not a safe S3 key part
    client, store = exporter(start_simulator(one_batch(SimJob("a"))))
    # When exported / Then that job fails as invalid and the other is exported
    result = export_page(client, store, page_of("a/../../etc", "a"))
    assert [o.error_code for o in result.outcomes] == ["invalid_job_id", None]


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
    result = export_page(client, store, page_of("seg", "plain"), include_referenced=True)
    # Then both jobs are exported; the segmentation job's files are beside its result
    assert [o.status for o in result.outcomes] == [JobStatus.EXPORTED, JobStatus.EXPORTED]
    assert result.outcomes[0].files == 2
    assert keys(s3) == {"b1/seg.json", "b1/seg/mask.png", "b1/seg/cloud.pcd", "b1/plain.json"}
    assert stored_sha256(s3, "b1/seg.json") == catalog.body_sha256("p1", "seg")
    assert stored_sha256(s3, "b1/seg/mask.png") == catalog.file_sha256("p1", "seg", "mask.png")
    assert simulator.stats.faults["truncated"] == 1
    assert s3.head_object(Bucket=BUCKET, Key="b1/seg/mask.png")["ContentType"] == "image/png"
