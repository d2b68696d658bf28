"""What one execution keeps in S3 under ``_exports/<execution>/``.

- ``batches.json``: the export's batches (and those left out), written by the first listing step;
- ``manifests/<chunk>.json``: one per listing step, which that step's distributed Map reads,
  one item per page of jobs to fetch (page numbers are unique in the execution);
- ``unsettled/<chunk>.json``: completed jobs a listing step listed but reached its deadline
  before it could tell whether they are exported already; the next step settles them first;
- ``outcomes/pages/<page>.json``: written by each fetch call, one per manifest page (a
  chunk's pages are numbered in a row, so the report lists each chunk's outcomes in a range);
- ``outcomes/listing/<chunk>.json``: jobs a listing step settled itself (not completed,
  already exported, unusable IDs) so no call is spent on them;
- ``report/failed/<chunk>.jsonl``, ``report/skipped/<chunk>.jsonl``: the jobs of each chunk that
  need a person's attention, one JSON object a line, written by the report's steps;
- ``report.json``: totals and counts, naming those files.

The outcomes are written by the calls themselves, not gathered from the Map's results, so the
report is the same on AWS and on the local engine (see DESIGN.md).
"""

import io
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import IO, Any, Self

from pydantic import BaseModel, TypeAdapter

from playment_exporter.errors import InvalidInput
from playment_exporter.outcomes import JobPage, PageOutcome
from playment_exporter.storage import MissingObject, Storage, iter_lines, list_all, read_all

EXPORTS_PREFIX = "_exports/"
_EXECUTION_NAME = re.compile(r"[A-Za-z0-9._-]{1,80}")
_MANIFEST = TypeAdapter(list[JobPage])
_SETTLED = TypeAdapter(list[PageOutcome])
MiB = 1024 * 1024
SPOOL_IN_MEMORY = MiB  # a job list's lines beyond this wait in /tmp, not in memory
JSON_LINES = "application/x-ndjson"


class JobListWriter:
    """One chunk's job list, streamed line by line into a spool and uploaded whole on a clean
    exit (and only then: an error leaves the earlier version, if any, as it was). Always
    written, empty too, so that a step run again replaces whatever an earlier try wrote."""

    def __init__(self, storage: Storage, key: str) -> None:
        self._storage = storage
        self.key = key
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115

    def add(self, entry: dict[str, Any]) -> None:
        self._spool.write(json.dumps(entry).encode() + b"\n")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        try:
            if kind is None:
                self._spool.seek(0)
                # At most a chunk's jobs (ListingStepJobs) of lines, streamed from the spool.
                self._storage.put(self.key, self._spool, content_type=JSON_LINES)
        finally:
            self._spool.close()


class UnsettledJobs(BaseModel):
    """One batch's jobs that a listing step left for the next to settle, in listing order;
    ``counted_already``: those of them an earlier step counted (listed again after a refused
    page token), to be fetched if they have no result but never counted again."""

    batch_id: str
    job_ids: list[str]
    counted_already: list[str] = []


_UNSETTLED = TypeAdapter(list[UnsettledJobs])


class LeftOutBatch(BaseModel):
    batch_id: str
    reason: str


class BatchPlan(BaseModel):
    """The export's batches, in listing order, and the project's batches left out; with
    ``all_batches``, each listed batch's details as the listing found them
    (``ProjectBatch.fingerprint``), for the report to record once it knows the batch clean."""

    batch_ids: list[str]
    left_out: list[LeftOutBatch] = []
    fingerprints: dict[str, dict[str, Any]] = {}


class _BatchIds(BaseModel):
    """What a listing step after the first reads of the batch plan: the fingerprints are the
    report's, and parsed they would take ten times the memory (7 MiB for 20,000 batches)."""

    batch_ids: list[str]


def validate_execution_name(name: object) -> str:
    """Execution names become S3 key parts: Step Functions' own charset, without surprises."""
    if not isinstance(name, str) or not _EXECUTION_NAME.fullmatch(name) or set(name) == {"."}:
        raise InvalidInput("execution", f"{name!r} is not a usable execution name")
    return name


def manifest_key_of(execution: str, chunk: int) -> str:
    """Where a listing step's manifest is: the key the state machine's Map reads."""
    return f"{EXPORTS_PREFIX}{execution}/manifests/{chunk:06d}.json"


