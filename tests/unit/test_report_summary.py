"""A report's summary read as a stream (``playment_execution.report_summary``): the command
line prints it after a local run, ``status`` for each execution of a deployed stack."""

import io
import json
from typing import Any

import ijson
import pytest

from playment_execution import report_summary


class CountingReader(io.BytesIO):
    """A stream that counts the bytes read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk

    def readinto(self, buffer: Any) -> int:
        count = super().readinto(buffer)
        self.bytes_read += count
        return count


def test_the_summary_is_every_field_before_the_lists_of_jobs_which_are_not_read() -> None:
    # Given a report of 5 MB: its header, then 60,000 jobs skipped
    header = {
        "execution": "e1",
        "batch_ids": ["b1"],
        "totals": {"jobs": 60_000, "skipped": 60_000},
        "skipped_by_reason": {"not_completed": 60_000},
        "failed_by_code": {},
    }
    skipped = [{"batch_id": "b1", "job_id": f"job-{n:06d}", "reason": "not_completed"}
               for n in range(60_000)]  # fmt: skip
    stream = CountingReader(json.dumps({**header, "failed": [], "skipped": skipped}).encode())
    # When its summary is read
    summary = report_summary(stream)
    # Then it is every field up to the lists, read from the report's first bytes only
    assert summary == header
    assert len(stream.getvalue()) > 4_000_000
    assert stream.bytes_read < 100_000


def test_a_report_that_is_not_json_is_an_error() -> None:
    # Given bytes that are not JSON / When read / Then ijson says so
    with pytest.raises(ijson.JSONError):
        report_summary(io.BytesIO(b"<html>"))
