"""What a page's exported jobs say of their results (the index lines are made of it): the
job's reference ID ("" for a job without one), and the SHA-256 and size of the result stored,
read from the simulator's Playment and written into S3 (moto)."""

from collections.abc import Callable
from typing import Any

from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_page
from playment_exporter.outcomes import JobPage, JobStatus
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_exporter.storage_s3 import S3Storage
from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator
from tests.conftest import API_KEY, BUCKET

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


def test_exported_jobs_give_their_reference_id_and_their_result_s_hash_and_size(
    start_simulator: Callable[..., Simulator], s3: Any
) -> None:
    # Given a batch of two completed jobs, one with a reference ID and one without
    catalog = Catalog(
        [
            SimProject(
                id="p1",
                batches=(
                    SimBatch("b1", (SimJob("named", reference_id="team-1"), SimJob("plain"))),
                ),
            )
        ]
    )
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, API_KEY, retry=FAST, sleep=lambda _: None)
    store = ResultStore(S3Storage(s3, BUCKET), "out/")
    page = JobPage(project_id="p1", batch_id="b1", page=0, job_ids=["named", "plain"])
    # When the page is exported
    outcome = export_page(client, store, page, ExportOptions())
    client.close()
    store.close()
    # Then both are exported, each naming its reference ID, "" for the job without one
    named, plain = outcome.outcomes
    assert [named.status, plain.status] == [JobStatus.EXPORTED, JobStatus.EXPORTED]
    assert (named.reference_id, plain.reference_id) == ("team-1", "")
    # And each gives the SHA-256 and size of the result it stored
    for job in (named, plain):
        stored = s3.get_object(Bucket=BUCKET, Key=f"out/b1/{job.job_id}.json")["Body"].read()
        assert job.sha256 == catalog.body_sha256("p1", job.job_id)
        assert job.result_size == len(stored) == catalog.body_length("p1", job.job_id)
