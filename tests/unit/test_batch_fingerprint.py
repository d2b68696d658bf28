"""A batch's fingerprint: the details Playment gives that change when its jobs do, so that a
scheduled run lists again only the batches whose fingerprint moved (batch_history)."""

import pytest

from playment_exporter.api_models import ProjectDetails

BATCH = {
    "id": "b1",
    "name": "Batch one",
    "total_jobs": 10,
    "completed_jobs": 4,
    "completed_frames": 40,
    "annotations": 120,
    "status": "in_progress",
}


def fingerprint_of(**changed: object) -> dict[str, object]:
    details = ProjectDetails.model_validate({"batches": [{**BATCH, **changed}]})
    return details.batches[0].fingerprint()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("total_jobs", 11),
        ("completed_jobs", 5),
        ("completed_frames", 41),
        ("annotations", 121),
        ("status", "completed"),
    ],
)
def test_a_change_in_the_batchs_jobs_changes_its_fingerprint(field: str, value: object) -> None:
    # Given a batch's details as Playment gave them, and the same with one count moved
    before = fingerprint_of()
    # When its fingerprint is taken again
    after = fingerprint_of(**{field: value})
    # Then it differs: the batch is listed again
    assert after != before
    assert after[field] == value


def test_a_new_name_leaves_the_fingerprint_as_it_was() -> None:
    # Given a batch renamed, its jobs as they were
    # When its fingerprint is taken / Then it is the job counts and status only: unchanged
    assert (
        fingerprint_of(name="Renamed")
        == fingerprint_of()
        == {
            "total_jobs": 10,
            "completed_jobs": 4,
            "completed_frames": 40,
            "annotations": 120,
            "status": "in_progress",
        }
    )
