"""The index lines a page's outcome makes: one per exported job, with what the job wrote."""

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from playment_exporter.export_index import index_lines, timestamp
from playment_exporter.outcomes import IndexedFile, JobOutcome, PageOutcome, SkipReason

EXPORTED_AT = datetime(2026, 12, 1, 8, 30, 15, 999_000, tzinfo=UTC)
MASK = IndexedFile(key="out/b1/seg/mask.png", size=12, sha256="ab" * 32)


def result_key(batch_id: str, job_id: str) -> str:
    return f"out/{batch_id}/{job_id}.json"


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set five and a half hours ahead of UTC."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_each_exported_job_has_a_line_with_what_it_wrote_and_no_other_job_has_one() -> None:
    # Given a page with a job exported with its files, one exported with no reference ID
    # (nor size or digest recorded), one skipped and one failed
    outcome = PageOutcome(
        project_id="p1",
        batch_id="b1",
        page=3,
        outcomes=[
            JobOutcome.exported(
                "seg",
                40,
                1,
                sha256="cd" * 32,
                result_size=28,
                reference_id="team-7",
                referenced=[MASK],
            ),
            JobOutcome.exported("bare", 5),
            JobOutcome.skipped("todo", SkipReason.NOT_COMPLETED),
            JobOutcome.failed("gone", "FS_0004", "Job not found"),
        ],
    )
    # When its index lines are made
    lines = index_lines(outcome, result_key, execution="run-1", exported_at=EXPORTED_AT)
    # Then only the exported jobs have a line, each with its key, size, digest, reference ID
    # and files, empty values standing for what was not recorded
    assert [line.model_dump() for line in lines] == [
        {
            "project_id": "p1",
            "batch_id": "b1",
            "job_id": "seg",
            "reference_id": "team-7",
            "key": "out/b1/seg.json",
            "size": 28,
            "sha256": "cd" * 32,
            "referenced": [MASK.model_dump()],
            "exported_at": "2026-12-01T08:30:15.999Z",
            "execution": "run-1",
        },
        {
            "project_id": "p1",
            "batch_id": "b1",
            "job_id": "bare",
            "reference_id": "",
            "key": "out/b1/bare.json",
            "size": 0,
            "sha256": "",
            "referenced": [],
            "exported_at": "2026-12-01T08:30:15.999Z",
            "execution": "run-1",
        },
    ]


def test_exported_at_is_utc_with_milliseconds_whatever_the_local_time_zone(
    away_from_utc: None,
) -> None:
    # Given a process whose local time zone is not UTC, and a moment 1 ms past a second
    moment = datetime(2026, 12, 1, 23, 59, 59, 1_000, tzinfo=UTC)
    # When the moment is written as exported_at / Then it is in UTC, to the millisecond
    assert timestamp(moment) == "2026-12-01T23:59:59.001Z"
