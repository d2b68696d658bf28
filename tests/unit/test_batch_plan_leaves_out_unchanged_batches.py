"""The first listing step's batch plan for an ``all_batches`` export with a batch history:
batches unchanged since a clean run are left out, with a reason naming when they were exported
clean and when they will be listed again; ``overwrite`` or ``full_listing`` (either one alone)
lists every batch. The project's details from a stand-in client, S3 in moto."""

from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from playment_exporter.api_models import ProjectBatch, ProjectDetails
from playment_exporter.batch_history import BatchHistory, BatchRecord
from playment_exporter.export_request import ExportRequest
from playment_exporter.list_pages import ListingOptions, ListingStep
from playment_exporter.playment_client import PlaymentClient
from playment_exporter.result_store import ResultStore
from playment_exporter.run_records import BatchPlan, RunRecords
from playment_exporter.storage_s3 import S3Storage
from tests.conftest import BUCKET

PROJECT = "p1"
EXPORTED_CLEAN = datetime(2026, 3, 2, 14, 30, tzinfo=UTC)
STARTED = EXPORTED_CLEAN + timedelta(days=1)  # within any full-listing period of 2 days or more
BATCHES = [
    ProjectBatch(id=batch_id, total_jobs=4, completed_jobs=4, completed_frames=4, status="Done")
    for batch_id in ("a", "b")
]


class ProjectDetailsOnly:
    """A client that gives the project's details: planning lists no batch."""

    def get_project_details(self, project_id: str, **_: Any) -> ProjectDetails:
        return ProjectDetails(batches=BATCHES)


def plan_with_history(s3: Any, full_listing_days: int, **flags: bool) -> BatchPlan:
    """Plan an ``all_batches`` export whose every batch was exported clean a day before,
    unchanged since, and read back the plan the step wrote."""
    history = BatchHistory(S3Storage(s3, BUCKET), PROJECT)
    history.write(
        {
            batch.id: BatchRecord(fingerprint=batch.fingerprint(), listed_at=EXPORTED_CLEAN)
            for batch in BATCHES
        }
    )
    records = RunRecords(S3Storage(s3, BUCKET), "planned")
    store = ResultStore(S3Storage(s3, BUCKET), "")
    request = ExportRequest.from_input({"project_id": PROJECT, "all_batches": True, **flags})
    options = ListingOptions(
        max_concurrency=4,
        started_at=STARTED,
        history=history,
        full_listing_days=full_listing_days,
    )
    step = ListingStep(cast(PlaymentClient, ProjectDetailsOnly()), store, records, request, options)
    step.plan()
    store.close()
    return records.read_batch_plan()


def test_an_unchanged_batch_is_left_out_naming_when_it_is_listed_again(s3: Any) -> None:
    # Given batches exported clean on 2 March at 14:30, unchanged since, and full listings
    # every 3 days
    # When the export is planned a day later
    plan = plan_with_history(s3, full_listing_days=3)
    # Then both are left out, each reason naming that export and the full listing due 3 days
    # after it (5 March), not before it
    assert plan.batch_ids == []
    reason = (
        "unchanged since it was exported clean on 2026-03-02 14:30 UTC; "
        "listed again by 2026-03-05 14:30 UTC, or with full_listing"
    )
    assert [(left.batch_id, left.reason) for left in plan.left_out] == [
        ("a", reason),
        ("b", reason),
    ]


@pytest.mark.parametrize("flag", ["overwrite", "full_listing"])
def test_overwrite_or_full_listing_alone_lists_every_batch(s3: Any, flag: str) -> None:
    # Given the same unchanged batches, and an export that asks for one of overwrite or
    # full_listing (not both)
    # When it is planned
    plan = plan_with_history(s3, full_listing_days=3, **{flag: True})
    # Then the history leaves nothing out: both batches are listed, their details kept
    assert plan.batch_ids == ["a", "b"]
    assert plan.left_out == []
    assert sorted(plan.fingerprints) == ["a", "b"]