class RunRecords:
    def __init__(self, storage: Storage, execution: str) -> None:
        self.storage = storage
        self.execution = validate_execution_name(execution)
        self.prefix = f"{EXPORTS_PREFIX}{self.execution}/"

    @property
    def batch_plan_key(self) -> str:
        return self.prefix + "batches.json"

    def manifest_key(self, chunk: int) -> str:
        return manifest_key_of(self.execution, chunk)

    @property
    def report_key(self) -> str:
        return self.prefix + "report.json"

    def job_list_key(self, kind: str, chunk: int) -> str:
        return f"{self.prefix}report/{kind}/{chunk:06d}.jsonl"

    def job_list_glob(self, kind: str) -> str:
        """Where the report's job lists of ``kind`` are, relative to the report itself."""
        return f"report/{kind}/*.jsonl"

    def job_list(self, kind: str, chunk: int) -> JobListWriter:
        return JobListWriter(self.storage, self.job_list_key(kind, chunk))

    def read_job_lists(self, kind: str) -> Iterator[bytes]:
        """Every line of every job list of ``kind``, in chunk order, streamed."""
        for item in list_all(self.storage, f"{self.prefix}report/{kind}/"):
            body = self.storage.open(item.key)
            try:
                yield from iter_lines(body)
            finally:
                body.close()

    def page_outcome_key(self, page: int) -> str:
        return f"{self.prefix}outcomes/pages/{page:08d}.json"

    def listing_outcome_key(self, chunk: int) -> str:
        return f"{self.prefix}outcomes/listing/{chunk:06d}.json"

    def unsettled_key(self, chunk: int) -> str:
        return f"{self.prefix}unsettled/{chunk:06d}.json"

    def write_batch_plan(self, plan: BatchPlan) -> None:
        self._put(self.batch_plan_key, plan.model_dump_json())

    def read_batch_plan(self) -> BatchPlan:
        return BatchPlan.model_validate_json(self._get(self.batch_plan_key))

    def read_batch_ids(self) -> list[str]:
        """The batch plan's batches, in listing order, and nothing else of it."""
        return _BatchIds.model_validate_json(self._get(self.batch_plan_key)).batch_ids

    def write_chunk(
        self,
        chunk: int,
        pages: Iterable[JobPage],
        settled: Iterable[PageOutcome],
        unsettled: list[UnsettledJobs] | None = None,
    ) -> int:
        """A listing step's manifest, settled jobs and jobs left unsettled (if any); the
        manifest last, so that it never exists without the others. The number of pages.

        The pages and outcomes are serialised one at a time as they come: a step of many
        small batches has thousands of pages, which as models would take ten times the
        memory of their JSON."""
        if unsettled:
            self._put(self.unsettled_key(chunk), _UNSETTLED.dump_json(unsettled))
        self._put_array(self.listing_outcome_key(chunk), settled)
        return self._put_array(self.manifest_key(chunk), pages)

    def read_unsettled(self, chunk: int) -> list[UnsettledJobs]:
        return _UNSETTLED.validate_json(self._get(self.unsettled_key(chunk)))

    def read_manifest(self, chunk: int) -> list[JobPage]:
        return _MANIFEST.validate_json(self._get(self.manifest_key(chunk)))

    def read_settled(self, chunk: int) -> list[PageOutcome]:
        return _SETTLED.validate_json(self._get(self.listing_outcome_key(chunk)))

    def page_outcomes_written(self, first: int, last: int) -> set[int]:
        """Which pages from ``first`` to ``last`` have an outcome: one LIST per 1,000 pages of
        the range, whatever the size of the whole run."""
        prefix = f"{self.prefix}outcomes/pages/"
        start = self.page_outcome_key(first)[: -len(".json")]
        end = self.page_outcome_key(last)
        found: set[int] = set()
        for item in list_all(self.storage, prefix, start_after=start):
            if item.key > end:
                return found
            found.add(int(item.key[len(prefix) : -len(".json")]))
        return found

    def read_page_outcome(self, page: int) -> PageOutcome:
        return PageOutcome.model_validate_json(self._get(self.page_outcome_key(page)))

    def write_page_outcome(self, outcome: PageOutcome) -> None:
        self._put(self.page_outcome_key(outcome.page), outcome.model_dump_json())

    @property
    def bucket(self) -> str:
        return self.storage.bucket

    def uri(self, key: str) -> str:
        return self.storage.uri(key)

    def missing_errors(self) -> type[Exception]:
        """What reading a record that is not there raises."""
        return MissingObject

    def write_json(self, key: str, document: Any) -> None:
        self._put(key, json.dumps(document).encode())

    def _put_array(self, key: str, items: Iterable[BaseModel]) -> int:
        """A JSON array of ``items``, written as they come; how many."""
        body = io.BytesIO()
        count = 0
        for item in items:
            body.write(b"," if count else b"[")
            body.write(item.model_dump_json().encode())
            count += 1
        body.write(b"]" if count else b"[]")
        body.seek(0)
        self._put(key, body)
        return count

    def _put(self, key: str, body: bytes | str | IO[bytes]) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.storage.put(key, data, content_type="application/json")

    def _get(self, key: str) -> bytes:
        return read_all(self.storage, key)
