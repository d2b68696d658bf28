"""What one execution keeps in S3 under ``_exports/<execution>/``.

- ``pages.json``: the manifest the distributed Map reads, one item per page of jobs to fetch;
- ``outcomes/pages/<batch>/<page>.json``: written by each fetch call, one per manifest page;
- ``outcomes/listing/<batch>.json``: jobs the listing settled itself (not completed, already
  exported, unusable IDs) so no call is spent on them;
- ``report.json``: the totals and every failed and skipped job.

The outcomes are written by the calls themselves, not gathered from the Map's results, so the
report is the same on AWS and on the local engine (see DESIGN.md).
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from pydantic import TypeAdapter

from playment_exporter.errors import InvalidInput
from playment_exporter.outcomes import JobPage, PageOutcome

EXPORTS_PREFIX = "_exports/"
_EXECUTION_NAME = re.compile(r"[A-Za-z0-9._-]{1,80}")
_MANIFEST = TypeAdapter(list[JobPage])


def validate_execution_name(name: object) -> str:
    """Execution names become S3 key parts: Step Functions' own charset, without surprises."""
    if not isinstance(name, str) or not _EXECUTION_NAME.fullmatch(name) or set(name) == {"."}:
        raise InvalidInput("execution", f"{name!r} is not a usable execution name")
    return name


class RunRecords:
    def __init__(self, s3_client: Any, bucket: str, execution: str) -> None:
        self._s3 = s3_client
        self.bucket = bucket
        self.execution = validate_execution_name(execution)
        self.prefix = f"{EXPORTS_PREFIX}{self.execution}/"

    @property
    def manifest_key(self) -> str:
        return self.prefix + "pages.json"

    @property
    def report_key(self) -> str:
        return self.prefix + "report.json"

    def page_outcome_key(self, batch_id: str, page: int) -> str:
        return f"{self.prefix}outcomes/pages/{batch_id}/{page:06d}.json"

    def listing_outcome_key(self, batch_id: str) -> str:
        return f"{self.prefix}outcomes/listing/{batch_id}.json"

    def write_manifest(self, pages: list[JobPage]) -> None:
        self._put(self.manifest_key, _MANIFEST.dump_json(pages))

    def read_manifest(self) -> list[JobPage]:
        return _MANIFEST.validate_json(self._get(self.manifest_key))

    def write_page_outcome(self, outcome: PageOutcome) -> None:
        self._put(self.page_outcome_key(outcome.batch_id, outcome.page), outcome.model_dump_json())

    def write_listing_outcome(self, outcome: PageOutcome) -> None:
        self._put(self.listing_outcome_key(outcome.batch_id), outcome.model_dump_json())

    def read_outcomes(self) -> Iterator[tuple[str, PageOutcome]]:
        """Every outcome object of the run, with its key."""
        paginator = self._s3.get_paginator("list_objects_v2")
        for listing in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + "outcomes/"):
            for item in listing.get("Contents", []):
                yield item["Key"], PageOutcome.model_validate_json(self._get(item["Key"]))

    def write_report(self, report: Any) -> None:
        self._put(self.report_key, json.dumps(report, indent=1).encode())

    def _put(self, key: str, body: bytes | str) -> None:
        data = body.encode() if isinstance(body, str) else body
        self._s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType="application/json")

    def _get(self, key: str) -> bytes:
        return bytes(self._s3.get_object(Bucket=self.bucket, Key=key)["Body"].read())
