"""A listing step's summary carries the export's ``include_referenced``: the state machine
hands it from there to every FetchResult page (``$.listing.include_referenced``), which
exports a result's referenced files only when it says so. Simulator on loopback, S3 in
moto."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingOptions, list_export_pages
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import RunRecords
from playment_exporter.storage_s3 import S3Storage
from playment_simulator import Simulator, sample_catalog
from tests.conftest import API_KEY, BUCKET


@pytest.mark.parametrize("include_referenced", [True, False])
def test_the_summary_says_whether_referenced_files_are_exported(
    s3: Any, start_simulator: Callable[..., Simulator], include_referenced: bool
) -> None:
    # Given a batch of 3 completed jobs and an export that does (or does not) ask for the
    # files its results point at
    simulator = start_simulator(sample_catalog("p1", {"b1": 3}, not_completed_every=0))
    client = PlaymentClient(simulator.api_url, API_KEY)
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input(
        {"project_id": "p1", "batch_ids": ["b1"], "include_referenced": include_referenced}
    )
    # When its listing step runs
    try:
        summary = list_export_pages(
            client,
            store,
            RunRecords(S3Storage(s3, BUCKET), "referenced"),
            request,
            ListingOptions(max_concurrency=4, started_at=datetime.now(UTC)),
        )
    finally:
        client.close()
        store.close()
    # Then its summary, as the state machine reads it, says so for the 3 jobs it plans
    assert summary.jobs_to_fetch == 3
    assert summary.model_dump(mode="json")["include_referenced"] is include_referenced
