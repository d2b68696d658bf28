"""A page exported and recorded (what FetchResult does): its index part in S3 (moto), under
the execution's key for the page, beside the page's outcome, its jobs run on the pool given."""

import json
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from playment_exporter.export_index import index_key
from playment_exporter.export_options import ExportOptions
from playment_exporter.export_page import export_and_record_page
from playment_exporter.outcomes import JobPage, JobStatus
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.retry_policy import RetrySettings
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_s3 import S3Storage
from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator
from tests.conftest import API_KEY, BUCKET

FAST = RetrySettings(window=30, initial_wait=0.01, max_wait=0.05)


class CountingPool(ThreadPoolExecutor):
    """A shared pool that counts the jobs given to it."""

    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def test_a_recorded_page_writes_the_lines_of_its_exported_jobs_under_its_own_key(
    start_simulator: Callable[..., Simulator], s3: Any
) -> None:
    # Given a batch of a completed job with a reference ID and one still being annotated, a
    # store under a prefix, an execution's records, and a pool shared by pages
    catalog = Catalog(
        [
            SimProject(
                id="p1",
                batches=(
                    SimBatch(
                        "b1", (SimJob("done", reference_id="team-1"), SimJob("todo", "ongoing"))
                    ),
                ),
            )
        ]
    )
    simulator = start_simulator(catalog)
    client = PlaymentClient(simulator.api_url, API_KEY, retry=FAST, sleep=lambda _: None)
    store = ResultStore(S3Storage(s3, BUCKET), "out/")
    records = RunRecords(S3Storage(s3, BUCKET), "run-9")
    page = JobPage(project_id="p1", batch_id="b1", page=4, job_ids=["done", "todo"])
    # When the page is exported and recorded on the shared pool
    with CountingPool() as pool:
        outcome = export_and_record_page(client, store, records, page, ExportOptions(), pool=pool)
    client.close()
    # Then its jobs ran on the pool given
    assert pool.submitted == 2
    assert [job.status for job in outcome.outcomes] == [JobStatus.EXPORTED, JobStatus.SKIPPED]
    # And its index part is at the execution's key for the page, typed as JSON Lines, one line
    # for the exported job, naming its result
    key = index_key("out/", "b1", "run-9", 4)
    assert key == "out/index.v1/batch_id=b1/run-9-00000004.jsonl"
    part = s3.get_object(Bucket=BUCKET, Key=key)
    assert part["ContentType"] == "application/x-ndjson"
    (line,) = [json.loads(text) for text in part["Body"].read().splitlines()]
    assert (line["job_id"], line["reference_id"], line["key"], line["execution"]) == (
        "done",
        "team-1",
        "out/b1/done.json",
        "run-9",
    )
    assert line["sha256"] == catalog.body_sha256("p1", "done")
    # And the page's outcome is recorded beside it
    assert records.read_page_outcome(4) == outcome
