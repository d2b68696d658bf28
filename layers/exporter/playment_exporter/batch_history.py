"""What earlier runs found of each batch of a project, so that a scheduled run of every batch
lists only the batches that changed.

One object per project, ``_exports/_batch-history/<project>.json``: for each batch its details
(``ProjectBatch.fingerprint``) as they were when a run last listed it whole and exported all
its completed jobs without a failure, and when that run started. A batch whose details are
the same, listed within the last ``full_listing_days``, need not be listed again; the details
can hide a change (one job reopened while another completes), so every batch is listed again
at least every ``full_listing_days`` days, and whenever a run overwrites or asks for a full
listing. The object lives under ``_exports/``, so the exports' retention applies to it too:
once it expires, the next run simply lists everything.
"""

import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import ijson
from pydantic import BaseModel, TypeAdapter

from playment_exporter.api_models import ProjectBatch
from playment_exporter.storage import Storage, read_all

HISTORY_PREFIX = "_exports/_batch-history/"


class BatchRecord(BaseModel):
    fingerprint: dict[str, Any]
    listed_at: datetime


_HISTORY = TypeAdapter(dict[str, BatchRecord])


class BatchHistory:
    def __init__(self, storage: Storage, project_id: str) -> None:
        self._storage = storage
        self.key = f"{HISTORY_PREFIX}{project_id}.json"

    def read(self) -> dict[str, BatchRecord]:
        """The records, or none yet."""
        if not self._exists():
            return {}
        return _HISTORY.validate_json(read_all(self._storage, self.key))

    def unchanged_batches(
        self,
        batches: Mapping[str, ProjectBatch],
        started_at: datetime,
        full_listing_days: int,
    ) -> dict[str, datetime]:
        """Of ``batches`` (by ID, as the project's details give them now), those that need
        not be listed again, each with when it was last listed clean (``unchanged_since``).

        The object holds a record for every batch the project has had (20,000 batches: 4 MB,
        17 MiB parsed whole); it is read as a stream, one record at a time."""
        if not self._exists():
            return {}
        body = self._storage.open(self.key)
        unchanged: dict[str, datetime] = {}
        try:
            for batch_id, document in ijson.kvitems(body, ""):
                batch = batches.get(batch_id)
                if batch is None:
                    continue
                record = BatchRecord.model_validate(document)
                since = unchanged_since(record, batch.fingerprint(), started_at, full_listing_days)
                if since is not None:
                    unchanged[batch_id] = since
        finally:
            body.close()
        return unchanged

    def _exists(self) -> bool:
        """Listed before it is read: without s3:ListBucket on the key, S3 answers a missing
        object with 403, not 404."""
        listed = self._storage.list(
            self.key,
            max_keys=1,  # pragma: no mutate - the key lists first under itself: any count will do
        )
        return any(item.key == self.key for item in listed.objects)

    def write(self, records: dict[str, BatchRecord]) -> None:
        body = json.dumps(_HISTORY.dump_python(records, mode="json"), sort_keys=True)
        self._storage.put(self.key, body.encode(), content_type="application/json")


def unchanged_since(
    record: BatchRecord | None,
    fingerprint: dict[str, Any],
    started_at: datetime,
    full_listing_days: int,
) -> datetime | None:
    """When the batch was last listed clean, if it need not be listed again now."""
    if record is None or record.fingerprint != fingerprint:
        return None
    if started_at - record.listed_at >= timedelta(days=full_listing_days):
        return None
    return record.listed_at
