"""The index of exported jobs: one JSON line per job a run exported, so that a team can join
the results with its own data by ``reference_id`` without another call to Playment.

Each FetchResult call writes the lines of the jobs it exported as one object,
``<ResultsPrefix>index.v1/batch_id=<batch>/<execution>-<page>.jsonl``: written in parts, never
read back whole, and never overwritten (an execution's page numbers are unique). The union of
every object is the dataset's current contents: later runs add lines for the jobs they
exported, and an overwrite run's line for a job supersedes the earlier one (the latest
``exported_at`` wins). ``index.v1`` cannot be a batch ID (IDs have no dot), so the index never
mixes with results. Athena reads it through the table in ``template.yaml``
(``batch_id`` is the partition, from the path).
"""

from collections.abc import Callable
from datetime import UTC, datetime

from pydantic import BaseModel

from playment_exporter.outcomes import IndexedFile, JobStatus, PageOutcome

INDEX_DIRECTORY = "index.v1"


class IndexLine(BaseModel):
    """One exported job. ``sha256`` (hex) and ``size`` are of the bytes written, computed as
    they streamed; ``exported_at`` is ISO 8601 in UTC, so it sorts as text."""

    project_id: str
    batch_id: str
    job_id: str
    reference_id: str
    key: str
    size: int
    sha256: str
    referenced: list[IndexedFile] = []
    exported_at: str
    execution: str


def index_key(results_prefix: str, batch_id: str, execution: str, page: int) -> str:
    return f"{results_prefix}{INDEX_DIRECTORY}/batch_id={batch_id}/{execution}-{page:08d}.jsonl"


def index_location(bucket: str, results_prefix: str) -> str:
    """Where the index lives: the table's LOCATION, and what the "finished" event names."""
    return f"s3://{bucket}/{results_prefix}{INDEX_DIRECTORY}/"


def timestamp(moment: datetime) -> str:
    """``exported_at``'s form: milliseconds, UTC, ``Z`` (sorts as text, Athena parses it with
    ``from_iso8601_timestamp``)."""
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def to_jsonl(lines: list[IndexLine]) -> bytes:
    return b"".join(line.model_dump_json().encode() + b"\n" for line in lines)


def index_lines(
    outcome: PageOutcome,
    result_key: Callable[[str, str], str],
    *,
    execution: str,
    exported_at: datetime,
) -> list[IndexLine]:
    """The lines of the jobs a page exported (skipped and failed ones have none)."""
    return [
        IndexLine(
            project_id=outcome.project_id,
            batch_id=outcome.batch_id,
            job_id=job.job_id,
            reference_id=job.reference_id or "",
            key=result_key(outcome.batch_id, job.job_id),
            size=job.result_size or 0,
            sha256=job.sha256 or "",
            referenced=job.referenced or [],
            exported_at=timestamp(exported_at),
            execution=execution,
        )
        for job in outcome.outcomes
        if job.status is JobStatus.EXPORTED
    ]
